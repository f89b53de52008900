"""What an SLO's promtool tests expect, and when its burn alerts fire.

The labels under test, the burn alerts and samples promtool must see, and the test group
around a driver's input series.

Expected alert times are computed, not written down: under a constant bad fraction e after a
clean history, a window pair (long W, factor BR) fires at onset + W × BR × budget / e, where
the onset is when the SLO's per-evaluation series turns bad. A derived signal's own window,
or the events' rate window, delays and ramps that series; the drivers predict it sample by
sample and `BadTime` turns it into the time each window crosses its threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import count, pairwise, takewhile
from typing import Any

from generator.alert_contract import burn_alerts
from generator.alert_templates import expand
from generator.conventions import PERIOD_TILE, identity_labels, slo_labels
from generator.durations import format_duration, time_scale
from generator.model import SLO, Service, Spec
from generator.promtool_tests.drivers import Badness, SliDriver, driver_for
from generator.promtool_tests.series import ScenarioError, duration, expected_alert, series
from generator.promtool_tests.slow_burn import cached_slice_errors
from generator.slo_math import BurnWindow, error_budget

Expect = Callable[[list[str]], list[dict[str, Any]]]


def tested_identity(service: Service, slo: SLO, group: dict[str, str] | None = None) -> dict[str, str]:
    """The labels of the SLO series under test: the SLO's identity, and the group's labels of a
    grouped SLO (the first group, where the scenarios run, unless another is given)."""
    if group is None:
        group = driver_for(service, slo).group if slo.by else {}
    return {**slo_labels(service, slo), **group}


def burn_expectations(spec: Spec, service: Service, slo: SLO, group: dict[str, str] | None = None) -> Expect:
    """The burn-rate alerts promtool must see for a set of firing severities."""
    identity = tested_identity(service, slo, group)
    external = spec.settings.external_labels
    expanded = {
        severity: expected_alert(
            {**identity, **alert.labels},
            {k: expand(v, identity, None, external) for k, v in alert.annotations.items()},
        )
        for severity, alert in burn_alerts(spec, service, slo).items()
    }
    return lambda severities: [expanded[s] for s in sorted(severities)]


def scenario_group(name: str, driver: SliDriver, badness: Badness, **cases: Any) -> dict[str, Any]:
    group: dict[str, Any] = {
        "name": name,
        "interval": duration(driver.interval),
        "input_series": driver.inputs(badness),
    }
    group.update({k: v for k, v in cases.items() if v})
    return group


def expr_case(
    service: Service,
    slo: SLO,
    metric: str,
    identity: dict[str, str],
    window: int | None,
    at: int,
    value: float,
) -> dict[str, Any]:
    names = identity_labels(service)
    labels = dict(identity)
    if window is not None:
        labels[names.window] = format_duration(window)
    selector = series(metric, {names.id: identity[names.id], **{k: identity[k] for k in slo.by}})
    return {
        "expr": selector,
        "eval_time": duration(at),
        "exp_samples": [{"labels": series(metric, labels), "value": value}],
    }


# --- when the burn alerts fire -----------------------------------------------------------------


@dataclass(frozen=True)
class Timeline:
    interval: int

    def before(self, t: Fraction) -> int:
        """The last evaluation strictly before t."""
        return (math.ceil(t / self.interval) - 1) * self.interval

    def by(self, t: Fraction) -> int:
        """The last evaluation at or before t."""
        return math.floor(t / self.interval) * self.interval


HISTORY_MARGIN = 900
"""How much longer than every page window and short window a clean history is. Two evaluations
fill them (one more sample under Prometheus 2's closed windows; an events SLI records its first
rate an evaluation late); a quarter of an hour leaves room."""


def history_samples(slo: SLO, windows: list[BurnWindow]) -> int:
    """A clean history a quarter of an hour longer than every page window and every short
    window, and than the period's first hour tile (which a healthy history's budget is read from).

    Those windows are full when trouble starts, as the theory assumes. Longer ticket windows
    (1d, 3d) may still be partly empty; `BadTime.crossing` accounts for that exactly, and it
    keeps the generated tests to hours of simulated evaluations instead of days.
    """
    full = [w.long for w in windows if w.severity == "page"] + [w.short for w in windows]
    return _filling(slo, max([*full, PERIOD_TILE]))


def _filling(slo: SLO, window: int) -> int:
    """The clean history (in samples) that fills `window` with the margin to spare."""
    step = slo.time_slice
    return -(-(window + max(HISTORY_MARGIN, 2 * step)) // step)


@dataclass(frozen=True)
class BadTime:
    """Bad time accumulated from per-evaluation errors after a clean history that began at 0.

    `errors[j]` is the error recorded at `base + j × step`, standing for the step before it;
    past the end, the last value repeats. The theory's "onset + W × factor × budget / e" is
    this with a constant e; a derived signal's delay or a rate window's ramp shows up as the
    first errors being 0 or partial.
    """

    errors: tuple[float, ...]
    base: Fraction
    step: int
    closed: bool = False
    """Prometheus 2's closed windows: one sample more in every window."""

    @classmethod
    def after_step_in(cls, driver: SliDriver, history: int, closed: bool = False) -> BadTime:
        """Healthy raw samples, then fully bad ones from sample `history` on."""
        pad = getattr(driver, "samples_in_window", 1) + 2
        errors = cached_slice_errors(driver, (0.0,) * pad + (1.0,) * (pad + 64), closed)
        if any(errors[:pad]):
            raise ScenarioError("the healthy level already produces bad evaluations")
        errors_after = tuple(e or 0.0 for e in errors[pad:])
        return cls(errors_after, Fraction(history * driver.interval), driver.interval, closed)

    def crossing(self, window: int, threshold: Fraction) -> Fraction | None:
        return _crossing(self, window, threshold)

    def _crossing(self, window: int, threshold: Fraction) -> Fraction | None:
        """When the error ratio over `window` first exceeds `threshold`.

        A window longer than the data so far averages only the data (t/step + 1 evaluations),
        as Prometheus does; every bad second is assumed to be still inside the window.
        """
        step, bad = self.step, Fraction(0)
        if threshold >= max(self.errors):
            return None
        if len(self.errors) == 1:
            return self._steady_crossing(window, threshold)
        for j in range(window // step + len(self.errors) + 2):
            error = Fraction(self.errors[min(j, len(self.errors) - 1)])
            low = self.base + (j - 1) * step
            full = window + (step if self.closed else 0)
            cuts = [low, low + step]
            if low < full - step < low + step:
                cuts.insert(1, Fraction(full - step))
            for a, b in pairwise(cuts):
                above_a = bad + error * (a - low) - threshold * min(full, a + step)
                above_b = bad + error * (b - low) - threshold * min(full, b + step)
                if above_b > 0:
                    return a if above_a >= 0 else a + (b - a) * -above_a / (above_b - above_a)
            bad += error * step
        return None

    def _steady_crossing(self, window: int, threshold: Fraction) -> Fraction:
        """The same for a constant error e from the first evaluation on, in closed form:
        base − step + W × threshold / e while the window is full, earlier while it is not."""
        error, start = Fraction(self.errors[0]), self.base - self.step
        full = start + window * threshold / error
        if full + self.step >= window:
            return full
        return (error * start + threshold * self.step) / (error - threshold)


@lru_cache(maxsize=65536)
def _crossing(bad: BadTime, window: int, threshold: Fraction) -> Fraction | None:
    """Large specs repeat the same shapes; each crossing is worked out once."""
    return bad._crossing(window, threshold)


def first_fire(windows: list[BurnWindow], severity: str, budget: Fraction, bad: BadTime) -> Fraction | None:
    """When the first window pair of `severity` fires: the slower of its two windows."""
    times = []
    for w in windows:
        if w.severity != severity:
            continue
        both = [bad.crossing(t, w.threshold(budget)) for t in (w.long, w.short)]
        if None not in both:
            times.append(max(t for t in both if t is not None))
    return min(times) if times else None


@dataclass(frozen=True)
class FireTime:
    theory: Fraction
    """Prometheus 3 (left-open windows): the theory; no alert before it."""
    latest: int
    """The evaluation by which it must fire: two intervals after the theory, or the first
    evaluation after Prometheus 2's crossing if its closed windows (one sample more) are later."""


def expected_severities(fire_times: dict[str, FireTime], at: int) -> list[str] | None:
    """Severities certainly firing at `at`; None while one of them may or may not be."""
    firing = []
    for severity, fire in fire_times.items():
        if at >= fire.latest:
            firing.append(severity)
        elif at >= fire.theory:
            return None
    return firing


def violation_plan(
    driver: SliDriver, slo: SLO, windows: list[BurnWindow], history: int
) -> tuple[dict[str, FireTime], list[int]]:
    """Fire times per severity, and the times to check around each."""
    budget = error_budget(slo)
    step = slo.time_slice
    timeline = Timeline(step)
    open_, closed = (BadTime.after_step_in(driver, history, c) for c in (False, True))
    fire_times: dict[str, FireTime] = {}
    for severity in ("page", "ticket"):
        theory, late = (first_fire(windows, severity, budget, bad) for bad in (open_, closed))
        if theory is not None:
            latest = timeline.by(theory + 2 * step)
            if late is not None:
                latest = max(latest, timeline.by(late) + step)
            fire_times[severity] = FireTime(theory, latest)
    times = []
    for fire in fire_times.values():
        times += [timeline.before(fire.theory), fire.latest]
    return fire_times, times


Violation = tuple[int, dict[str, FireTime], list[int]]
_VIOLATIONS: dict[tuple[Any, ...], Violation] = {}


def unambiguous_violation(driver: SliDriver, slo: SLO, windows: list[BurnWindow]) -> Violation:
    """The healthy history, fire times and check times of a full violation in which the first
    severity to fire can be checked on both sides of its fire time.

    Designed once per shape: it reads only the driver's key, the time slice, the windows and
    the budget, and large specs repeat a few shapes (a refusal is not kept: it raises again)."""
    shape = (driver.key(), slo.time_slice, tuple(windows), error_budget(slo), time_scale())
    if shape not in _VIOLATIONS:
        _VIOLATIONS[shape] = _unambiguous_violation(driver, slo, windows)
    history, fire_times, times = _VIOLATIONS[shape]
    return history, dict(fire_times), list(times)


def candidate_histories(slo: SLO, windows: list[BurnWindow]) -> list[int]:
    """Healthy histories (in samples) a full violation tries, shortest first: the default
    (`history_samples`), its doublings, and the history that fills each longer window, up to
    the one that fills the longest window, and so every window.

    Each is as exact as the next (`BadTime.crossing` works out partly filled windows); they
    differ in how close together the severities fire, and a longer one costs promtool more steps.
    """
    first = history_samples(slo, windows)
    last = max(first, _filling(slo, max(w.long for w in windows)))
    doubled = takewhile(lambda h: h < last, (first * 2**k for k in count()))
    filled = (_filling(slo, length) for w in windows for length in (w.long, w.short))
    return sorted({first, last, *doubled, *(h for h in filled if first < h < last)})


def _unambiguous_violation(driver: SliDriver, slo: SLO, windows: list[BurnWindow]) -> Violation:
    for history in candidate_histories(slo, windows):
        fire_times, times = violation_plan(driver, slo, windows, history)
        if not fire_times:
            raise ScenarioError("a fully bad input never burns the budget fast enough to fire")
        around = [
            Timeline(slo.time_slice).before(primary_fire(fire_times).theory),
            primary_fire(fire_times).latest,
        ]
        if all(expected_severities(fire_times, t) is not None for t in around):
            return history, fire_times, times
    raise ScenarioError("the ticket fires too close to the page to check either")


def primary_fire(fire_times: dict[str, FireTime]) -> FireTime:
    """The page's fire time, or the ticket's for an SLO that never pages."""
    return fire_times["page"] if "page" in fire_times else next(iter(fire_times.values()))
