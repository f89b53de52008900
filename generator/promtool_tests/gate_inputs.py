"""The input series and expectations of a gate's generated tests: each source as the scenario
says, a better second instance, and strays of other realms that violate all along."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from generator import promql
from generator.alert_contract import gate_alert, gate_labels
from generator.alert_templates import expand
from generator.gate_rules import gate_selector, held_range
from generator.model import TrendCondition
from generator.model.gates import QuorumCondition
from generator.promtool_tests.gate_levels import Subject, Timeline, healthy_value, violating_value
from generator.promtool_tests.series import (
    STALE,
    duration,
    expected_alert,
    input_series,
    legacy_label_sets,
    values,
)


def source_inputs(subject: Subject, timelines: dict[str, Timeline]) -> list[dict[str, str]]:
    """Each source as given, a better second instance of raw metrics, and strays of other
    realms that violate all along."""
    inputs = []
    for series, samples in timelines.items():
        labels = subject.labels(series)
        quorum = subject.quorum_on(series)
        if quorum is not None:
            inputs += instance_inputs(subject, quorum, series, [samples] * quorum.of)
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


def instance_inputs(
    subject: Subject, quorum: QuorumCondition, series: str, timelines: list[Timeline]
) -> list[dict[str, str]]:
    """One series per canary instance (label quorum.label = c1, c2, …), all of one target."""
    labels = subject.labels(series)
    return [
        input_series(series, {**labels, quorum.label: f"c{i + 1}"}, values(samples))
        for i, samples in enumerate(timelines)
    ]


def flat_timelines(
    subject: Subject, end: int, changes: dict[str, tuple[Decimal, int, int]]
) -> dict[str, Timeline]:
    """Every source healthy and flat from 0 to `end`, except `series → (level, from, to)`."""
    timelines: dict[str, Timeline] = {}
    for series in subject.sources():
        healthy = healthy_value(subject, series)
        level, start, stop = changes.get(series, (healthy, 0, -1))
        timelines[series] = [float(level if start <= t <= stop else healthy) for t in subject.times(end)]
    return timelines


def scenario_group(
    subject: Subject, name: str, timelines: dict[str, Timeline], **cases: Any
) -> dict[str, Any]:
    return {
        "name": f"gate {subject.gate.name}: {name}",
        "interval": duration(subject.step),
        "input_series": source_inputs(subject, timelines),
        **cases,
    }


def value_test(expr: str, t: int, value: float, labels: str) -> dict[str, Any]:
    return {"expr": expr, "eval_time": duration(t), "exp_samples": [{"labels": labels, "value": value}]}


def gate_series_test(name: str, subject: Subject, t: int, value: float) -> dict[str, Any]:
    selector = gate_selector(name, subject.service, subject.gate)
    return value_test(selector, t, value, selector)


def never_test(name: str, subject: Subject, end: int) -> dict[str, Any]:
    """`name` was 0 at every evaluation from 0 to `end`."""
    selector = gate_selector(name, subject.service, subject.gate)
    window = held_range(end, subject.interval)
    return value_test(
        f"max_over_time({selector}[{window}])",
        end,
        0,
        promql.selector("", gate_labels(subject.service, subject.gate)),
    )


def rollback_alert(subject: Subject) -> dict[str, Any]:
    alert = gate_alert(subject.spec, subject.service, subject.gate)
    labels = {**gate_labels(subject.service, subject.gate), **alert.labels}
    external = subject.spec.settings.external_labels
    annotations = {k: expand(v, labels, 1.0, external) for k, v in alert.annotations.items()}
    return expected_alert(labels, annotations)
