"""Heartbeat timing: a heartbeat that would flap while healthy is refused."""

from __future__ import annotations

from collections.abc import Iterator

from generator.durations import format_duration
from generator.heartbeat_timing import largest_healthy_age, shortest_window
from generator.model import Service, Spec
from generator.validate.catalog import Found
from generator.validate.names import duplicates


def heartbeat_issues(spec: Spec, service: Service) -> Iterator[Found]:
    """Timing is checked, not trusted: a heartbeat that would flap while healthy is refused."""
    interval = spec.settings.evaluation_interval
    yield from duplicates([h.metric for h in service.heartbeats], "heartbeats", "heartbeat metric")
    for i, heartbeat in enumerate(service.heartbeats):
        period, scrape = format_duration(heartbeat.period), format_duration(heartbeat.scrape_interval)
        if heartbeat.window <= shortest_window(heartbeat):
            yield (
                ("heartbeats", i, "window"),
                (
                    f"window {format_duration(heartbeat.window)} is too short: changes() needs at least "
                    f"period {period} + 2 × scrape interval {scrape} + ε = more than "
                    f"{format_duration(shortest_window(heartbeat))}, or a healthy heartbeat reads 0 changes"
                ),
            )
        age = largest_healthy_age(heartbeat, interval)
        if heartbeat.freshness <= age:
            yield (
                ("heartbeats", i, "freshness"),
                (
                    f"freshness {format_duration(heartbeat.freshness)} would flap: a healthy heartbeat's "
                    f"last beat can be period {period} + scrape interval {scrape} + evaluation interval "
                    f"{format_duration(interval)} = {format_duration(age)} old, so the threshold must "
                    f"exceed {format_duration(age)} (the smallest safe value is {format_duration(age + 1)})"
                ),
            )
        if service.metric(heartbeat.metric) is not None:
            yield (
                ("heartbeats", i, "metric"),
                f"{heartbeat.metric} is also in the `metrics` catalog; a heartbeat declares its own metric",
            )
