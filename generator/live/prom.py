"""A minimal client of Prometheus's HTTP API: instant queries over urllib, nothing else."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

USER_AGENT = "obsgen-live"


class Unreachable(Exception):
    """Prometheus gave no usable answer; the message says which URL and why."""


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


def check_url(url: str, what: str = "Prometheus", example: str = "http://127.0.0.1:9090") -> str:
    """The base URL without a trailing slash; raises ValueError when it cannot be one."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        article = "an" if what[0] in "AEIOU" else "a"
        raise ValueError(f"expected {article} {what} base URL such as {example}, got {url!r}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"the {what} base URL takes no query or fragment, got {url!r}")
    return url.strip().rstrip("/")


class Prometheus:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = check_url(url)
        self.timeout = timeout

    def query(self, expr: str) -> list[Sample]:
        """An instant query; the instant vector's samples. Raises Unreachable on any failure."""
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        request = urllib.request.Request(
            address, headers={"Accept": "application/json", "User-Agent": USER_AGENT}
        )
        body = self._get(request)
        try:
            answer = json.loads(body)
        except ValueError:
            raise self._fail("the answer is not JSON; is this the Prometheus base URL?") from None
        if not isinstance(answer, dict) or answer.get("status") != "success":
            raise self._fail(f"the API answered {_api_error(answer)}")
        data = answer.get("data") or {}
        if data.get("resultType") != "vector":
            raise self._fail(f"expected an instant vector, got resultType {data.get('resultType')!r}")
        try:
            return [Sample(dict(item["metric"]), float(item["value"][1])) for item in data["result"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise self._fail("the answer holds a malformed sample") from None

    def _get(self, request: urllib.request.Request) -> bytes:
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            # Prometheus explains 4xx/5xx in a JSON body (bad_data, timeout, …).
            detail = ""
            with contextlib.suppress(OSError, ValueError):
                detail = f": {_api_error(json.loads(exc.read()))}"
            hint = " (is this the Prometheus base URL?)" if exc.code == 404 else ""
            raise self._fail(f"HTTP {exc.code} {exc.reason}{detail}{hint}") from None
        except urllib.error.URLError as exc:
            raise self._fail(self._reason(exc.reason)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._fail(self._reason(exc)) from None

    def _reason(self, reason: Any) -> str:
        return network_reason(reason, self.timeout)

    def _fail(self, why: str) -> Unreachable:
        return Unreachable(f"cannot query Prometheus at {self.url}: {why}")


def network_reason(reason: Any, timeout: float) -> str:
    """Why a request got no usable answer, in a few words (no traceback, no URL)."""
    if isinstance(reason, TimeoutError):  # connecting or reading
        return f"no answer within {timeout:g}s"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


def _api_error(answer: Any) -> str:
    if isinstance(answer, dict) and "error" in answer:
        return f"{answer.get('errorType', 'error')}: {answer['error']}"
    return "without status success"
