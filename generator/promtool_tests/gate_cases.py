"""Generated promtool tests for canary gates, fed at the conditions' own inputs.

Scenarios (E = evaluation interval, A = promote.after, F = rollback.for, k = rollback.violations):
  promote    every condition healthy: promote is 0 one evaluation before A has passed, 1 at A
  rollback   k conditions violated: rollback 0 at F − E, 1 at F, and the alert fires
  brief      k conditions violated for F − E: rollback never 1
  fewer      k − 1 conditions violated for an hour: neither rollback nor promote
  at once    each `rollback_at_once` condition (a rising trend) rolls back at its first reading
  unreadable a source without data or reading NaN violates its conditions: no promote

Stray series of another realm (or none) read violating values throughout: the realm filter
must keep them out. Trend conditions need two samples, so the gate is judged from E on.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from generator import promql
from generator.conventions import CONDITION_VALUE, CONDITION_VIOLATED, PROMOTE, ROLLBACK, VIOLATIONS
from generator.gate_rules import gate_selector
from generator.model import Gate, Service, Spec, ThresholdCondition, TrendCondition
from generator.model.gates import QuorumCondition
from generator.promtool_tests.gate_inputs import (
    flat_timelines,
    gate_series_test,
    instance_inputs,
    never_test,
    rollback_alert,
    scenario_group,
    source_inputs,
    value_test,
)
from generator.promtool_tests.gate_levels import (
    Subject,
    breakable,
    float_shows,
    healthy_value,
    holds,
    violating_value,
    violations,
)
from generator.promtool_tests.series import (
    STALE,
    ScenarioError,
    alert_case,
    decimal,
    duration,
)

HOUR = 3600


def promote_test(subject: Subject) -> dict[str, Any]:
    """Healthy from the start, with one failed scrape of every raw metric on the way."""
    gate, e = subject.gate, subject.interval
    at = subject.warm_up + gate.promote.after
    levels = {s: healthy_value(subject, s) for s in subject.sources()}
    if violations(subject, levels):
        ratios = [s for s in subject.sources() if subject.is_ratio(s)]
        hint = f" ({', '.join(ratios)} read within 0–1)" if ratios else ""
        raise ScenarioError(f"no input satisfies every condition at once{hint}")
    timelines = flat_timelines(subject, at + e, {})
    failed = subject.warm_up + 3 * e
    for series in timelines:
        if subject.service.metric(series) is not None:
            timelines[series][failed // subject.step] = STALE
    checks = [gate_series_test(PROMOTE, subject, at - e, 0), gate_series_test(PROMOTE, subject, at, 1)]
    checks += [gate_series_test(VIOLATIONS, subject, at, 0), gate_series_test(ROLLBACK, subject, at, 0)]
    for condition in gate.conditions:
        selector = gate_selector(CONDITION_VALUE, subject.service, gate, condition.name)
        if isinstance(condition, ThresholdCondition):
            checks.append(value_test(selector, at, float(levels[condition.series]), selector))
        elif isinstance(condition, QuorumCondition):
            checks.append(value_test(selector, at, condition.of, selector))
    return scenario_group(
        subject,
        f"every condition held for {duration(gate.promote.after)} (one scrape failed) → promote, not earlier",
        timelines,
        promql_expr_test=checks,
        alert_rule_test=[alert_case(at, gate.alert_name(), [])],
    )


def unreadable_test(subject: Subject, nan: bool) -> dict[str, Any]:
    """A source without data, or reading NaN, violates every condition on it: the gate never
    promotes on what it cannot see, and rolls back once that is `rollback.violations`."""
    gate, e = subject.gate, subject.interval
    absent = subject.sources()[0]
    lost = len(subject.on(absent))
    end = max(subject.warm_up + gate.promote.after, gate.rollback.for_ + e) + 2 * e
    timelines = flat_timelines(subject, end, {})
    if nan:
        timelines[absent] = [math.nan] * len(timelines[absent])
    else:
        del timelines[absent]
    checks = [gate_series_test(VIOLATIONS, subject, end, lost), never_test(PROMOTE, subject, end)]
    if lost >= gate.rollback.violations:
        checks.append(gate_series_test(ROLLBACK, subject, end, 1))
    else:
        checks.append(never_test(ROLLBACK, subject, end))
    what = f"{absent} reading NaN" if nan else f"without {absent}"
    verdict = "rollback" if lost >= gate.rollback.violations else "no rollback"
    return scenario_group(
        subject,
        f"{what} → {lost} condition(s) violated, no promote, {verdict}",
        timelines,
        promql_expr_test=checks,
    )


NUDGE_SIGN = {"<=": 1, "==": 1, ">=": -1, "<": -1, ">": 1}


def boundary_tests(subject: Subject) -> list[dict[str, Any]]:
    """Each threshold condition at exactly its bound, then just across it: the spec's number
    and operator, not a nearby one, decide."""
    gate, e = subject.gate, subject.interval
    tests = []
    for condition in gate.conditions:
        if not isinstance(condition, ThresholdCondition):
            continue
        bound = decimal(condition.value)
        # Just past an inclusive bound, just inside an exclusive one.
        nudge = (abs(bound) / 1000 or Decimal("0.001")) * NUDGE_SIGN[condition.op]
        readings = [(bound, subject.warm_up), (bound + nudge, subject.warm_up + e)]
        expected = []
        for value, _ in readings:
            seen = subject.seen(condition.series, value)
            expected.append(0 if holds(condition, seen, Decimal(0)) else 1)
        if expected[0] == expected[1]:
            continue
        end = subject.warm_up + 2 * e
        first_stop = subject.warm_up + e - subject.step
        timelines = flat_timelines(subject, end, {condition.series: (bound, 0, first_stop)})
        timelines[condition.series] = [
            float(bound if t <= first_stop else bound + nudge) for t in subject.times(end)
        ]
        selector = gate_selector(CONDITION_VIOLATED, subject.service, gate, condition.name)
        tests.append(
            scenario_group(
                subject,
                (
                    f"{condition.series} {condition.op} {promql.number(condition.value)}: at "
                    f"{promql.number(float(bound))} {'violated' if expected[0] else 'holds'}, at "
                    f"{promql.number(float(bound + nudge))} {'violated' if expected[1] else 'holds'}"
                ),
                timelines,
                promql_expr_test=[
                    value_test(selector, t, value, selector)
                    for (_, t), value in zip(readings, expected, strict=True)
                ],
            )
        )
    return tests


def _violated(
    subject: Subject, conditions: list[ThresholdCondition], start: int, stop: int
) -> dict[str, tuple[Decimal, int, int]]:
    changes = {}
    for condition in conditions:
        value = violating_value(subject, condition)
        assert value is not None
        changes[condition.series] = (value, start, stop)
    levels = {s: changes.get(s, (healthy_value(subject, s), 0, 0))[0] for s in subject.sources()}
    if violations(subject, levels) != len(conditions):
        names = ", ".join(c.name for c in conditions)
        raise ScenarioError(f"violating {names} also violates another condition on the same series")
    return changes


def rollback_tests(subject: Subject) -> tuple[list[dict[str, Any]], list[str]]:
    gate, e = subject.gate, subject.interval
    k, hold = gate.rollback.violations, gate.rollback.for_
    chosen = breakable(subject)
    if len(chosen) < k:
        return [], [
            f"gate {gate.name}: no test that {k} conditions violated for {duration(hold)} roll back: only "
            f"{len(chosen)} condition(s) can be violated alone without a trend condition seeing a jump"
        ]
    names = " and ".join(c.name for c in chosen[:k])
    # From the very first evaluation, so that the rule must also wait for enough evaluations.
    end = hold + 2 * e
    sustained = scenario_group(
        subject,
        f"{names} violated for {duration(hold)} → rollback, not earlier",
        flat_timelines(subject, end, _violated(subject, chosen[:k], 0, end)),
        promql_expr_test=[
            gate_series_test(VIOLATIONS, subject, subject.warm_up, k),
            gate_series_test(ROLLBACK, subject, hold - e, 0),
            gate_series_test(ROLLBACK, subject, hold, 1),
            gate_series_test(PROMOTE, subject, hold, 0),
        ],
        alert_rule_test=[
            alert_case(hold - e, gate.alert_name(), []),
            alert_case(hold, gate.alert_name(), [rollback_alert(subject)]),
        ],
    )
    onset = subject.warm_up + 2 * e
    brief = scenario_group(
        subject,
        f"{names} violated for {duration(hold - e)} only → no rollback",
        flat_timelines(subject, end + onset, _violated(subject, chosen[:k], onset, onset + hold - e)),
        promql_expr_test=[
            gate_series_test(VIOLATIONS, subject, onset, k),
            never_test(ROLLBACK, subject, end + onset),
        ],
    )
    tests = [sustained, brief]
    if k >= 2:
        tests.append(
            scenario_group(
                subject,
                f"{k - 1} condition(s) violated for an hour → neither rollback nor promote",
                flat_timelines(subject, HOUR + e, _violated(subject, chosen[: k - 1], onset, HOUR + e)),
                promql_expr_test=[never_test(ROLLBACK, subject, HOUR), never_test(PROMOTE, subject, HOUR)],
            )
        )
    return tests, []


def at_once_tests(subject: Subject) -> list[dict[str, Any]]:
    """A trend that shows (or a condition marked rollback_at_once) rolls back at its first
    reading; a trend that stopped rolls back no more once its window has passed."""
    gate, e = subject.gate, subject.interval
    tests = []
    for condition in gate.conditions:
        if not condition.rollback_at_once:
            continue
        if isinstance(condition, TrendCondition):
            tests.append(_trend_test(subject, condition))
            continue
        value = violating_value(subject, condition)
        if value is None:
            continue
        first = subject.warm_up + e
        tests.append(
            scenario_group(
                subject,
                f"{condition.name} violated → rollback at once",
                flat_timelines(subject, 3 * e, {condition.series: (value, first, 3 * e)}),
                promql_expr_test=[
                    gate_series_test(ROLLBACK, subject, first - e, 0),
                    gate_series_test(ROLLBACK, subject, first, 1),
                ],
                alert_rule_test=[alert_case(first, gate.alert_name(), [rollback_alert(subject)])],
            )
        )
    return tests


def _trend_test(subject: Subject, condition: TrendCondition) -> dict[str, Any]:
    gate, e = subject.gate, subject.interval
    eps = decimal(condition.epsilon) or Decimal("0.001")
    slope = 2 * eps if condition.trend == "rising" else -2 * eps
    start = healthy_value(subject, condition.series)
    if not float_shows(start, slope * e):
        raise ScenarioError(
            f"{condition.series} is tested near {float(start):g} (between its thresholds), where float64 "
            f"samples cannot show a change of {float(abs(slope)):g}/s: raise the epsilon of "
            f"{condition.name} or bring the thresholds on {condition.series} closer to 0"
        )
    rise_end = 2 * e
    calm = rise_end + condition.window + e  # the window holds only flat samples again
    end = calm + e
    timelines = flat_timelines(subject, end, {})
    timelines[condition.series] = [float(start + slope * min(t, rise_end)) for t in subject.times(end)]
    checks = [gate_series_test(ROLLBACK, subject, 0, 0), gate_series_test(ROLLBACK, subject, e, 1)]
    settled = {condition.series: start + slope * rise_end}
    others = {s: healthy_value(subject, s) for s in subject.sources() if s != condition.series}
    if violations(subject, {**others, **settled}) < gate.rollback.violations:
        checks.append(gate_series_test(ROLLBACK, subject, calm, 0))
    rate = promql.number(float(abs(slope)))
    what = f"{condition.series} {condition.trend} by {rate}/s for {duration(rise_end)}"
    return scenario_group(
        subject,
        f"{what} → rollback at once, none once the {duration(condition.window)} window is flat",
        timelines,
        promql_expr_test=checks,
        alert_rule_test=[alert_case(e, gate.alert_name(), [rollback_alert(subject)])],
    )


def quorum_tests(subject: Subject) -> list[dict[str, Any]]:
    """K of N instances passing holds the quorum; K − 1 do not."""
    gate, e = subject.gate, subject.interval
    tests = []
    for quorum in subject.quorums():
        check = quorum.checks[0]
        bad = violating_value(subject, check)
        if bad is None:
            continue
        end = subject.warm_up + e
        for passing, violated in ((quorum.min_passing, 0), (quorum.min_passing - 1, 1)):
            timelines = flat_timelines(subject, end, {})
            healthy = timelines.pop(check.series)
            broken = [float(bad)] * len(healthy)
            instances = [healthy] * passing + [broken] * (quorum.of - passing)
            inputs = [
                *source_inputs(subject, timelines),
                *instance_inputs(subject, quorum, check.series, instances),
            ]
            value = gate_selector(CONDITION_VALUE, subject.service, gate, quorum.name)
            flag = gate_selector(CONDITION_VIOLATED, subject.service, gate, quorum.name)
            tests.append(
                {
                    "name": (
                        f"gate {gate.name}: {passing} of {quorum.of} canaries pass {check.series} "
                        f"{check.op} {promql.number(check.value)} → quorum of {quorum.min_passing} "
                        f"{'missed' if violated else 'met'}"
                    ),
                    "interval": duration(subject.step),
                    "input_series": inputs,
                    "promql_expr_test": [
                        value_test(value, end, passing, value),
                        value_test(flag, end, violated, flag),
                    ],
                }
            )
    return tests


def gate_tests(
    spec: Spec, service: Service, gate: Gate, interval: int
) -> tuple[list[dict[str, Any]], list[str]]:
    subject = Subject(spec, service, gate, interval)
    rollbacks, notes = rollback_tests(subject)
    unreadable = [unreadable_test(subject, nan) for nan in (False, True)]
    tests = [promote_test(subject), *boundary_tests(subject), *quorum_tests(subject), *unreadable, *rollbacks]
    return [*tests, *at_once_tests(subject)], notes
