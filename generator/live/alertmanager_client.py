"""A client of Alertmanager's API v2, as `obsgen alert test` needs it: its status, posting
alerts, and reading alerts and alert groups back by label matchers."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

from generator.live import http_client
from generator.live.http_client import HttpClient


def check_url(url: str) -> str:
    """The base URL without a trailing slash; raises ValueError when it cannot be one."""
    return http_client.check_url(url, "Alertmanager", "http://127.0.0.1:9093")


class Alertmanager(HttpClient):
    """API v2: status, post alerts, read alerts and groups back. Raises Unreachable."""

    server = "Alertmanager"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        super().__init__(check_url(url), timeout)

    def status(self) -> dict[str, Any]:
        answer = self.get_json("/api/v2/status")
        if not isinstance(answer, dict) or "config" not in answer:
            raise self.fail("GET /api/v2/status gave no status; is this the Alertmanager base URL?")
        return answer

    def post_alerts(self, alerts: list[dict]) -> None:
        self.post_json("/api/v2/alerts", alerts)

    def alerts(self, matchers: Sequence[str]) -> list[dict[str, Any]]:
        return self._list("/api/v2/alerts", matchers)

    def groups(self, matchers: Sequence[str]) -> list[dict[str, Any]]:
        return self._list("/api/v2/alerts/groups", matchers)

    def _list(self, path: str, matchers: Sequence[str]) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode([("filter", m) for m in matchers])
        answer = self.get_json(f"{path}?{query}")
        if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
            raise self.fail(f"GET {path} did not answer a list of objects")
        return answer
