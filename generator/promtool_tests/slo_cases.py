"""Generated promtool tests for one SLO: healthy, full violation, slow burn, missing data.

`slo_tests` chooses the scenarios an SLO gets; the slow burn is built in `slow_burn_case`, and
`slo_expectations` holds what the tests expect and the theory of when the burn alerts fire.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from generator.conventions import (
    BUDGET_REMAINING,
    TIME_SLICE_ERROR,
    identity_labels,
    sli_error_ratio,
    slo_id,
    slo_labels,
)
from generator.durations import format_duration
from generator.model import SLO, Service, Spec
from generator.promtool_tests.drivers import Badness, SliDriver, driver_for
from generator.promtool_tests.events_driver import EventsDriver
from generator.promtool_tests.series import alert_case, duration, series
from generator.promtool_tests.slo_expectations import (
    Expect,
    Timeline,
    burn_expectations,
    expected_severities,
    expr_case,
    history_samples,
    primary_fire,
    scenario_group,
    tested_identity,
    unambiguous_violation,
)
from generator.promtool_tests.slow_burn_case import SlowBurnImpossible, slow_burn_test
from generator.slo_math import BurnWindow, burn_alert_name, enabled_windows

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
    tests = [] if windows else [healthy_test(service, slo, driver)]
    notes: list[str] = []
    if windows:
        expect = burn_expectations(spec, service, slo)
        tests.append(violation_test(service, slo, driver, windows, expect, healthy=True))
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


def healthy_test(service: Service, slo: SLO, driver: SliDriver) -> dict[str, Any]:
    """An SLO without burn alerts: a healthy history spends no budget. (An SLO with them proves
    this in its full violation's healthy history, see `healthy_checks`.)"""
    samples = history_samples(slo, [])
    end = (samples - 1) * slo.time_slice
    _, exprs = healthy_checks(service, slo, [], end)
    return scenario_group(
        f"{burn_alert_name(service, slo)}: a healthy history spends no budget",
        driver,
        [0.0] * samples,
        promql_expr_test=exprs,
    )


def healthy_checks(
    service: Service, slo: SLO, windows: list[BurnWindow], end: int
) -> tuple[list[int], list[dict[str, Any]]]:
    """What a healthy history up to the evaluation `end` proves: no burn alert at a quarter, half,
    three quarters and the end of it (the evaluations returned); at its end every long window's
    error ratio is 0 and the whole budget remains (the expression checks returned)."""
    step = slo.time_slice
    quiet = [end * k // 4 // step * step for k in (1, 2, 3, 4)]
    identity = tested_identity(service, slo)
    exprs = [
        expr_case(service, slo, sli_error_ratio(w), identity, w, end, 0)
        for w in sorted({w.long for w in windows})
    ]
    exprs.append(expr_case(service, slo, BUDGET_REMAINING, identity, None, end, 1))
    return quiet, exprs


def violation_test(
    service: Service,
    slo: SLO,
    driver: SliDriver,
    windows: list[BurnWindow],
    expect: Expect,
    healthy: bool = False,
) -> dict[str, Any]:
    """Page (or, without one, ticket) timing is always checked on both sides.

    With the short default history, partly empty ticket windows can fire the ticket close to
    the page, which would blur the check; then the history grows (see `unambiguous_violation`)
    until the first severity's fire time is clear of the other's, at the latest when every
    window is full, where the ticket (10 % of the budget) always comes well after the page (2 %).

    `healthy` also proves the healthy scenario on the history before the onset (`healthy_checks`,
    up to the last evaluation before the first bad sample, which nothing bad can reach yet).
    """
    step = slo.time_slice
    longest = max(w.long for w in windows)
    history, fire_times, times = unambiguous_violation(driver, slo, windows)
    name = burn_alert_name(service, slo)
    by_time: dict[int, dict[str, Any]] = {}
    exprs: list[dict[str, Any]] = []
    if healthy:
        quiet, exprs = healthy_checks(service, slo, windows, Timeline(step).before(Fraction(history * step)))
        by_time = {at: alert_case(at, name, []) for at in quiet}
    for at in sorted(set(times)):
        firing = expected_severities(fire_times, at)
        if firing is not None:
            by_time[at] = alert_case(at, name, expect(firing))
    cases = [by_time[at] for at in sorted(by_time)]
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
    healthy_part = ", which never fires and spends no budget" if healthy else ""
    return scenario_group(
        f"{name}: full violation after {format_duration(history * step)} healthy{healthy_part} ({detail})",
        driver,
        badness,
        alert_rule_test=cases,
        promql_expr_test=exprs,
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
        expr_case(service, slo, sli_error_ratio(300), tested_identity(service, slo, group), 300, end, value)
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


def absent_counter_test(service: Service, slo: SLO, driver: SliDriver) -> dict[str, Any]:
    """Events counted from a counter with no series yet: no errors so far, or no success so far."""
    samples = 12
    assert isinstance(driver, EventsDriver)
    traffic = driver.traffic_only(samples)
    counting_good = not driver.events.counts_errors
    identity = tested_identity(service, slo)
    window = 300
    case = expr_case(
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
    return scenario_group(
        f"{burn_alert_name(service, slo)}: a slice without data counts as {policy}",
        driver,
        badness,
        promql_expr_test=[case],
    )
