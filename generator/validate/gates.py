"""Canary gates: what each condition reads, quorum instances, and timing in whole evaluations."""

from __future__ import annotations

from collections.abc import Iterator

from generator.durations import format_duration
from generator.errors import unknown
from generator.loader import PathKey
from generator.model import Service, Spec, TrendCondition
from generator.model.gates import QuorumCondition
from generator.validate.catalog import Found, records
from generator.validate.names import duplicates


def _gate_source_interval(spec: Spec, service: Service, series: str) -> int | None:
    """How often the series a gate condition reads gets a new sample; None if unknown here."""
    if service.signal(series) is not None:
        return spec.settings.evaluation_interval
    for heartbeat in service.heartbeats:
        if series in (heartbeat.ok_record(), heartbeat.changes_record()):
            return spec.settings.evaluation_interval
    metric = service.metric(series)
    if metric is not None and metric.type == "gauge":
        return service.scrape_interval(spec.settings.scrape_interval)
    return None


def _quorum_issues(service: Service, quorum: QuorumCondition, path: PathKey) -> Iterator[Found]:
    for k, check in enumerate(quorum.checks):
        metric = service.metric(check.series)
        where = (*path, "checks", k, "series")
        if metric is None or metric.type != "gauge":
            message = (
                f"{check.series!r} is not a gauge in this service's `metrics` (instances are raw series)"
            )
            yield where, message if metric else unknown(message, check.series, _gauges(service))
        elif quorum.label not in metric.labels:
            yield where, f"{check.series} has no label {quorum.label!r} to tell canary instances apart"


def gate_issues(spec: Spec, service: Service) -> Iterator[Found]:
    interval = spec.settings.evaluation_interval
    for i, gate in enumerate(service.gates):
        base: PathKey = ("gates", i)
        yield from duplicates([c.name for c in gate.conditions], (*base, "conditions"), "condition")
        for j, condition in enumerate(gate.conditions):
            path = (*base, "conditions", j)
            if isinstance(condition, QuorumCondition):
                yield from _quorum_issues(service, condition, path)
                continue
            every = _gate_source_interval(spec, service, condition.series)
            if every is None:
                message = (
                    f"{condition.series!r} is not a gauge in this service's `metrics`, one of its "
                    "`signals` or a heartbeat's _ok/_changes record"
                )
                if service.metric(condition.series) is None:
                    message = unknown(message, condition.series, _gate_sources(service))
                yield (*path, "series"), message
            elif isinstance(condition, TrendCondition) and condition.window <= 2 * every:
                yield (
                    (*path, "window"),
                    (
                        f"window {format_duration(condition.window)} must be longer than two sample "
                        f"intervals ({condition.series} gets one every {format_duration(every)}), or a late "
                        "sample leaves deriv() fewer than the two samples it needs"
                    ),
                )
        for field, value in (("promote", gate.promote.after), ("rollback", gate.rollback.for_)):
            if value % interval:
                key = "after" if field == "promote" else "for"
                yield (
                    (*base, field, key),
                    (
                        f"{format_duration(value)} must be a whole number of evaluation intervals "
                        f"({format_duration(interval)}): the gate counts evaluations"
                    ),
                )


def _gauges(service: Service) -> list[str]:
    return [metric.name for metric in service.metrics if metric.type == "gauge"]


def _gate_sources(service: Service) -> list[str]:
    """What a gate condition may read: gauges, signals and heartbeat records."""
    beats = [name for h in service.heartbeats for name in (h.ok_record(), h.changes_record())]
    return [*_gauges(service), *records(service), *beats]
