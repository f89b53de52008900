"""SLO arithmetic shared by the rules, the generated tests and `obsgen explain`.

Exact fractions where the spec gives decimals, so `1 − 99.0 %` is 0.01, not 0.010000000000000009.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from generator.conventions import CONTRACT_WINDOWS, EVENTS_BASE_WINDOW
from generator.durations import format_duration
from generator.model import SLO, Service

HOUR, DAY = 3600, 86400

# The SRE workbook's multiwindow, multi-burn-rate scheme: (severity, long, short, budget
# fraction spent when the long window fires). For a 30-day period these give 14.4, 6, 3 and 1.
WORKBOOK_WINDOWS: tuple[tuple[str, int, int, Fraction], ...] = (
    ("page", HOUR, 5 * 60, Fraction(2, 100)),
    ("page", 6 * HOUR, 30 * 60, Fraction(5, 100)),
    ("ticket", DAY, 2 * HOUR, Fraction(10, 100)),
    ("ticket", 3 * DAY, 6 * HOUR, Fraction(10, 100)),
)


@dataclass(frozen=True)
class BurnWindow:
    severity: str
    long: int
    short: int
    factor: Fraction

    def threshold(self, budget: Fraction) -> Fraction:
        """Error ratio above which both windows must be for the alert to fire."""
        return self.factor * budget

    def label(self) -> str:
        return f"{format_duration(self.long)}/{format_duration(self.short)}"


def objective_ratio(slo: SLO) -> Fraction:
    return Fraction(str(slo.objective)) / 100


def error_budget(slo: SLO) -> Fraction:
    return 1 - objective_ratio(slo)


def burn_windows(slo: SLO) -> list[BurnWindow]:
    """The SLO's window pairs, the workbook's scaled to its period unless it gives its own."""
    custom = slo.alerting.windows
    return list(_burn_windows(slo.period, None if custom is None else tuple(custom)))


@lru_cache(maxsize=1024)
def _burn_windows(period: int, custom: tuple[Any, ...] | None) -> tuple[BurnWindow, ...]:
    if custom is not None:
        return tuple(BurnWindow(w.severity, w.long, w.short, Fraction(str(w.factor))) for w in custom)
    return tuple(
        BurnWindow(severity, long, short, fraction * period / long)
        for severity, long, short, fraction in WORKBOOK_WINDOWS
    )


def enabled_windows(slo: SLO) -> list[BurnWindow]:
    tiers = {"page": slo.alerting.page, "ticket": slo.alerting.ticket}
    return [w for w in burn_windows(slo) if not tiers[w.severity].disabled]


def sli_windows(slo: SLO) -> list[int]:
    """Every window the SLI is recorded over, shortest first; the period is last."""
    custom = slo.alerting.windows
    return list(_sli_windows(slo.period, None if custom is None else tuple(custom)))


@lru_cache(maxsize=1024)
def _sli_windows(period: int, custom: tuple[Any, ...] | None) -> tuple[int, ...]:
    windows = set(CONTRACT_WINDOWS)
    for w in _burn_windows(period, custom):
        windows.update((w.long, w.short))
    windows.discard(period)
    return (*sorted(windows), period)


def camel(*parts: str) -> str:
    return "".join(word.capitalize() for part in parts for word in part.replace("_", "-").split("-"))


def burn_alert_name(service: Service, slo: SLO) -> str:
    return slo.alerting.name or camel(service.service, slo.name, "error-budget-burn")


def fire_time_base(slo: SLO) -> int | None:
    """The window `time_to_fire` ramps over: events SLIs read their counters once over the
    events base window; time-slice and raw-query SLIs read every window themselves (None)."""
    return None if slo.sli.threshold or slo.sli.query else EVENTS_BASE_WINDOW


def time_to_fire(
    window: BurnWindow, budget: Fraction, bad_fraction: Fraction, base: int | None = None
) -> Fraction:
    """Seconds after a constant bad fraction starts (clean history) until this pair fires: when
    the slower of its two windows reaches factor × budget.

    `base=None`: every window reads its own input (time slices, or raw counters over the window),
    so a window W reaches the threshold after W × factor × budget ÷ bad_fraction. `base=B`: events
    SLIs read the raw counters once over B and every other window averages those B ratios, so the
    error ratio ramps up over B first (obsgen's event SLIs, B = 5m).
    """
    threshold = window.threshold(budget)
    if base is None:
        reach = threshold / bad_fraction
        return max(window.long * reach, window.short * reach)
    return max(_ramped_reach(w, base, threshold / bad_fraction) for w in (window.long, window.short))


@lru_cache(maxsize=4096)
def _ramped_reach(window: int, base: int, share: Fraction) -> Fraction:
    """When the mean over `window` of a ratio ramping linearly from 0 to 1 over `base` seconds
    reaches `share` (the base window itself reads the ramp directly). A bisection: cached, as
    large specs repeat a few shapes."""
    if window == base:
        return share * base

    def area(t: float) -> float:  # ∫₀ᵗ min(s / base, 1) ds
        return t * t / (2 * base) if t <= base else t - base / 2

    low, high = 0.0, float(window + base)
    for _ in range(60):
        middle = (low + high) / 2
        if area(middle) - area(max(0.0, middle - window)) >= float(share) * window:
            high = middle
        else:
            low = middle
    return Fraction(round(high, 3)).limit_denominator(1000)
