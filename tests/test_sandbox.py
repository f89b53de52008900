"""The seed's sandbox-smoke-60s: the whole chain for real, from the bundled spec.

`obsgen up --free-ports` starts the runtime, Prometheus, Alertmanager, node_exporter and
blackbox_exporter on free loopback ports; the smoke checks every target is up, every recording
rule of generated/ yields a series, the heartbeat is ok, and that switching to the
entropy-spike scenario gets BridgeEntropySpike to the Alertmanager sink; `obsgen down` stops
everything, and nothing is left running or listening.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GENERATED, ROOT, obsgen, poll, prometheus_query

from generator import promql
from generator.exit_codes import ExitCode

SMOKE_BUDGET = 60.0


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    return prometheus_query(prometheus, expr)


def wait_for(what: str, check: Callable[[], object], deadline: float) -> object:
    return poll(f"{what} (the smoke allows {SMOKE_BUDGET:g} s)", check, deadline)


def recording_rules() -> list[tuple[str, dict[str, str]]]:
    rules = []
    for path in sorted((GENERATED / "prometheus/rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            rules += [(r["record"], r.get("labels", {})) for r in group["rules"] if "record" in r]
    return rules


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], float]]:
    state = tmp_path_factory.mktemp("sandbox")
    started = time.monotonic()
    result = obsgen("up", "--dir", state, "--free-ports")
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield state, json.loads((state / "state.json").read_text()), started
    finally:
        if (state / "state.json").exists():
            obsgen("down", "--dir", state)


def test_sandbox_smoke_60s(stack: tuple[Path, dict[str, Any], float]) -> None:
    state, record, started = stack
    deadline = started + SMOKE_BUDGET
    prometheus = f"http://127.0.0.1:{record['ports']['prometheus']}"
    assert record["speed_up"] == 60  # the bundled spec's 1m evaluation interval, in seconds

    def all_targets_up() -> bool:
        with urllib.request.urlopen(f"{prometheus}/api/v1/targets", timeout=5) as response:
            targets = json.loads(response.read())["data"]["activeTargets"]
        jobs = yaml.safe_load((GENERATED / "prometheus/prometheus.yml").read_text())["scrape_configs"]
        return len(targets) == len(jobs) and all(t["health"] == "up" for t in targets)

    wait_for("every scrape target up", all_targets_up, deadline)

    rules = recording_rules()
    assert len(rules) > 50

    selectors = sorted({promql.selector(name, labels) for name, labels in rules})

    def every_rule_has_a_series() -> bool:
        return all(query(prometheus, f"count({selector})") for selector in selectors)

    wait_for("a series for every recording rule in generated/", every_rule_has_a_series, deadline)
    wait_for(
        "duri_heartbeat_ok == 1",
        lambda: query(prometheus, 'duri_heartbeat_ok{metric_realm="prod"} == 1'),
        deadline,
    )

    switched = obsgen("scenario", "--dir", state, "entropy-spike")
    assert switched.returncode == 0, switched.stderr

    def entropy_alert_delivered() -> bool:
        log = state / "notifications.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        bodies = [json.loads(line)["body"] for line in lines]
        return any(
            isinstance(b, dict) and "BridgeEntropySpike" in json.dumps(b.get("attachments", ""))
            for b in bodies
        )

    wait_for("BridgeEntropySpike at the Alertmanager sink (Slack)", entropy_alert_delivered, deadline)
    assert time.monotonic() - started < SMOKE_BUDGET


def test_make_smoke_passes_on_the_sandbox(stack: tuple[Path, dict[str, Any], float]) -> None:
    """`make smoke` without ENV (the last step of `make bootstrap.latest`): the sandbox's own."""
    state, record, _ = stack
    result = obsgen("smoke", "--dir", state, "--wait", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"smoke: Prometheus http://127.0.0.1:{record['ports']['prometheus']}" in result.stdout
    assert "[OK] all 3 check(s) passed" in result.stdout


def test_error_budget_check_passes_healthy_and_fails_after_a_burst(
    stack: tuple[Path, dict[str, Any], float],
) -> None:
    """error-budget-burn-ok against the sandbox's real Prometheus."""
    state, record, _ = stack
    prometheus = f"http://127.0.0.1:{record['ports']['prometheus']}"
    # Each SLO's period series appears once its groups have evaluated after the fast one.
    deadline = time.monotonic() + 20
    healthy = obsgen("budget", "check", "--prometheus", prometheus)
    while healthy.returncode == 12 and time.monotonic() < deadline:
        time.sleep(0.5)
        healthy = obsgen("budget", "check", "--prometheus", prometheus)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "[OK] 3 SLO(s)" in healthy.stdout
    assert obsgen("scenario", "--dir", state, "phase-drift").returncode == 0
    deadline = time.monotonic() + 30
    burst = healthy
    while time.monotonic() < deadline and burst.returncode == 0:
        time.sleep(0.5)
        burst = obsgen("budget", "check", "--prometheus", prometheus)
    assert burst.returncode == 1, burst.stdout + burst.stderr
    assert "[FAIL] error budget policy violated by bridge-phase-diff" in burst.stdout
    assert obsgen("scenario", "--dir", state, "healthy").returncode == 0


def test_canary_quorum_met_and_missed(stack: tuple[Path, dict[str, Any], float]) -> None:
    """canary-quorum-pass: three canaries served by the runtime, two needed."""
    state, record, _ = stack
    prometheus = f"http://127.0.0.1:{record['ports']['prometheus']}"
    passing = 'canary:gate_condition:value{condition="canary-quorum", gate="duri-l4"}'
    instances = query(prometheus, 'duri_canary_unique_ratio{metric_realm="prod"}')
    assert sorted(s["metric"]["canary"] for s in instances) == ["c1", "c2", "c3"]
    deadline = time.monotonic() + 60
    for scenario, expected in (("canary-one-bad", 2.0), ("canary-regression", 1.0)):
        assert obsgen("scenario", "--dir", state, scenario).returncode == 0
        wait_for(
            f"{expected:g} canaries passing in {scenario}",
            lambda expected=expected: [
                s for s in query(prometheus, passing) if float(s["value"][1]) == expected
            ],
            deadline,
        )
        decided = obsgen("gate", "decide", "duri-l4", "--prometheus", prometheus)
        row = next(line for line in decided.stdout.splitlines() if "canary-quorum" in line)
        assert ("VIOLATED" in row) == (expected < 2), decided.stdout
    assert obsgen("scenario", "--dir", state, "healthy").returncode == 0


def test_down_leaves_no_process_or_port_behind(stack: tuple[Path, dict[str, Any], float]) -> None:
    state, record, _ = stack
    result = obsgen("down", "--dir", state)
    assert result.returncode == 0, result.stderr
    assert "killed" not in result.stdout  # every part stopped on SIGTERM, none needed SIGKILL
    assert not (state / "state.json").exists()
    for child in record["children"]:
        with pytest.raises(ProcessLookupError):
            os.kill(child["pid"], 0)
    ports = record["ports"]
    busy = [
        p
        for p in [*ports["services"].values(), *(v for k, v in ports.items() if k != "services")]
        if listening(p)
    ]
    assert busy == []
    assert obsgen("down", "--dir", state).returncode == 1  # nothing left to stop


def test_port_9306_taken_names_the_service_and_port() -> None:
    """The seed's "no port conflicts": bridge's declared port held by someone else."""
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", 9306))
            holder.listen()
        except OSError:
            pass  # something else holds it already: just as taken
        result = obsgen("run", "--control-port", "0", timeout=20)
    assert result.returncode == ExitCode.PORT_IN_USE, result.stdout + result.stderr
    assert "service 'bridge' on 127.0.0.1:9306" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_while_starting_stops_what_had_started(tmp_path: Path) -> None:
    state = tmp_path / "sandbox"
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "up", "--dir", str(state), "--free-ports"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    record = state / "state.json"
    deadline = time.monotonic() + 20
    children: list[dict[str, Any]] = []
    while time.monotonic() < deadline and len(children) < 3:
        if record.exists():
            with contextlib.suppress(ValueError):
                children = json.loads(record.read_text())["children"]
        time.sleep(0.01)
    assert len(children) >= 3, "the stack never got going"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    if process.returncode == 0:  # it was faster than us: then `down` must clean up
        assert obsgen("down", "--dir", state).returncode == 0
    else:
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr
    assert not record.exists()
    for child in children:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(child["pid"], 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"{child['name']} (pid {child['pid']}) is still running")
