"""Canary gates → one group of recording rules, read by Argo and `obsgen gate decide` alike.

Per condition (labels gate, condition):
  canary:gate_condition:value         the worst instance's value (a slope per second for trends)
  canary:gate_condition_violated:bool 1 when violated or without data, else 0
Per gate (label gate):
  canary:gate_violations:count        violated conditions now
  canary:promote:bool                 1 when no condition was violated at any evaluation of the
                                      last `promote.after` (and there were all of them)
  canary:rollback:bool                1 when ≥ `rollback.violations` were violated at every
                                      evaluation of the last `rollback.for`, or a condition
                                      marked `rollback_at_once` is violated now

"Held for 15m" means every evaluation from t − 15m to t: 16 samples at a 1m interval. The
range is 15m30s so that Prometheus 2 (closed windows) and 3 (left-open) count the same
samples: recorded samples sit on whole intervals, never on the half-interval edge.
"""

from __future__ import annotations

from fractions import Fraction

from generator import promql
from generator import rule_parts as parts
from generator.alert_contract import gate_alert, gate_labels
from generator.conventions import (
    CONDITION_VALUE,
    CONDITION_VIOLATED,
    GATE_SERIES,
    PROMOTE,
    ROLLBACK,
    VIOLATIONS,
)
from generator.durations import duration_value
from generator.model import Gate, Service, Spec, ThresholdCondition
from generator.model.gates import Condition, QuorumCondition
from generator.rule_parts import Rule


def gate_file(service: Service, gate: Gate) -> str:
    """Slugs hold no dots, so `<service>.gate.<gate>` never clashes with `<service>.<slo>`."""
    return f"{service.service}.gate.{gate.name}"


def gate_group(service: Service, gate: Gate) -> str:
    return f"{service.service}-gate-{gate.name}"


def held_range(duration: int, interval: int) -> str:
    """A range holding exactly the evaluations from t − duration to t, in Prometheus 2 and 3."""
    return duration_value(duration + Fraction(interval, 2))


def evaluations_in(duration: int, interval: int) -> int:
    return duration // interval + 1


def gate_selector(name: str, service: Service, gate: Gate, condition: str | None = None) -> str:
    matchers = gate_labels(service, gate)
    if condition is not None:
        matchers["condition"] = condition
    return promql.selector(name, matchers)


def gate_series_selector(service: Service, gate: Gate) -> str:
    """Every canary:* series of one gate in one selector, with gate_selector's matchers (those of
    the rules and the Argo template): what `obsgen gate decide` reads. Series names hold no regex
    metacharacters."""
    names = promql.quote("|".join(GATE_SERIES))
    matchers = promql.selector("", gate_labels(service, gate)).removeprefix("{")
    return f"{{__name__=~{names}, {matchers}"


def holding_op(condition: Condition) -> tuple[str, float]:
    """The comparison (and bound) under which the condition holds."""
    if isinstance(condition, ThresholdCondition):
        return condition.op, condition.value
    if isinstance(condition, QuorumCondition):
        return ">=", condition.min_passing
    if condition.trend == "rising":
        return "<=", condition.epsilon
    return ">=", -condition.epsilon


def violated_op(condition: Condition) -> tuple[str, float]:
    op, bound = holding_op(condition)
    return promql.NEGATED[op], bound


def last_scrape(spec: Spec, service: Service, series: str) -> str:
    """The last scrape of two: one failed scrape (a stale marker) must not restart promotion."""
    scrape = service.scrape_interval(spec.settings.scrape_interval)
    source = promql.selector(series, service.scope(series))
    return promql.call("last_over_time", promql.range_vector(source, 2 * scrape))


def passing_instances_expr(spec: Spec, service: Service, quorum: QuorumCondition) -> str:
    """How many instances pass every check: each check per instance (the worst series of an
    instance decides), multiplied across checks, so an instance missing a series never passes."""
    by = [quorum.label]
    checks = []
    for check in quorum.checks:
        metric = service.metric(check.series)
        read = last_scrape(spec, service, check.series)
        if metric is not None and metric.ratio:
            read = promql.call("clamp", read, "0", "1")
        checks.append(
            promql.aggregate("min", promql.compare(read, check.op, check.value, as_bool=True), by=by)
        )
    passing = f" * on ({quorum.label}) ".join(promql.group(c) for c in checks)
    return f"{promql.aggregate('count', f'{passing} == 1')} or on () vector(0)"


def condition_value_expr(spec: Spec, service: Service, condition: Condition) -> str:
    if isinstance(condition, QuorumCondition):
        return passing_instances_expr(spec, service, condition)
    source = promql.selector(condition.series, service.scope(condition.series))
    metric = service.metric(condition.series)
    if isinstance(condition, ThresholdCondition) and metric is not None:
        read = last_scrape(spec, service, condition.series)
    elif isinstance(condition, ThresholdCondition):
        read = source
    else:
        read = promql.call("deriv", promql.range_vector(source, condition.window))
    worst = promql.aggregate(condition.worst_of(), read)
    if isinstance(condition, ThresholdCondition) and metric is not None and metric.ratio:
        return promql.call("clamp", worst, "0", "1")
    return worst


def violated_expr(service: Service, gate: Gate, condition: Condition) -> str:
    """1 unless the condition provably holds: no data and NaN (every comparison with NaN is
    false, e.g. a share of zero samples) count as violated."""
    op, bound = holding_op(condition)
    value = gate_selector(CONDITION_VALUE, service, gate, condition.name)
    return f"1 - ({promql.compare(value, op, bound, as_bool=True)}) or on () vector(1)"


def held(service: Service, gate: Gate, duration: int, interval: int) -> tuple[str, str]:
    """The violation count over the evaluations of the last `duration`, and the check that
    every one of them is there (a gate that just started has not held anything yet)."""
    span = f"{gate_selector(VIOLATIONS, service, gate)}[{held_range(duration, interval)}]"
    count = promql.call("count_over_time", span)
    return span, promql.compare(count, ">=", evaluations_in(duration, interval), as_bool=True)


def promote_expr(service: Service, gate: Gate, interval: int) -> str:
    span, complete = held(service, gate, gate.promote.after, interval)
    clean = promql.compare(promql.call("max_over_time", span), "==", 0, as_bool=True)
    return f"{promql.aggregate('max', f'({complete}) * ({clean})')} or on () vector(0)"


def rollback_expr(service: Service, gate: Gate, interval: int) -> str:
    span, complete = held(service, gate, gate.rollback.for_, interval)
    sustained = promql.compare(
        promql.call("min_over_time", span), ">=", gate.rollback.violations, as_bool=True
    )
    verdict = promql.aggregate("max", f"({complete}) * ({sustained})")
    at_once = [c for c in gate.conditions if c.rollback_at_once]
    if at_once:
        # Only a measured violation counts here: a trend without two samples yet is not rising.
        measured = " or ".join(
            promql.compare(
                gate_selector(CONDITION_VALUE, service, gate, c.name), *violated_op(c), as_bool=True
            )
            for c in at_once
        )
        verdict = f"({verdict} + ({promql.aggregate('max', measured)} or on () vector(0))) > bool 0"
    return f"{verdict} or on () vector(0)"


def gate_rules(spec: Spec, service: Service, gate: Gate, interval: int) -> list[Rule]:
    labels = gate_labels(service, gate)
    rules: list[Rule] = []
    for condition in gate.conditions:
        own = {**labels, "condition": condition.name}
        rules.append(parts.record(CONDITION_VALUE, condition_value_expr(spec, service, condition), own))
        rules.append(parts.record(CONDITION_VIOLATED, violated_expr(service, gate, condition), own))
    rules += [
        parts.record(
            VIOLATIONS, promql.aggregate("sum", gate_selector(CONDITION_VIOLATED, service, gate)), labels
        ),
        parts.record(PROMOTE, promote_expr(service, gate, interval), labels),
        parts.record(ROLLBACK, rollback_expr(service, gate, interval), labels),
        parts.alert(
            gate_alert(spec, service, gate), promql.compare(gate_selector(ROLLBACK, service, gate), "==", 1)
        ),
    ]
    return rules
