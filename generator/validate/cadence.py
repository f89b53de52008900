"""How often things are recorded: no series may go stale between two of its samples."""

from __future__ import annotations

from collections.abc import Iterator

from generator.durations import format_duration
from generator.model import Service, Spec
from generator.validate.catalog import Found

# Prometheus forgets a series 5m after its last sample; anything recorded less often than
# every 2m30s would flicker in and out of instant queries (dashboards, other groups).
MAX_RECORDING_INTERVAL = 150


MIN_TIME_SLICE = 10


def cadence_issues(spec: Spec, service: Service) -> Iterator[Found]:
    for i, slo in enumerate(service.slos):
        if slo.time_slice < MIN_TIME_SLICE:
            yield (
                ("slos", i, "time_slice"),
                (
                    f"time_slice {format_duration(slo.time_slice)} is shorter than "
                    f"{format_duration(MIN_TIME_SLICE)}: the 30-day window would read more samples than "
                    "a query may load"
                ),
            )
        if slo.time_slice > MAX_RECORDING_INTERVAL:
            yield (
                ("slos", i, "time_slice"),
                (
                    f"time_slice {format_duration(slo.time_slice)} is longer than "
                    f"{format_duration(MAX_RECORDING_INTERVAL)}: SLO series are recorded once per slice, "
                    "and Prometheus drops a series 5m after its last sample"
                ),
            )
