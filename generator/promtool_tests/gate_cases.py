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
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from generator import promql
from generator.alert_contract import gate_alert, gate_labels
from generator.alert_templates import expand
from generator.gate_rules import (
    CONDITION_VALUE,
    CONDITION_VIOLATED,
    PROMOTE,
    ROLLBACK,
    VIOLATIONS,
    gate_selector,
    held_range,
)
from generator.model import Gate, Service, Spec, ThresholdCondition, TrendCondition
from generator.model.gates import InstanceCheck, QuorumCondition
from generator.promtool_tests.series import (
    STALE,
    Sample,
    ScenarioError,
    alert_case,
    decimal,
    duration,
    expected_alert,
    input_series,
    legacy_label_sets,
    target_labels,
    values,
)
from generator.rules import signal_is_clamped

HOUR = 3600


@dataclass(frozen=True)
class Subject:
    spec: Spec
    service: Service
    gate: Gate
    interval: int

    @property
    def step(self) -> int:
        """Sample spacing: the service's scrape interval when a condition reads a raw metric (so
        a failed scrape can be shown), else the evaluation interval."""
        scrape = self.service.scrape_interval(self.spec.settings.scrape_interval)
        raw = any(self.service.metric(s) is not None for s in self.sources())
        return math.gcd(self.interval, scrape) if raw else self.interval

    def times(self, end: int) -> range:
        return range(0, end + 1, self.step)

    @property
    def warm_up(self) -> int:
        """The first evaluation with every condition measurable (deriv() needs two samples)."""
        return self.interval if any(isinstance(c, TrendCondition) for c in self.gate.conditions) else 0

    def sources(self) -> list[str]:
        return list(dict.fromkeys(series for series, _ in self._bounds()))

    def _bounds(self) -> list[tuple[str, Bound]]:
        found: list[tuple[str, Bound]] = []
        for condition in self.gate.conditions:
            if isinstance(condition, QuorumCondition):
                found += [(check.series, check) for check in condition.checks]
            else:
                found.append((condition.series, condition))
        return found

    def on(self, series: str) -> list[Bound]:
        """The conditions on the series, and the quorum checks each of its instances faces."""
        return [bound for name, bound in self._bounds() if name == series]

    def quorum_on(self, series: str) -> QuorumCondition | None:
        return next(
            (
                c
                for c in self.gate.conditions
                if isinstance(c, QuorumCondition) and any(k.series == series for k in c.checks)
            ),
            None,
        )

    def quorums(self) -> list[QuorumCondition]:
        return [c for c in self.gate.conditions if isinstance(c, QuorumCondition)]

    def is_ratio(self, series: str) -> bool:
        """Reads within [0, 1]: a ratio metric, a signal clamped from one, or a heartbeat's ok."""
        metric, signal = self.service.metric(series), self.service.signal(series)
        if signal is not None:
            return signal_is_clamped(self.service, signal)
        ok_records = {h.ok_record() for h in self.service.heartbeats}
        return series in ok_records or (metric is not None and metric.ratio)

    def seen(self, series: str, value: Decimal) -> Decimal:
        """What the condition compares: raw ratio metrics are clamped to [0, 1] by the rule."""
        metric = self.service.metric(series)
        if metric is not None and metric.ratio:
            return min(max(value, Decimal(0)), Decimal(1))
        return value

    def labels(self, series: str, instance: int = 1) -> dict[str, str]:
        if self.service.metric(series) is not None:
            return target_labels(self.service, f"{self.service.service}-{instance}", metric=series)
        return self.service.realm_matchers()

    def better_value(self, series: str) -> Decimal | None:
        """For a raw metric, a second instance's value further from every bound than the healthy
        one, so the worst instance must be the one that decides; None if no such value."""
        if self.service.metric(series) is None or self.quorum_on(series) is not None:
            return None
        conditions = self.on(series)
        worst = {c.worst_of() for c in conditions}
        if len(worst) != 1 or any(isinstance(c, ThresholdCondition) and c.op == "==" for c in conditions):
            return None
        healthy = healthy_value(self, series)
        if worst == {"max"}:
            return healthy - _margin(healthy) / 2
        top = Decimal(1) if self.is_ratio(series) else healthy + 2 * _margin(healthy)
        return healthy + (top - healthy) / 2


def _margin(value: Decimal) -> Decimal:
    return abs(value) / 2 or Decimal(1)


def healthy_value(subject: Subject, series: str) -> Decimal:
    """A value inside every threshold condition on the series, away from the edges."""
    low, high = Decimal("-Infinity"), Decimal("Infinity")
    for condition in subject.on(series):
        if not isinstance(condition, TrendCondition):
            bound = decimal(condition.value)
            if condition.op in ("<", "<=", "=="):
                high = min(high, bound)
            if condition.op in (">", ">=", "=="):
                low = max(low, bound)
    if subject.is_ratio(series):
        low, high = max(low, Decimal(0)), min(high, Decimal(1))
    if low == high:
        return low
    if low.is_finite() and high.is_finite():
        return (low + high) / 2
    if high.is_finite():
        return high - _margin(high)
    return low + _margin(low) if low.is_finite() else Decimal(0)


def violating_value(subject: Subject, condition: ThresholdCondition) -> Decimal | None:
    """A value that breaks the condition (after the ratio clamp), or None if none can."""
    bound = decimal(condition.value)
    if condition.op == "==":
        value = (
            (Decimal(0) if bound != 0 else Decimal(1)) if subject.is_ratio(condition.series) else bound + 1
        )
    elif condition.op in ("<", "<="):
        value = bound + _margin(bound)
    else:
        value = bound - _margin(bound)
    seen = subject.seen(condition.series, value)
    return None if holds(condition, seen, Decimal(0)) else value


def holds(condition: Bound, value: Decimal, slope: Decimal) -> bool:
    if isinstance(condition, TrendCondition):
        eps = decimal(condition.epsilon)
        return slope <= eps if condition.trend == "rising" else slope >= -eps
    bound = decimal(condition.value)
    return {
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
        "==": value == bound,
    }[condition.op]


def violations(subject: Subject, levels: dict[str, Decimal]) -> int:
    """Violated conditions when each series (every instance of it) sits flat at its level."""
    count = 0
    for series, level in levels.items():
        seen = subject.seen(series, level)
        count += sum(
            not holds(c, seen, Decimal(0)) for c in subject.on(series) if not isinstance(c, InstanceCheck)
        )
    for quorum in subject.quorums():
        count += any(
            not holds(k, subject.seen(k.series, levels[k.series]), Decimal(0)) for k in quorum.checks
        )
    return count


def breakable(subject: Subject) -> list[ThresholdCondition]:
    """Threshold conditions that can be violated alone by a level change, one per series, on
    series no trend condition reads (a jump would also be a trend)."""
    trended = {c.series for c in subject.gate.conditions if isinstance(c, TrendCondition)}
    found: dict[str, ThresholdCondition] = {}
    for condition in subject.gate.conditions:
        if (
            isinstance(condition, ThresholdCondition)
            and condition.series not in trended
            and condition.series not in found
            and violating_value(subject, condition) is not None
        ):
            found[condition.series] = condition
    return list(found.values())


Timeline = list[Sample]
Bound = ThresholdCondition | TrendCondition | InstanceCheck
"""What a series is compared with: a condition on it, or a quorum check of its instances."""


def _inputs(subject: Subject, timelines: dict[str, Timeline]) -> list[dict[str, str]]:
    """Each source as given, a better second instance of raw metrics, and strays of other
    realms that violate all along."""
    inputs = []
    for series, samples in timelines.items():
        labels = subject.labels(series)
        quorum = subject.quorum_on(series)
        if quorum is not None:
            inputs += _instances(subject, quorum, series, [samples] * quorum.of)
        else:
            inputs.append(input_series(series, labels, values(samples)))
        better = subject.better_value(series)
        if better is not None and not all(isinstance(v, float) and math.isnan(v) for v in samples):
            # A failed scrape fails for every instance of the job.
            twin = [STALE if v == STALE else float(better) for v in samples]
            inputs.append(input_series(series, subject.labels(series, 2), values(twin)))
        first = next((c for c in subject.on(series) if not isinstance(c, TrendCondition)), None)
        stray = violating_value(subject, first) if first is not None else None
        if stray is None:
            stray = healthy_value(subject, series) + 1000
        for legacy in legacy_label_sets(subject.service, labels, series):
            if quorum is not None:  # posing as a canary instance: the realm filter must keep it out
                legacy = {**legacy, quorum.label: "c1"}
            inputs.append(input_series(series, legacy, f"{promql.number(float(stray))}x{len(samples) - 1}"))
    return inputs


def _instances(
    subject: Subject, quorum: QuorumCondition, series: str, timelines: list[Timeline]
) -> list[dict[str, str]]:
    """One series per canary instance (label quorum.label = c1, c2, …), all of one target."""
    labels = subject.labels(series)
    return [
        input_series(series, {**labels, quorum.label: f"c{i + 1}"}, values(samples))
        for i, samples in enumerate(timelines)
    ]


def _flat(subject: Subject, end: int, changes: dict[str, tuple[Decimal, int, int]]) -> dict[str, Timeline]:
    """Every source healthy and flat from 0 to `end`, except `series → (level, from, to)`."""
    timelines: dict[str, Timeline] = {}
    for series in subject.sources():
        healthy = healthy_value(subject, series)
        level, start, stop = changes.get(series, (healthy, 0, -1))
        timelines[series] = [float(level if start <= t <= stop else healthy) for t in subject.times(end)]
    return timelines


def _group(subject: Subject, name: str, timelines: dict[str, Timeline], **cases: Any) -> dict[str, Any]:
    return {
        "name": f"gate {subject.gate.name}: {name}",
        "interval": duration(subject.step),
        "input_series": _inputs(subject, timelines),
        **cases,
    }


def _value_test(expr: str, t: int, value: float, labels: str) -> dict[str, Any]:
    return {"expr": expr, "eval_time": duration(t), "exp_samples": [{"labels": labels, "value": value}]}


def _gate_series(name: str, subject: Subject, t: int, value: float) -> dict[str, Any]:
    selector = gate_selector(name, subject.service, subject.gate)
    return _value_test(selector, t, value, selector)


def _never(name: str, subject: Subject, end: int) -> dict[str, Any]:
    """`name` was 0 at every evaluation from 0 to `end`."""
    selector = gate_selector(name, subject.service, subject.gate)
    window = held_range(end, subject.interval)
    return _value_test(
        f"max_over_time({selector}[{window}])",
        end,
        0,
        promql.selector("", gate_labels(subject.service, subject.gate)),
    )


def _rollback_alert(subject: Subject) -> dict[str, Any]:
    alert = gate_alert(subject.spec, subject.service, subject.gate)
    labels = {**gate_labels(subject.service, subject.gate), **alert.labels}
    external = subject.spec.settings.external_labels
    annotations = {k: expand(v, labels, 1.0, external) for k, v in alert.annotations.items()}
    return expected_alert(labels, annotations)


def promote_test(subject: Subject) -> dict[str, Any]:
    """Healthy from the start, with one failed scrape of every raw metric on the way."""
    gate, e = subject.gate, subject.interval
    at = subject.warm_up + gate.promote.after
    levels = {s: healthy_value(subject, s) for s in subject.sources()}
    if violations(subject, levels):
        raise ScenarioError("no input satisfies every condition at once")
    timelines = _flat(subject, at + e, {})
    failed = subject.warm_up + 3 * e
    for series in timelines:
        if subject.service.metric(series) is not None:
            timelines[series][failed // subject.step] = STALE
    checks = [_gate_series(PROMOTE, subject, at - e, 0), _gate_series(PROMOTE, subject, at, 1)]
    checks += [_gate_series(VIOLATIONS, subject, at, 0), _gate_series(ROLLBACK, subject, at, 0)]
    for condition in gate.conditions:
        selector = gate_selector(CONDITION_VALUE, subject.service, gate, condition.name)
        if isinstance(condition, ThresholdCondition):
            checks.append(_value_test(selector, at, float(levels[condition.series]), selector))
        elif isinstance(condition, QuorumCondition):
            checks.append(_value_test(selector, at, condition.of, selector))
    return _group(
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
    timelines = _flat(subject, end, {})
    if nan:
        timelines[absent] = [math.nan] * len(timelines[absent])
    else:
        del timelines[absent]
    checks = [_gate_series(VIOLATIONS, subject, end, lost), _never(PROMOTE, subject, end)]
    if lost >= gate.rollback.violations:
        checks.append(_gate_series(ROLLBACK, subject, end, 1))
    else:
        checks.append(_never(ROLLBACK, subject, end))
    what = f"{absent} reading NaN" if nan else f"without {absent}"
    verdict = "rollback" if lost >= gate.rollback.violations else "no rollback"
    return _group(
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
        timelines = _flat(subject, end, {condition.series: (bound, 0, first_stop)})
        timelines[condition.series] = [
            float(bound if t <= first_stop else bound + nudge) for t in subject.times(end)
        ]
        selector = gate_selector(CONDITION_VIOLATED, subject.service, gate, condition.name)
        tests.append(
            _group(
                subject,
                (
                    f"{condition.series} {condition.op} {promql.number(condition.value)}: at "
                    f"{promql.number(float(bound))} {'violated' if expected[0] else 'holds'}, at "
                    f"{promql.number(float(bound + nudge))} {'violated' if expected[1] else 'holds'}"
                ),
                timelines,
                promql_expr_test=[
                    _value_test(selector, t, value, selector)
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
    sustained = _group(
        subject,
        f"{names} violated for {duration(hold)} → rollback, not earlier",
        _flat(subject, end, _violated(subject, chosen[:k], 0, end)),
        promql_expr_test=[
            _gate_series(VIOLATIONS, subject, subject.warm_up, k),
            _gate_series(ROLLBACK, subject, hold - e, 0),
            _gate_series(ROLLBACK, subject, hold, 1),
            _gate_series(PROMOTE, subject, hold, 0),
        ],
        alert_rule_test=[
            alert_case(hold - e, gate.alert_name(), []),
            alert_case(hold, gate.alert_name(), [_rollback_alert(subject)]),
        ],
    )
    onset = subject.warm_up + 2 * e
    brief = _group(
        subject,
        f"{names} violated for {duration(hold - e)} only → no rollback",
        _flat(subject, end + onset, _violated(subject, chosen[:k], onset, onset + hold - e)),
        promql_expr_test=[
            _gate_series(VIOLATIONS, subject, onset, k),
            _never(ROLLBACK, subject, end + onset),
        ],
    )
    tests = [sustained, brief]
    if k >= 2:
        tests.append(
            _group(
                subject,
                f"{k - 1} condition(s) violated for an hour → neither rollback nor promote",
                _flat(subject, HOUR + e, _violated(subject, chosen[: k - 1], onset, HOUR + e)),
                promql_expr_test=[_never(ROLLBACK, subject, HOUR), _never(PROMOTE, subject, HOUR)],
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
            _group(
                subject,
                f"{condition.name} violated → rollback at once",
                _flat(subject, 3 * e, {condition.series: (value, first, 3 * e)}),
                promql_expr_test=[
                    _gate_series(ROLLBACK, subject, first - e, 0),
                    _gate_series(ROLLBACK, subject, first, 1),
                ],
                alert_rule_test=[alert_case(first, gate.alert_name(), [_rollback_alert(subject)])],
            )
        )
    return tests


def float_shows(level: Decimal, change: Decimal) -> bool:
    """Whether float64 samples at `level` and `level + change` differ by `change`, to 1 %."""
    seen = float(level + change) - float(level)
    return abs(seen - float(change)) <= abs(float(change)) / 100


def _trend_test(subject: Subject, condition: TrendCondition) -> dict[str, Any]:
    gate, e = subject.gate, subject.interval
    eps = decimal(condition.epsilon) or Decimal("0.001")
    slope = 2 * eps if condition.trend == "rising" else -2 * eps
    start = healthy_value(subject, condition.series)
    if not float_shows(start, slope * e):
        raise ScenarioError(
            f"{condition.series} is tested near {start:g} (between its thresholds), where float64 "
            f"samples cannot show a change of {float(abs(slope)):g}/s: raise the epsilon of "
            f"{condition.name} or bring the thresholds on {condition.series} closer to 0"
        )
    rise_end = 2 * e
    calm = rise_end + condition.window + e  # the window holds only flat samples again
    end = calm + e
    timelines = _flat(subject, end, {})
    timelines[condition.series] = [float(start + slope * min(t, rise_end)) for t in subject.times(end)]
    checks = [_gate_series(ROLLBACK, subject, 0, 0), _gate_series(ROLLBACK, subject, e, 1)]
    settled = {condition.series: start + slope * rise_end}
    others = {s: healthy_value(subject, s) for s in subject.sources() if s != condition.series}
    if violations(subject, {**others, **settled}) < gate.rollback.violations:
        checks.append(_gate_series(ROLLBACK, subject, calm, 0))
    rate = promql.number(float(abs(slope)))
    what = f"{condition.series} {condition.trend} by {rate}/s for {duration(rise_end)}"
    return _group(
        subject,
        f"{what} → rollback at once, none once the {duration(condition.window)} window is flat",
        timelines,
        promql_expr_test=checks,
        alert_rule_test=[alert_case(e, gate.alert_name(), [_rollback_alert(subject)])],
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
            timelines = _flat(subject, end, {})
            healthy = timelines.pop(check.series)
            broken = [float(bad)] * len(healthy)
            instances = [healthy] * passing + [broken] * (quorum.of - passing)
            inputs = [*_inputs(subject, timelines), *_instances(subject, quorum, check.series, instances)]
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
                        _value_test(value, end, passing, value),
                        _value_test(flag, end, violated, flag),
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
