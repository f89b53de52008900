"""Runtime components (`obsgen component start|stop|status`, the seed's `make ure.sync` and
`make bridge.adaptive.start`): real background processes on free loopback ports, tracked by pid
files, sharing one state database with one process per service."""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, obsgen, poll

from generator.exit_codes import ExitCode
from generator.loader import load_spec
from runtime.app import Options, PortInUse, Runtime
from runtime.components import running
from runtime.ports import free_port


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "session.env"
    path.write_text(
        f"""METRIC_REALM=prod
OBSGEN_SPEC_DIR={ROOT / "spec"}
OBSGEN_COMPONENTS=ure bridge
URE_PORT={free_port()}
BRIDGE_PORT={free_port()}
PROMETHEUS_URL=http://127.0.0.1:1
ALERTMANAGER_URL=http://127.0.0.1:1
GRAFANA_URL=http://127.0.0.1:1
OBSGEN_STATE_DB={tmp_path / "state" / "runtime.sqlite"}
OBSGEN_RUN_DIR={tmp_path / "run"}
GRAFANA_TOKEN_FILE={tmp_path / "token"}
"""
    )
    try:
        yield path
    finally:
        obsgen("component", "stop", "--env", path)


def run_dir(env: Path) -> Path:
    return env.parent / "run"


def scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.read().decode()


def test_start_serves_the_service_alone_tracked_by_a_pid_file(env: Path) -> None:
    result = obsgen("component", "start", "ure", "--env", env)
    assert result.returncode == 0, result.stderr
    (component,) = running(run_dir(env))
    assert (run_dir(env) / "ure.pid").read_text() == f"{component.pid}\n"
    body = scrape(f"{component.base_url}/metrics_ure")
    assert "ure_residual " in body and "bridge_" not in body  # only its own service
    assert scrape(f"{component.base_url}/readyz") == "ready\n"
    again = obsgen("component", "start", "ure", "--env", env)
    assert again.returncode == 0 and f"already running (pid {component.pid})" in again.stdout
    assert [c.pid for c in running(run_dir(env))] == [component.pid]
    status = obsgen("component", "status", "--env", env)
    assert f"ure          pid {component.pid}" in status.stdout and "/readyz 200" in status.stdout
    stopped = obsgen("component", "stop", "ure", "--env", env)
    assert stopped.returncode == 0 and "ure stopped" in stopped.stdout
    assert (
        not Path(f"/proc/{component.pid}").exists()
        or b"zombie" in Path(f"/proc/{component.pid}/status").read_bytes()
    )
    assert not (run_dir(env) / "ure.pid").exists() and running(run_dir(env)) == []
    none = obsgen("component", "stop", "--env", env)
    assert none.returncode == ExitCode.CHECK_FAILED


def test_components_share_the_database_but_never_a_service(env: Path) -> None:
    for name in ("ure", "bridge"):
        result = obsgen("component", "start", name, "--env", env)
        assert result.returncode == 0, result.stderr
    components = {c.pid for c in running(run_dir(env))}
    assert len(components) == 2
    db = env.parent / "state" / "runtime.sqlite"
    backups = db.parent / "backups"
    poll("the first snapshot", lambda: list(backups.glob("*.sqlite")), time.monotonic() + 20)
    keeper = int(db.with_name(db.name + ".upkeep.lock").read_text())
    assert keeper in components  # one of the two keeps the database, the other never races it
    time.sleep(1.5)
    assert len(list(backups.glob("*.sqlite"))) == 1
    gauge = "obsgen_runtime_last_backup_timestamp_seconds "
    served = {c.name: gauge in scrape(f"{c.base_url}{c.path}") for c in running(run_dir(env))}
    assert sorted(served.values()) == [False, True]  # the DR gauges once, from the keeper
    assert served[next(c.name for c in running(run_dir(env)) if c.pid == keeper)]
    spec = load_spec(ROOT / "spec")

    def options(*services: str) -> Options:
        ports = {name: free_port() for name in services or [s.service for s in spec.services]}
        return Options(
            ports=ports,
            control_port=free_port(),
            state_db=db,
            textfile_dir=env.parent / "textfile",
            services=services or None,
        )

    every = Runtime(spec, options())
    with pytest.raises(PortInUse, match=r"is in use by process \d+"):
        every.start()  # a runtime serving every service would serve ure and bridge twice
    duri = Runtime(spec, options("duri"))
    duri.start()  # another service: shares the database
    try:
        assert [e.service.service for e in duri.exporters] == ["duri"]
        second_ure = Runtime(spec, options("ure"))
        with pytest.raises(PortInUse, match=r"runtime.sqlite.ure.lock"):
            second_ure.start()
    finally:
        duri.stop()


def test_a_stale_record_is_forgotten(env: Path) -> None:
    directory = run_dir(env)
    directory.mkdir()
    (directory / "ure.pid").write_text(f"{os.getpid()}\n")  # a live pid, but not a component
    record = {"name": "ure", "pid": os.getpid(), "listen": "127.0.0.1", "port": 1, "path": "/m",
              "control_port": 1, "log": str(directory / "ure.log")}  # fmt: skip
    (directory / "ure.json").write_text(json.dumps(record))
    assert running(directory) == [] and not (directory / "ure.pid").exists()
    result = obsgen("component", "start", "ure", "--env", env)
    assert result.returncode == 0 and "ure started" in result.stdout, result.stdout + result.stderr


def test_a_taken_port_fails_with_the_log_and_leaves_no_pid_file(env: Path) -> None:
    port = int(next(line for line in env.read_text().splitlines() if line.startswith("URE_PORT="))[9:])
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        result = obsgen("component", "start", "ure", "--env", env)
    assert result.returncode == ExitCode.PORT_IN_USE, result.stdout + result.stderr
    assert f"port {port} (ure) on 127.0.0.1 is taken by another process; nothing started" in result.stderr
    assert "Traceback" not in result.stderr and not (run_dir(env) / "ure.pid").exists()


def test_a_component_dying_while_starting_is_reported_with_its_log(env: Path) -> None:
    env.write_text(env.read_text() + "OBSGEN_SNAPSHOT_DIR=/dev/null/backups\n")  # cannot exist
    db = env.parent / "state" / "runtime.sqlite"
    db.parent.mkdir()
    db.write_bytes(b"not a database, not even close" * 100)
    result = obsgen("component", "start", "ure", "--env", env)
    assert result.returncode == ExitCode.PORT_IN_USE, result.stdout + result.stderr
    assert "ure exited with code" in result.stderr and "state database" in result.stderr
    assert not (run_dir(env) / "ure.pid").exists() and running(run_dir(env)) == []


def test_an_unknown_service_is_a_usage_error(env: Path, tmp_path: Path) -> None:
    result = obsgen("component", "start", "nope", "--env", env)
    assert result.returncode == ExitCode.USAGE and "nope is not in OBSGEN_COMPONENTS" in result.stderr
    result = obsgen("component", "start", "nope", "--dir", tmp_path / "sandbox")
    assert result.returncode == ExitCode.USAGE and "no scraped service 'nope'" in result.stderr


def test_prometheus_scrape_times_are_read_to_the_second() -> None:
    from runtime.smoke import _unix

    assert _unix("2026-12-03T14:25:01.123456789Z") == pytest.approx(1796307901.123456789)
    assert _unix("2026-12-03T15:25:01+01:00") == 1796307901.0
    assert _unix("0001-01-01T00:00:00Z") < 0  # never scraped: before any restart
    assert _unix("garbage") == 0.0
