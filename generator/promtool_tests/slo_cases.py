"""Generated promtool tests for one SLO: healthy, full violation, slow burn, missing data.

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
from itertools import pairwise
from typing import Any

from generator.alert_contract import burn_alerts
from generator.alert_templates import expand
from generator.conventions import BUDGET_REMAINING, TIME_SLICE_ERROR, identity_labels, sli_error_ratio, slo_id
from generator.durations import format_duration
from generator.model import SLO, Service, Spec
from generator.promtool_tests.drivers import Badness, SliDriver, driver_for
from generator.promtool_tests.events_driver import EventsDriver
from generator.promtool_tests.series import ScenarioError, alert_case, duration, expected_alert, series
from generator.promtool_tests.slow_burn import HOUR, cached_slice_errors, design_slow_burn, periodic_errors
from generator.rules import slo_labels
from generator.slo_math import BurnWindow, burn_alert_name, enabled_windows, error_budget


class SlowBurnImpossible(ScenarioError):
    """Every burn this SLI can show pages: a property of the SLO worth telling, not an error."""


@dataclass(frozen=True)
class Timeline:
    interval: int

    def before(self, t: Fraction) -> int:
        """The last evaluation strictly before t."""
        return (math.ceil(t / self.interval) - 1) * self.interval

    def by(self, t: Fraction) -> int:
        """The last evaluation at or before t."""
        return math.floor(t / self.interval) * self.interval


UNTESTED_QUERY_SLI = (
    "no generated promtool tests: the SLI is raw PromQL (`sli.query`), whose input series obsgen "
    "cannot invent; its rules are shaped as Sloth's, which obsgen's own tests prove value by value"
)


def slo_tests(spec: Spec, service: Service, slo: SLO) -> tuple[list[dict[str, Any]], list[str]]:
    """The SLO's test groups, and notes on scenarios that cannot exist for it."""
    if slo.sli.query is not None:
        return [], [UNTESTED_QUERY_SLI]
    driver = driver_for(service, slo)
    windows = enabled_windows(slo)
    tests = [healthy_test(service, slo, driver, windows)]
    notes: list[str] = []
    if windows:
        expect = burn_expectations(spec, service, slo)
        tests.append(violation_test(service, slo, driver, windows, expect))
        respelled = driver.respelled() if isinstance(driver, EventsDriver) else None
        if respelled is not None:
            tests.append(violation_test(service, slo, respelled, windows, expect))
        if isinstance(driver, EventsDriver) and slo.by:
            tests.append(group_isolation_test(spec, service, slo, driver, windows))
        try:
            slow = slow_burn_test(service, slo, driver, windows, expect)
        except SlowBurnImpossible as exc:
            notes.append(str(exc))
            slow = None
        if slow is not None:
            tests.append(slow)
    if slo.sli.threshold is not None:
        tests.append(missing_data_test(service, slo, driver))
    else:
        tests.append(absent_counter_test(service, slo, driver))
    return tests, notes


def history_samples(slo: SLO, windows: list[BurnWindow]) -> int:
    """A clean history an hour longer than every page window and every short window.

    Those windows are full when trouble starts, as the theory assumes. Longer ticket windows
    (1d, 3d) may still be partly empty; `BadTime.crossing` accounts for that exactly, and it
    keeps the generated tests to hours of simulated evaluations instead of days.
    """
    full = [w.long for w in windows if w.severity == "page"] + [w.short for w in windows]
    return (max(full, default=0) + HOUR) // slo.time_slice


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
    identity = tested_identity(service, slo)
    exprs = [
        _expr_case(service, slo, sli_error_ratio(w), identity, w, end, 0)
        for w in sorted({w.long for w in windows})
    ]
    exprs.append(_expr_case(service, slo, BUDGET_REMAINING, identity, None, end, 1))
    return _group(
        f"{name}: a healthy history never fires and spends no budget",
        driver,
        [0.0] * samples,
        alert_rule_test=checks if windows else [],
        promql_expr_test=exprs,
    )


def _expr_case(
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


def unambiguous_violation(
    driver: SliDriver, slo: SLO, windows: list[BurnWindow]
) -> tuple[int, dict[str, FireTime], list[int]]:
    """The healthy history, fire times and check times of a full violation in which the first
    severity to fire can be checked on both sides of its fire time."""
    longest = max(w.long for w in windows)
    for history in (history_samples(slo, windows), (longest + HOUR) // slo.time_slice):
        fire_times, times = violation_plan(driver, slo, windows, history)
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


def violation_test(
    service: Service, slo: SLO, driver: SliDriver, windows: list[BurnWindow], expect: Expect
) -> dict[str, Any]:
    """Page (or, without one, ticket) timing is always checked on both sides.

    With the short default history, partly empty ticket windows can fire the ticket close to
    the page, which would blur the check; then the history grows until every window is full,
    where the ticket (10 % of the budget) always comes well after the page (2 %).
    """
    step = slo.time_slice
    longest = max(w.long for w in windows)
    history, fire_times, times = unambiguous_violation(driver, slo, windows)
    name = burn_alert_name(service, slo)
    cases = []
    for at in sorted(set(times)):
        firing = expected_severities(fire_times, at)
        if firing is not None:
            cases.append(alert_case(at, name, expect(firing)))
    last = max(times) // step + 1
    badness = [0.0] * history + [1.0] * (last - history + 1)
    detail = ", ".join(
        f"{s} expected at {_clock(fire.theory - history * step)} after the first bad sample"
        for s, fire in fire_times.items()
    )
    if history * step < longest:
        detail += f"; windows longer than {format_duration(history * step)} hold only that history"
    if isinstance(driver, EventsDriver) and driver.spelling:
        detail += '; bucket bounds spelled as Prometheus 3 and client_python write them (le="1.0")'
    return _group(
        f"{name}: full violation after {format_duration(history * step)} healthy ({detail})",
        driver,
        badness,
        alert_rule_test=cases,
    )


def group_isolation_test(
    spec: Spec, service: Service, slo: SLO, driver: EventsDriver, windows: list[BurnWindow]
) -> dict[str, Any]:
    """A grouped SLO: one group fully bad, the other healthy. Only the bad group's alert fires,
    on time, and each group's error ratio is its own (groups do not mix)."""
    step = slo.time_slice
    history, fire_times, _ = unambiguous_violation(driver, slo, windows)
    primary = primary_fire(fire_times)
    healthy, bad = driver.groups
    expect_bad = burn_expectations(spec, service, slo, bad)
    checks = [Timeline(step).before(primary.theory), primary.latest]
    cases = []
    for at in checks:
        firing = expected_severities(fire_times, at)
        assert firing is not None  # unambiguous_violation chose these times
        cases.append(alert_case(at, burn_alert_name(service, slo), expect_bad(firing)))
    end = max(primary.latest, (history + 2 * driver.samples_in_window + 2) * step)
    last = end // step
    badness = [0.0] * history + [1.0] * (last - history + 1)
    exprs = [
        _expr_case(service, slo, sli_error_ratio(300), tested_identity(service, slo, group), 300, end, value)
        for group, value in ((healthy, 0), (bad, 1))
    ]
    labels = ", ".join(f"{k}={v}" for k, v in bad.items())
    name = burn_alert_name(service, slo)
    return {
        "name": f"{name}: only group {labels} fails, only it pages; groups do not mix",
        "interval": duration(driver.interval),
        "input_series": driver.group_inputs([[0.0] * len(badness), badness]),
        "alert_rule_test": cases,
        "promql_expr_test": exprs,
    }


def _clock(seconds: Fraction) -> str:
    return f"{float(seconds) / 60:.2f} min"


# --- slow burn ---------------------------------------------------------------------------------


def slow_burn_test(
    service: Service, slo: SLO, driver: SliDriver, windows: list[BurnWindow], expect: Expect
) -> dict[str, Any] | None:
    budget = error_budget(slo)
    page = [w for w in windows if w.severity == "page"]
    ticket = [w for w in windows if w.severity == "ticket"]
    if not ticket:
        return None
    found = ((d, design_slow_burn(d, page, ticket, budget)) for d in driver.variants())
    driver, design = next(((d, x) for d, x in found if x is not None), (driver, None))
    if design is None:
        raise SlowBurnImpossible(why_every_burn_pages(driver, page, ticket, budget))
    history = history_samples(slo, windows)
    step = slo.time_slice
    start = Fraction(history * step)
    steady = [BadTime((float(bad),), start, step) for bad in design.bad.values()]
    latest = max(t for bad in steady if (t := first_fire(ticket, "ticket", budget, bad)))
    period = design.period
    first = math.ceil((latest + (latest - start) / 4) / step) + period + 2
    first += (design.phase - (first - history)) % period
    checks = [(first + k * period) * step for k in range(4)]
    name = burn_alert_name(service, slo)
    ticket_only = expect(["ticket"])
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


def why_every_burn_pages(
    driver: SliDriver, page: list[BurnWindow], ticket: list[BurnWindow], budget: Fraction
) -> str:
    """Why no slow-burn test exists for this SLO, in numbers an SLO owner can act on."""
    ticket_x = min(w.threshold(budget) for w in ticket)
    page_x = min((w.threshold(budget) for w in page), default=Fraction(1))
    tail = "no slow-burn test is generated"
    generic = (
        f"no {'steady error ratio' if driver.key()[0] == 'ratio' else 'pattern of bad bursts'} "
        f"stays below 90% of every page threshold (lowest {float(page_x):.4g}) while staying 10% "
        f"above a ticket threshold (lowest {float(ticket_x):.4g}) under both Prometheus 2 and 3 "
        f"windows; {tail}"
    )
    if driver.key()[0] == "ratio" or not page:
        return generic
    step = driver.interval
    smallest = min(_smallest_burst(d, 24 * HOUR // step) for d in driver.variants())
    paging = [w for w in page if all(smallest / (t // step) > w.threshold(budget) for t in (w.long, w.short))]
    if not paging:
        return generic
    pair = paging[0]
    return (
        f"every incident pages: the smallest burst this SLI can show spoils {smallest:g} slice(s) "
        f"of {format_duration(step)}, {smallest / (pair.long // step):.2%} of the {pair.label()} "
        f"page pair's long window, above its threshold {float(pair.threshold(budget)):.2%}; "
        f"the ticket can only follow a page, and {tail}"
    )


def _smallest_burst(driver: SliDriver, period: int) -> float:
    """The fewest bad evaluations any burst of bad raw samples causes (Prometheus 3)."""
    for burst in range(1, 4 * getattr(driver, "samples_in_window", 1) + 4):
        spoiled = sum(periodic_errors(driver, period, burst, False).pattern)
        if spoiled:
            return spoiled
    return float("inf")


def absent_counter_test(service: Service, slo: SLO, driver: SliDriver) -> dict[str, Any]:
    """Events counted from a counter with no series yet: no errors so far, or no success so far."""
    samples = 12
    assert isinstance(driver, EventsDriver)
    traffic = driver.traffic_only(samples)
    counting_good = not driver.events.counts_errors
    identity = tested_identity(service, slo)
    window = 300
    case = _expr_case(
        service,
        slo,
        sli_error_ratio(window),
        identity,
        window,
        (samples - 1) * slo.time_slice,
        1 if counting_good else 0,
    )
    what = (
        "no success counted yet: every event is an error"
        if counting_good
        else "no error counted yet: the error ratio is 0"
    )
    return {
        "name": f"{burn_alert_name(service, slo)}: {what}",
        "interval": duration(driver.interval),
        "input_series": traffic,
        "promql_expr_test": [case],
    }


def _burst_badness(i: int, period: int, burst: int, bad: Fraction) -> float:
    if burst == period:
        return float(bad)
    return 1.0 if i % period < burst else 0.0


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
        "expr": series(TIME_SLICE_ERROR, {identity_labels(service).id: slo_id(service, slo)}),
        "eval_time": duration(at),
        "exp_samples": expected,
    }
    return _group(
        f"{burn_alert_name(service, slo)}: a slice without data counts as {policy}",
        driver,
        badness,
        promql_expr_test=[case],
    )
