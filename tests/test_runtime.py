"""The runtime in-process on free loopback ports: exporters, readiness, scenarios, the control
loop's jitter, the heartbeat writer — and healthy values that satisfy the spec."""

from __future__ import annotations

import contextlib
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SPEC, free_port

from generator.model import ThresholdAlert
from generator.pipeline import load
from runtime.app import Options, Runtime
from runtime.heartbeat import HeartbeatWriter
from runtime.scenarios import SCENARIOS
from runtime.world import World


@contextlib.contextmanager
def runtime_running(
    tmp_path: Path, heartbeat_period: float, state_db: Path, **extra: Any
) -> Iterator[tuple[Runtime, Options]]:
    """The bundled spec's runtime on free loopback ports, stopped afterwards."""
    spec = load(SPEC)
    options = Options(
        ports={s.service: free_port() for s in spec.services},
        control_port=free_port(),
        textfile_dir=tmp_path / "textfile",
        heartbeat_period=heartbeat_period,
        state_db=state_db,
        **extra,
    )
    runtime = Runtime(spec, options)
    runtime.start()
    try:
        yield runtime, options
    finally:
        runtime.stop()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Runtime, Options]]:
    with runtime_running(tmp_path, 0.2, tmp_path / "runtime.sqlite") as started:
        yield started


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def switch(options: Options, name: str) -> tuple[int, str]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{options.control_port}/scenario", data=name.encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_every_service_serves_its_catalog_on_its_path(running: tuple[Runtime, Options]) -> None:
    runtime, options = running
    for service in runtime.spec.services:
        base = f"http://127.0.0.1:{options.ports[service.service]}"
        status, text = get(base + service.scrape.path)
        assert status == 200
        for metric in service.metrics:
            if not metric.external:
                assert re.search(rf"^{metric.name}(_bucket|_count|_sum)?[{{ ]", text, re.M), metric.name
        assert "metric_realm" not in text  # Prometheus adds it as a target label
        assert get(base + "/healthz")[0] == 200
        assert get(base + "/readyz")[0] == 200


def test_scenarios_switch_while_running(running: tuple[Runtime, Options]) -> None:
    _runtime, options = running
    bridge = f"http://127.0.0.1:{options.ports['bridge']}"
    assert switch(options, "not-ready")[0] == 200
    assert get(bridge + "/readyz")[0] == 503
    assert switch(options, "entropy-spike")[0] == 200
    assert get(bridge + "/readyz")[0] == 200
    assert "bridge_entropy_ratio 0.3" in get(bridge + "/metrics_bridge")[1]
    status, body = switch(options, "no-such-scenario")
    assert status == 400 and "healthy" in body


def test_healthy_values_meet_every_threshold_and_scenarios_break_theirs() -> None:
    spec = load(SPEC)
    world = World.from_spec(spec)
    bridge = spec.service("bridge")
    for alert in bridge.alerts:
        if isinstance(alert, ThresholdAlert) and alert.metric in world.levels:
            value = world.target(alert.metric)
            fires = {">": value > alert.value, "<": value < alert.value, "==": value == alert.value}.get(
                alert.op
            )
            assert not fires, (alert.name, value)
    world.switch("entropy-spike")
    assert world.target("bridge_entropy_ratio") > 0.15
    world.switch("lyapunov-rising")
    first = world.target("duri_lyapunov_v")
    time.sleep(0.2)
    assert world.target("duri_lyapunov_v") > first
    assert set(SCENARIOS) >= {
        "healthy", "phase-drift", "entropy-spike", "jitter", "not-ready",
        "heartbeat-stall", "canary-regression", "lyapunov-rising",
    }  # fmt: skip


def test_the_loop_measures_its_own_jitter(running: tuple[Runtime, Options]) -> None:
    runtime, options = running
    (loop,) = runtime.loops
    time.sleep(0.5)
    calm = loop.lateness_since(0)
    assert len(calm) >= 5 and sorted(calm)[int(0.9 * len(calm))] < 0.025
    first = loop.ticks
    switch(options, "jitter")
    time.sleep(1.5)
    late = loop.lateness_since(first)
    assert max(late) > 0.025  # the scenario's extra work makes ticks late, and the loop sees it
    text = get(f"http://127.0.0.1:{options.ports['bridge']}/metrics_bridge")[1]
    count = float(re.search(r"^bridge_tick_jitter_seconds_count (\S+)", text, re.M).group(1))  # type: ignore[union-attr]
    assert count >= len(calm) + len(late)


def test_the_heartbeat_is_written_atomically_and_stalls_on_request(running: tuple[Runtime, Options]) -> None:
    _runtime, options = running
    path = options.textfile_dir / "duri_heartbeat.prom"
    time.sleep(0.5)
    text = path.read_text()
    assert re.fullmatch(
        r"# HELP duri_heartbeat_timestamp_seconds .*\n# TYPE duri_heartbeat_timestamp_seconds gauge\n"
        r'duri_heartbeat_timestamp_seconds\{metric_realm="prod"\} \d+\.\d{3}\n',
        text,
    )
    assert [p.name for p in options.textfile_dir.iterdir()] == ["duri_heartbeat.prom"]  # no temp left
    beat = float(text.split()[-1])
    assert abs(beat - time.time()) < 5
    switch(options, "heartbeat-stall")
    time.sleep(0.3)
    stalled = path.read_text()
    time.sleep(0.5)
    assert path.read_text() == stalled


def test_writer_never_exposes_half_a_file(tmp_path: Path) -> None:
    """A reader polling the file only ever sees complete content."""
    spec = load(SPEC)
    duri = spec.service("duri")
    world = World.from_spec(spec)
    writer = HeartbeatWriter(duri, duri.heartbeats[0], tmp_path, world, 0.001)
    writer.start()
    try:
        seen = set()
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                seen.add(len((tmp_path / "duri_heartbeat.prom").read_text().splitlines()))
        assert seen == {3}
    finally:
        writer.stop()
