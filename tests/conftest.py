"""Shared helpers: run the real CLI, copy specs, find and run the real promtool."""

from __future__ import annotations

import atexit
import contextlib
import json
import locale
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import promql_parser
import pytest

from generator.live.http_client import status_of
from runtime.ports import free_port as free_port  # the tests import it from here

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
GENERATED = ROOT / "generated"
EXTRAS = ROOT / "tests" / "fixtures" / "specs" / "extras"

# promtool (two thirds of the suite's CPU, in `promtool test rules`), Prometheus, Alertmanager and
# VictoriaMetrics are Go programs: collecting garbage when the heap has grown 10x instead of Go's
# 2x (GOGC) takes a third off promtool's CPU, for ~250 MB a process instead of ~65 MB, and
# changes no result; GOMEMLIMIT makes a process collect earlier before it passes 512 MiB. Every
# process the tests start inherits them (an explicit env= without them runs with Go's defaults).
os.environ.setdefault("GOGC", "1000")
os.environ.setdefault("GOMEMLIMIT", "512MiB")


def obsgen(
    *args: str | Path,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    fresh: bool = False,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (with `env` as its whole environment; the test's own by default),
    in a process of its own forked from `cli_server` with the command line already imported,
    or with `fresh` in a new interpreter (what a test of imports or hash seeds needs)."""
    argv = [sys.executable, "-m", "generator", *map(str, args)]
    environment = dict(os.environ if env is None else env)
    if fresh or _startup_environment(environment) != _startup_environment(os.environ):
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=environment)
    return _CLI_SERVERS.run(argv, cwd, environment, timeout)


def _startup_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables an interpreter reads once at startup (hash seed, path, encodings, locale):
    a run that sets them differently from the server's needs an interpreter of its own."""
    return {k: v for k, v in environ.items() if k.startswith(("PYTHON", "LC_")) or k == "LANG"}


class CliServer:
    """One `cli_server` process: started on demand, one run at a time, killed at exit."""

    def __init__(self) -> None:
        # Unbuffered: a buffered readline could take both answers of a quick run at once and
        # leave select() waiting for the second.
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "cli_server.py")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
        )
        atexit.register(self.process.kill)
        if self._answer(60) is None:
            raise RuntimeError("tests/cli_server.py did not start within 60 s")

    def _answer(self, timeout: float) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("tests/cli_server.py exited")
        return json.loads(line)

    def run(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        assert self.process.stdin is not None
        with tempfile.TemporaryDirectory(prefix="obsgen-run-") as scratch:
            out, err = Path(scratch) / "stdout", Path(scratch) / "stderr"
            request = {"args": argv[3:], "cwd": str(cwd), "env": env, "stdout": str(out), "stderr": str(err)}
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            forked = self._answer(30)
            assert forked is not None, "tests/cli_server.py did not fork"
            done = self._answer(timeout)
            if done is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(forked["pid"], signal.SIGKILL)
                raise subprocess.TimeoutExpired(argv, timeout)
            encoding = locale.getpreferredencoding(False)
            return subprocess.CompletedProcess(
                argv,
                os.waitstatus_to_exitcode(done["status"]),
                out.read_text(encoding=encoding),
                err.read_text(encoding=encoding),
            )


class CliServers:
    """This worker's idle servers: a run takes one (starting one when none is idle, so that runs
    from several threads at once each have their own) and gives it back when done."""

    def __init__(self) -> None:
        self.idle: list[CliServer] = []
        self.lock = threading.Lock()

    def run(
        self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self.lock:
            server = self.idle.pop() if self.idle else None
        if server is None or server.process.poll() is not None:
            server = CliServer()
        try:
            result = server.run(argv, cwd, env, timeout)
        except BaseException:
            server.process.kill()  # mid-request (a timeout too): its answers can no longer be trusted
            raise
        with self.lock:
            self.idle.append(server)
        return result


_CLI_SERVERS = CliServers()


def poll(what: str, check: Callable[[], Any], deadline: float, every: float = 0.25) -> Any:
    """`check()`'s first true answer before the monotonic `deadline` (an OSError counts as not
    yet), else the test fails naming `what` and the last answer."""
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except OSError as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(every)
    pytest.fail(f"{what}: not within the time allowed (last: {last})")


def prometheus_query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]["result"]


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def vector_selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Every series selector of a PromQL expression (ranges' too), as the parser reads it."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def promtool_test(promtool: str, *files: Path) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` over `files`, output captured."""
    return subprocess.run(
        [promtool, "test", "rules", *map(str, files)], capture_output=True, text=True, timeout=600
    )


def _counter(labels: str, values: str) -> dict[str, str]:
    return {"series": f"http_requests_total{{{labels}}}", "values": values}


def held_out_series(scrapes_per_minute: int, decoy_step: int) -> list[dict[str, str]]:
    """The HTTP fixture's held-out scenario, written by hand (not by the generator): 4h of 100
    requests a minute on /cart and /checkout, /cart healthy, /checkout all 5xx from 2h on, plus
    another job's and another realm's 5xx on /cart (`decoy_step` per scrape) that are never
    counted."""
    step, half = 100 // scrapes_per_minute, 120 * scrapes_per_minute
    base = 'job="checkout", metric_realm="shop", instance="web-1"'
    decoy = f"0+{decoy_step}x{2 * half}"
    return [
        _counter(f'{base}, handler="/cart", code="200"', f"0+{step}x{2 * half}"),
        _counter(f'{base}, handler="/checkout", code="200"', f"0+{step}x{half} {step * half}x{half - 1}"),
        _counter(f'{base}, handler="/checkout", code="500"', f"0x{half} {step}+{step}x{half - 1}"),
        _counter('job="other", metric_realm="shop", instance="x", handler="/cart", code="500"', decoy),
        _counter('job="checkout", metric_realm="dev", instance="x", handler="/cart", code="500"', decoy),
    ]


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    target = tmp_path / "spec"
    shutil.copytree(SPEC, target)
    return target


def installed(binary: str, package: str = "prometheus") -> str:
    """The path of a real binary the tests drive; a clear failure when it is missing."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed; `make test` installs the Debian package {package}")
    return path


def generate(factory: pytest.TempPathFactory, spec: Path, name: str) -> Path:
    """`obsgen gen` of a spec into a fresh temporary directory (for module-scoped fixtures)."""
    out = factory.mktemp(name) / "generated"
    result = obsgen("gen", "--spec", spec, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def promtool() -> str:
    return installed("promtool")


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path, within: float = 30) -> None:
    """`<url>/-/ready` answers 200 (Prometheus, Alertmanager), or the test fails with the log."""
    name = Path(str(process.args[0] if isinstance(process.args, list) else process.args)).name
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        if status_of(f"{url}/-/ready", timeout=1) == 200:
            return
        time.sleep(0.1)
    pytest.fail(f"{name} was not ready within {within:g}s:\n{log.read_text()}")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serving(argv: list[str], url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real binary on a loopback port, ready before the body runs and always stopped after."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(url, process, log)
        yield process
    finally:
        stop_process(process)


SHARED_WORK_FIRST = ("test_vmalert.py", "test_sloth_equivalence.py", "test_init.py")
"""Modules whose module fixture starts work for all of their tests: a VictoriaMetrics replay and
promtool runs, every Sloth example's promtool run, a promtool run and a whole `make test` in the
background. Each worker that runs one of their tests sets the fixture up, so a module split
between workers repeats that work (test_vmalert, last in file order, set its 15 s fixture up on
all three workers). `make test`'s `-n 3` (xdist's --dist load) sends each worker first a run of
consecutive tests, a quarter of its share (90 of 1,080): collected first, these lie in one."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    first = {name: rank for rank, name in enumerate(SHARED_WORK_FIRST)}
    items.sort(key=lambda item: first.get(item.path.name, len(first)))  # stable: the rest keep their order
