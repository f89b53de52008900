"""`obsgen grafana import`: the generated dashboards into Grafana through its HTTP API, over urllib.

Three endpoints of Grafana's documented API, authenticated with a service-account token
(`Authorization: Bearer …`): `GET /api/folders/:uid` and `POST /api/folders` to make sure the
folder exists, `GET /api/dashboards/uid/:uid` to compare, and `POST /api/dashboards/db` to
save. A dashboard Grafana already holds, equal to ours but for the `id` and `version` Grafana
manages, and in the same folder, is left alone: importing twice changes nothing.

The token never leaves the request header: it is not printed, not put in an error message, and
any text Grafana answers with is scrubbed of it before it is shown. Redirects are not followed,
so the header never reaches another address either.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.live import EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE

EXIT_AUTH = 20
EXIT_PRECONDITION = 21
EXIT_REJECTED = 22

MIN_UID = "lumen-min"
DEFAULT_FOLDER = "obsgen"
RETRY_DELAYS = (0.5, 1.0)  # three attempts in all
USER_AGENT = "obsgen-grafana"
MANAGED_BY_GRAFANA = ("id", "version")
UID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")

Echo = Callable[[str], None]


class ImportFailure(Exception):
    """An import that cannot go on: `code` is the exit code, the message says why and what to do."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Dashboard:
    path: Path
    model: dict[str, Any]

    @property
    def uid(self) -> str:
        return self.model["uid"]

    @property
    def title(self) -> str:
        return self.model["title"]


@dataclass(frozen=True)
class Answer:
    status: int
    data: Any
    location: str | None = None


# ---------------------------------------------------------------- configuration


def check_url(url: str) -> str:
    """GRAFANA_URL without a trailing slash; ImportFailure (usage) when it cannot be a base URL.

    The value is echoed back only when it holds nothing that could be a secret."""
    value = url.strip()
    parsed = urllib.parse.urlsplit(value)
    if "@" in parsed.netloc:
        raise ImportFailure(
            EXIT_USAGE,
            "GRAFANA_URL must not carry credentials (user:password@); "
            "put the service-account token in GRAFANA_TOKEN instead",
        )
    if parsed.query or parsed.fragment:
        raise ImportFailure(EXIT_USAGE, "GRAFANA_URL takes no query string or fragment (`?…`, `#…`)")
    if any(ord(c) <= 32 or ord(c) == 127 for c in value):
        raise ImportFailure(EXIT_USAGE, "GRAFANA_URL holds a space or a control character")
    try:
        port_ok = parsed.port is None or parsed.port > 0
    except ValueError:
        port_ok = False
    if parsed.scheme not in ("http", "https") or not parsed.hostname or not port_ok:
        raise ImportFailure(
            EXIT_USAGE,
            "GRAFANA_URL must be http(s)://host[:port][/sub-path], such as http://127.0.0.1:3000; "
            f"got {value!r}",
        )
    return value.rstrip("/")


def check_token(token: str | None) -> str:
    """The token, checked without ever showing it: a header value may hold no space or control
    character (http.client would reject it with the whole value in its message)."""
    if token is None or not token.strip():
        raise ImportFailure(
            EXIT_AUTH,
            "GRAFANA_TOKEN is not set: create a service account with the Editor role in Grafana "
            "(Administration > Users and access > Service accounts), add a token and export it "
            "as GRAFANA_TOKEN",
        )
    token = token.strip()
    if any(not 33 <= ord(c) <= 126 for c in token):
        raise ImportFailure(
            EXIT_AUTH,
            "GRAFANA_TOKEN holds a space, a control or a non-ASCII character, which no service "
            "account token has: copy the token again",
        )
    return token


def folder_uid(title: str) -> str:
    """A stable folder uid from its title: lower case, runs of other characters as one `-`."""
    uid = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].rstrip("-")
    if not uid:
        raise ImportFailure(EXIT_USAGE, f"--folder {title!r}: a folder title needs a letter or a digit")
    return uid


# ---------------------------------------------------------------- dashboard files


def dashboards_dir(out_dir: Path) -> Path:
    return out_dir / "grafana" / "dashboards"


def load_dashboard(path: Path) -> Dashboard:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFailure(EXIT_USAGE, f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise ImportFailure(EXIT_USAGE, f"{path}: not JSON: {exc}") from None
    if not isinstance(model, dict):
        raise ImportFailure(EXIT_USAGE, f"{path}: expected a dashboard object, got {type(model).__name__}")
    uid, title = model.get("uid"), model.get("title")
    if not isinstance(uid, str) or not UID_RE.fullmatch(uid):
        raise ImportFailure(
            EXIT_USAGE, f"{path}: uid: expected 1 to 40 letters, digits, '-' or '_', got {uid!r}"
        )
    if not isinstance(title, str) or not title.strip():
        raise ImportFailure(EXIT_USAGE, f"{path}: title: expected a non-empty string, got {title!r}")
    return Dashboard(path, model)


def find_dashboards(out_dir: Path, only_uid: str | None = None) -> list[Dashboard]:
    """Every `<out_dir>/grafana/dashboards/*.json` (or only the one with uid `only_uid`)."""
    folder = dashboards_dir(out_dir)
    found = [load_dashboard(p) for p in sorted(folder.glob("*.json"))]
    seen: dict[str, Path] = {}
    for dashboard in found:
        if dashboard.uid in seen:
            raise ImportFailure(
                EXIT_USAGE,
                f"{dashboard.path}: uid {dashboard.uid!r} is also the uid of {seen[dashboard.uid]}",
            )
        seen[dashboard.uid] = dashboard.path
    if only_uid is not None:
        found = [d for d in found if d.uid == only_uid]
    if not found:
        which = f"no dashboard with uid {only_uid!r}" if only_uid else "no dashboards (*.json)"
        raise ImportFailure(EXIT_USAGE, f"{which} in {folder}/: run `make gen` first")
    return found


def comparable(model: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if k not in MANAGED_BY_GRAFANA}


def content_hash(model: Mapping[str, Any]) -> str:
    canonical = json.dumps(comparable(model), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def panel_count(model: Mapping[str, Any]) -> int:
    """Panels, rows not counted, those inside collapsed rows (and legacy `rows`) counted."""

    def count(panels: Any) -> int:
        if not isinstance(panels, list):
            return 0
        return sum(
            count(p.get("panels")) if p.get("type") == "row" else 1 for p in panels if isinstance(p, dict)
        )

    rows = model.get("rows") if isinstance(model.get("rows"), list) else []
    return count(model.get("panels")) + sum(count(r.get("panels")) for r in rows if isinstance(r, dict))


def save_body(dashboard: Dashboard, folder: str) -> dict[str, Any]:
    """What `POST /api/dashboards/db` gets: ours with `id` null, so Grafana matches it by uid."""
    return {
        "dashboard": {**dashboard.model, "id": None},
        "folderUid": folder,
        "overwrite": True,
        "message": f"obsgen import {content_hash(dashboard.model)}",
    }


# ---------------------------------------------------------------- the client


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """urllib would resend the Authorization header to wherever a redirect points."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Grafana:
    """A client of the few Grafana endpoints the import needs. 5xx answers, connection errors
    and timeouts are retried after each of `delays` (exponential backoff), then fail."""

    def __init__(
        self,
        url: str,
        token: str | None,
        timeout: float = 5.0,
        delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
        warn: Echo | None = None,
    ) -> None:
        self.url = check_url(url)
        self._token = check_token(token)
        self.timeout = timeout
        self.delays = tuple(delays)
        self._sleep = sleep
        self._warn = warn or (lambda line: None)
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"Grafana({self.url!r})"

    # -- the endpoints

    def get_folder(self, uid: str) -> dict[str, Any] | None:
        answer = self.call("GET", f"/api/folders/{uid}")
        if answer.status == 404:
            return None
        return self._expect(answer, "GET", f"/api/folders/{uid}")

    def create_folder(self, uid: str, title: str) -> Answer:
        """The answer as it is: 200 created, 409 or 412 exists; anything else raises."""
        answer = self.call("POST", "/api/folders", {"uid": uid, "title": title})
        if answer.status in (200, 409, 412):
            return answer
        raise self.refusal(answer, "POST", "/api/folders")

    def get_dashboard(self, uid: str) -> dict[str, Any] | None:
        answer = self.call("GET", f"/api/dashboards/uid/{uid}")
        if answer.status == 404:
            return None
        found = self._expect(answer, "GET", f"/api/dashboards/uid/{uid}")
        if not isinstance(found, dict) or not isinstance(found.get("dashboard"), dict):
            raise self._unusable("GET", f"/api/dashboards/uid/{uid}", "no dashboard object in the answer")
        return found

    def save_dashboard(self, body: dict[str, Any], meta: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """POST /api/dashboards/db; `meta` is the stored dashboard's, for the advice on a refusal."""
        answer = self.call("POST", "/api/dashboards/db", body)
        if answer.status != 200:
            raise self.refusal(answer, "POST", "/api/dashboards/db", body, meta)
        if not isinstance(answer.data, dict):
            raise self._unusable("POST", "/api/dashboards/db", "the answer is not a JSON object")
        return answer.data

    # -- HTTP

    def call(self, method: str, path: str, body: Any = None) -> Answer:
        attempts = len(self.delays) + 1
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                answer = self._once(method, path, body)
            except _Transient as exc:
                last = str(exc)
            else:
                if answer.status < 500:
                    return answer
                last = f"HTTP {answer.status}{self.detail(answer)}"
            if attempt < attempts:
                delay = self.delays[attempt - 1]
                self._warn(
                    f"retry: {method} {self.url}{path}: {last}; attempt {attempt + 1} of {attempts} "
                    f"in {delay:g}s"
                )
                self._sleep(delay)
        raise ImportFailure(
            EXIT_UNREACHABLE,
            f"Grafana at {self.url} gave no usable answer to {method} {path} after {attempts} attempts; "
            f"last: {last}",
        )

    def _once(self, method: str, path: str, body: Any) -> Answer:
        headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {self._token}",
            "User-Agent": USER_AGENT,
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return Answer(response.status, _parse(response.read()))
        except urllib.error.HTTPError as exc:
            try:
                raw = exc.read()
            except (OSError, http.client.HTTPException):
                raw = b""
            return Answer(exc.code, _parse(raw), exc.headers.get("Location") if exc.headers else None)
        except urllib.error.URLError as exc:
            raise self._transient(exc.reason) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._transient(exc) from None
        except ValueError as exc:  # http.client's own checks; their messages quote the request
            raise ImportFailure(
                EXIT_USAGE, f"cannot send {method} {self.url}{path}: {type(exc).__name__}"
            ) from None

    def _transient(self, reason: Any) -> Exception:
        if isinstance(reason, ssl.SSLCertVerificationError):
            return ImportFailure(
                EXIT_UNREACHABLE,
                f"Grafana at {self.url}: TLS certificate not trusted ({reason.verify_message})",
            )
        if isinstance(reason, TimeoutError):
            return _Transient(f"no answer within {self.timeout:g}s")
        if isinstance(reason, socket.gaierror):
            return _Transient(f"unknown host ({reason.strerror})")
        if isinstance(reason, OSError) and reason.strerror:
            return _Transient(reason.strerror)
        return _Transient(self._scrub(str(reason)) or type(reason).__name__)

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
        return ImportFailure(EXIT_UNREACHABLE, f"Grafana at {self.url}: {method} {path}: {why}")

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
            target = self._scrub(answer.location or "?")
            return ImportFailure(
                EXIT_REJECTED,
                f"Grafana at {self.url} redirects {where} to {target} (HTTP {status}); set GRAFANA_URL "
                "to the address Grafana serves (the token is never sent to a redirect)",
            )
        if status == 401:
            return ImportFailure(
                EXIT_AUTH,
                f"Grafana at {self.url} did not accept the token: HTTP 401{detail} for {where}. "
                "GRAFANA_TOKEN is missing, invalid, expired or revoked, or belongs to another Grafana: "
                "create a new service account token and export it as GRAFANA_TOKEN",
            )
        if status == 403:
            return ImportFailure(
                EXIT_AUTH,
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
            EXIT_REJECTED, f"Grafana at {self.url} rejected {where}: HTTP {status}{detail}{hint}"
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
            EXIT_PRECONDITION,
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
        return f" ({self._scrub(text)})"

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "<GRAFANA_TOKEN>")


class _Transient(Exception):
    """No HTTP answer at all (refused, reset, timed out): worth another attempt."""


class _Text(str):
    """An answer body that is not JSON (a proxy's error page, say)."""


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return _Text(raw.decode("utf-8", "replace"))


# ---------------------------------------------------------------- the import


def ensure_folder(grafana: Grafana, uid: str, title: str, echo: Echo) -> None:
    found = grafana.get_folder(uid)
    if found is not None:
        name = found.get("title") if isinstance(found, dict) else None
        note = f" (titled {name!r} in Grafana)" if name and name != title else ""
        echo(f"folder {uid}: exists{note}")
        return
    answer = grafana.create_folder(uid, title)
    if answer.status == 200:
        echo(f"folder {uid}: created ({title!r})")
        return
    # 409/412: created meanwhile (a retried POST, another import), or another folder holds the title.
    if grafana.get_folder(uid) is not None:
        echo(f"folder {uid}: exists")
        return
    raise ImportFailure(
        EXIT_PRECONDITION,
        f"Grafana at {grafana.url} refused to create folder {title!r} (uid {uid}): HTTP {answer.status}"
        f"{grafana.detail(answer)}: a folder titled {title!r} probably exists with another uid; rename or "
        "delete it in Grafana, or import into another --folder",
    )


def import_one(grafana: Grafana, dashboard: Dashboard, folder: str, echo: Echo) -> str:
    """Save one dashboard unless Grafana already holds it as it is; returns what happened."""
    label = f"dashboard {dashboard.uid} ({dashboard.title!r})"
    stored = grafana.get_dashboard(dashboard.uid)
    meta = stored.get("meta") if stored and isinstance(stored.get("meta"), dict) else {}
    if stored is not None:
        same = comparable(stored["dashboard"]) == comparable(dashboard.model)
        if same and (meta.get("folderUid") or "") == folder:
            echo(f"{label}: unchanged (version {stored['dashboard'].get('version', '?')})")
            return "unchanged"
    body = save_body(dashboard, folder)
    saved = grafana.save_dashboard(body, meta)
    if saved.get("uid") not in (None, dashboard.uid):
        # With overwrite: true Grafana saves a new dashboard over another one of the same title in
        # the folder, under that one's uid: ours would then never be found by its own uid.
        raise ImportFailure(
            EXIT_PRECONDITION,
            f"Grafana saved {label} over dashboard uid {saved.get('uid')}, which had the same title in "
            f"folder {folder}: that dashboard now shows ours. Delete it (or rename it and restore its "
            "previous version) in Grafana, then import again",
        )
    what = "updated" if stored is not None else "created"
    echo(f"{label}: {what} (version {saved.get('version', '?')}) {saved.get('url', '')}".rstrip())
    return what


def plan(dashboards: Sequence[Dashboard], title: str, uid: str, url: str | None, echo: Echo) -> None:
    """--dry-run: the requests an import would send, and nothing is sent."""
    where = f"Grafana at {url}" if url else "Grafana (GRAFANA_URL is not set)"
    echo(f"dry run: nothing is sent to {where}")
    echo(f"folder {uid}:")
    echo(f"  GET  /api/folders/{uid}")
    echo(f"  POST /api/folders  {json.dumps({'uid': uid, 'title': title})}  (only if the GET answers 404)")
    for dashboard in dashboards:
        body = save_body(dashboard, uid)
        summary = {
            "folderUid": body["folderUid"],
            "overwrite": body["overwrite"],
            "message": body["message"],
            "dashboard": {
                "uid": dashboard.uid,
                "title": dashboard.title,
                "panels": panel_count(dashboard.model),
                "id": None,
            },
        }
        echo(f"dashboard {dashboard.uid} from {dashboard.path}:")
        echo(f"  GET  /api/dashboards/uid/{dashboard.uid}  (equal but for id and version: nothing more)")
        echo(f"  POST /api/dashboards/db  {json.dumps(summary, ensure_ascii=False)}")
    echo(
        f"obsgen: dry run: {len(dashboards)} dashboard(s) planned for folder {uid}; "
        "Grafana was not contacted."
    )


def import_dashboards(
    paths: Sequence[Path],
    folder: str = DEFAULT_FOLDER,
    dry_run: bool = False,
    *,
    environ: Mapping[str, str],
    timeout: float = 5.0,
    echo: Echo = print,
    warn: Echo = print,
    sleep: Callable[[float], None] = time.sleep,
    delays: Sequence[float] = RETRY_DELAYS,
) -> int:
    """Import the dashboard files `paths` into `folder`; returns the exit code. Progress goes to
    `echo`, retries and the final error to `warn`. Stops at the first failure."""
    try:
        dashboards = [load_dashboard(Path(p)) for p in paths]
        if not dashboards:
            raise ImportFailure(EXIT_USAGE, "no dashboards to import")
        uid = folder_uid(folder)
        raw_url = environ.get("GRAFANA_URL", "").strip()
        if dry_run:
            plan(dashboards, folder, uid, check_url(raw_url) if raw_url else None, echo)
            return EXIT_OK
        if not raw_url:
            raise ImportFailure(EXIT_USAGE, "GRAFANA_URL is not set: export it, e.g. http://127.0.0.1:3000")
        grafana = Grafana(raw_url, environ.get("GRAFANA_TOKEN"), timeout, delays, sleep, warn)
        echo(f"grafana {grafana.url}: {len(dashboards)} dashboard(s) into folder {folder!r} (uid {uid})")
        ensure_folder(grafana, uid, folder, echo)
        outcomes = [import_one(grafana, d, uid, echo) for d in dashboards]
    except ImportFailure as exc:
        warn(f"error: {exc}")
        return exc.code
    counts = {what: outcomes.count(what) for what in ("created", "updated", "unchanged")}
    if counts["unchanged"] == len(outcomes):
        echo(f"obsgen: nothing to do: {len(outcomes)} dashboard(s) already up to date in Grafana.")
    else:
        echo(
            f"obsgen: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged in folder {uid}."
        )
    return EXIT_OK
