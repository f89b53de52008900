"""Design a slow burn: bad enough to fire the ticket, never enough to page.

Events SLIs take a constant error fraction. Time-slice SLIs cannot be "a little bad" in one
slice, so the raw metric gets periodic bursts; the driver predicts which evaluations turn
bad under Prometheus 3's left-open windows and Prometheus 2's closed ones, and a design is
accepted only if both keep every page pair quiet and fire some ticket pair.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from generator.promtool_tests.drivers import SliDriver
from generator.slo_math import BurnWindow

HOUR = 3600
PERIOD_HOURS = (1, 2, 3, 4, 6, 8, 12, 24)
PAGE_MARGIN, TICKET_MARGIN = 0.9, 1.1

_SLICE_ERRORS: dict[tuple[Any, ...], list[float | None]] = {}
_DESIGNS: dict[tuple[Any, ...], SlowBurn | None] = {}


def cached_slice_errors(
    driver: SliDriver, badness: tuple[float | None, ...], closed: bool
) -> list[float | None]:
    """Drivers with equal keys predict equally; large specs repeat the same shapes."""
    key = (driver.key(), badness, closed)
    if key not in _SLICE_ERRORS:
        _SLICE_ERRORS[key] = driver.slice_errors(list(badness), closed)
    return _SLICE_ERRORS[key]


@dataclass(frozen=True)
class SlowBurn:
    period: int
    burst: int
    phase: int
    """An evaluation of the period (0 = first bad raw sample) at which the ticket fires."""
    bad: dict[bool, Fraction]
    """Steady bad fraction under Prometheus 3 (False) and 2 (True) windows."""


class Periodic:
    """Per-evaluation errors repeating with a period; window sums in O(1) after O(period)."""

    def __init__(self, pattern: list[float]) -> None:
        self.pattern = pattern
        self.total = sum(pattern)
        self.prefix = [0.0]
        for value in pattern + pattern:
            self.prefix.append(self.prefix[-1] + value)

    def sum_ending_at(self, width: int, end: int) -> float:
        full, rest = divmod(width, len(self.pattern))
        start = (end - rest + 1) % len(self.pattern)
        return full * self.total + self.prefix[start + rest] - self.prefix[start]

    def extremes(self, width: int) -> tuple[float, float]:
        sums = [self.sum_ending_at(width, end) for end in range(len(self.pattern))]
        return min(sums), max(sums)


def periodic_errors(driver: SliDriver, period: int, burst: int, closed: bool) -> Periodic:
    """One period of the burst pattern's per-evaluation errors (bursts never overlap)."""
    pad = getattr(driver, "samples_in_window", 1) + 2
    errors = cached_slice_errors(driver, (0.0,) * pad + (1.0,) * burst + (0.0,) * pad, closed)
    pattern = [0.0] * period
    for i, error in enumerate(errors):
        pattern[(i - pad) % period] += error or 0.0
    return Periodic(pattern)


def page_quiet(patterns: dict[bool, Periodic], page: list[BurnWindow], budget: Fraction, step: int) -> bool:
    """Every page pair has a window that never reaches 90 % of its threshold."""
    for closed, pattern in patterns.items():
        extra = int(closed)
        for w in page:
            limit = float(w.threshold(budget)) * PAGE_MARGIN
            widths = (w.long // step, w.short // step)
            if all(pattern.extremes(n + extra)[1] / n >= limit for n in widths):
                return False
    return True


def ticket_phase(
    patterns: dict[bool, Periodic], ticket: list[BurnWindow], budget: Fraction, step: int
) -> int | None:
    """A phase at which some ticket pair's long window is always above 110 % of its
    threshold and its short window is above it too, under both window semantics."""
    period = len(patterns[False].pattern)
    for w in ticket:
        need = float(w.threshold(budget)) * TICKET_MARGIN
        long_n, short_n = w.long // step, w.short // step
        if any(p.extremes(long_n)[0] / (long_n + int(c)) <= need for c, p in patterns.items()):
            continue
        phases = [
            o
            for o in range(period)
            if all(p.sum_ending_at(short_n, o) / (short_n + int(c)) > need for c, p in patterns.items())
        ]
        if phases:
            return phases[len(phases) // 2]
    return None


def design_slow_burn(
    driver: SliDriver, page: list[BurnWindow], ticket: list[BurnWindow], budget: Fraction
) -> SlowBurn | None:
    """The bad fraction nearest the geometric middle of the ticket and page thresholds."""
    key = (driver.key(), tuple(page), tuple(ticket), budget, driver.interval)
    if key not in _DESIGNS:
        _DESIGNS[key] = _design(driver, page, ticket, budget)
    return _DESIGNS[key]


def _design(
    driver: SliDriver, page: list[BurnWindow], ticket: list[BurnWindow], budget: Fraction
) -> SlowBurn | None:
    step = driver.interval
    page_x = min((w.threshold(budget) for w in page), default=Fraction(1))
    ticket_x = min(w.threshold(budget) for w in ticket)
    middle = Fraction(math.sqrt(float(ticket_x * page_x)))
    if driver.key()[0] == "ratio":
        bad = Fraction(round(middle * 100_000), 100_000)
        steady = {False: Periodic([float(bad)]), True: Periodic([float(bad)])}
        if not bad or not page_quiet(steady, page, budget, step):
            return None
        phase = ticket_phase(steady, ticket, budget, step)
        return None if phase is None else SlowBurn(1, 1, 0, {False: bad, True: bad})
    pad = getattr(driver, "samples_in_window", 1) + 2
    for hours in PERIOD_HOURS:
        period = hours * HOUR // step
        best: tuple[Fraction, SlowBurn] | None = None
        for burst in range(1, min(period - 2 * pad, 240) + 1):
            patterns = {c: periodic_errors(driver, period, burst, c) for c in (False, True)}
            if not page_quiet(patterns, page, budget, step):
                break  # longer bursts only spoil more slices
            phase = ticket_phase(patterns, ticket, budget, step)
            if phase is None:
                continue
            bad = {c: Fraction(round(p.total), period) for c, p in patterns.items()}
            score = abs(middle - bad[False])
            if best is None or score < best[0]:
                best = (score, SlowBurn(period, burst, phase, bad))
        if best is not None:
            return best[1]
    return None
