"""Measuring the runtime: exporter scrape latency and control-loop tick jitter under scrape load
(benchmarks/runtime_bench.py and `obsgen bench bridge` both measure with these), and the bridge
bench's log, written for people and read back by `obsgen autotune bridge`.

The log is `key: value` lines after `#` comment lines; BenchLog.read parses it back.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from generator.errors import Location, SpecError, SpecIssue
from generator.model import Spec
from runtime.bridge_config import LoopSettings, tick_ms, tick_problem
from runtime.loop import ControlLoop
from runtime.ports import free_port

T = TypeVar("T")
SCRAPERS = 8
WARM_UP = 1.0
"""seconds the runtime runs before measuring (its first ticks and scrapes are not typical)"""
JITTER_BUDGET_MS = 25.0
SCRAPE_BUDGET_MS = 150.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _scrape_once(url: str) -> float | None:
    """Seconds one cold scrape of `url` took (a new connection each time), None when it failed."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
    except OSError:
        return None
    return time.perf_counter() - started


def _concurrently(scrapers: int, scrape: Callable[[list[float]], None]) -> list[float]:
    """Every latency `scrapers` threads running `scrape` gathered."""
    latencies: list[float] = []
    lock = threading.Lock()

    def run() -> None:
        mine: list[float] = []
        scrape(mine)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run) for _ in range(scrapers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def scrape_latencies(url: str, scrapers: int, per_scraper: int) -> list[float]:
    """Latencies of `scrapers` concurrent scrapers scraping `url` `per_scraper` times each."""

    def scrape(mine: list[float]) -> None:
        for _ in range(per_scraper):
            took = _scrape_once(url)
            if took is not None:
                mine.append(took)

    return _concurrently(scrapers, scrape)


def scrape_for(url: str, scrapers: int, seconds: float) -> list[float]:
    """Latencies of `scrapers` concurrent scrapers scraping `url` for `seconds`."""
    deadline = time.monotonic() + seconds

    def scrape(mine: list[float]) -> None:
        while time.monotonic() < deadline:
            took = _scrape_once(url)
            if took is not None:
                mine.append(took)

    return _concurrently(scrapers, scrape)


def measured_ticks(loop: ControlLoop, during: Callable[[], T]) -> tuple[T, list[float]]:
    """What `during` returns, and the lateness of every tick the loop made meanwhile (as many as
    its history keeps: 8192 ticks)."""
    first = loop.ticks
    result = during()
    return result, loop.lateness_since(first)


def ticks_while(loop: ControlLoop, running: threading.Thread, every: float = 0.25) -> list[float]:
    """The lateness of every tick the loop made while `running` ran, read every `every` seconds,
    so a long bench keeps them all (the loop's history is bounded)."""
    seen, lateness = loop.ticks, []
    while running.is_alive():
        running.join(every)
        fresh = loop.ticks_since(seen)
        if fresh:
            seen = fresh[-1][0]
            lateness += [late for _, late in fresh]
    return lateness


@dataclass(frozen=True)
class BenchLog:
    """What `obsgen bench bridge` measured, with the loop settings it ran with."""

    settings: LoopSettings
    seconds: float
    scrapers: int
    ticks: int
    jitter_p50_ms: float
    jitter_p95_ms: float
    jitter_p99_ms: float
    jitter_max_ms: float
    largest_step: float
    scrapes: int
    scrape_p95_ms: float

    NUMBERS = (
        "seconds",
        "scrapers",
        "ticks",
        "jitter_p50_ms",
        "jitter_p95_ms",
        "jitter_p99_ms",
        "jitter_max_ms",
        "largest_step",
        "scrapes",
        "scrape_p95_ms",
        "gain",
        "guard",
    )

    def text(self, source: str) -> str:
        """The log: a header for people, then one `key: value` line per figure."""
        s = self.settings
        lines = [
            f"# obsgen bench bridge, {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}: the bridge loop's tick jitter",
            f"# while {self.scrapers} scrapers scrape its exporter; config: {source}",
            f"# seed budgets: tick jitter p95 <= {JITTER_BUDGET_MS:g} ms, "
            f"scrape p95 <= {SCRAPE_BUDGET_MS:g} ms",
            f"gain: {s.gain:g}",
            f"tick: {s.tick}",
            f"guard: {s.guard:g}",
            f"seconds: {self.seconds:g}",
            f"scrapers: {self.scrapers}",
            f"ticks: {self.ticks}",
            f"jitter_p50_ms: {self.jitter_p50_ms:.3f}",
            f"jitter_p95_ms: {self.jitter_p95_ms:.3f}",
            f"jitter_p99_ms: {self.jitter_p99_ms:.3f}",
            f"jitter_max_ms: {self.jitter_max_ms:.3f}",
            f"largest_step: {self.largest_step:.6g}",
            f"scrapes: {self.scrapes}",
            f"scrape_p95_ms: {self.scrape_p95_ms:.3f}",
            f"jitter_budget: {'met' if self.jitter_p95_ms <= JITTER_BUDGET_MS else 'MISSED'}",
            f"scrape_budget: {'met' if self.scrape_p95_ms <= SCRAPE_BUDGET_MS else 'MISSED'}",
        ]
        return "\n".join(lines) + "\n"

    @classmethod
    def read(cls, path: Path) -> BenchLog:
        """The bench log at `path`; a SpecError naming the file (and line) when it is missing or
        cannot be parsed."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            issue = SpecIssue(Location(str(path)), f"cannot read the bench log: {reason}")
            raise SpecError([issue]) from None
        values, lines, issues = _key_values(text, str(path))
        for key in (*cls.NUMBERS, "tick"):
            if key not in values:
                issues.append(SpecIssue(Location(str(path)), f"{key}: missing; run `obsgen bench bridge`"))
                continue
            problem = tick_problem(values[key]) if key == "tick" else _float_problem(values[key])
            if problem:
                issues.append(SpecIssue(Location(str(path), lines[key], key), problem))
        if not issues and float(values["ticks"]) < 1:
            issues.append(SpecIssue(Location(str(path), lines["ticks"], "ticks"), "no tick was measured"))
        if issues:
            raise SpecError(issues)
        number = {key: float(values[key]) for key in cls.NUMBERS}
        settings = LoopSettings(number.pop("gain"), tick_ms(values["tick"]), number.pop("guard"))
        counts = {key: int(number.pop(key)) for key in ("scrapers", "ticks", "scrapes")}
        return cls(settings=settings, **counts, **number)


def _key_values(text: str, name: str) -> tuple[dict[str, str], dict[str, int], list[SpecIssue]]:
    """The `key: value` lines of a log, the line of each key, and the lines that are neither."""
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    issues: list[SpecIssue] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            issues.append(SpecIssue(Location(name, number), f"expected `key: value`, got {line[:40]!r}"))
            continue
        values[key.strip()], lines[key.strip()] = value.strip(), number
    return values, lines, issues


def _float_problem(text: str) -> str | None:
    try:
        value = float(text)
    except ValueError:
        return f"expected a number, got {text!r}"
    return None if math.isfinite(value) and value >= 0 else f"expected a number ≥ 0, got {text!r}"


def bench_bridge(spec: Spec, settings: LoopSettings, seconds: float, scrapers: int = SCRAPERS) -> BenchLog:
    """Run the spec's runtime in-process on free loopback ports with the bridge loop at
    `settings`, scrape the bridge exporter with `scrapers` scrapers for `seconds`, and measure
    every tick meanwhile."""
    from runtime.app import Options, Runtime

    bridge = spec.service("bridge")
    with tempfile.TemporaryDirectory(prefix="obsgen-bench-") as tmp:
        options = Options(
            ports={s.service: free_port() for s in spec.scraped_services},
            control_port=free_port(),
            textfile_dir=Path(tmp) / "textfile",
            state_db=Path(tmp) / "runtime.sqlite",
            loops={"bridge": settings},
        )
        runtime = Runtime(spec, options)
        runtime.start()
        try:
            time.sleep(WARM_UP)
            (loop,) = runtime.loops
            url = f"http://127.0.0.1:{options.ports['bridge']}{bridge.scrape.path}"
            scrapes: list[float] = []
            worker = threading.Thread(target=lambda: scrapes.extend(scrape_for(url, scrapers, seconds)))
            worker.start()
            jitter = ticks_while(loop, worker)
            largest_step = loop.largest_step
        finally:
            runtime.stop()
    return _summary(settings, seconds, scrapers, jitter, scrapes, largest_step)


def _summary(
    settings: LoopSettings,
    seconds: float,
    scrapers: int,
    jitter: list[float],
    scrapes: list[float],
    largest_step: float,
) -> BenchLog:
    ms = 1000.0
    ticks, jitter = len(jitter), jitter or [0.0]
    return BenchLog(
        settings=settings,
        seconds=seconds,
        scrapers=scrapers,
        ticks=ticks,
        jitter_p50_ms=percentile(jitter, 0.50) * ms,
        jitter_p95_ms=percentile(jitter, 0.95) * ms,
        jitter_p99_ms=percentile(jitter, 0.99) * ms,
        jitter_max_ms=max(jitter) * ms,
        largest_step=largest_step,
        scrapes=len(scrapes),
        scrape_p95_ms=percentile(scrapes, 0.95) * ms if scrapes else math.nan,
    )
