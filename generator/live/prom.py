"""A minimal client of Prometheus's HTTP API: instant queries, nothing else."""

from __future__ import annotations

import contextlib
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from generator.live import http_client
from generator.live.http_client import HttpClient, Response, Unreachable


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


def check_url(url: str) -> str:
    """The base URL without a trailing slash; raises ValueError when it cannot be one."""
    return http_client.check_url(url, "Prometheus", "http://127.0.0.1:9090")


class Prometheus(HttpClient):
    server = "Prometheus"
    action = "query"

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        super().__init__(check_url(url), timeout)

    def query(self, expr: str) -> list[Sample]:
        """An instant query; the instant vector's samples. Raises Unreachable on any failure."""
        path = f"/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        try:
            answer = json.loads(self.call("GET", path))
        except ValueError:
            raise self.fail("the answer is not JSON; is this the Prometheus base URL?") from None
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise self.fail(f"the API answered {_api_error(answer)}")
        data = answer.get("data") or {}
        if data.get("resultType") != "vector":
            raise self.fail(f"expected an instant vector, got resultType {data.get('resultType')!r}")
        try:
            return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise self.fail("the answer holds a malformed sample") from None

    def http_error(self, method: str, path: str, response: Response) -> Unreachable:
        # Prometheus explains 4xx/5xx in a JSON body (bad_data, timeout, …).
        detail = ""
        with contextlib.suppress(ValueError):
            detail = f": {_api_error(json.loads(response.body))}"
        hint = " (is this the Prometheus base URL?)" if response.status == 404 else ""
        return self.fail(f"HTTP {response.status} {response.reason}{detail}{hint}")


def _api_error(answer: Any) -> str:
    if isinstance(answer, dict) and "error" in answer:
        return f"{answer.get('errorType', 'error')}: {answer['error']}"
    return "without status success"
