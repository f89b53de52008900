"""`obsgen probe`: its pure parts, and the command end to end against a real Prometheus.

A module fixture starts the Debian `prometheus` binary (scrape and evaluation every second) on
the bundled bridge service, whose scrape port points at a loopback exporter the tests control:
it serves the bridge's gauges and a `bridge_tick_jitter_seconds` histogram that grows by 20
ticks a second at the jitter a test sets, and may answer late or not at all. Every assertion
goes through the command (in this process; the real CLI in a subprocess for an unreachable
Prometheus); tests poll with deadlines instead of sleeping.
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SPEC, free_port
from test_live import Exporter, cli, prometheus_of

from generator.exit_codes import ExitCode
from generator.live import probe
from generator.live.probe import Result, ScrapeTarget, State
from generator.model import Service
from generator.pipeline import load
from generator.prometheus_commands import probe_command

DEADLINE = 20.0
BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1)
TICKS_PER_SECOND = 20
SETTINGS = """\
settings:
  evaluation_interval: 1s
  scrape_interval: 1s
  watchdog: false
  runbook_base_url: https://runbooks.example/alerts
"""
GAUGES = {
    "bridge_phase_diff": 0.01,
    "bridge_sync_quality": 0.95,
    "bridge_entropy_ratio": 0.05,
    "bridge_power_w": 120,
    "bridge_temp_celsius": 45,
}
QUICK = ("--scrapes", "10", "--window", "3s")


# ---------------------------------------------------------------- the real parts


class BridgeExporter(Exporter):
    """The bridge's exposition on a loopback port: its gauges, and a jitter histogram counting
    TICKS_PER_SECOND observations of `jitter` seconds for every second that passes."""

    def __init__(self) -> None:
        super().__init__("/metrics_bridge")
        self.jitter = 0.002
        self.histogram = True
        self._observed: dict[float, int] = {}
        self._ticks = 0
        self._start = time.monotonic()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics_bridge"

    def exposition(self) -> bytes:
        lines = [f"# TYPE {name} gauge\n{name} {value}" for name, value in GAUGES.items()]
        if self.histogram:
            lines.append(self._histogram())
        return ("\n".join(lines) + "\n").encode()

    def _histogram(self) -> str:
        with self._lock:
            ticks = int((time.monotonic() - self._start) * TICKS_PER_SECOND)
            self._observed[self.jitter] = self._observed.get(self.jitter, 0) + ticks - self._ticks
            self._ticks = ticks
            observed = dict(self._observed)
        name = "bridge_tick_jitter_seconds"
        lines = [f"# TYPE {name} histogram"]
        for le in BUCKETS:
            count = sum(n for value, n in observed.items() if value <= le)
            lines.append(f'{name}_bucket{{le="{le}"}} {count}')
        total = sum(observed.values())
        lines += [
            f'{name}_bucket{{le="+Inf"}} {total}',
            f"{name}_sum {sum(value * n for value, n in observed.items())!r}",
            f"{name}_count {total}",
        ]
        return "\n".join(lines)


@dataclass
class Stack:
    url: str
    spec: Path
    exporter: BridgeExporter

    def probe(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_probe("--spec", str(self.spec), "--prometheus", self.url, *args)


def run_probe(*args: str) -> subprocess.CompletedProcess[str]:
    """The command in this process (an interpreter's start-up per call would double the file's
    time), without the caller's PROMETHEUS_URL; its exit code and output as a subprocess's."""
    result = CliRunner().invoke(probe_command, list(args), env={"PROMETHEUS_URL": None})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    argv = ["obsgen", "probe", *args]
    return subprocess.CompletedProcess(argv, result.exit_code, result.stdout, result.stderr)


def write_bridge_spec(spec: Path, port: int) -> Path:
    """The bundled bridge service alone, scraped at `port`, with 1s scrape and evaluation."""
    spec.mkdir(parents=True)
    (spec / "obsgen.yaml").write_text(SETTINGS)
    text, count = re.subn(r"(?m)^  port: 9306$", f"  port: {port}", (SPEC / "bridge.yaml").read_text())
    assert count == 1
    (spec / "bridge.yaml").write_text(text)
    return spec


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("probe")
    exporter = BridgeExporter()
    exporter.start()
    spec = write_bridge_spec(root / "spec", exporter.port)
    try:
        with prometheus_of(spec, root) as url:
            stack = Stack(url, spec, exporter)
            # Every test starts from a target Prometheus has discovered and scraped: whichever of
            # the module's tests a worker runs first (xdist deals them out).
            poll(lambda: stack.probe(*QUICK), lambda r: r.returncode == ExitCode.OK, "every check ok")
            yield stack
    finally:
        exporter.stop()


@pytest.fixture
def bridge(stack: Stack) -> Iterator[Stack]:
    """The stack with a fast exporter and low jitter, and left so after the test."""
    stack.exporter.delay, stack.exporter.jitter, stack.exporter.histogram = 0.0, 0.002, True
    yield stack
    stack.exporter.delay, stack.exporter.jitter, stack.exporter.histogram = 0.0, 0.002, True


def poll(
    run: Callable[[], subprocess.CompletedProcess[str]],
    until: Callable[[subprocess.CompletedProcess[str]], bool],
    what: str,
) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + DEADLINE
    while True:
        result = run()
        assert "Traceback" not in result.stderr, result.stderr
        if until(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: not seen within {DEADLINE}s; last exit {result.returncode}:\n{result.stdout}"
            )
        time.sleep(0.3)


def last_line(out: str) -> str:
    return out.rstrip("\n").splitlines()[-1]


def row(out: str, check: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(f"  {check} "))


# ---------------------------------------------------------------- end to end


def test_a_fast_exporter_with_low_jitter_is_within_budget(bridge: Stack) -> None:
    result = poll(lambda: bridge.probe(*QUICK), lambda r: r.returncode == ExitCode.OK, "every check ok")
    out = result.stdout
    scrape = row(out, "scrape")
    assert scrape[1:3] == ["bridge", bridge.exporter.url], out
    assert float(scrape[3]) < 150 and scrape[-3:] == ["150.0", "ms", "ok"], out
    # 95 % of the ticks in the le="0.005" bucket, interpolated from 0.001: 4.8 ms.
    assert row(out, "jitter") == ["jitter", "bridge", "loop", "4.8", "ms", "25.0", "ms", "ok"], out
    assert last_line(out) == "[OK] all 2 check(s) within budget"


def test_a_slow_exporter_misses_the_scrape_budget(bridge: Stack) -> None:
    bridge.exporter.delay = 0.2
    result = bridge.probe("--scrapes", "5", "--window", "3s")
    out = result.stdout
    assert result.returncode == ExitCode.CHECK_FAILED, out
    assert row(out, "scrape")[-1] == "MISSED", out
    match = re.fullmatch(
        rf"\[MISSED\] scrape bridge {re.escape(bridge.exporter.url)}: p95 (\d+\.\d) ms > 150\.0 ms",
        last_line(out),
    )
    assert match and 200 <= float(match.group(1)) < 1000, out


def test_jitter_at_50ms_misses_the_jitter_budget(bridge: Stack) -> None:
    bridge.exporter.jitter = 0.05
    # Every tick in le="0.05": 0.025 + 0.95 × 0.025 = 48.75 ms, once the window holds no older tick.
    # A generous scrape budget: a loaded test machine must not make the scrape row miss too.
    result = poll(
        lambda: bridge.probe(*QUICK, "--scrape-budget", "5s"),
        lambda r: r.returncode == ExitCode.CHECK_FAILED and "48.8 ms" in r.stdout,
        "the jitter p95 at 48.8 ms",
    )
    assert row(result.stdout, "scrape")[-1] == "ok", result.stdout
    assert last_line(result.stdout) == "[MISSED] jitter bridge loop: p95 48.8 ms > 25.0 ms"


def test_a_histogram_no_longer_served_is_no_data(bridge: Stack) -> None:
    bridge.exporter.histogram = False
    result = poll(lambda: bridge.probe(*QUICK), lambda r: r.returncode == ExitCode.NO_DATA, "no jitter data")
    out = result.stdout
    assert row(out, "jitter") == ["jitter", "bridge", "loop", "-", "25.0", "ms", "NO", "DATA"], out
    assert (
        "  jitter bridge loop: no bridge_tick_jitter_seconds observations in the window" in out.splitlines()
    )
    assert last_line(out) == "[NO DATA] jitter bridge loop"


def test_a_target_that_does_not_answer_is_unreachable(bridge: Stack) -> None:
    bridge.exporter.stop()
    try:
        result = bridge.probe(*QUICK)
    finally:
        bridge.exporter.start()
    out = result.stdout
    assert result.returncode == ExitCode.UNREACHABLE, out
    assert f"  scrape bridge {bridge.exporter.url}: Connection refused" in out.splitlines(), out
    assert last_line(out) == f"[UNREACHABLE] scrape bridge {bridge.exporter.url}"


def test_a_closed_port_is_unreachable_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("probe", "--prometheus", url)
    assert result.returncode == ExitCode.UNREACHABLE
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        f"latency budgets at {url}",
        f"[UNREACHABLE] cannot query Prometheus at {url}: Connection refused",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--scrape-budget", "fast"), "expected a time such as 150ms or 0.15s, got 'fast'"),
        (("--jitter-budget", "0ms"), "expected a time longer than zero, got '0ms'"),
        (("--scrapes", "0"), "--scrapes"),
        (("--prometheus", "localhost:9090"), "expected a Prometheus base URL"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = CliRunner().invoke(probe_command, ["--spec", str(SPEC), *args])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert (message in result.output and result.exception is None) or isinstance(result.exception, SystemExit)


# ---------------------------------------------------------------- the pure parts


@pytest.fixture(scope="module")
def services() -> dict[str, Service]:
    return {service.service: service for service in load(SPEC).services}


def test_percentile_is_the_nearest_rank() -> None:
    assert probe.percentile([float(n) for n in range(1, 51)]) == 48  # the 48th of 50
    assert probe.percentile([float(n) for n in range(10, 0, -1)]) == 10  # 10 values: the slowest
    assert probe.percentile([3.0]) == 3
    assert probe.percentile([float(n) for n in range(1, 101)]) == 95
    with pytest.raises(ValueError):
        probe.percentile([])


@pytest.mark.parametrize(
    ("text", "ms"), [("150ms", 150), ("0.15s", 150), ("150", 150), ("2.5ms", 2.5), (" 1s ", 1000)]
)
def test_budgets_parse_to_milliseconds(text: str, ms: float) -> None:
    assert math.isclose(probe.parse_budget_ms(text), ms)


@pytest.mark.parametrize("text", ["", "fast", "-5ms", "0", "5m", "1e3"])
def test_bad_budgets_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a time"):
        probe.parse_budget_ms(text)


def test_the_jitter_query_is_scoped_as_the_rules_scope_the_loop(services: dict[str, Service]) -> None:
    assert probe.jitter_query(services["bridge"], 300) == (
        "histogram_quantile(0.95, sum by (le) (rate("
        'bridge_tick_jitter_seconds_bucket{job="bridge", metric_realm="prod"}[5m])))'
    )
    assert probe.jitter_query(services["bridge"], 2.5).endswith("[2s500ms])))")
    assert [s.service for s in probe.loop_services(load(SPEC))] == ["bridge"]


def test_targets_are_chosen_by_job_and_realm(services: dict[str, Service]) -> None:
    def target(url: str, **labels: str) -> dict[str, object]:
        return {"scrapeUrl": url, "labels": labels, "health": "up"}

    answer = {
        "status": "success",
        "data": {
            "activeTargets": [
                target("http://b2/metrics_bridge", job="bridge", metric_realm="prod"),
                target("http://b1/metrics_bridge", job="bridge", metric_realm="prod"),
                target("http://dev/metrics_bridge", job="bridge", metric_realm="dev"),
                target("http://r/probe", job="bridge-readyz", metric_realm="prod"),
                target("http://u/metrics_ure", job="ure", metric_realm="prod"),
                {"labels": {"job": "bridge"}},
                "garbage",
            ]
        },
    }
    chosen = [services["bridge"], services["duri"]]
    found = probe.scrape_targets(chosen, probe.active_targets(answer))
    assert found == [
        ScrapeTarget("bridge", "http://b1/metrics_bridge"),
        ScrapeTarget("bridge", "http://b2/metrics_bridge"),
    ]
    assert [s.service for s in probe.services_without_targets(chosen, found)] == ["duri"]
    assert [s.service for s in probe.scraped_services(load(SPEC))] == ["bridge", "duri", "ure"]


@pytest.mark.parametrize("answer", [None, [], {"status": "error"}, {"status": "success", "data": {}}])
def test_a_malformed_targets_answer_is_refused(answer: object) -> None:
    with pytest.raises(ValueError, match="targets API"):
        probe.active_targets(answer)


def test_results_and_verdicts(services: dict[str, Service]) -> None:
    bridge = services["bridge"]
    target = ScrapeTarget("bridge", "http://b/metrics_bridge")
    fast = probe.scrape_result(target, [0.002] * 19 + [0.9], 150)
    assert (fast.p95_ms, fast.state) == (2.0, State.OK)  # one slow scrape in 20 is the 5 %
    slow = probe.scrape_result(target, [0.2] * 20, 150)
    assert (slow.p95_ms, slow.state) == (200.0, State.MISSED)
    assert probe.jitter_result(bridge, [0.025], 25).state is State.OK  # the budget itself is within
    assert probe.jitter_result(bridge, [math.nan], 25).state is State.NO_DATA
    assert probe.jitter_result(bridge, [], 25).state is State.NO_DATA
    refused = probe.scrape_failure(target, "Connection refused", 150)
    assert probe.exit_code([fast]) == ExitCode.OK
    assert probe.exit_code([fast, slow]) == ExitCode.CHECK_FAILED
    assert probe.exit_code([slow, probe.no_targets(services["ure"], 150)]) == ExitCode.NO_DATA
    assert probe.exit_code([refused, probe.jitter_result(bridge, [], 25)]) == ExitCode.UNREACHABLE
    assert probe.exit_code([]) == ExitCode.NO_DATA


def test_the_table_and_the_verdict_line(services: dict[str, Service]) -> None:
    results = [
        Result("scrape", "bridge http://b/metrics_bridge", 203.44, 150, State.MISSED),
        probe.jitter_result(services["bridge"], [0.0012], 25),
        probe.no_targets(services["ure"], 150),
    ]
    assert probe.render("http://p:9090", 50, results) == [
        "latency budgets at http://p:9090 (p95 of 50 scrape(s) per target; jitter through Prometheus)",
        "  check   target / loop                        p95    budget  state",
        "  scrape  bridge http://b/metrics_bridge  203.4 ms  150.0 ms  MISSED",
        "  jitter  bridge loop                       1.2 ms   25.0 ms  ok",
        "  scrape  ure                                    -  150.0 ms  NO DATA",
        "  scrape ure: no active target of job 'ure' in Prometheus (not configured, or not discovered yet)",
        "[NO DATA] scrape ure",
    ]
    assert (
        probe.verdict_line(results[:2])
        == "[MISSED] scrape bridge http://b/metrics_bridge: p95 203.4 ms > 150.0 ms"
    )
    assert probe.verdict_line(results[1:2]) == "[OK] all 1 check(s) within budget"
    assert probe.verdict_line([]) == "[NO DATA] the spec has no scraped service and no loop to probe"
