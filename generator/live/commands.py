"""The live commands' bodies, kept out of generator/cli.py so it imports nothing heavy."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from generator.durations import format_duration
from generator.errors import unknown
from generator.exit_codes import ExitCode
from generator.live import probe
from generator.live.gate import (
    Decision,
    GateReading,
    Verdict,
    decide,
    gate_query,
    most_severe,
    readings,
    render_block,
    watch_line,
)
from generator.live.http_client import HttpClient, Unreachable
from generator.live.prom import Prometheus
from generator.live.targets import expected_jobs, job_states, render, targets_query
from generator.model import Gate, Service, Spec

Echo = Callable[[str], None]
T = TypeVar("T")


class UsageError(Exception):
    """A mistake in the command line (an unknown gate, say): exit 2 with the message."""


def select_gates(spec: Spec, name: str | None) -> list[tuple[Service, Gate]]:
    """The named gate, or every gate of the spec when no name is given."""
    every = [(service, gate) for service in spec.services for gate in service.gates]
    if not every:
        raise UsageError("the spec declares no gates")
    if name is None:
        return every
    chosen = [(service, gate) for service, gate in every if gate.name == name]
    if not chosen:
        raise UsageError(unknown(f"no gate named {name!r}", name, [gate.name for _, gate in every]))
    return chosen


def read_gates(
    prometheus: Prometheus, chosen: list[tuple[Service, Gate]]
) -> list[tuple[GateReading | None, Decision]]:
    """One query for all the gates; per gate its reading (None when unreachable) and decision."""
    try:
        found = readings(prometheus.query(gate_query(chosen)))
    except Unreachable as exc:
        return [(None, Decision(Verdict.UNREACHABLE, str(exc)))] * len(chosen)
    out = []
    for service, gate in chosen:
        reading = found.get(gate.name, GateReading())
        out.append((reading, decide(service, gate, reading)))
    return out


def decide_gates(prometheus: Prometheus, chosen: list[tuple[Service, Gate]], echo: Echo) -> Verdict:
    """Print one block per gate; the most severe verdict decides the exit code."""
    results = read_gates(prometheus, chosen)
    for i, ((service, gate), (reading, decision)) in enumerate(zip(chosen, results, strict=True)):
        if i:
            echo("")
        for line in render_block(service, gate, prometheus.url, reading, decision):
            echo(line)
    return most_severe(decision.verdict for _, decision in results)


def repeat(
    tick: Callable[[], T],
    total: float,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `tick` now and at every whole interval after it until `total` seconds have passed
    (total/interval + 1 calls); returns the last result. The schedule is fixed: a slow call
    does not shift the later ones, and slots it overran are skipped."""
    start = clock()
    while True:
        result = tick()
        elapsed = clock() - start
        slot = (math.floor(elapsed / interval + 1e-9) + 1) * interval
        if slot > total + 1e-9:
            return result
        sleep(max(0.0, slot - (clock() - start)))


def watch_gate(
    prometheus: Prometheus,
    service: Service,
    gate: Gate,
    total: float,
    interval: float,
    echo: Echo,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Verdict:
    echo(
        f"watching gate {gate.name} at {prometheus.url} for {_seconds(total)}, every {_seconds(interval)} "
        "(UTC; ! violated, ? no data; Ctrl-C stops)"
    )

    def tick() -> Verdict:
        [(reading, decision)] = read_gates(prometheus, [(service, gate)])
        echo(watch_line(gate, reading, decision, datetime.now(UTC)))
        return decision.verdict

    return repeat(tick, total, interval, sleep, clock)


def verify_targets(prometheus: Prometheus, spec: Spec, echo: Echo) -> ExitCode:
    """One query reads every target's `up` and the declared series names it exposes."""
    jobs = expected_jobs(spec)
    try:
        samples = prometheus.query(targets_query(jobs))
    except Unreachable as exc:
        echo(f"scrape targets of {len(jobs)} job(s) at {prometheus.url}")
        echo(f"{Verdict.UNREACHABLE.tag} {exc}")
        return ExitCode.UNREACHABLE
    states = job_states(jobs, samples)
    for line in render(prometheus.url, states):
        echo(line)
    return ExitCode.OK if all(s.healthy for s in states) else ExitCode.CHECK_FAILED


def _seconds(value: float) -> str:
    return format_duration(int(value)) if value == int(value) else f"{value:g}s"


class _ScrapeTarget(HttpClient):
    server = "the target"
    action = "scrape"


def time_scrapes(
    url: str, count: int, timeout: float, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Seconds each of `count` sequential scrapes of `url` took, request sent to body read, a
    new connection each (urllib keeps none). Raises Unreachable on no answer or a non-2xx one."""
    client = _ScrapeTarget(url, timeout)
    took = []
    for _ in range(count):
        start = clock()
        response = client.request("GET", "", accept=probe.SCRAPE_ACCEPT)
        took.append(clock() - start)
        if not response.ok:
            raise client.fail(f"HTTP {response.status} {response.reason}")
    return took


def read_targets(prometheus: Prometheus) -> list[dict[str, Any]]:
    """Prometheus's active targets; raises Unreachable when it gives no usable answer."""
    try:
        return probe.active_targets(prometheus.get_json("/api/v1/targets?state=active"))
    except ValueError as exc:
        raise prometheus.fail(str(exc)) from None


def probe_scrapes(
    prometheus: Prometheus, spec: Spec, scrapes: int, timeout: float, budget_ms: float
) -> list[probe.Result]:
    """A row per active target of the spec's service jobs (or per service without one)."""
    services = probe.scraped_services(spec)
    if not services:
        return []
    found = probe.scrape_targets(services, read_targets(prometheus))
    missing = probe.services_without_targets(services, found)
    results = [probe.no_targets(service, budget_ms) for service in missing]
    for target in found:
        try:
            results.append(probe.scrape_result(target, time_scrapes(target.url, scrapes, timeout), budget_ms))
        except Unreachable as exc:
            results.append(probe.scrape_failure(target, exc.why, budget_ms))
    return results


def probe_jitter(prometheus: Prometheus, spec: Spec, window: float, budget_ms: float) -> list[probe.Result]:
    """A row per loop: its jitter histogram's p95 over `window` seconds, through Prometheus."""
    results = []
    for service in probe.loop_services(spec):
        try:
            samples = prometheus.query(probe.jitter_query(service, window))
        except Unreachable as exc:
            results.append(probe.jitter_failure(service, exc.why, budget_ms))
        else:
            results.append(probe.jitter_result(service, [s.value for s in samples], budget_ms))
    return results


def probe_budgets(
    prometheus: Prometheus,
    spec: Spec,
    echo: Echo,
    *,
    scrapes: int,
    window: float,
    scrape_budget_ms: float,
    jitter_budget_ms: float,
) -> ExitCode:
    """`obsgen probe`: the scrape and jitter p95s against their budgets; Prometheus's targets
    API unreachable ends it at once (nothing else can be measured without it)."""
    try:
        results = probe_scrapes(prometheus, spec, scrapes, prometheus.timeout, scrape_budget_ms)
    except Unreachable as exc:
        echo(f"latency budgets at {prometheus.url}")
        echo(f"{probe.State.UNREACHABLE.tag} {exc}")
        return ExitCode.UNREACHABLE
    results += probe_jitter(prometheus, spec, window, jitter_budget_ms)
    for line in probe.render(prometheus.url, scrapes, results):
        echo(line)
    return probe.exit_code(results)
