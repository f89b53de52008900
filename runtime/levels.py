"""Healthy values for every gauge a service exports, derived from what the spec demands of it:
the thresholds of its SLOs, alerts and gate conditions (on the metric or a signal of it)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from generator.model import Service, ThresholdAlert, ThresholdCondition
from generator.model.gates import QuorumCondition


@dataclass(frozen=True)
class Level:
    value: float
    spread: float = 0.0
    """amplitude of noise around `value` (signals over a spread must see some)"""


def _sources(service: Service, metric: str) -> set[str]:
    """The metric and every signal recorded from it."""
    return {metric, *(s.record for s in service.signals if s.metric == metric)}


def _bounds(service: Service, metric: str) -> tuple[float, float]:
    low, high = -math.inf, math.inf
    names = _sources(service, metric)

    def add(op: str, value: float) -> None:
        nonlocal low, high
        if op in ("<", "<="):
            high = min(high, value)
        elif op in (">", ">="):
            low = max(low, value)

    for slo in service.slos:
        if slo.sli.threshold and slo.sli.threshold.signal in names:
            add(slo.sli.threshold.op, slo.sli.threshold.value)
    for alert in service.alerts:
        if isinstance(alert, ThresholdAlert) and (alert.signal in names or alert.metric in names):
            add({">": "<=", ">=": "<", "<": ">=", "<=": ">"}.get(alert.op, "=="), alert.value)
    for gate in service.gates:
        for condition in gate.conditions:
            if isinstance(condition, ThresholdCondition) and condition.series in names:
                add(condition.op, condition.value)
            if isinstance(condition, QuorumCondition):
                for check in condition.checks:
                    if check.series in names:
                        add(check.op, check.value)
    return low, high


def healthy_level(service: Service, metric: str) -> Level:
    low, high = _bounds(service, metric)
    catalog = service.metric(metric)
    if catalog is not None and catalog.ratio:
        low, high = max(low, 0.0), min(high, 1.0)
    if math.isfinite(low) and math.isfinite(high):
        value = (low + high) / 2
    elif math.isfinite(high):
        value = high / 2 if high > 0 else high - 1
    elif math.isfinite(low):
        value = low * 1.5 if low > 0 else low + 1
    else:
        value = 1.0
    spread = 0.0
    for signal in service.signals:
        if signal.metric == metric and signal.function == "stddev":
            spread = (high - value) / 3 if math.isfinite(high) else 0.01
    return Level(value, spread)
