"""A canary gate as its generated tests see it: which series feed it, and the levels that keep
or break each of its conditions (computed from the spec, never from the compiled rules)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from generator.model import Gate, Service, Spec, ThresholdCondition, TrendCondition
from generator.model.gates import InstanceCheck, QuorumCondition
from generator.promtool_tests.series import Sample, decimal, target_labels

Timeline = list[Sample]
Bound = ThresholdCondition | TrendCondition | InstanceCheck


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
            return self.service.clamps(signal)
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
            return healthy - margin(healthy) / 2
        top = Decimal(1) if self.is_ratio(series) else healthy + 2 * margin(healthy)
        return healthy + (top - healthy) / 2


def margin(value: Decimal) -> Decimal:
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
        return high - margin(high)
    return low + margin(low) if low.is_finite() else Decimal(0)


def violating_value(subject: Subject, condition: ThresholdCondition) -> Decimal | None:
    """A value that breaks the condition (after the ratio clamp), or None if none can."""
    bound = decimal(condition.value)
    if condition.op == "==":
        value = (
            (Decimal(0) if bound != 0 else Decimal(1)) if subject.is_ratio(condition.series) else bound + 1
        )
    elif condition.op in ("<", "<="):
        value = bound + margin(bound)
    else:
        value = bound - margin(bound)
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


def float_shows(level: Decimal, change: Decimal) -> bool:
    """Whether float64 samples at `level` and `level + change` differ by `change`, to 1 %."""
    seen = float(level + change) - float(level)
    return abs(seen - float(change)) <= abs(float(change)) / 100
