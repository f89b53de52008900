"""The seed's session restore (§1) and failure flow (§5), run with make on a real sandbox.

The sandbox (`obsgen up --free-ports --without ure --without bridge`) plays the deployment:
Prometheus, Alertmanager, the exporters and the DuRi runtime. An env file written from its
ports plays SESSION_RESTORE.env, with 0600 secret files, a Grafana token file and a test
Grafana (tests/test_grafana_import.py's, the documented API). Then, with the Makefile's own
targets: `make session.restore` stops at the sanity check while no snapshot exists (nothing
started, nothing imported), runs the whole chain once one does; `make dr.recover` leaves a
healthy deployment alone, and recovers one whose bridge /readyz answers 503 (BridgeNotReady
firing): the state rows written after the snapshot are gone, the alert resolves; `make down`
stops the components with the stack.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, obsgen, poll
from test_grafana_import import TOKEN, FakeGrafana

from generator.exit_codes import ExitCode
from runtime.components import running
from runtime.state import connect

SPEED = 60


@dataclass(frozen=True)
class Deployment:
    state: Path
    env: Path
    ports: dict[str, Any]
    grafana: FakeGrafana

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.ports['prometheus']}"

    @property
    def db(self) -> Path:
        return self.state / "lumen" / "runtime.sqlite"

    @property
    def snapshots(self) -> Path:
        return self.state / "lumen" / "backups"

    @property
    def run_dir(self) -> Path:
        return self.state / "components"


def make(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def secret_file(path: Path, value: str) -> None:
    path.write_text(value)
    path.chmod(0o600)


def write_env(state: Path, ports: dict[str, Any], grafana: str) -> Path:
    secrets = state / "secrets-deploy"
    secrets.mkdir(mode=0o700)
    for name in ("ALERT_PAGERDUTY_ROUTING_KEY", "ALERT_SLACK_WEBHOOK", "ALERT_SLACK_WEBHOOK_DURI"):
        secret_file(secrets / name, "x" * 32)
    secret_file(state / "grafana.token", TOKEN + "\n")
    services = ports["services"]
    env = state / "session.env"
    env.write_text(
        f"""# written by tests/test_session_restore.py, like SESSION_RESTORE.env.example
OBSGEN_SPEC_DIR={ROOT / "spec"}
OBSGEN_GENERATED_DIR={ROOT / "generated"}
METRIC_REALM=prod
OBSGEN_COMPONENTS=ure bridge
URE_PORT={services["ure"]}
BRIDGE_PORT={services["bridge"]}
PROMETHEUS_URL=http://127.0.0.1:{ports["prometheus"]}
ALERTMANAGER_URL=http://127.0.0.1:{ports["alertmanager"]}
GRAFANA_URL={grafana}
OBSGEN_STATE_DB={state / "lumen" / "runtime.sqlite"}
OBSGEN_SNAPSHOT_DIR={state / "lumen" / "backups"}
OBSGEN_RUN_DIR={state / "components"}
OBSGEN_SECRETS_DIR={secrets}
GRAFANA_TOKEN_FILE={state / "grafana.token"}
OBSGEN_TIME_SCALE={SPEED}
"""
    )
    return env


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    state = tmp_path_factory.mktemp("session")
    grafana = FakeGrafana()
    grafana.start()
    up = obsgen("up", "--free-ports", "--without", "ure", "--without", "bridge", "--dir", state, timeout=120)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "left out      ure" in up.stdout and "left out      bridge" in up.stdout
        ports = json.loads((state / "state.json").read_text())["ports"]
        yield Deployment(state, write_env(state, ports, grafana.url), ports, grafana)
    finally:
        obsgen("down", "--dir", state, "--env", state / "session.env", timeout=60)
        grafana.stop()


def alert_states(prometheus: str, name: str) -> list[str]:
    with urllib.request.urlopen(f"{prometheus}/api/v1/alerts", timeout=5) as answer:
        alerts = json.loads(answer.read())["data"]["alerts"]
    return [a["state"] for a in alerts if a["labels"].get("alertname") == name]


def ure_rows(db: Path) -> list[tuple[int, float]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT step, at FROM ure_sync ORDER BY step").fetchall()
    finally:
        conn.close()


def test_1_the_chain_stops_at_the_sanity_check_without_a_snapshot(deployment: Deployment) -> None:
    result = make("session.restore", f"ENV={deployment.env}")
    assert result.returncode != 0
    assert "FAIL  snapshot   no snapshot in" in result.stdout
    assert "[FAIL] 1 of 10 check(s) failed: snapshot" in result.stdout
    assert "ok    ports      " in result.stdout and "is free" in result.stdout
    assert "ok    secrets    " in result.stdout and "mode 0600" in result.stdout
    assert running(deployment.run_dir) == []  # ure.sync never ran
    assert deployment.grafana.saves() == []  # nor grafana.import.min


def test_2_the_whole_chain_runs_in_the_seed_order(deployment: Deployment) -> None:
    deployment.db.parent.mkdir(parents=True, exist_ok=True)
    connect(deployment.db).close()  # the state of an earlier session
    backup = obsgen("dr", "backup", "--db", deployment.db, "--dir", deployment.snapshots)
    assert backup.returncode == 0, backup.stderr
    result = make("session.restore", f"ENV={deployment.env}")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    steps = [
        "restore check: ",
        "[OK] all 10 check(s) passed",
        "ure started (pid",
        "bridge started (pid",
        "ok    component bridge  ",
        "[OK] all 5 check(s) passed",
        "lumen-min",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), out
    components = {c.name: c for c in running(deployment.run_dir)}
    assert set(components) == {"ure", "bridge"}
    for name, component in components.items():
        assert (deployment.run_dir / f"{name}.pid").read_text().strip() == str(component.pid)
        assert component.port == deployment.ports["services"][name]
    assert [s.path for s in deployment.grafana.saves()] == ["/api/dashboards/db"]
    assert "lumen-min" in deployment.grafana.dashboards
    again = obsgen("restore", "check", "--env", deployment.env)  # idempotent: the ports are ours now
    assert again.returncode == 0, again.stdout
    assert f"is held by our component ure (pid {components['ure'].pid})" in again.stdout


def test_3_a_second_process_never_serves_a_running_component(deployment: Deployment) -> None:
    result = obsgen("component", "start", "ure", "--env", deployment.env)
    assert result.returncode == 0 and "ure is already running" in result.stdout
    unknown = obsgen("component", "start", "duri", "--env", deployment.env)
    assert unknown.returncode == ExitCode.USAGE and "duri is not in OBSGEN_COMPONENTS" in unknown.stderr


def test_4_dr_recover_leaves_a_healthy_deployment_alone(deployment: Deployment) -> None:
    inode = deployment.db.stat().st_ino
    result = make("dr.recover", "SNAP=latest", f"ENV={deployment.env}", "POLLS=2", "EVERY=0.5")
    assert result.returncode != 0
    assert "[HEALTHY] every component answers /readyz 200: nothing to recover" in result.stdout
    assert deployment.db.stat().st_ino == inode


def test_5_dr_recover_restores_the_snapshot_and_the_alert_resolves(deployment: Deployment) -> None:
    poll("URE sync steps recorded", lambda: len(ure_rows(deployment.db)) >= 2, time.monotonic() + 30)
    backup = obsgen("dr", "backup", "--db", deployment.db, "--dir", deployment.snapshots)
    assert backup.returncode == 0, backup.stderr
    snapshot = backup.stdout.split()[1]
    kept = ure_rows(Path(snapshot))  # what the snapshot holds (the database has moved on already)
    poll(
        "a URE step after the snapshot",
        lambda: len(ure_rows(deployment.db)) > len(kept),
        time.monotonic() + 30,
    )
    bridge = next(c for c in running(deployment.run_dir) if c.name == "bridge")
    request = urllib.request.Request(
        f"http://127.0.0.1:{bridge.control_port}/scenario", data=b"not-ready", method="POST"
    )
    urllib.request.urlopen(request, timeout=5).close()
    poll(
        "BridgeNotReady firing",
        lambda: "firing" in alert_states(deployment.prometheus, "BridgeNotReady"),
        time.monotonic() + 60,
    )
    lost = [row for row in ure_rows(deployment.db) if row not in kept]
    assert lost
    result = make(
        "dr.recover", f"SNAP={Path(snapshot).name}", f"ENV={deployment.env}", "POLLS=3", "EVERY=0.5"
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "bridge: /readyz 503, 503, 503" in out
    assert f"4 restore    {deployment.db} from {Path(snapshot).name}" in out
    assert "[OK] all 5 check(s) passed" in out and "recovered" in out
    after = ure_rows(deployment.db)
    assert not [row for row in lost if row in after]  # written after the snapshot: gone
    assert all(row in after for row in kept)
    assert bridge.pid not in {c.pid for c in running(deployment.run_dir)}  # a new process
    poll(
        "BridgeNotReady resolved",
        lambda: alert_states(deployment.prometheus, "BridgeNotReady") == [],
        time.monotonic() + 60,
    )


def test_6_down_stops_the_components_with_the_stack(deployment: Deployment) -> None:
    pids = [c.pid for c in running(deployment.run_dir)]
    assert len(pids) == 2
    down = obsgen("down", "--dir", deployment.state, "--env", deployment.env)  # what `make down ENV=…` runs
    assert down.returncode == 0, down.stdout + down.stderr
    assert "ure stopped" in down.stdout and "bridge stopped" in down.stdout and "sandbox down" in down.stdout
    for pid in pids:
        poll(f"pid {pid} gone", lambda pid=pid: not Path(f"/proc/{pid}").exists(), time.monotonic() + 15)
    assert running(deployment.run_dir) == [] and not list(deployment.run_dir.glob("*.pid"))
    again = obsgen("down", "--dir", deployment.state, "--env", deployment.env)
    assert again.returncode == ExitCode.CHECK_FAILED and "no component running" in again.stdout
