"""Generated promtool tests for one SLO: healthy, full violation, slow burn, missing data.

Expected alert times are computed, not written down: under a constant bad fraction e after a
clean history, a window pair (long W, factor BR) fires at onset + W × BR × budget / e, where
the onset is when the SLO's per-evaluation series turns bad (a derived signal's own window,
or the events' rate window, delays it; the drivers compute by how much).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from generator.alert_templates import expand
from generator.durations import format_duration
from generator.model import SLO, Service, Spec
from generator.promtool_tests.drivers import Badness, SliDriver, driver_for
from generator.promtool_tests.series import alert_case, duration, expected_alert, series
from generator.rules import TIME_SLICE_ERROR, burn_alert_rules, sli_error_ratio, slo_labels
from generator.slo_math import (
    BurnWindow,
    burn_alert_name,
    enabled_windows,
    error_budget,
)

HOUR = 3600


class ScenarioError(RuntimeError):
    """The SLO admits no unambiguous generated scenario (reported with the SLO's id)."""


@dataclass(frozen=True)
class Timeline:
    interval: int

    def before(self, t: Fraction) -> int:
        """The last evaluation strictly before t."""
        return (math.ceil(t / self.interval) - 1) * self.interval

    def by(self, t: Fraction) -> int:
        """The last evaluation at or before t."""
        return math.floor(t / self.interval) * self.interval


def slo_tests(spec: Spec, service: Service, slo: SLO) -> list[dict[str, Any]]:
    driver = driver_for(service, slo)
    windows = enabled_windows(slo)
    tests = [healthy_test(service, slo, driver, windows)]
    if windows:
        tests.append(violation_test(spec, service, slo, driver, windows))
        slow = slow_burn_test(spec, service, slo, driver, windows)
        if slow is not None:
            tests.append(slow)
    if slo.sli.threshold is not None:
        tests.append(missing_data_test(service, slo, driver))
    return tests


def history_samples(slo: SLO, windows: list[BurnWindow]) -> int:
    """A clean history an hour longer than every page window and every short window.

    Those windows are full when trouble starts, as the theory assumes. Longer ticket windows
    (1d, 3d) may still be partly empty; `fire_time` accounts for that exactly, and it keeps
    the generated tests to minutes of simulated evaluations instead of days.
    """
    full = [w.long for w in windows if w.severity == "page"] + [w.short for w in windows]
    return (max(full, default=0) + HOUR) // slo.time_slice


def expected_burn_alerts(
    spec: Spec, service: Service, slo: SLO, severities: list[str]
) -> list[dict[str, Any]]:
    rules = {r["labels"]["severity"]: r for r in burn_alert_rules(spec, service, slo)}
    identity = slo_labels(service, slo)
    out = []
    for severity in sorted(severities):
        rule = rules[severity]
        annotations = {
            k: expand(v, identity, None, spec.settings.external_labels)
            for k, v in rule["annotations"].items()
        }
        out.append(expected_alert({**identity, **rule["labels"]}, annotations))
    return out


def _group(name: str, driver: SliDriver, badness: Badness, **cases: Any) -> dict[str, Any]:
    group: dict[str, Any] = {
        "name": name,
        "interval": duration(driver.interval),
        "input_series": driver.inputs(badness),
    }
    group.update({k: v for k, v in cases.items() if v})
    return group


def healthy_test(service: Service, slo: SLO, driver: SliDriver, windows: list[BurnWindow]) -> dict[str, Any]:
    samples = history_samples(slo, windows) + HOUR // slo.time_slice
    end = (samples - 1) * slo.time_slice
    name = burn_alert_name(service, slo)
    checks = [alert_case(end * k // 4 // slo.time_slice * slo.time_slice, name, []) for k in (1, 2, 3, 4)]
    identity = slo_labels(service, slo)
    exprs = [_expr_case(sli_error_ratio(w), identity, w, end, 0) for w in sorted({w.long for w in windows})]
    exprs.append(_expr_case("slo:period_error_budget_remaining:ratio", identity, None, end, 1))
    return _group(
        f"{name}: a healthy history never fires and spends no budget",
        driver,
        [0.0] * samples,
        alert_rule_test=checks if windows else [],
        promql_expr_test=exprs,
    )


def _expr_case(
    metric: str, identity: dict[str, str], window: int | None, at: int, value: float
) -> dict[str, Any]:
    labels = dict(identity)
    if window is not None:
        labels["slo_window"] = format_duration(window)
    selector = series(metric, {"slo_id": identity["slo_id"]})
    return {
        "expr": selector,
        "eval_time": duration(at),
        "exp_samples": [{"labels": series(metric, labels), "value": value}],
    }


def onset(driver: SliDriver, history: int) -> Fraction:
    """When the per-evaluation error effectively turns fully bad after a step at `history`.

    Each evaluation stands for the interval before it; a ramp (events' rate window) moves the
    effective onset later by the badness it has not yet reached.
    """
    probe = [0.0] * history + [1.0] * (history + 64)
    errors = _cached_slice_errors(driver, tuple(probe), False)
    first = next(i for i, e in enumerate(errors) if e)
    if any(errors[:history]):
        raise ScenarioError("the healthy level already produces bad evaluations")
    deficit = sum(Fraction(1) - Fraction(e or 0) for e in errors[first:])
    return Fraction((first - 1) * driver.interval) + deficit * driver.interval


_SLICE_ERRORS: dict[tuple[Any, ...], list[float | None]] = {}


def _cached_slice_errors(
    driver: SliDriver, badness: tuple[float | None, ...], closed: bool
) -> list[float | None]:
    """Drivers with equal keys predict equally; the 1,000-SLO benchmark leans on this."""
    key = (driver.key(), badness, closed)
    if key not in _SLICE_ERRORS:
        _SLICE_ERRORS[key] = driver.slice_errors(list(badness), closed)
    return _SLICE_ERRORS[key]


def window_crossing(window: int, threshold: Fraction, bad: Fraction, start: Fraction, step: int) -> Fraction:
    """When a window's error ratio first exceeds `threshold`, errors at rate `bad` from `start`.

    The theory's start + W × threshold / bad while the window is full; before that the window
    averages only the data since t = 0 (t/step + 1 evaluations), and the crossing is earlier.
    """
    full = start + window * threshold / bad
    if full + step >= window:
        return full
    return (bad * start + threshold * step) / (bad - threshold)


def first_fire(
    windows: list[BurnWindow], severity: str, budget: Fraction, bad: Fraction, start: Fraction, step: int
) -> Fraction | None:
    """When the first window pair of `severity` fires: the slower of its two windows."""
    times = [
        max(window_crossing(t, w.threshold(budget), bad, start, step) for t in (w.long, w.short))
        for w in windows
        if w.severity == severity and w.threshold(budget) < bad
    ]
    return min(times) if times else None


def expected_severities(fire_times: dict[str, Fraction], at: int, step: int) -> list[str] | None:
    """Severities certainly firing at `at`; None inside a severity's tolerance: from its
    theoretical time up to the last evaluation at or before two intervals after it."""
    firing = []
    for severity, t in fire_times.items():
        if at >= Timeline(step).by(t + 2 * step):
            firing.append(severity)
        elif at >= t:
            return None
    return firing


def violation_plan(
    driver: SliDriver, slo: SLO, windows: list[BurnWindow], history: int
) -> tuple[dict[str, Fraction], list[int]]:
    """Theoretical fire time per severity, and the times to check around each."""
    start = onset(driver, history)
    budget = error_budget(slo)
    fire_times: dict[str, Fraction] = {}
    for severity in ("page", "ticket"):
        t = first_fire(windows, severity, budget, Fraction(1), start, slo.time_slice)
        if t is not None:
            fire_times[severity] = t
    timeline = Timeline(slo.time_slice)
    times = []
    for t in fire_times.values():
        times += [timeline.before(t), timeline.by(t + 2 * slo.time_slice)]
    return fire_times, times


def violation_test(
    spec: Spec, service: Service, slo: SLO, driver: SliDriver, windows: list[BurnWindow]
) -> dict[str, Any]:
    """Page (or, without one, ticket) timing is always checked on both sides.

    With the short default history, partly empty ticket windows can fire the ticket close to
    the page, which would blur the check; then the history grows until every window is full,
    where the ticket (10 % of the budget) always comes well after the page (2 %).
    """
    step = slo.time_slice
    longest = max(w.long for w in windows)
    for history in (history_samples(slo, windows), (longest + HOUR) // step):
        fire_times, times = violation_plan(driver, slo, windows, history)
        primary = "page" if "page" in fire_times else next(iter(fire_times))
        around = [
            Timeline(step).before(fire_times[primary]),
            Timeline(step).by(fire_times[primary] + 2 * step),
        ]
        if all(expected_severities(fire_times, t, step) is not None for t in around):
            break
    else:
        raise ScenarioError("the ticket fires too close to the page to check either")
    name = burn_alert_name(service, slo)
    cases = []
    for at in sorted(set(times)):
        firing = expected_severities(fire_times, at, step)
        if firing is not None:
            cases.append(alert_case(at, name, expected_burn_alerts(spec, service, slo, firing)))
    last = max(times) // step + 1
    badness = [0.0] * history + [1.0] * (last - history + 1)
    detail = ", ".join(
        f"{s} expected at {_clock(t - history * step)} after the first bad sample"
        for s, t in fire_times.items()
    )
    return _group(
        f"{name}: full violation after {format_duration(history * step)} healthy ({detail})",
        driver,
        badness,
        alert_rule_test=cases,
    )


def _clock(seconds: Fraction) -> str:
    return f"{float(seconds) / 60:.2f} min"


# --- slow burn ---------------------------------------------------------------------------------


def slow_burn_test(
    spec: Spec, service: Service, slo: SLO, driver: SliDriver, windows: list[BurnWindow]
) -> dict[str, Any] | None:
    budget = error_budget(slo)
    page = [w for w in windows if w.severity == "page"]
    ticket = [w for w in windows if w.severity == "ticket"]
    if not ticket:
        return None
    design = design_slow_burn(driver, page, ticket, budget)
    if design is None:
        raise ScenarioError(
            "no bad fraction fires the ticket without also paging under both Prometheus 2 and 3 "
            f"windows (lowest ticket threshold {float(min(w.threshold(budget) for w in ticket)):g}, "
            f"lowest page threshold {float(min((w.threshold(budget) for w in page), default=1)):g}); "
            "widen the gap between page and ticket factors"
        )
    history = history_samples(slo, windows)
    step = slo.time_slice
    start = Fraction(history * step)
    latest = max(
        t for bad in design.bad.values() if (t := first_fire(ticket, "ticket", budget, bad, start, step))
    )
    period = design.period
    first = math.ceil((latest + (latest - start) / 4) / step) + period + 2
    first += (design.phase - (first - history)) % period
    checks = [(first + k * period) * step for k in range(4)]
    name = burn_alert_name(service, slo)
    ticket_only = expected_burn_alerts(spec, service, slo, ["ticket"])
    cases = [alert_case(history * step - step, name, [])]
    cases += [alert_case(t, name, ticket_only) for t in checks]
    length = checks[-1] // step + 1
    bad = design.bad[False]
    badness = [0.0] * history + [
        _burst_badness(i, period, design.burst, bad) for i in range(length - history)
    ]
    return _group(
        f"{name}: slow burn ({float(bad) * 100:.3g}% bad) fires the ticket, never the page",
        driver,
        badness,
        alert_rule_test=cases,
    )


def _burst_badness(i: int, period: int, burst: int, bad: Fraction) -> float:
    if burst == period:
        return float(bad)
    return 1.0 if i % period < burst else 0.0


@dataclass(frozen=True)
class SlowBurn:
    period: int
    burst: int
    phase: int
    bad: dict[bool, Fraction]
    """Steady bad fraction under Prometheus 3 (False) and 2 (True) windows."""


def design_slow_burn(
    driver: SliDriver, page: list[BurnWindow], ticket: list[BurnWindow], budget: Fraction
) -> SlowBurn | None:
    """A constant error fraction for events; periodic bursts of bad raw samples for slices,
    the bad fraction nearest the geometric middle of the ticket and page thresholds."""
    step = driver.interval
    page_x = min((w.threshold(budget) for w in page), default=Fraction(1))
    ticket_x = min(w.threshold(budget) for w in ticket)
    middle = Fraction(math.sqrt(float(ticket_x * page_x)))
    if driver.key()[0] == "ratio":
        bad = Fraction(round(middle * 1000), 1000)
        patterns = {False: [float(bad)], True: [float(bad)]}
        phase = ticket_phase(patterns, page, ticket, budget, step)
        return None if phase is None or not bad else SlowBurn(1, 1, 0, {False: bad, True: bad})
    best: tuple[Fraction, SlowBurn] | None = None
    pad = getattr(driver, "samples_in_window", 1) + 2
    for hours in (1, 2, 3, 4, 6, 8, 12, 24):
        period = hours * HOUR // step
        for burst in range(1, min(period - 2 * pad, 240) + 1):
            patterns = {c: _periodic_errors(driver, period, burst, c) for c in (False, True)}
            phase = ticket_phase(patterns, page, ticket, budget, step)
            if phase is None:
                continue
            bad = {c: Fraction(round(sum(p)), period) for c, p in patterns.items()}
            score = abs(middle - bad[False])
            if best is None or score < best[0]:
                best = (score, SlowBurn(period, burst, phase, bad))
        if best is not None:
            return best[1]
    return None


def _periodic_errors(driver: SliDriver, period: int, burst: int, closed: bool) -> list[float]:
    """Per-evaluation errors over one period of the burst pattern (bursts never overlap)."""
    pad = getattr(driver, "samples_in_window", 1) + 2
    errors = _cached_slice_errors(driver, (0.0,) * pad + (1.0,) * burst + (0.0,) * pad, closed)
    pattern = [0.0] * period
    for i, error in enumerate(errors):
        pattern[(i - pad) % period] += error or 0.0
    return pattern


def _window_sums(pattern: list[float], width: int) -> tuple[float, float]:
    """Min and max of the sum over `width` consecutive evaluations of a periodic pattern."""
    period = len(pattern)
    full, rest = divmod(width, period)
    base = full * sum(pattern)
    if rest == 0:
        return base, base
    prefix = [0.0]
    for value in pattern + pattern:
        prefix.append(prefix[-1] + value)
    sums = [prefix[i + rest] - prefix[i] for i in range(period)]
    return base + min(sums), base + max(sums)


def _sum_ending_at(pattern: list[float], width: int, end: int) -> float:
    """Sum of the `width` evaluations of a periodic pattern that end at index `end`."""
    full, rest = divmod(width, len(pattern))
    return full * sum(pattern) + sum(pattern[(end - j) % len(pattern)] for j in range(rest))


def ticket_phase(
    patterns: dict[bool, list[float]],
    page: list[BurnWindow],
    ticket: list[BurnWindow],
    budget: Fraction,
    step: int,
) -> int | None:
    """A phase of the period at which the ticket fires and the page never can, or None.

    `patterns` maps closed (Prometheus 2) or not to the per-evaluation errors of one period.
    Every page pair needs a window that never reaches 90 % of its threshold; some ticket pair
    needs a long window always above 110 % of it and a short window above it at the phase.
    """
    for closed, pattern in patterns.items():
        extra = int(closed)
        for w in page:
            limit = float(w.threshold(budget)) * 0.9
            if all(
                _window_sums(pattern, t // step + extra)[1] / (t // step) >= limit for t in (w.long, w.short)
            ):
                return None
    for w in ticket:
        need = float(w.threshold(budget)) * 1.1
        if any(
            _window_sums(p, w.long // step)[0] / (w.long // step + int(c)) <= need
            for c, p in patterns.items()
        ):
            continue
        width = w.short // step
        period = len(patterns[False])
        phases = [
            o
            for o in range(period)
            if all(_sum_ending_at(p, width, o) / (width + int(c)) > need for c, p in patterns.items())
        ]
        if phases:
            return phases[len(phases) // 2]
    return None


# --- missing data ------------------------------------------------------------------------------


def missing_data_test(service: Service, slo: SLO, driver: SliDriver) -> dict[str, Any]:
    assert slo.sli.threshold is not None
    healthy = 30
    signal = service.signal(slo.sli.threshold.signal)
    assert signal is not None
    gap = signal.window // slo.time_slice + 3
    at = (healthy + gap) * slo.time_slice
    badness: Badness = [0.0] * healthy + [None] * (gap + 1)
    identity = slo_labels(service, slo)
    policy = slo.sli.threshold.missing_data
    expected = (
        []
        if policy == "ignore"
        else [{"labels": series(TIME_SLICE_ERROR, identity), "value": 1 if policy == "bad" else 0}]
    )
    case = {
        "expr": series(TIME_SLICE_ERROR, {"slo_id": identity["slo_id"]}),
        "eval_time": duration(at),
        "exp_samples": expected,
    }
    return _group(
        f"{burn_alert_name(service, slo)}: a slice without data counts as {policy}",
        driver,
        badness,
        promql_expr_test=[case],
    )
