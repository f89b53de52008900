"""`obsgen targets verify`: every scrape job the spec declares has targets, all of them are up,
and each exposes the metrics the spec declares for its job."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from generator import promql
from generator.live.prom import Sample
from generator.model import Metric, Spec

TARGET_LABELS = ("job", "instance", "__name__")


@dataclass(frozen=True)
class Job:
    name: str
    origin: str
    """why the spec declares it, e.g. `service duri`, `probe of bridge`"""
    metrics: tuple[str, ...] = ()
    """the series names every target of the job must expose, sorted"""


@dataclass(frozen=True)
class JobState:
    job: Job
    up: int
    total: int
    down: tuple[str, ...]
    """instances whose `up` is not 1"""
    missing: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(instance, the declared series names it lacks) of each up target that lacks some"""

    @property
    def healthy(self) -> bool:
        return self.total > 0 and self.up == self.total and not self.missing

    @property
    def state(self) -> str:
        if self.total == 0:
            return "NO TARGETS"
        if self.up < self.total:
            return "DOWN"
        return "MISSING" if self.missing else "ok"


def exposed_series(metric: Metric) -> tuple[str, ...]:
    """The series names every exposition of `metric` has: a histogram's `_bucket`, `_count` and
    `_sum`, a summary's `_count` and `_sum` (its quantiles are optional), else the name itself."""
    if metric.type == "histogram":
        return tuple(f"{metric.name}{suffix}" for suffix in ("_bucket", "_count", "_sum"))
    if metric.type == "summary":
        return (f"{metric.name}_count", f"{metric.name}_sum")
    return (metric.name,)


def metrics_by_job(spec: Spec) -> dict[str, set[str]]:
    """job → the series names the spec places on it: a scraped service's own metrics on its job,
    an `external` metric on the job it names (one without a job is not placed), a heartbeat's
    metric on its textfile-collector job. A service without `scrape` has no job of its own."""
    found: dict[str, set[str]] = {}
    for service in spec.services:
        for metric in service.metrics:
            job = metric.job if metric.external else (service.job if service.scrape else None)
            if job is not None:
                found.setdefault(job, set()).update(exposed_series(metric))
        for heartbeat in service.heartbeats:
            found.setdefault(service.heartbeat_job(heartbeat), set()).add(heartbeat.metric)
    return found


def expected_jobs(spec: Spec) -> list[Job]:
    """The jobs generator/prometheus_config.py writes (services, blackbox probes, heartbeats),
    each with the series names its targets must expose."""
    origins: dict[str, str] = {}
    for service in spec.services:
        found = [(service.job, f"service {service.service}")] if service.scrape else []
        found += [(probe.name, f"probe of {service.service}") for probe in service.probes]
        found += [
            (service.heartbeat_job(heartbeat), f"heartbeat {heartbeat.metric}")
            for heartbeat in service.heartbeats
        ]
        for name, origin in found:
            origins.setdefault(name, origin)
    metrics = metrics_by_job(spec)
    return [Job(name, origin, tuple(sorted(metrics.get(name, ())))) for name, origin in origins.items()]


def targets_query(jobs: Sequence[Job]) -> str:
    """One query for both checks: each target's `up` (its value kept by `max`) and one sample
    per declared series name it exposes, e.g.
    `max by (job, instance, __name__) ({__name__=~"up|x", job=~"a|b"})`."""
    # Job names are slugs and metric names [a-zA-Z0-9_:], so neither needs regex escaping.
    names = sorted({"up", *(name for job in jobs for name in job.metrics)})
    matchers = [("__name__", "=~", "|".join(names)), ("job", "=~", "|".join(job.name for job in jobs))]
    return promql.aggregate("max", promql.selector("", matchers), by=TARGET_LABELS)


def job_states(jobs: Sequence[Job], samples: Iterable[Sample]) -> list[JobState]:
    """Per job: its `up` samples counted, and each up target's exposed names compared with the
    job's declared ones. Samples of other names without an `up` beside them are ignored."""
    up: dict[str, list[Sample]] = {}
    exposed: dict[tuple[str, str], set[str]] = {}
    for sample in samples:
        job, instance, name = (sample.labels.get(label, "") for label in TARGET_LABELS)
        if name == "up":
            up.setdefault(job, []).append(sample)
        else:
            exposed.setdefault((job, instance), set()).add(name)
    return [job_state(job, up.get(job.name, []), exposed) for job in jobs]


def job_state(job: Job, up: Sequence[Sample], exposed: dict[tuple[str, str], set[str]]) -> JobState:
    down = tuple(sorted(s.labels.get("instance", "?") for s in up if s.value != 1))
    missing = []
    for instance in sorted(s.labels.get("instance", "?") for s in up if s.value == 1):
        lacking = tuple(name for name in job.metrics if name not in exposed.get((job.name, instance), ()))
        if lacking:
            missing.append((instance, lacking))
    return JobState(job, len(up) - len(down), len(up), down, tuple(missing))


def render(url: str, states: Sequence[JobState]) -> list[str]:
    """Header, the table, one line per up target lacking declared metrics, then one final line
    beginning with [OK], [DOWN] (a target down, or a job without targets) or [MISSING]."""
    rows = [("job", "up", "total", "metrics", "state", "declared by")]
    rows += [
        (s.job.name, str(s.up), str(s.total), str(len(s.job.metrics)), s.state, s.job.origin) for s in states
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [f"scrape targets of {len(states)} job(s) at {url}"]
    for name, up, total, metrics, state, origin in rows:
        lines.append(
            f"  {name.ljust(widths[0])}  {up.rjust(widths[1])}  {total.rjust(widths[2])}  "
            f"{metrics.rjust(widths[3])}  {state.ljust(widths[4])}  {origin}"
        )
    lines += [
        f"  {s.job.name} {instance}: missing {', '.join(names)}"
        for s in states
        for instance, names in s.missing
    ]
    lines.append(verdict_line(states))
    return lines


def verdict_line(states: Sequence[JobState]) -> str:
    bad = [s for s in states if not s.healthy]
    if not bad:
        return f"[OK] every target of all {len(states)} job(s) is up and exposes its declared metrics"
    details = [
        f"{s.job.name}: {s.up} of {s.total} target(s) up, down: {', '.join(s.down)}" for s in bad if s.down
    ]
    details += [
        f"{s.job.name}: {len(s.missing)} of {s.up} up target(s) lack declared metrics"
        for s in bad
        if s.missing
    ]
    empty = [s.job.name for s in bad if not s.total]
    if empty:
        details.append(
            f"no targets for {', '.join(empty)} (not in this Prometheus's configuration, or not scraped yet)"
        )
    tag = "[DOWN]" if any(s.down or not s.total for s in bad) else "[MISSING]"
    return f"{tag} {'; '.join(details)}"
