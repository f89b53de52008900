"""The client of the few Grafana endpoints `obsgen grafana import` needs, and its errors.

Three endpoints of Grafana's documented API, authenticated with a service-account token
(`Authorization: Bearer …`): `GET /api/folders/:uid` and `POST /api/folders`,
`GET /api/dashboards/uid/:uid` and `POST /api/dashboards/db`. Every refusal becomes an
ImportFailure carrying its exit code and what to do about it.

The token never leaves the request header: it is not printed, not put in an error message, and
any text Grafana answers with is scrubbed of it before it is shown. Redirects are not followed,
so the header never reaches another address either.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.exit_codes import ExitCode
from generator.live.http_client import HttpClient, Response, Unreachable

RETRY_DELAYS = (0.5, 1.0)  # three attempts in all
USER_AGENT = "obsgen-grafana"

Echo = Callable[[str], None]


class ImportFailure(Exception):
    """An import that cannot go on: `code` is the exit code, the message says why and what to do."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any
    location: str | None = None


def check_url(url: str) -> str:
    """GRAFANA_URL without a trailing slash; ImportFailure (usage) when it cannot be a base URL.

    The value is echoed back only when it holds nothing that could be a secret."""
    value = url.strip()
    parsed = urllib.parse.urlsplit(value)
    if "@" in parsed.netloc:
        raise ImportFailure(
            ExitCode.USAGE,
            "GRAFANA_URL must not carry credentials (user:password@); "
            "put the service-account token in GRAFANA_TOKEN instead",
        )
    if parsed.query or parsed.fragment:
        raise ImportFailure(ExitCode.USAGE, "GRAFANA_URL takes no query string or fragment (`?…`, `#…`)")
    if any(ord(c) <= 32 or ord(c) == 127 for c in value):
        raise ImportFailure(ExitCode.USAGE, "GRAFANA_URL holds a space or a control character")
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not port_ok:
        raise ImportFailure(
            ExitCode.USAGE,
            "GRAFANA_URL must be http(s)://host[:port][/sub-path], such as http://127.0.0.1:3000; "
            f"got {value!r}",
        )
    return value.rstrip("/")


def check_token(token: str | None) -> str:
    """The token, checked without ever showing it: a header value may hold no space or control
    character (http.client would reject it with the whole value in its message)."""
    if token is None or not token.strip():
        raise ImportFailure(
            ExitCode.AUTH,
            "GRAFANA_TOKEN is not set: create a service account with the Editor role in Grafana "
            "(Administration > Users and access > Service accounts), add a token and export it "
            "as GRAFANA_TOKEN",
        )
    token = token.strip()
    if any(not 33 <= ord(c) <= 126 for c in token):
        raise ImportFailure(
            ExitCode.AUTH,
            "GRAFANA_TOKEN holds a space, a control or a non-ASCII character, which no service "
            "account token has: copy the token again",
        )
    return token


class Grafana(HttpClient):
    """A client of the few Grafana endpoints the import needs. 5xx answers, connection errors
    and timeouts are retried after each of `delays` (exponential backoff), then fail."""

    server = "Grafana"
    user_agent = USER_AGENT

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float = 5.0,
        delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        warn: Echo | None = None,
    ) -> None:
        checked_url, self._token = check_url(url), check_token(token)
        super().__init__(
            checked_url,
            timeout,
            headers={"Authorization": f"Bearer {self._token}"},
            follow_redirects=False,
            delays=delays,
            sleep=sleep,
            warn=warn,
        )

    def __repr__(self) -> str:
        return f"Grafana({self.url!r})"

    # -- the endpoints

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        answer = self.send("GET", f"/api/folders/{uid}")
        if answer.status == 404:
            return None
        return self._expect(answer, "GET", f"/api/folders/{uid}")

    def create_folder(self, uid: str, title: str) -> Answer:
        """The answer as it is: 200 created, 409 or 412 exists; anything else raises."""
        answer = self.send("POST", "/api/folders", {"uid": uid, "title": title})
        if answer.status in (200, 409, 412):
            return answer
        raise self.refusal(answer, "POST", "/api/folders")

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        answer = self.send("GET", f"/api/dashboards/uid/{uid}")
        if answer.status == 404:
            return None
        found = self._expect(answer, "GET", f"/api/dashboards/uid/{uid}")
        if not isinstance(found, dict) or not isinstance(found.get("dashboard"), dict):
            raise self._unusable("GET", f"/api/dashboards/uid/{uid}", "no dashboard object in the answer")
        return found

    def save_dashboard(self, body: dict[str, Any], meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST /api/dashboards/db; `meta` is the stored dashboard's, for the advice on a refusal."""
        answer = self.send("POST", "/api/dashboards/db", body)
        if answer.status != 200:
            raise self.refusal(answer, "POST", "/api/dashboards/db", body, meta)
        if not isinstance(answer.data, dict):
            raise self._unusable("POST", "/api/dashboards/db", "the answer is not a JSON object")
        return answer.data

    # -- HTTP

    def send(self, method: str, path: str, body: Any = None) -> Answer:
        """The answer to `method path` (`body` as JSON unless None), once it is not a 5xx one
        (the retries are HttpClient's); an ImportFailure when there is none."""
        data = None if body is None else json.dumps(body).encode()
        kind = None if data is None else "application/json"
        try:
            response = self.request(method, path, data, content_type=kind)
        except Unreachable as exc:
            if not exc.transient:
                raise ImportFailure(ExitCode.UNREACHABLE, f"Grafana at {self.url}: {exc.why}") from None
            last = exc.why
        except ValueError as exc:  # http.client's own checks; their messages quote the request
            raise ImportFailure(
                ExitCode.USAGE, f"cannot send {method} {self.url}{path}: {type(exc).__name__}"
            ) from None
        else:
            if response.status < 500:
                return _answer(response)
            last = self.status_text(response)
        raise ImportFailure(
            ExitCode.UNREACHABLE,
            f"Grafana at {self.url} gave no usable answer to {method} {path} after {self.attempts} attempts; "
            f"last: {last}",
        )

    def status_text(self, response: Response) -> str:
        return f"HTTP {response.status}{self.detail(_answer(response))}"

    def scrub(self, text: str) -> str:
        return text.replace(self._token, "<GRAFANA_TOKEN>")

    # -- reading answers

    def _expect(self, answer: Answer, method: str, path: str) -> Any:
        if answer.status == 200:
            if answer.data is None or isinstance(answer.data, _Text):
                raise self._unusable(
                    method, path, "the answer is not JSON; is GRAFANA_URL Grafana's base URL?"
                )
            return answer.data
        raise self.refusal(answer, method, path)

    def _unusable(self, method: str, path: str, why: str) -> ImportFailure:
        return ImportFailure(ExitCode.UNREACHABLE, f"Grafana at {self.url}: {method} {path}: {why}")

    def refusal(
        self,
        answer: Answer,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> ImportFailure:
        """The ImportFailure for a 3xx or 4xx answer, with what to do about it."""
        status, detail, where = answer.status, self.detail(answer), f"{method} {path}"
        if 300 <= status < 400:
            target = self.scrub(answer.location or "?")
            return ImportFailure(
                ExitCode.REJECTED,
                f"Grafana at {self.url} redirects {where} to {target} (HTTP {status}); set GRAFANA_URL "
                "to the address Grafana serves (the token is never sent to a redirect)",
            )
        if status == 401:
            return ImportFailure(
                ExitCode.AUTH,
                f"Grafana at {self.url} did not accept the token: HTTP 401{detail} for {where}. "
                "GRAFANA_TOKEN is missing, invalid, expired or revoked, or belongs to another Grafana: "
                "create a new service account token and export it as GRAFANA_TOKEN",
            )
        if status == 403:
            return ImportFailure(
                ExitCode.AUTH,
                f"Grafana at {self.url} accepted the token, but its service account may not do this: HTTP 403"
                f"{detail} for {where}. Give the service account the Editor role (or the permissions "
                "folders:read, folders:create, dashboards:read, dashboards:create, dashboards:write)",
            )
        if status == 412:
            return self._precondition(answer, where, body or {})
        hint = ""
        if status == 404:
            hint = "; is GRAFANA_URL Grafana's base URL, with its sub-path if it is served under one?"
        elif meta and meta.get("provisioned"):
            hint = (
                "; this dashboard is provisioned from files on the Grafana server: change it there, "
                "or remove it from provisioning and import again"
            )
        return ImportFailure(
            ExitCode.REJECTED, f"Grafana at {self.url} rejected {where}: HTTP {status}{detail}{hint}"
        )

    def _precondition(self, answer: Answer, where: str, body: Mapping[str, Any]) -> ImportFailure:
        data = answer.data if isinstance(answer.data, dict) else {}
        kind, detail = data.get("status"), self.detail(answer)
        dashboard = body.get("dashboard") or {}
        uid, title, folder = dashboard.get("uid"), dashboard.get("title"), body.get("folderUid")
        advice = {
            "version-mismatch": (
                f"dashboard {uid} was changed in Grafana by someone else while it was imported: "
                "run the import again"
            ),
            "name-exists": (
                f"another dashboard in folder {folder} has the title {title!r} (or the uid {uid}): "
                "rename or delete that dashboard in Grafana, or import into another --folder"
            ),
            "plugin-dashboard": (
                f"dashboard {uid} belongs to a Grafana plugin and only the plugin may change it: "
                "remove the plugin's dashboard in Grafana, or give ours another uid"
            ),
        }.get(kind, "")
        label = (
            kind if kind in ("version-mismatch", "name-exists", "plugin-dashboard") else "precondition failed"
        )
        return ImportFailure(
            ExitCode.PRECONDITION,
            f"Grafana at {self.url} refused {where}: HTTP 412 {label}{detail}"
            + (f": {advice}" if advice else ""),
        )

    def detail(self, answer: Answer) -> str:
        """Grafana's own explanation (`message`), or the start of a text answer, without the token."""
        data = answer.data
        if isinstance(data, dict) and isinstance(data.get("message"), str) and data["message"].strip():
            text = data["message"].strip()
        elif isinstance(data, _Text) and data.strip():
            text = " ".join(data.split())[:200]
        else:
            return ""
        return f" ({self.scrub(text)})"


class _Text(str):
    """An answer body that is not JSON (a proxy's error page, say)."""


def _answer(response: Response) -> Answer:
    return Answer(response.status, _parse(response.body), response.location)


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _Text(raw.decode("utf-8", "replace"))
