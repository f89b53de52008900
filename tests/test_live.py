"""`gate decide`, `gate watch` and `targets verify` against a real Prometheus.

A module fixture starts the Debian `prometheus` binary on a free loopback port with the rules
`obsgen gen` writes for tests/fixtures/specs/gates (evaluation and scrape every second), and
a small exporter thread whose values each test switches. Every assertion goes through the
real CLI in a subprocess; tests poll with deadlines instead of sleeping for fixed times.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, SPEC, free_port, installed, obsgen, serving

from generator import promql
from generator.exit_codes import ExitCode
from generator.live.commands import repeat
from generator.live.gate import (
    ConditionReading,
    GateReading,
    Verdict,
    decide,
    gate_query,
    most_severe,
    readings,
    requirement,
)
from generator.live.prom import Sample
from generator.live.targets import Job, expected_jobs, job_states, render, targets_query
from generator.model import Gate, Service
from generator.pipeline import load

GATES = ROOT / "tests" / "fixtures" / "specs" / "gates"
GATE = "lab-canary"
CONDITIONS = ("lyapunov-v", "unique-ratio", "green", "lyapunov-v-rising")
HEALTHY: dict[str, float | Callable[[], float]] = {
    "lab_lyapunov_v": 0.05,
    "lab_unique_ratio": 0.97,
    "lab_green": 1,
}
STATES = ("VIOLATED", "NO DATA", "ok")
DEADLINE = 20.0


# ---------------------------------------------------------------- the real parts


class Exporter:
    """Prometheus text exposition on a loopback port, on each of `paths`; values may be
    callables (a trend)."""

    def __init__(self, *paths: str) -> None:
        self.paths = paths
        self.port = 0
        self.delay = 0.0
        """seconds every answer waits first (a slow exporter)"""
        self._values: dict[str, float | Callable[[], float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, values: dict[str, float | Callable[[], float]]) -> None:
        with self._lock:
            self._values = dict(values)

    def exposition(self) -> bytes:
        with self._lock:
            values = dict(self._values)
        lines = []
        for name, value in sorted(values.items()):
            number = value() if callable(value) else value
            lines += [f"# TYPE {name} gauge", f"{name} {number!r}"]
        return ("\n".join(lines) + "\n").encode()

    def start(self) -> None:
        """Listen (again) on the same port once one was picked, so Prometheus finds it."""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(exporter.delay)
                if self.path.split("?")[0] not in exporter.paths:
                    self.send_error(404)
                    return
                body = exporter.exposition()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class TextExporter(Exporter):
    """Serves `text` as it is: whole metric families (histograms, summaries) under control."""

    text = ""

    def exposition(self) -> bytes:
        return self.text.encode()


@dataclass
class Lab:
    url: str
    spec: Path
    exporter: Exporter


@contextlib.contextmanager
def prometheus_of(spec: Path, root: Path) -> Iterator[str]:
    """`obsgen gen` of the spec under root, and the real Prometheus on its prometheus.yml; its URL."""
    binary = installed("prometheus")
    result = obsgen("gen", "--spec", spec, "--out", root / "generated")
    assert result.returncode == 0, result.stderr
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={root / 'generated/prometheus/prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        "--log.level=warn",
    ]
    with serving(argv, url, root / "prometheus.log"):
        yield url


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("live")
    exporter = Exporter("/metrics_lab")
    exporter.set(HEALTHY)
    exporter.start()
    spec = root / "spec"
    shutil.copytree(GATES, spec)
    service = spec / "lab.yaml"
    text, count = re.subn(r"(?m)^  port: \d+$", f"  port: {exporter.port}", service.read_text())
    assert count == 1
    service.write_text(text)
    try:
        with prometheus_of(spec, root) as url:
            lab = Lab(url, spec, exporter)
            # Every test starts from a lab whose target is scraped and whose rules have recorded:
            # whichever of the module's tests a worker runs first (xdist deals them out).
            settle(lab)
            yield lab
    finally:
        exporter.stop()


# ---------------------------------------------------------------- running the CLI


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, without the caller's PROMETHEUS_URL unless given."""
    environ = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_URL"}
    environ.update(env or {})
    return obsgen(*args, env=environ, timeout=60)


def gate_decide(lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return cli("gate", "decide", GATE, "--spec", lab.spec, "--prometheus", lab.url, *args)


def states(out: str) -> dict[str, str]:
    """condition → ok / VIOLATED / NO DATA, from the rows of a decide block."""
    found = {}
    for line in out.splitlines():
        for name in CONDITIONS:
            if line.startswith(f"  {name} "):
                found[name] = next(s for s in STATES if line.endswith(s))
    return found


def row(out: str, condition: str) -> list[str]:
    return next(line.split() for line in out.splitlines() if line.startswith(f"  {condition} "))


def verdict_line(out: str) -> str:
    return out.rstrip("\n").splitlines()[-1]


def poll(
    run: Callable[[], subprocess.CompletedProcess[str]],
    until: Callable[[subprocess.CompletedProcess[str]], bool],
    what: str,
    seen: list[subprocess.CompletedProcess[str]] | None = None,
) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + DEADLINE
    while True:
        result = run()
        assert "Traceback" not in result.stderr, result.stderr
        if seen is not None:
            seen.append(result)
        if until(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what}: not seen within {DEADLINE}s; last exit {result.returncode}:\n{result.stdout}"
            )
        time.sleep(0.2)


def all_ok(result: subprocess.CompletedProcess[str]) -> bool:
    return states(result.stdout) == dict.fromkeys(CONDITIONS, "ok")


def settle(lab: Lab) -> None:
    """Healthy values, and wait until every condition holds and no rollback is left over."""
    lab.exporter.set(HEALTHY)
    poll(
        lambda: gate_decide(lab),
        lambda r: r.returncode in (ExitCode.GO, ExitCode.HOLD) and all_ok(r),
        "every condition holding again",
    )


# ---------------------------------------------------------------- against the real Prometheus


def test_go_once_every_condition_has_held(lab: Lab) -> None:
    lab.exporter.set(HEALTHY)
    result = poll(lambda: gate_decide(lab), lambda r: r.returncode == ExitCode.GO, "GO")
    out = result.stdout
    assert out.splitlines()[0] == f"gate {GATE} (service lab) at {lab.url}"
    assert states(out) == dict.fromkeys(CONDITIONS, "ok")
    assert row(out, "lyapunov-v") == ["lyapunov-v", "lab_lyapunov_v", "<=", "0.1", "0.05", "ok"]
    assert row(out, "unique-ratio") == ["unique-ratio", "lab_unique_ratio", ">=", "0.92", "0.97", "ok"]
    assert row(out, "green") == ["green", "lab_green", "==", "1", "1", "ok"]
    assert row(out, "lyapunov-v-rising") == [
        *("lyapunov-v-rising", "lab_lyapunov_v", "slope", "<=", "0.001/s", "0/s", "ok")
    ]
    assert "  violations 0 of 4, promote 1, rollback 0" in out.splitlines()
    assert verdict_line(out) == "[GO] every condition has held for 5s"


def test_a_brief_violation_holds_until_the_gate_has_held_again(lab: Lab) -> None:
    settle(lab)
    lab.exporter.set({**HEALTHY, "lab_green": 0})
    result = poll(
        lambda: gate_decide(lab), lambda r: states(r.stdout).get("green") == "VIOLATED", "green violated"
    )
    assert result.returncode == ExitCode.HOLD
    assert "violations 1 of 4, promote 0, rollback 0" in result.stdout
    assert (
        verdict_line(result.stdout) == "[HOLD] not every condition has held for 5s yet (violated now: green)"
    )

    lab.exporter.set(HEALTHY)
    result = poll(lambda: gate_decide(lab), all_ok, "green holding again")
    # Every condition holds, but not for 5s yet: the gate must not promote.
    assert result.returncode == ExitCode.HOLD, result.stdout
    assert verdict_line(result.stdout) == "[HOLD] not every condition has held for 5s yet"


def test_two_conditions_violated_past_the_rollback_window_roll_back(lab: Lab) -> None:
    settle(lab)
    seen: list[subprocess.CompletedProcess[str]] = []
    lab.exporter.set({**HEALTHY, "lab_unique_ratio": 0.5, "lab_green": 0})
    result = poll(lambda: gate_decide(lab), lambda r: r.returncode == ExitCode.ROLLBACK, "ROLLBACK", seen)
    out = result.stdout
    assert states(out) == {
        "lyapunov-v": "ok",
        "unique-ratio": "VIOLATED",
        "green": "VIOLATED",
        **{"lyapunov-v-rising": "ok"},
    }
    assert "  violations 2 of 4, promote 0, rollback 1" in out.splitlines()
    assert verdict_line(out) == (
        "[ROLLBACK] 2 or more conditions violated for 3s or lyapunov-v-rising violated; "
        "violated now: unique-ratio, green"
    )
    # The rollback waited for its window: two violations were first only a HOLD.
    assert any(r.returncode == ExitCode.HOLD and "violations 2 of 4" in r.stdout for r in seen), [
        r.stdout for r in seen
    ]


def test_a_rising_trend_alone_rolls_back_at_once(lab: Lab) -> None:
    # No need to settle first: with one condition violated now, the sustained part of the rule
    # (min over the window ≥ 2) cannot hold, so a ROLLBACK with this picture is the trend's.
    start = time.monotonic()
    rising = {**HEALTHY, "lab_lyapunov_v": lambda: 0.05 + 0.005 * (time.monotonic() - start)}
    lab.exporter.set(rising)
    expected = {**dict.fromkeys(CONDITIONS, "ok"), "lyapunov-v-rising": "VIOLATED"}
    try:
        result = poll(
            lambda: gate_decide(lab),
            lambda r: r.returncode == ExitCode.ROLLBACK and states(r.stdout) == expected,
            "ROLLBACK on the trend alone",
        )
    finally:
        lab.exporter.set(HEALTHY)  # V falls back to 0.05: a falling slope holds at once
    out = result.stdout
    slope = row(out, "lyapunov-v-rising")[5]
    # Above epsilon, and at most the real slope (deriv's window may still hold flat samples).
    assert slope.endswith("/s") and 0.001 < float(slope.removesuffix("/s")) < 0.0055, out
    assert "  violations 1 of 4, promote 0, rollback 1" in out.splitlines()
    assert verdict_line(out).endswith("; violated now: lyapunov-v-rising")


def test_a_series_no_longer_served_is_no_data(lab: Lab) -> None:
    lab.exporter.set({k: v for k, v in HEALTHY.items() if k != "lab_unique_ratio"})
    try:
        # Prometheus marks the series stale at the next scrape, and the value rule records nothing.
        result = poll(lambda: gate_decide(lab), lambda r: r.returncode == ExitCode.NO_DATA, "NO DATA")
        out = result.stdout
        assert states(out)["unique-ratio"] == "NO DATA"
        assert row(out, "unique-ratio")[4:] == ["missing", "NO", "DATA"]
        assert verdict_line(out) == (
            "[NO DATA] no canary:gate_condition:value for unique-ratio: is lab_unique_ratio scraped "
            "and are the gate rules loaded?"
        )
        # Every gate, URL from the environment: the worst verdict (NO DATA > HOLD) decides.
        every = cli("gate", "decide", "--spec", lab.spec, env={"PROMETHEUS_URL": lab.url})
        assert every.returncode == ExitCode.NO_DATA, every.stdout
        blocks = every.stdout.split("\n\n")
        assert [b.splitlines()[0] for b in blocks] == [
            f"gate lab-canary (service lab) at {lab.url}",
            f"gate lab-slow (service lab) at {lab.url}",
        ]
        assert verdict_line(blocks[0]).startswith("[NO DATA] ")
        assert verdict_line(blocks[1]) == "[HOLD] not every condition has held for 10m yet"
    finally:
        lab.exporter.set(HEALTHY)


def test_a_nan_value_is_no_data(lab: Lab) -> None:
    # Every comparison with NaN is false, so the rules count a NaN value as holding (and would
    # promote on it); decide is stricter and says NO DATA.
    lab.exporter.set({**HEALTHY, "lab_unique_ratio": float("nan")})
    try:
        result = poll(
            lambda: gate_decide(lab),
            lambda r: r.returncode == ExitCode.NO_DATA and "is NaN" in r.stdout,
            "NO DATA for a NaN value",
        )
    finally:
        lab.exporter.set(HEALTHY)
    assert row(result.stdout, "unique-ratio")[4:] == ["NaN", "NO", "DATA"]
    assert verdict_line(result.stdout) == (
        "[NO DATA] canary:gate_condition:value is NaN for unique-ratio: lab_unique_ratio gives no number "
        "to compare"
    )


def test_the_option_beats_the_environment(lab: Lab) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = cli(
        "gate",
        "decide",
        "lab-slow",
        "--spec",
        lab.spec,
        "--prometheus",
        lab.url,
        env={"PROMETHEUS_URL": closed},
    )
    assert result.returncode == ExitCode.HOLD, result.stdout
    assert result.stdout.splitlines()[0] == f"gate lab-slow (service lab) at {lab.url}"


def test_a_gate_whose_rules_are_not_loaded_is_no_data(lab: Lab) -> None:
    result = cli("gate", "decide", "duri-l4", "--spec", SPEC, "--prometheus", lab.url)
    assert result.returncode == ExitCode.NO_DATA
    assert states(result.stdout) == {"lyapunov-v": "NO DATA", "lyapunov-v-rising": "NO DATA"}
    assert verdict_line(result.stdout) == (
        "[NO DATA] no canary:* series for gate duri-l4: are its rules (rules/duri.gate.duri-l4.yml) "
        "loaded into this Prometheus?"
    )
    assert row(result.stdout, "lyapunov-v-rising")[1:] == [
        *("duri_lyapunov_v", "slope", "<=", "0.0001/s", "missing", "NO", "DATA")
    ]


def test_make_rollout_preview_decides_every_bundled_gate(lab: Lab) -> None:
    """The seed's `make rollout.preview`: the bundled gates' rules are not in this Prometheus."""
    result = subprocess.run(
        ["make", "-s", "--no-print-directory", "rollout.preview", f"PROMETHEUS_URL={lab.url}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0, result.stdout  # make reports the verdict's exit code 12
    verdicts = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(verdicts) == 2 and all(line.startswith("[NO DATA]") for line in verdicts), result.stdout
    assert "gate bridge-v19" in result.stdout and "gate duri-l4" in result.stdout


def test_something_that_is_not_prometheus_is_unreachable(lab: Lab) -> None:
    result = cli("gate", "decide", GATE, "--spec", lab.spec, "--prometheus", lab.exporter.url)
    assert result.returncode == ExitCode.UNREACHABLE
    assert verdict_line(result.stdout) == (
        f"[UNREACHABLE] cannot query Prometheus at {lab.exporter.url}: HTTP 404 Not Found "
        "(is this the Prometheus base URL?)"
    )


def test_watch_prints_a_line_per_interval(lab: Lab) -> None:
    settle(lab)
    start = time.monotonic()
    result = cli(
        "gate", "watch", GATE, "--spec", lab.spec, "--prometheus", lab.url, "--for", "3", "--interval", "1"
    )
    elapsed = time.monotonic() - start
    assert "Traceback" not in result.stderr, result.stderr
    header, *ticks = result.stdout.splitlines()
    assert header.startswith(f"watching gate {GATE} at {lab.url} for 3s, every 1s")
    line = re.compile(
        r"^\d\d:\d\d:\d\d  lyapunov-v=0\.05  unique-ratio=0\.97  green=1  lyapunov-v-rising=0/s  "
        r"violations=0 promote=[01] rollback=0  \[(GO|HOLD)\]$"
    )
    assert len(ticks) == 4 and all(line.match(t) for t in ticks), result.stdout  # at 0, 1, 2 and 3 s
    assert len({t[:8] for t in ticks}) == 4
    assert result.returncode == (ExitCode.GO if ticks[-1].endswith("[GO]") else ExitCode.HOLD)
    assert 3 <= elapsed < 8

    # Without --interval: the spec's evaluation_interval (1s).
    result = cli("gate", "watch", GATE, "--spec", lab.spec, "--prometheus", lab.url, "--for", "1")
    assert len(result.stdout.splitlines()) == 1 + 2, result.stdout


def test_watch_stops_cleanly_on_ctrl_c(lab: Lab) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "gate", "watch", GATE, "--spec", lab.spec, "--for", "60"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PROMETHEUS_URL": lab.url},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("watching gate")
        assert re.match(r"^\d\d:\d\d:\d\d ", process.stdout.readline())
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == ExitCode.INTERRUPTED
    assert stderr.strip() == "obsgen: interrupted"


def test_targets_verify_names_the_job_that_is_down(lab: Lab) -> None:
    result = poll(
        lambda: cli("targets", "verify", "--spec", lab.spec, "--prometheus", lab.url),
        lambda r: r.returncode == 0,
        "every target up",
    )
    assert re.search(r"(?m)^  lab +1 +1 +3  ok +service lab$", result.stdout), result.stdout
    assert verdict_line(result.stdout) == (
        "[OK] every target of all 1 job(s) is up and exposes its declared metrics"
    )

    lab.exporter.stop()
    try:
        result = poll(
            lambda: cli("targets", "verify", "--spec", lab.spec, "--prometheus", lab.url),
            lambda r: r.returncode != 0,
            "the lab job down",
        )
    finally:
        lab.exporter.start()
    assert result.returncode == ExitCode.CHECK_FAILED
    assert re.search(r"(?m)^  lab +0 +1 +3  DOWN +service lab$", result.stdout), result.stdout
    assert (
        verdict_line(result.stdout) == f"[DOWN] lab: 0 of 1 target(s) up, down: 127.0.0.1:{lab.exporter.port}"
    )

    # The bundled spec's jobs are not in this Prometheus at all.
    result = cli("targets", "verify", "--spec", SPEC, "--prometheus", lab.url)
    assert result.returncode == ExitCode.CHECK_FAILED
    assert verdict_line(result.stdout) == (
        "[DOWN] no targets for bridge, bridge-readyz, duri, duri-heartbeat, ure "
        "(not in this Prometheus's configuration, or not scraped yet)"
    )


SHOP_SETTINGS = """\
settings:
  evaluation_interval: 1s
  scrape_interval: 1s
  watchdog: false
  runbook_base_url: https://runbooks.example/alerts
  blackbox_exporter: 127.0.0.1:{port}
  node_exporter: 127.0.0.1:{port}
"""
SHOP_SERVICE = """\
service: shop
scrape: {{port: {port}, path: /metrics}}
metrics:
  - {{name: http_requests_total, type: counter, help: Requests served., labels: [code]}}
  - {{name: http_request_duration_seconds, type: histogram, help: Time to serve., buckets: [0.1, 1]}}
  - {{name: shop_cart_items, type: summary, help: Items per cart.}}
  - {{name: shop_open, type: gauge, help: 1 while the shop is open.}}
  - {{name: probe_success, type: gauge, help: 1 when the probe succeeded., external: true, job: shop-readyz}}
  - {{name: node_load1, type: gauge, help: Load of the host., external: true}}
  - {{name: probe_duration_seconds, type: gauge, help: Probe time., external: true, job: elsewhere}}
probes:
  - name: shop-readyz
heartbeats:
  - {{metric: shop_heartbeat_timestamp_seconds, period: 4s, scrape_interval: 1s, window: 10s, freshness: 7s}}
"""
SHOP_FAMILIES = {
    "http_requests_total": 'http_requests_total{code="200"} 3',
    "http_request_duration_seconds": "\n".join(
        [
            'http_request_duration_seconds_bucket{le="0.1"} 1',
            'http_request_duration_seconds_bucket{le="1"} 2',
            'http_request_duration_seconds_bucket{le="+Inf"} 3',
            "http_request_duration_seconds_sum 1.5",
            "http_request_duration_seconds_count 3",
        ]
    ),
    "shop_cart_items": "shop_cart_items_sum 12\nshop_cart_items_count 4",
    "shop_open": "shop_open 1",
    "probe_success": "probe_success 1",
    "shop_heartbeat_timestamp_seconds": "shop_heartbeat_timestamp_seconds 1.7e+09",
}
SHOP_TYPES = {"http_requests_total": "counter", "http_request_duration_seconds": "histogram"}
SHOP_TYPES |= {"shop_cart_items": "summary"}
HISTOGRAM_SERIES = (
    "http_request_duration_seconds_bucket",
    "http_request_duration_seconds_count",
    "http_request_duration_seconds_sum",
)


def write_shop_spec(spec: Path, port: int) -> Path:
    """A service with a metric of every type, an external one per kind, a probe and a heartbeat,
    every job scraping one server at `port` (it is also the blackbox and node exporter)."""
    spec.mkdir(parents=True)
    (spec / "obsgen.yaml").write_text(SHOP_SETTINGS.format(port=port))
    (spec / "shop.yaml").write_text(SHOP_SERVICE.format(port=port))
    return spec


def shop_exposition(*families: str) -> str:
    return "".join(
        f"# TYPE {name} {SHOP_TYPES.get(name, 'gauge')}\n{SHOP_FAMILIES[name]}\n" for name in families
    )


@dataclass
class Shop:
    url: str
    spec: Path
    exporter: TextExporter

    def verify(self) -> subprocess.CompletedProcess[str]:
        return cli("targets", "verify", "--spec", self.spec, "--prometheus", self.url)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[Shop]:
    exporter = TextExporter("/metrics", "/probe")  # the service and heartbeat jobs', the probe's
    exporter.text = shop_exposition(*SHOP_FAMILIES)
    exporter.start()
    spec = write_shop_spec(tmp_path / "spec", exporter.port)
    try:
        with prometheus_of(spec, tmp_path) as url:
            yield Shop(url, spec, exporter)
    finally:
        exporter.stop()


def test_targets_verify_names_the_metrics_a_target_no_longer_exposes(shop: Shop) -> None:
    result = poll(shop.verify, lambda r: r.returncode == ExitCode.OK, "every target up and complete")
    out, port = result.stdout, shop.exporter.port
    assert re.search(r"(?m)^  shop +1 +1 +7  ok +service shop$", out), out
    assert re.search(r"(?m)^  shop-readyz +1 +1 +1  ok +probe of shop$", out), out
    assert re.search(r"(?m)^  shop-heartbeat +1 +1 +1  ok +heartbeat shop_heartbeat_", out), out
    assert verdict_line(out) == "[OK] every target of all 3 job(s) is up and exposes its declared metrics"

    shop.exporter.text = shop_exposition(*(f for f in SHOP_FAMILIES if f != "http_request_duration_seconds"))
    # Prometheus marks the histogram's series stale at the next scrape.
    result = poll(shop.verify, lambda r: r.returncode != ExitCode.OK, "the histogram missing")
    out = result.stdout
    assert result.returncode == ExitCode.CHECK_FAILED, out
    assert re.search(r"(?m)^  shop +1 +1 +7  MISSING +service shop$", out), out
    assert re.search(r"(?m)^  shop-readyz +1 +1 +1  ok ", out), out
    assert f"  shop 127.0.0.1:{port}: missing {', '.join(HISTOGRAM_SERIES)}" in out.splitlines()
    assert verdict_line(out) == "[MISSING] shop: 1 of 1 up target(s) lack declared metrics"


# ---------------------------------------------------------------- without a Prometheus


def test_a_closed_port_is_unreachable_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = cli("gate", "decide", GATE, "--spec", GATES, "--prometheus", url)
    assert result.returncode == ExitCode.UNREACHABLE
    assert result.stdout.splitlines() == [
        f"gate {GATE} (service lab) at {url}",
        f"[UNREACHABLE] cannot query Prometheus at {url}: Connection refused",
    ]
    assert result.stderr == ""
    result = cli("gate", "watch", GATE, "--spec", GATES, "--prometheus", url, "--for", "1", "--interval", "1")
    assert result.returncode == ExitCode.UNREACHABLE
    assert result.stdout.count("[UNREACHABLE] cannot query Prometheus") == 2
    result = cli("targets", "verify", "--spec", GATES, "--prometheus", url)
    assert result.returncode == ExitCode.UNREACHABLE
    assert verdict_line(result.stdout).startswith(f"[UNREACHABLE] cannot query Prometheus at {url}")
    assert "Traceback" not in result.stdout + result.stderr


def test_a_prometheus_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = cli("gate", "decide", GATE, "--spec", GATES, "--prometheus", url, "--timeout", "0.5")
    assert result.returncode == ExitCode.UNREACHABLE
    assert (
        verdict_line(result.stdout)
        == f"[UNREACHABLE] cannot query Prometheus at {url}: no answer within 0.5s"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("gate", "decide", "nope"), "error: no gate named 'nope'; known: lab-canary, lab-slow"),
        (("gate", "watch", "nope", "--for", "1"), "error: no gate named 'nope'; known: lab-canary, lab-slow"),
        (
            ("gate", "decide", "--prometheus", "ftp://x"),
            "error: --prometheus: expected a Prometheus base URL",
        ),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = cli(*args, "--spec", GATES)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(message), result.stderr


def test_help_documents_the_exit_codes() -> None:
    decide_help = cli("gate", "decide", "--help").stdout
    for code, tag in (
        (ExitCode.GO, "GO"),
        (ExitCode.HOLD, "HOLD"),
        (ExitCode.ROLLBACK, "ROLLBACK"),
        (ExitCode.NO_DATA, "NO DATA"),
        (ExitCode.UNREACHABLE, "UNREACHABLE"),
    ):
        assert re.search(rf"(?m)^ +{code}  {tag} ", decide_help), decide_help
    main_help = cli("--help").stdout
    for code in (
        ExitCode.HOLD,
        ExitCode.ROLLBACK,
        ExitCode.NO_DATA,
        ExitCode.UNREACHABLE,
        ExitCode.INTERRUPTED,
    ):
        assert re.search(rf"(?m)^ +{code}  ", main_help), main_help
    assert re.search(
        rf"(?m)^ +{ExitCode.CHECK_FAILED}  a job has a target down", cli("targets", "verify", "-h").stdout
    )


# ---------------------------------------------------------------- pure logic


def lab_gate() -> tuple[Service, Gate]:
    spec = load(GATES)
    service = spec.service("lab")
    return service, next(g for g in service.gates if g.name == GATE)


def reading(
    violated: dict[str, float | None] | None = None,
    missing: tuple[str, ...] = (),
    violations: float | None = 0,
    promote: float | None = 0,
    rollback: float | None = 0,
) -> GateReading:
    flags = {**dict.fromkeys(CONDITIONS, 0.0), **(violated or {})}
    conditions = {name: ConditionReading(0.5, flag) for name, flag in flags.items() if name not in missing}
    return GateReading(conditions, violations, promote, rollback)


@pytest.mark.parametrize(
    ("read", "verdict"),
    [
        (reading(promote=1), Verdict.GO),
        (reading(), Verdict.HOLD),
        (reading({"green": 1}, violations=1), Verdict.HOLD),
        (reading({"green": 1, "unique-ratio": 1}, violations=2, rollback=1), Verdict.ROLLBACK),
        # Rolling back is the safe direction: it wins even when data is missing.
        (reading(missing=("green",), promote=None, rollback=1), Verdict.ROLLBACK),
        # Never GO when anything is missing.
        (reading(missing=("green",), promote=1), Verdict.NO_DATA),
        (reading({"green": None}, promote=1), Verdict.NO_DATA),
        (reading(promote=None), Verdict.NO_DATA),
        (reading(rollback=None, promote=1), Verdict.NO_DATA),
        (reading(violations=None, promote=1), Verdict.NO_DATA),
        (
            GateReading({**reading().conditions, "green": ConditionReading(float("nan"), 0)}, 0, 1, 0),
            Verdict.NO_DATA,
        ),
        (GateReading(), Verdict.NO_DATA),
    ],
)
def test_verdicts(read: GateReading, verdict: Verdict) -> None:
    assert decide(*lab_gate(), read).verdict is verdict


def test_missing_series_are_named() -> None:
    reason = decide(*lab_gate(), reading(missing=("green", "lyapunov-v"), promote=None)).reason
    assert reason == (
        "no canary:gate_condition:value for lyapunov-v, green: are lab_green, lab_lyapunov_v scraped "
        "and are the gate rules loaded?; "
        "no canary:promote:bool for gate lab-canary: are the gate rules loaded?"
    )


def test_the_most_severe_verdict_wins() -> None:
    assert [v.code for v in Verdict] == [0, 10, 11, 12, 13]
    assert most_severe([Verdict.GO, Verdict.ROLLBACK, Verdict.HOLD]) is Verdict.ROLLBACK
    assert most_severe([Verdict.ROLLBACK, Verdict.NO_DATA]) is Verdict.NO_DATA
    assert most_severe([Verdict.UNREACHABLE, Verdict.NO_DATA]) is Verdict.UNREACHABLE


def test_samples_become_readings_and_a_duplicate_never_looks_better() -> None:
    def sample(name: str, value: float, **labels: str) -> Sample:
        return Sample({"__name__": name, "gate": "g", **labels}, value)

    found = readings(
        [
            sample("canary:gate_condition:value", 0.2, condition="a"),
            sample("canary:gate_condition_violated:bool", 0, condition="a"),
            sample("canary:gate_condition_violated:bool", 1, condition="a"),
            sample("canary:promote:bool", 1),
            sample("canary:promote:bool", 0),
            sample("canary:rollback:bool", 0),
        ]
    )
    assert found == {"g": GateReading({"a": ConditionReading(0.2, 1)}, None, 0, 0)}
    service, gate = lab_gate()
    assert gate_query([(service, gate)]) == (
        '{__name__=~"canary:gate_condition:value|canary:gate_condition_violated:bool|'
        'canary:gate_violations:count|canary:promote:bool|canary:rollback:bool", gate="lab-canary", '
        'metric_realm="prod"}'
    )


def test_requirements_read_like_the_spec() -> None:
    falling = Gate.model_validate(
        {
            "name": "gg",
            "conditions": [
                {"name": "ff", "series": "x", "trend": "falling", "window": "5m", "epsilon": 0.01},
                {"name": "zz", "series": "x", "trend": "falling", "window": "5m", "epsilon": 0},
                {"name": "tt", "series": "x", "op": ">", "value": 2.5},
            ],
            "rollback": {"violations": 1},
        }
    )
    assert [requirement(c) for c in falling.conditions] == [
        "x slope >= -0.01/s",
        "x slope >= 0/s",
        "x > 2.5",
    ]


def test_repeat_keeps_a_fixed_schedule() -> None:
    now = [0.0]
    calls: list[float] = []

    def tick() -> int:
        calls.append(now[0])
        now[0] += 0.25  # each call takes a quarter of a second
        return len(calls)

    def sleep(seconds: float) -> None:
        assert seconds >= 0
        now[0] += seconds

    assert repeat(tick, 3, 1, sleep, lambda: now[0]) == 4
    assert calls == [0, 1, 2, 3]

    now[0], calls[:] = 0.0, []

    def slow() -> int:
        calls.append(now[0])
        now[0] += 1.5  # overruns a slot, which is skipped
        return len(calls)

    repeat(slow, 5, 1, sleep, lambda: now[0])
    assert calls == [0, 2, 4]


def test_expected_jobs_of_the_bundled_spec() -> None:
    jobs = {job.name: job.origin for job in expected_jobs(load(SPEC))}
    assert jobs["bridge"] == "service bridge"
    assert jobs["bridge-readyz"] == "probe of bridge"
    assert jobs["duri-heartbeat"] == "heartbeat duri_heartbeat_timestamp_seconds"
    assert {"ure", "duri"} <= set(jobs)
    states_ = job_states(
        expected_jobs(load(SPEC)),
        [
            Sample({"__name__": "up", "job": "bridge", "instance": "a"}, 1),
            Sample({"__name__": "up", "job": "bridge", "instance": "b"}, 0),
        ],
    )
    bridge = next(s for s in states_ if s.job.name == "bridge")
    assert (bridge.up, bridge.total, bridge.down, bridge.state) == (1, 2, ("b",), "DOWN")
    assert next(s for s in states_ if s.job.name == "ure").state == "NO TARGETS"


def test_expected_metrics_per_job(tmp_path: Path) -> None:
    jobs = {job.name: job for job in expected_jobs(load(write_shop_spec(tmp_path / "spec", 9999)))}
    assert list(jobs) == ["shop", "shop-readyz", "shop-heartbeat"]
    # A histogram as its three series, a summary as _count and _sum (quantiles optional),
    # counters and gauges by name; external metrics not on the service's own job.
    assert jobs["shop"].metrics == (
        *HISTOGRAM_SERIES,
        "http_requests_total",
        "shop_cart_items_count",
        "shop_cart_items_sum",
        "shop_open",
    )
    # An external metric on the job it names; one naming a job the spec lacks is expected nowhere.
    assert jobs["shop-readyz"].metrics == ("probe_success",)
    assert jobs["shop-heartbeat"].metrics == ("shop_heartbeat_timestamp_seconds",)

    bundled = {job.name: job.metrics for job in expected_jobs(load(SPEC))}
    assert {"bridge_tick_jitter_seconds_bucket", "bridge_phase_diff"} <= set(bundled["bridge"])
    assert "probe_success" not in bundled["bridge"] and bundled["bridge-readyz"] == ()
    assert bundled["duri-heartbeat"] == ("duri_heartbeat_timestamp_seconds",)


def test_the_targets_query_reads_up_and_every_declared_name_at_once() -> None:
    jobs = [
        Job("a", "service a", ("x_bucket", "y")),
        Job("b-probe", "probe of a"),
        Job("c", "service c", ("y",)),
    ]
    query = targets_query(jobs)
    assert query == 'max by (job, instance, __name__) ({__name__=~"up|x_bucket|y", job=~"a|b-probe|c"})'
    assert promql.parse(query)


def up(job: str, instance: str, value: float = 1) -> Sample:
    return Sample({"__name__": "up", "job": job, "instance": instance}, value)


def exposes(job: str, instance: str, *names: str) -> list[Sample]:
    return [Sample({"__name__": name, "job": job, "instance": instance}, 1) for name in names]


WEB = Job("web", "service web", ("a_total", "b_bucket", "b_count", "b_sum"))
PROBE = Job("web-readyz", "probe of web", ("probe_success",))


def test_an_up_target_lacking_declared_metrics_is_missing() -> None:
    samples = [
        up("web", "h1:80"),
        *exposes("web", "h1:80", "a_total", "b_bucket", "b_count", "b_sum"),
        up("web", "h2:80"),
        *exposes("web", "h2:80", "a_total", "b_count"),
        *exposes("web", "h3:80", "b_bucket"),  # no `up` beside it: not a target of this run
        up("web-readyz", "http://h1/readyz"),
        *exposes("web-readyz", "http://h1/readyz", "probe_success"),
        *exposes("other", "h2:80", "b_bucket", "b_sum"),  # another job's series count for nothing
    ]
    web, probe = job_states([WEB, PROBE], samples)
    assert (web.up, web.total, web.down, web.state) == (2, 2, (), "MISSING")
    assert web.missing == (("h2:80", ("b_bucket", "b_sum")),)
    assert not web.healthy and probe.healthy and probe.state == "ok"
    assert render("http://p", [web, probe]) == [
        "scrape targets of 2 job(s) at http://p",
        "  job         up  total  metrics  state    declared by",
        "  web          2      2        4  MISSING  service web",
        "  web-readyz   1      1        1  ok       probe of web",
        "  web h2:80: missing b_bucket, b_sum",
        "[MISSING] web: 1 of 2 up target(s) lack declared metrics",
    ]


def test_down_outranks_missing_and_ok_needs_every_target_complete() -> None:
    samples = [up("web", "h1:80"), up("web", "h2:80", 0), up("web-readyz", "http://h1/readyz")]
    web, probe = job_states([WEB, PROBE], samples)
    # A down target's series are stale: only the up one is compared.
    assert (web.state, web.down, [i for i, _ in web.missing]) == ("DOWN", ("h2:80",), ["h1:80"])
    assert render("http://p", [web, probe])[-1] == (
        "[DOWN] web: 1 of 2 target(s) up, down: h2:80; web: 1 of 1 up target(s) lack declared metrics; "
        "web-readyz: 1 of 1 up target(s) lack declared metrics"
    )
    complete = [up("web", "h1:80"), *exposes("web", "h1:80", *WEB.metrics), up("web-readyz", "p")]
    [web] = job_states([WEB], complete)
    [probe] = job_states([Job("web-readyz", "probe of web")], complete)
    assert render("http://p", [web, probe])[-1] == (
        "[OK] every target of all 2 job(s) is up and exposes its declared metrics"
    )
