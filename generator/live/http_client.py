"""The HTTP client the live commands build on: one base URL, JSON in and out over urllib, and one
exception, Unreachable, for a request that got no usable answer.

The clients of Prometheus (prom.py, reload_client.py), Alertmanager (alertmanager_client.py) and
Grafana (grafana_client.py) add their endpoints and their own wording of HTTP errors; this
module owns the transport: the user agent, timeouts, redirects, retries, and the few words that
say why a server did not answer (never a traceback).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

USER_AGENT = "obsgen-live"


class Unreachable(Exception):
    """A server gave no usable answer; the message says which server, at which URL, and why.

    `why` is the reason alone. `transient`: another attempt may help (a refused connection, a
    timeout), or it will not (a certificate not trusted). `timed_out`: no answer in time."""

    def __init__(self, message: str, why: str = "", transient: bool = True, timed_out: bool = False) -> None:
        super().__init__(message)
        self.why = why or message
        self.transient = transient
        self.timed_out = timed_out


@dataclass(frozen=True)
class Response:
    """An answer of any status: a 4xx or 5xx is an answer too, which the caller words."""

    status: int
    reason: str
    body: bytes
    location: str | None = None
    """the Location header of a redirect that was not followed"""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def check_url(url: str, what: str, example: str) -> str:
    """The base URL without a trailing slash; raises ValueError when it cannot be one."""
    parsed = urllib.parse.urlsplit(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        article = "an" if what[0] in "AEIOU" else "a"
        raise ValueError(f"expected {article} {what} base URL such as {example}, got {url!r}")
    if parsed.query or parsed.fragment:
        raise ValueError(f"the {what} base URL takes no query or fragment, got {url!r}")
    return url.strip().rstrip("/")


def network_reason(reason: Any, timeout: float, scrub: Callable[[str], str] = str) -> str:
    """Why a request got no answer, in a few words (no traceback, no URL)."""
    if isinstance(reason, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({reason.verify_message})"
    if isinstance(reason, TimeoutError):  # connecting or reading
        return f"no answer within {timeout:g}s"
    if isinstance(reason, socket.gaierror):
        return f"unknown host ({reason.strerror})"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return scrub(str(reason)) or type(reason).__name__


def status_of(url: str, timeout: float = 1.0) -> int:
    """The HTTP status a GET of `url` is answered with; 0 when there is no answer (a probe)."""
    try:
        return HttpClient(url, timeout).request("GET", "", accept="*/*").status
    except Unreachable:
        return 0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect comes back as the 3xx answer it is: urllib would resend every header, an
    Authorization header too, to wherever it points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpClient:
    """Requests below one base URL. No answer (refused, reset, timed out, unknown host) raises
    Unreachable; any HTTP answer is returned. With `delays`, a request without an answer or
    with a 5xx one is sent again after each delay (`warn` is told), then given up."""

    server = "the server"
    """what messages call it: Prometheus, Alertmanager, Grafana"""
    action = "reach"
    """cannot <action> <server> at <url>: why"""
    user_agent = USER_AGENT

    def __init__(
        self,
        url: str,
        timeout: float = 5.0,
        *,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        delays: Sequence[float] = (),
        sleep: Callable[[float], None] = time.sleep,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.delays = tuple(delays)
        self._headers = dict(headers or {})
        self._sleep = sleep
        self._warn = warn or (lambda line: None)
        self._opener = urllib.request.build_opener(*(() if follow_redirects else (_NoRedirect,)))

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    # -- what subclasses word their own way

    def fail(self, why: str, transient: bool = True, timed_out: bool = False) -> Unreachable:
        message = f"cannot {self.action} {self.server} at {self.url}: {why}"
        return Unreachable(message, why, transient, timed_out)

    def http_error(self, method: str, path: str, response: Response) -> Unreachable:
        """The Unreachable for a non-2xx answer to call(): the status, the server's own words
        (its JSON answer, shortened) and, for a 404, a hint at the base URL."""
        detail = ""
        with contextlib.suppress(ValueError):
            detail = f": {str(json.loads(response.body))[:300]}"
        hint = f" (is this the {self.server} base URL?)" if response.status == 404 else ""
        where = path.split("?")[0]
        return self.fail(f"{method} {where}: HTTP {response.status} {response.reason}{detail}{hint}")

    def not_json(self, method: str, path: str) -> Unreachable:
        return self.fail(f"{method} {path.split('?')[0]}: the answer is not JSON")

    def status_text(self, response: Response) -> str:
        """A 5xx answer in a retry warning."""
        return f"HTTP {response.status} {response.reason}"

    def scrub(self, text: str) -> str:
        """`text`, from the network, without anything secret before it is shown."""
        return text

    # -- requests

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        accept: str = "application/json",
        timeout: float | None = None,
    ) -> bytes:
        """The body of a 2xx answer to `method path` (`body` sent as JSON unless None); any other
        answer raises http_error's Unreachable."""
        data = None if body is None else json.dumps(body).encode()
        kind = None if data is None else "application/json"
        response = self.request(method, path, data, accept=accept, content_type=kind, timeout=timeout)
        if not response.ok:
            raise self.http_error(method, path, response)
        return response.body

    def call_json(self, method: str, path: str, body: Any = None) -> Any:
        """call()'s answer decoded; None for an empty one."""
        raw = self.call(method, path, body)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise self.not_json(method, path) from None

    def get_json(self, path: str) -> Any:
        return self.call_json("GET", path)

    def post_json(self, path: str, body: Any) -> Any:
        return self.call_json("POST", path, body)

    def request(
        self,
        method: str,
        path: str,
        data: bytes | None = None,
        *,
        accept: str = "application/json",
        content_type: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """`method` of base URL + `path`, retried per `delays`; the last answer, whatever its
        status, or Unreachable when the last attempt got none."""
        attempts = self.attempts
        for attempt in range(1, attempts + 1):
            try:
                response = self._once(method, path, data, accept, content_type, timeout)
            except Unreachable as exc:
                if not exc.transient or attempt == attempts:
                    raise
                last = exc.why
            else:
                if response.status < 500 or attempt == attempts:
                    return response
                last = self.status_text(response)
            delay = self.delays[attempt - 1]
            self._warn(
                f"retry: {method} {self.url}{path}: {last}; attempt {attempt + 1} of {attempts} in {delay:g}s"
            )
            self._sleep(delay)
        raise AssertionError("not reached")

    def _once(
        self, method: str, path: str, data: bytes | None, accept: str, kind: str | None, timeout: float | None
    ) -> Response:
        headers = {"Accept": accept, "User-Agent": self.user_agent, **self._headers}
        if kind is not None:
            headers["Content-Type"] = kind
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        wait = self.timeout if timeout is None else timeout
        try:
            with self._opener.open(request, timeout=wait) as answer:
                return Response(answer.status, answer.reason, answer.read())
        except urllib.error.HTTPError as exc:
            try:
                raw = exc.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            location = exc.headers.get("Location") if exc.headers else None
            return Response(exc.code, str(exc.reason), raw, location)
        except urllib.error.URLError as exc:
            raise self._no_answer(exc.reason, wait) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._no_answer(exc, wait) from None

    def _no_answer(self, reason: Any, timeout: float) -> Unreachable:
        certificate = isinstance(reason, ssl.SSLCertVerificationError)
        why = network_reason(reason, timeout, self.scrub)
        return self.fail(why, transient=not certificate, timed_out=isinstance(reason, TimeoutError))
