"""`obsgen targets verify`: every scrape job the spec declares has targets, and all are up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generator import promql
from generator.live.prom import Sample
from generator.model import Spec


@dataclass(frozen=True)
class Job:
    name: str
    origin: str
    """why the spec declares it, e.g. `service duri`, `probe of bridge`"""


@dataclass(frozen=True)
class JobState:
    job: Job
    up: int
    total: int
    down: tuple[str, ...]
    """instances whose `up` is not 1"""

    @property
    def healthy(self) -> bool:
        return self.total > 0 and self.up == self.total

    @property
    def state(self) -> str:
        if self.total == 0:
            return "NO TARGETS"
        return "ok" if self.healthy else "DOWN"


def expected_jobs(spec: Spec) -> list[Job]:
    """The jobs generator/prometheus_config.py writes: services, blackbox probes, heartbeats."""
    jobs: dict[str, Job] = {}
    for service in spec.services:
        found = [Job(service.job, f"service {service.service}")] if service.scrape else []
        found += [Job(probe.name, f"probe of {service.service}") for probe in service.probes]
        found += [
            Job(service.heartbeat_job(heartbeat), f"heartbeat {heartbeat.metric}")
            for heartbeat in service.heartbeats
        ]
        for job in found:
            jobs.setdefault(job.name, job)
    return list(jobs.values())


def up_query(jobs: Sequence[Job]) -> str:
    # Job names are slugs ([a-z0-9-]), so they need no regex escaping.
    return f"up{{job=~{promql.quote('|'.join(job.name for job in jobs))}}}"


def job_states(jobs: Sequence[Job], samples: Iterable[Sample]) -> list[JobState]:
    by_job: dict[str, list[Sample]] = {}
    for sample in samples:
        by_job.setdefault(sample.labels.get("job", ""), []).append(sample)
    states = []
    for job in jobs:
        targets = by_job.get(job.name, [])
        down = tuple(sorted(s.labels.get("instance", "?") for s in targets if s.value != 1))
        states.append(JobState(job, len(targets) - len(down), len(targets), down))
    return states


def render(url: str, states: Sequence[JobState]) -> list[str]:
    """Header, the table, then one final line beginning with [OK] or [DOWN]."""
    rows = [("job", "up", "total", "state", "declared by")]
    rows += [(s.job.name, str(s.up), str(s.total), s.state, s.job.origin) for s in states]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"scrape targets of {len(states)} job(s) at {url}"]
    for name, up, total, state, origin in rows:
        lines.append(
            f"  {name.ljust(widths[0])}  {up.rjust(widths[1])}  {total.rjust(widths[2])}  "
            f"{state.ljust(widths[3])}  {origin}"
        )
    bad = [s for s in states if not s.healthy]
    if not bad:
        lines.append(f"[OK] every target of all {len(states)} job(s) is up")
        return lines
    details = [
        f"{s.job.name}: {s.up} of {s.total} target(s) up, down: {', '.join(s.down)}" for s in bad if s.total
    ]
    empty = [s.job.name for s in bad if not s.total]
    if empty:
        details.append(
            f"no targets for {', '.join(empty)} (not in this Prometheus's configuration, or not scraped yet)"
        )
    lines.append(f"[DOWN] {'; '.join(details)}")
    return lines
