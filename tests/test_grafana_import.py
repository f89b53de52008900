"""`obsgen grafana import` against a local server that follows Grafana's documented HTTP API.

Grafana itself cannot be installed here, so `FakeGrafana` (a thread on a free loopback port)
implements the four endpoints the import uses as Grafana documents and implements them:
bearer-token auth (401 {"message": "Unauthorized"}, 403 {"message": "Permission denied"} for a
Viewer's token), folders by uid, dashboards by uid, and `POST /api/dashboards/db` with
Grafana's save semantics (versions count up; without `overwrite` a stale version, a title taken
in the folder or a plugin's dashboard is a 412 with its `status`; with it Grafana saves over a
same-title dashboard under that one's uid; a provisioned dashboard is a 400). Failure modes are
switched per test: scripted answers (503, 500, 412, a redirect…) and requests left hanging.

The happy path and the failures a user meets first (closed port, Grafana down) run the command
in a subprocess as a user would; the rest use click's CliRunner, or `import_dashboards` with a
recorded sleep where retries would otherwise wait. Every run asserts that no token appears in
its output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import ROOT, free_port

from generator.exit_codes import ExitCode
from generator.live.grafana import folder_uid, import_dashboards
from generator.live.grafana_client import Grafana, ImportFailure, check_url
from generator.live.grafana_commands import grafana
from generator.live.grafana_dashboards import content_hash, load_dashboard, panel_count, save_body

FIXTURES = ROOT / "tests" / "fixtures" / "grafana"
TOKEN = "glsa_obsgenEditor7Qx2_9f8e7d6c"
VIEWER_TOKEN = "glsa_obsgenViewer3Kp8_1a2b3c4d"
WRONG_TOKEN = "glsa_obsgenRevoked5Zt4_0e0e0e0e"
SECRETS = (TOKEN, VIEWER_TOKEN, WRONG_TOKEN, "9f8e7d6c", "1a2b3c4d", "0e0e0e0e")
RETRY_BOUND = 5.0  # 3 attempts, 0.5 s + 1 s of backoff, and an interpreter starting


# ---------------------------------------------------------------- a Grafana of the docs


@dataclass
class Stored:
    id: int
    uid: str
    folder_uid: str
    version: int
    model: dict[str, Any]
    message: str = ""
    plugin_id: str = ""
    provisioned: bool = False

    @property
    def title(self) -> str:
        return self.model.get("title", "")


@dataclass
class Seen:
    method: str
    path: str
    role: str | None  # the token's role, or None: the token itself is never kept
    body: Any


@dataclass
class Script:
    status: int
    body: Any = None
    method: str | None = None
    path: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


class FakeGrafana:
    """Grafana's folder and dashboard endpoints, in memory, on a free 127.0.0.1 port."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.tokens = {TOKEN: "Editor", VIEWER_TOKEN: "Viewer"}
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, Stored] = {}
        self.seen: list[Seen] = []
        self.scripts: list[Script] = []
        self.hangs = 0
        self._ids = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.prefix}"

    # -- switches

    def script(self, status: int, body: Any = None, **kw: Any) -> None:
        """Answer the next matching request(s) with this, before auth or anything else."""
        self.scripts.append(Script(status, body, **kw))

    def hang(self, times: int) -> None:
        """Leave the next requests unanswered until the server stops."""
        self.hangs = times

    def saves(self) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == ("POST", "/api/dashboards/db")]

    def add_folder(self, uid: str, title: str) -> None:
        self._ids += 1
        self.folders[uid] = {"id": self._ids, "uid": uid, "title": title, "version": 1}

    def add_dashboard(self, model: dict[str, Any], folder_uid: str, **extra: Any) -> Stored:
        self._ids += 1
        stored = Stored(self._ids, model["uid"], folder_uid, 1, dict(model), **extra)
        self.dashboards[stored.uid] = stored
        return stored

    # -- serving

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def _answer(self, method: str) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                reply = fake.respond(method, self.path.split("?")[0], self.headers.get("Authorization"), raw)
                if reply is None:
                    self.close_connection = True
                    return
                status, body, headers = reply
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header(
                    "Content-Type", "text/plain" if isinstance(body, bytes) else "application/json"
                )
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def respond(
        self, method: str, path: str, authorization: str | None, raw: bytes
    ) -> tuple[int, Any, dict[str, str]] | None:
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        token = authorization[len("Bearer ") :] if (authorization or "").startswith("Bearer ") else None
        role = self.tokens.get(token or "")
        with self._lock:
            if self.prefix:
                path = path.removeprefix(self.prefix) if path.startswith(self.prefix + "/") else "/-" + path
            self.seen.append(Seen(method, path, role, body))
            if self.hangs:
                self.hangs -= 1
                hang = True
            else:
                hang = False
                for script in self.scripts:
                    if script.times and script.method in (None, method) and script.path in (None, path):
                        script.times -= 1
                        return script.status, script.body, script.headers
        if hang:
            self._release.wait(30)
            return None
        if path.startswith("/-/"):
            return 404, b"404 page not found", {}
        if role is None:
            return 401, {"message": "Unauthorized"}, {}
        if method == "POST" and role == "Viewer":
            return 403, {"message": "Permission denied"}, {}
        with self._lock:
            status, answer = self.route(method, path, body)
        return status, answer, {}

    def route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and (m := re.fullmatch(r"/api/folders/([^/]+)", path)):
            folder = self.folders.get(m[1])
            return (200, self.folder_json(folder)) if folder else (404, {"message": "folder not found"})
        if method == "POST" and path == "/api/folders":
            return self.create_folder(body)
        if method == "GET" and (m := re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)):
            stored = self.dashboards.get(m[1])
            return (200, self.dashboard_json(stored)) if stored else (404, {"message": "Dashboard not found"})
        if method == "POST" and path == "/api/dashboards/db":
            return self.save(body)
        return 404, {"message": "Not found"}

    def folder_json(self, folder: dict[str, Any]) -> dict[str, Any]:
        return {**folder, "url": f"/dashboards/f/{folder['uid']}/{slug(folder['title'])}", "canSave": True}

    def create_folder(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, {"message": "bad request data"}
        title, uid = body.get("title"), body.get("uid") or f"f{self._ids + 1}"
        if not isinstance(title, str) or not title.strip():
            return 400, {"message": "folder title cannot be empty"}
        if uid in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        if any(f["title"] == title for f in self.folders.values()):
            return 409, {
                "message": "a folder or dashboard in the general folder with the same name already exists"
            }
        self.add_folder(uid, title)
        return 200, self.folder_json(self.folders[uid])

    def dashboard_json(self, stored: Stored) -> dict[str, Any]:
        folder = self.folders.get(stored.folder_uid)
        return {
            "dashboard": {**stored.model, "id": stored.id, "uid": stored.uid, "version": stored.version},
            "meta": {
                "type": "db",
                "slug": slug(stored.title),
                "url": f"/d/{stored.uid}/{slug(stored.title)}",
                "version": stored.version,
                "folderId": folder["id"] if folder else 0,
                "folderUid": stored.folder_uid,
                "folderTitle": folder["title"] if folder else "General",
                "provisioned": stored.provisioned,
            },
        }

    def save(self, body: Any) -> tuple[int, Any]:
        """Grafana's save: the checks of its dashboard store, in its order."""
        if not isinstance(body, dict) or not isinstance(body.get("dashboard"), dict):
            return 400, {"message": "bad request data"}
        dash, overwrite = body["dashboard"], bool(body.get("overwrite"))
        folder = body.get("folderUid") or ""
        title = dash.get("title")
        if not isinstance(title, str) or not title.strip():
            return 400, {"message": "Dashboard title cannot be empty"}
        if folder and folder not in self.folders:
            return 400, {"message": "folder not found"}
        uid = dash.get("uid") or f"d{self._ids + 1}"
        target = self.dashboards.get(uid)
        if dash.get("id") is not None:
            by_id = next((d for d in self.dashboards.values() if d.id == dash["id"]), None)
            if by_id is None:
                return 404, {"message": "Dashboard not found"}
            if target is not None and target is not by_id:
                return 400, {"message": "A dashboard with the same uid already exists"}
            target = by_id
        if target is not None:
            if (dash.get("version") or 0) != target.version and not overwrite:
                return 412, {
                    "message": "The dashboard has been changed by someone else",
                    "status": "version-mismatch",
                }
            if target.plugin_id and not overwrite:
                message = f"The dashboard belongs to plugin {target.plugin_id}."
                return 412, {"message": message, "status": "plugin-dashboard"}
        clash = next(
            (
                d
                for d in self.dashboards.values()
                if d.folder_uid == folder and d.title == title and d is not target
            ),
            None,
        )
        if clash is not None:
            if not overwrite:
                message = "A dashboard with the same name in the folder already exists"
                return 412, {"message": message, "status": "name-exists"}
            target = clash  # Grafana takes over its id, uid and version
        if target is not None and target.provisioned:
            return 400, {"message": "Cannot save provisioned dashboard"}
        if target is None:
            self._ids += 1
            target = Stored(self._ids, uid, folder, 0, {})
            self.dashboards[uid] = target
        target.version += 1
        target.folder_uid = folder
        target.model = {**dash, "id": target.id, "uid": target.uid, "version": target.version}
        target.message = body.get("message") or ""
        s = slug(title)
        return 200, {
            "id": target.id,
            "uid": target.uid,
            "url": f"/d/{target.uid}/{s}",
            "status": "success",
            "version": target.version,
            "slug": s,
        }


# ---------------------------------------------------------------- fixtures and runners


@pytest.fixture
def fake() -> Iterator[FakeGrafana]:
    server = FakeGrafana()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def generated(tmp_path: Path) -> Path:
    """A generated/ tree holding the two fixture dashboards."""
    target = tmp_path / "generated" / "grafana" / "dashboards"
    target.mkdir(parents=True)
    for name in ("lumen-min.json", "bridge-slo.json"):
        shutil.copy(FIXTURES / name, target / name)
    return tmp_path / "generated"


def env(url: str | None, token: str | None = TOKEN) -> dict[str, str | None]:
    return {"GRAFANA_URL": url, "GRAFANA_TOKEN": token}


def no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"a token leaked into the output:\n{text}"
        assert "Traceback" not in text, text


def subprocess_cli(*args: str | Path, environ: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
    """The group as `obsgen grafana` will run it, in a fresh interpreter."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GRAFANA_")}
    full.update({k: v for k, v in environ.items() if v is not None})
    code = "from generator.live.grafana_commands import grafana; grafana(prog_name='obsgen grafana')"
    result = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=full,
    )
    no_secrets(result.stdout, result.stderr)
    return result


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def invoke(*args: str | Path, environ: dict[str, str | None]) -> Run:
    result = CliRunner().invoke(
        grafana, [str(a) for a in args], env=environ, catch_exceptions=False, prog_name="obsgen grafana"
    )
    run = Run(result.exit_code, result.stdout, result.stderr)
    no_secrets(run.stdout, run.stderr)
    return run


def run_import(
    generated: Path, environ: dict[str, str | None], *, timeout: float = 5.0
) -> tuple[Run, list[float]]:
    """import_dashboards itself, its backoff recorded instead of slept."""
    out: list[str] = []
    err: list[str] = []
    sleeps: list[float] = []
    code = import_dashboards(
        [generated / "grafana" / "dashboards" / "lumen-min.json"],
        "obsgen",
        environ={k: v for k, v in environ.items() if v is not None},
        timeout=timeout,
        echo=out.append,
        warn=err.append,
        sleep=sleeps.append,
    )
    run = Run(code, "\n".join(out), "\n".join(err))
    no_secrets(run.stdout, run.stderr)
    return run, sleeps


def lumen_min() -> dict[str, Any]:
    return json.loads((FIXTURES / "lumen-min.json").read_text())


# ---------------------------------------------------------------- as a user runs it


def test_first_import_creates_the_folder_and_the_dashboard(fake: FakeGrafana, generated: Path) -> None:
    result = subprocess_cli("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == [
        f"grafana {fake.url}: 1 dashboard(s) into folder 'obsgen' (uid obsgen)",
        "folder obsgen: created ('obsgen')",
        "dashboard lumen-min ('Lumen: bridge minimum'): created (version 1) "
        "/d/lumen-min/lumen-bridge-minimum",
        "obsgen: 1 created, 0 updated, 0 unchanged in folder obsgen.",
    ]
    assert fake.folders["obsgen"]["title"] == "obsgen"
    stored = fake.dashboards["lumen-min"]
    assert (stored.folder_uid, stored.version) == ("obsgen", 1)
    assert stored.message == f"obsgen import {content_hash(lumen_min())}"
    assert {k: v for k, v in stored.model.items() if k not in ("id", "version")} == {
        k: v for k, v in lumen_min().items() if k not in ("id", "version")
    }
    assert list(fake.dashboards) == ["lumen-min"]  # --min: bridge-slo stays out
    [save] = fake.saves()
    assert save.body["overwrite"] is True and save.body["dashboard"]["id"] is None
    assert save.body["folderUid"] == "obsgen"
    assert {s.role for s in fake.seen} == {"Editor"}  # every request carried the bearer token
    assert [(s.method, s.path) for s in fake.seen] == [
        ("GET", "/api/folders/obsgen"),
        ("POST", "/api/folders"),
        ("GET", "/api/dashboards/uid/lumen-min"),
        ("POST", "/api/dashboards/db"),
    ]


def test_a_second_import_changes_nothing_and_says_so(fake: FakeGrafana, generated: Path) -> None:
    first = subprocess_cli("import", "--dir", generated, environ=env(fake.url))
    assert first.returncode == 0, first.stderr
    assert "obsgen: 2 created, 0 updated, 0 unchanged in folder obsgen." in first.stdout
    seen = len(fake.seen)
    second = subprocess_cli("import", "--dir", generated, environ=env(fake.url))
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines()[1:] == [
        "folder obsgen: exists",
        "dashboard bridge-slo ('Bridge SLOs'): unchanged (version 1)",
        "dashboard lumen-min ('Lumen: bridge minimum'): unchanged (version 1)",
        "obsgen: nothing to do: 2 dashboard(s) already up to date in Grafana.",
    ]
    assert [s.method for s in fake.seen[seen:]] == ["GET", "GET", "GET"]
    assert len(fake.saves()) == 2
    assert {d.version for d in fake.dashboards.values()} == {1}


def test_a_closed_port_fails_within_the_retry_bound_without_a_traceback(generated: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    result = subprocess_cli("import", "--min", "--dir", generated, environ=env(url))
    elapsed = time.monotonic() - start
    assert result.returncode == ExitCode.UNREACHABLE
    assert elapsed < RETRY_BOUND, elapsed
    lines = result.stderr.splitlines()
    assert lines == [
        f"retry: GET {url}/api/folders/obsgen: Connection refused; attempt 2 of 3 in 0.5s",
        f"retry: GET {url}/api/folders/obsgen: Connection refused; attempt 3 of 3 in 1s",
        f"error: Grafana at {url} gave no usable answer to GET /api/folders/obsgen after 3 attempts; "
        "last: Connection refused",
    ]


def test_grafana_answering_503_throughout_fails_within_the_retry_bound(
    fake: FakeGrafana, generated: Path
) -> None:
    fake.script(503, b"Service Unavailable", times=10)
    start = time.monotonic()
    result = subprocess_cli("import", "--min", "--dir", generated, environ=env(fake.url))
    elapsed = time.monotonic() - start
    assert result.returncode == ExitCode.UNREACHABLE
    assert 1.5 <= elapsed < RETRY_BOUND, elapsed
    assert len(fake.seen) == 3
    assert result.stderr.splitlines()[-1] == (
        f"error: Grafana at {fake.url} gave no usable answer to GET /api/folders/obsgen after 3 attempts; "
        "last: HTTP 503 (Service Unavailable)"
    )


# ---------------------------------------------------------------- changes


def test_a_changed_dashboard_is_updated_to_version_2(fake: FakeGrafana, generated: Path) -> None:
    environ = env(fake.url)
    assert invoke("import", "--min", "--dir", generated, environ=environ).returncode == 0
    path = generated / "grafana" / "dashboards" / "lumen-min.json"
    model = json.loads(path.read_text())
    model["panels"][0]["title"] = "Phase difference (mean, 5m)"
    path.write_text(json.dumps(model))
    result = invoke("import", "--min", "--dir", generated, environ=environ)
    assert result.returncode == 0, result.stderr
    assert (
        "dashboard lumen-min ('Lumen: bridge minimum'): updated (version 2) /d/lumen-min/lumen-bridge-minimum"
        in result.stdout.splitlines()
    )
    stored = fake.dashboards["lumen-min"]
    assert stored.version == 2
    assert stored.model["panels"][0]["title"] == "Phase difference (mean, 5m)"
    assert (
        stored.message
        == f"obsgen import {content_hash(model)}"
        != f"obsgen import {content_hash(lumen_min())}"
    )
    assert invoke("import", "--min", "--dir", generated, environ=environ).stdout.endswith(
        "already up to date in Grafana.\n"
    )


def test_another_folder_moves_the_dashboard_into_it(fake: FakeGrafana, generated: Path) -> None:
    environ = env(fake.url)
    assert invoke("import", "--min", "--dir", generated, environ=environ).returncode == 0
    result = invoke("import", "--min", "--dir", generated, "--folder", "Lumen / Ops", environ=environ)
    assert result.returncode == 0, result.stderr
    assert "folder lumen-ops: created ('Lumen / Ops')" in result.stdout
    stored = fake.dashboards["lumen-min"]
    assert (stored.folder_uid, stored.version) == ("lumen-ops", 2)


def test_an_existing_folder_is_used_as_it_is(fake: FakeGrafana, generated: Path) -> None:
    fake.add_folder("obsgen", "Obsgen (by hand)")
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == 0, result.stderr
    assert "folder obsgen: exists (titled 'Obsgen (by hand)' in Grafana)" in result.stdout
    assert ("POST", "/api/folders") not in [(s.method, s.path) for s in fake.seen]


def test_a_folder_title_taken_under_another_uid_is_a_precondition_failure(
    fake: FakeGrafana, generated: Path
) -> None:
    fake.add_folder("Xk3pQ", "obsgen")
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == ExitCode.PRECONDITION
    assert result.stderr == (
        f"error: Grafana at {fake.url} refused to create folder 'obsgen' (uid obsgen): HTTP 409 (a folder or "
        "dashboard in the general folder with the same name already exists): a folder titled 'obsgen' "
        "probably exists with another uid; rename or delete it in Grafana, or import into another --folder\n"
    )
    assert fake.saves() == []


def test_a_same_title_dashboard_grafana_overwrote_is_reported(fake: FakeGrafana, generated: Path) -> None:
    # overwrite: true makes Grafana save ours over another dashboard of the same title in the
    # folder, under that one's uid: the import must not report success.
    fake.add_folder("obsgen", "obsgen")
    fake.add_dashboard({"uid": "handmade", "title": "Lumen: bridge minimum", "panels": []}, "obsgen")
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == ExitCode.PRECONDITION
    assert result.stderr.startswith(
        "error: Grafana saved dashboard lumen-min ('Lumen: bridge minimum') over dashboard uid handmade, "
        "which had the same title in folder obsgen"
    )
    assert "lumen-min" not in fake.dashboards and fake.dashboards["handmade"].version == 2


def test_the_token_travels_to_a_sub_path(generated: Path) -> None:
    server = FakeGrafana(prefix="/grafana")
    server.start()
    try:
        ok = invoke("import", "--min", "--dir", generated, environ=env(server.url + "/"))
        assert ok.returncode == 0, ok.stderr
        assert server.dashboards["lumen-min"].version == 1
        root = server.url.removesuffix("/grafana")
        lost = invoke("import", "--min", "--dir", generated, environ=env(root))
    finally:
        server.stop()
    assert lost.returncode == ExitCode.REJECTED
    assert lost.stderr == (
        f"error: Grafana at {root} rejected POST /api/folders: HTTP 404 (404 page not found); is GRAFANA_URL "
        "Grafana's base URL, with its sub-path if it is served under one?\n"
    )


# ---------------------------------------------------------------- authentication


def test_a_missing_token_is_refused_before_anything_is_sent(fake: FakeGrafana, generated: Path) -> None:
    result = invoke("import", "--dir", generated, environ=env(fake.url, None))
    assert result.returncode == ExitCode.AUTH
    assert result.stderr.startswith("error: GRAFANA_TOKEN is not set: create a service account")
    assert fake.seen == []


def test_a_wrong_token_is_an_authentication_error(fake: FakeGrafana, generated: Path) -> None:
    result = invoke("import", "--dir", generated, environ=env(fake.url, WRONG_TOKEN))
    assert result.returncode == ExitCode.AUTH
    assert result.stderr == (
        f"error: Grafana at {fake.url} did not accept the token: HTTP 401 (Unauthorized) for GET "
        "/api/folders/obsgen. GRAFANA_TOKEN is missing, invalid, expired or revoked, or belongs to another "
        "Grafana: create a new service account token and export it as GRAFANA_TOKEN\n"
    )
    assert len(fake.seen) == 1  # not retried


def test_a_viewer_token_lacks_permission(fake: FakeGrafana, generated: Path) -> None:
    result = invoke("import", "--dir", generated, environ=env(fake.url, VIEWER_TOKEN))
    assert result.returncode == ExitCode.AUTH
    assert result.stderr.startswith(
        f"error: Grafana at {fake.url} accepted the token, but its service account may not do this: HTTP 403 "
        "(Permission denied) for POST /api/folders. Give the service account the Editor role"
    )
    assert fake.folders == {}


def test_a_token_with_a_line_break_is_refused_without_showing_it(fake: FakeGrafana, generated: Path) -> None:
    result = invoke("import", "--dir", generated, environ=env(fake.url, f"{TOKEN[:12]}\n{TOKEN[12:]}"))
    assert result.returncode == ExitCode.AUTH
    assert "holds a space, a control or a non-ASCII character" in result.stderr
    for part in (TOKEN[:12], TOKEN[12:]):
        assert part not in result.stdout + result.stderr
    assert fake.seen == []


def test_a_token_echoed_back_by_the_server_is_scrubbed(fake: FakeGrafana, generated: Path) -> None:
    fake.script(400, {"message": f"bad header: Authorization: Bearer {TOKEN}"}, method="POST")
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == ExitCode.REJECTED
    assert "Authorization: Bearer <GRAFANA_TOKEN>" in result.stderr


def test_a_redirect_is_not_followed_with_the_token(fake: FakeGrafana, generated: Path) -> None:
    elsewhere = FakeGrafana()
    elsewhere.start()
    try:
        location = f"{elsewhere.url}/api/folders/obsgen"
        fake.script(302, {}, headers={"Location": location})
        result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    finally:
        elsewhere.stop()
    assert result.returncode == ExitCode.REJECTED
    assert result.stderr == (
        f"error: Grafana at {fake.url} redirects GET /api/folders/obsgen to {location} (HTTP 302); set "
        "GRAFANA_URL to the address Grafana serves (the token is never sent to a redirect)\n"
    )
    assert elsewhere.seen == []


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("status", "message", "advice"),
    [
        (
            "version-mismatch",
            "The dashboard has been changed by someone else",
            "dashboard lumen-min was changed in Grafana by someone else while it was imported: "
            "run the import again",
        ),
        (
            "name-exists",
            "A dashboard with the same name in the folder already exists",
            "another dashboard in folder obsgen has the title 'Lumen: bridge minimum' (or the uid "
            "lumen-min): rename or delete that dashboard in Grafana, or import into another --folder",
        ),
        (
            "plugin-dashboard",
            "The dashboard belongs to plugin Lumen App.",
            "dashboard lumen-min belongs to a Grafana plugin and only the plugin may change it: remove the "
            "plugin's dashboard in Grafana, or give ours another uid",
        ),
    ],
)
def test_each_412_says_which_and_what_to_do(
    fake: FakeGrafana, generated: Path, status: str, message: str, advice: str
) -> None:
    fake.script(412, {"message": message, "status": status}, method="POST", path="/api/dashboards/db")
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == ExitCode.PRECONDITION
    assert result.stderr == (
        f"error: Grafana at {fake.url} refused POST /api/dashboards/db: "
        f"HTTP 412 {status} ({message}): {advice}\n"
    )


def test_a_provisioned_dashboard_is_rejected_with_grafanas_message(
    fake: FakeGrafana, generated: Path
) -> None:
    fake.add_folder("obsgen", "obsgen")
    fake.add_dashboard({**lumen_min(), "title": "Provisioned"}, "obsgen", provisioned=True)
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == ExitCode.REJECTED
    assert result.stderr == (
        f"error: Grafana at {fake.url} rejected POST /api/dashboards/db: HTTP 400 (Cannot save provisioned "
        "dashboard); this dashboard is provisioned from files on the Grafana server: change it there, or "
        "remove it from provisioning and import again\n"
    )
    assert fake.dashboards["lumen-min"].version == 1


def test_a_400_shows_grafanas_message(fake: FakeGrafana, generated: Path) -> None:
    fake.script(400, {"message": "Dashboard title cannot be empty"}, path="/api/dashboards/db")
    result = invoke("import", "--min", "--dir", generated, environ=env(fake.url))
    assert result.returncode == ExitCode.REJECTED
    assert result.stderr == (
        f"error: Grafana at {fake.url} rejected POST /api/dashboards/db: HTTP 400 (Dashboard title cannot "
        "be empty)\n"
    )


def test_the_fake_refuses_saves_without_overwrite_as_grafana_does(fake: FakeGrafana, generated: Path) -> None:
    """The 412s of Grafana's save semantics, through the client (which itself always overwrites)."""
    client = Grafana(fake.url, TOKEN)
    fake.add_folder("obsgen", "obsgen")
    dashboard = load_dashboard(generated / "grafana" / "dashboards" / "lumen-min.json")
    careful = {**save_body(dashboard, "obsgen"), "overwrite": False}
    assert client.save_dashboard(careful)["version"] == 1
    with pytest.raises(ImportFailure, match="HTTP 412 version-mismatch") as stale:  # ours: 0, Grafana: 1
        client.save_dashboard(careful)
    assert stale.value.code == ExitCode.PRECONDITION

    renamed = {**careful, "dashboard": {**careful["dashboard"], "uid": "other-uid"}}
    with pytest.raises(ImportFailure, match="HTTP 412 name-exists") as clash:
        client.save_dashboard(renamed)
    assert clash.value.code == ExitCode.PRECONDITION

    fake.dashboards["lumen-min"].plugin_id = "lumen-app"
    current = {**careful, "dashboard": {**careful["dashboard"], "version": 1}}
    with pytest.raises(ImportFailure, match=r"HTTP 412 plugin-dashboard \(The dashboard belongs to plugin"):
        client.save_dashboard(current)
    assert client.save_dashboard(save_body(dashboard, "obsgen"))["version"] == 2  # overwrite: true saves


# ---------------------------------------------------------------- retries


def test_503_twice_then_ok_succeeds_after_backing_off(fake: FakeGrafana, generated: Path) -> None:
    fake.script(503, b"<html>Service Unavailable</html>", times=2)
    result, sleeps = run_import(generated, env(fake.url))
    assert result.returncode == 0, result.stderr
    assert sleeps == [0.5, 1.0]
    assert result.stderr.splitlines() == [
        f"retry: GET {fake.url}/api/folders/obsgen: HTTP 503 (<html>Service Unavailable</html>); "
        "attempt 2 of 3 in 0.5s",
        f"retry: GET {fake.url}/api/folders/obsgen: HTTP 503 (<html>Service Unavailable</html>); "
        "attempt 3 of 3 in 1s",
    ]
    assert fake.dashboards["lumen-min"].version == 1


def test_a_500_on_save_is_retried_then_fails(fake: FakeGrafana, generated: Path) -> None:
    fake.script(500, {"message": "Internal Server Error"}, path="/api/dashboards/db", times=3)
    result, sleeps = run_import(generated, env(fake.url))
    assert result.returncode == ExitCode.UNREACHABLE
    assert sleeps == [0.5, 1.0]
    assert result.stderr.splitlines()[-1] == (
        f"error: Grafana at {fake.url} gave no usable answer to POST /api/dashboards/db after 3 attempts; "
        "last: HTTP 500 (Internal Server Error)"
    )
    assert len(fake.saves()) == 3 and "lumen-min" not in fake.dashboards


def test_a_grafana_that_hangs_times_out_each_attempt(fake: FakeGrafana, generated: Path) -> None:
    fake.hang(3)
    start = time.monotonic()
    result, sleeps = run_import(generated, env(fake.url), timeout=0.3)
    elapsed = time.monotonic() - start
    assert result.returncode == ExitCode.UNREACHABLE
    assert sleeps == [0.5, 1.0]
    assert elapsed < 3 * 0.3 + 1.0, elapsed
    assert result.stderr.splitlines()[-1].endswith("after 3 attempts; last: no answer within 0.3s")


def test_a_hang_once_is_retried_and_succeeds(fake: FakeGrafana, generated: Path) -> None:
    fake.hang(1)
    result, sleeps = run_import(generated, env(fake.url), timeout=0.3)
    assert result.returncode == 0, result.stderr
    assert sleeps == [0.5]
    assert "no answer within 0.3s; attempt 2 of 3" in result.stderr


# ---------------------------------------------------------------- dry run


def test_dry_run_sends_nothing_and_prints_the_plan(fake: FakeGrafana, generated: Path) -> None:
    for token in (None, TOKEN):
        result = invoke("import", "--dry-run", "--dir", generated, environ=env(fake.url, token))
        assert result.returncode == 0, result.stderr
        assert fake.seen == []
    dashboards = generated / "grafana" / "dashboards"

    def summary(name: str, panels: int) -> str:
        model = json.loads((dashboards / f"{name}.json").read_text())
        return json.dumps(
            {
                "folderUid": "obsgen",
                "overwrite": True,
                "message": f"obsgen import {content_hash(model)}",
                "dashboard": {"uid": model["uid"], "title": model["title"], "panels": panels, "id": None},
            }
        )

    assert result.stdout.splitlines() == [
        f"dry run: nothing is sent to Grafana at {fake.url}",
        "folder obsgen:",
        "  GET  /api/folders/obsgen",
        '  POST /api/folders  {"uid": "obsgen", "title": "obsgen"}  (only if the GET answers 404)',
        f"dashboard bridge-slo from {dashboards / 'bridge-slo.json'}:",
        "  GET  /api/dashboards/uid/bridge-slo  (equal but for id and version: nothing more)",
        f"  POST /api/dashboards/db  {summary('bridge-slo', 2)}",
        f"dashboard lumen-min from {dashboards / 'lumen-min.json'}:",
        "  GET  /api/dashboards/uid/lumen-min  (equal but for id and version: nothing more)",
        f"  POST /api/dashboards/db  {summary('lumen-min', 3)}",
        "obsgen: dry run: 2 dashboard(s) planned for folder obsgen; Grafana was not contacted.",
    ]


def test_dry_run_needs_neither_url_nor_token(generated: Path) -> None:
    result = invoke("import", "--dry-run", "--min", "--dir", generated, environ=env(None, None))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "dry run: nothing is sent to Grafana (GRAFANA_URL is not set)"
    assert '"panels": 3' in result.stdout


# ---------------------------------------------------------------- usage


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "error: GRAFANA_URL is not set: export it, e.g. http://127.0.0.1:3000"),
        ("ftp://grafana:3000", "error: GRAFANA_URL must be http(s)://host[:port][/sub-path]"),
        ("grafana.example:3000", "error: GRAFANA_URL must be http(s)://host[:port][/sub-path]"),
        ("http://grafana:99999", "error: GRAFANA_URL must be http(s)://host[:port][/sub-path]"),
        ("http://admin:Pa55-0e0e0e0e@grafana:3000", "error: GRAFANA_URL must not carry credentials"),
        (f"http://grafana:3000/?token={TOKEN}", "error: GRAFANA_URL takes no query string or fragment"),
    ],
)
def test_a_missing_or_malformed_url_is_a_usage_error(generated: Path, url: str | None, message: str) -> None:
    result = invoke("import", "--dir", generated, environ=env(url))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(message), result.stderr


def test_no_dashboards_is_a_usage_error(tmp_path: Path, generated: Path) -> None:
    result = invoke("import", "--dir", tmp_path / "nothing", environ=env("http://127.0.0.1:1"))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr == (
        f"error: no dashboards (*.json) in {tmp_path}/nothing/grafana/dashboards/: run `make gen` first\n"
    )
    (generated / "grafana" / "dashboards" / "lumen-min.json").unlink()
    result = invoke("import", "--min", "--dir", generated, environ=env("http://127.0.0.1:1"))
    assert result.returncode == ExitCode.USAGE
    assert "no dashboard with uid 'lumen-min'" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ("[]", "expected a dashboard object, got list"),
        ('{"title": "x"}', "uid: expected 1 to 40 letters, digits, '-' or '_', got None"),
        ('{"uid": "a/b", "title": "x"}', "uid: expected 1 to 40 letters"),
        ('{"uid": "ok", "title": ""}', "title: expected a non-empty string"),
    ],
)
def test_a_malformed_dashboard_file_is_a_usage_error(generated: Path, content: str, message: str) -> None:
    path = generated / "grafana" / "dashboards" / "broken.json"
    path.write_text(content)
    result = invoke("import", "--dir", generated, environ=env("http://127.0.0.1:1"))
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(f"error: {path}: {message}"), result.stderr


def test_help_documents_exit_codes_and_environment() -> None:
    text = invoke("import", "--help", environ=env(None)).stdout
    for code in (0, 2, 13, 20, 21, 22, 130):
        assert re.search(rf"(?m)^ +{code}  ", text), text
    assert "GRAFANA_URL" in text and "GRAFANA_TOKEN" in text
    assert "obsgen grafana import [OPTIONS]" in text


# ---------------------------------------------------------------- pieces


def test_folder_uids_are_stable_slugs() -> None:
    assert folder_uid("obsgen") == "obsgen"
    assert folder_uid("Lumen / Ops") == "lumen-ops"
    assert folder_uid("  Ünïcode — SLOs!  ") == "n-code-slos"
    assert folder_uid("x" * 50) == "x" * 40
    with pytest.raises(ImportFailure) as empty:
        folder_uid("///")
    assert empty.value.code == ExitCode.USAGE


def test_urls_keep_their_sub_path() -> None:
    assert check_url(" https://grafana.example/ops/grafana/ ") == "https://grafana.example/ops/grafana"
    assert check_url("http://[::1]:3000") == "http://[::1]:3000"


def test_panels_are_counted_inside_collapsed_rows() -> None:
    assert panel_count(lumen_min()) == 3
    assert panel_count(json.loads((FIXTURES / "bridge-slo.json").read_text())) == 2
    assert panel_count({"rows": [{"panels": [{"type": "graph"}]}], "panels": []}) == 1


def test_the_content_hash_ignores_what_grafana_manages() -> None:
    model = lumen_min()
    assert content_hash(model) == content_hash({**model, "id": 7, "version": 12})
    assert content_hash(model) != content_hash({**model, "title": "other"})


def test_the_client_never_shows_its_token() -> None:
    client = Grafana("http://127.0.0.1:1", TOKEN)
    assert TOKEN not in repr(client) and TOKEN not in client.url
