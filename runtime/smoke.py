"""`obsgen smoke`: the seed's smoke test of a running deployment (or the sandbox), after a
session restore, a DR recovery or a bootstrap.

Prometheus and Alertmanager answer ready, every runtime component runs and answers /readyz 200
and its metrics, and every scrape job of the spec has its targets up, exposing their declared
series (`obsgen targets verify`). Each check is retried until it passes or `wait` runs out, so a
component started a second ago gets its first scrapes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from generator.live.http_client import Unreachable, status_of
from generator.live.prom import Prometheus
from generator.live.targets import JobState, expected_jobs, job_states, render, targets_query
from generator.model import Spec
from runtime.components import Component, running
from runtime.session import Check

Probe = Callable[[], tuple[bool, str]]


@dataclass(frozen=True)
class Endpoints:
    prometheus: str
    alertmanager: str
    run_dir: Path
    components: tuple[str, ...] = ()
    """components that must run (the session env's); others found running are checked too"""


def until(deadline: float, probe: Probe, every: float = 0.25) -> tuple[bool, str]:
    """`probe` until it passes or `deadline` (monotonic) passes; its last answer."""
    while True:
        ok, detail = probe()
        if ok or time.monotonic() >= deadline:
            return ok, detail
        time.sleep(every)


def ready_probe(url: str) -> Probe:
    def probe() -> tuple[bool, str]:
        status = status_of(url, timeout=2)
        return status == 200, f"{url} answers {status}" if status else f"{url} does not answer"

    return probe


def component_probe(component: Component) -> Probe:
    def probe() -> tuple[bool, str]:
        ready = status_of(f"{component.base_url}/readyz", timeout=2)
        metrics = status_of(f"{component.base_url}{component.path}", timeout=2)
        detail = (
            f"pid {component.pid}, /readyz {ready or 'no answer'}, {component.path} {metrics or 'no answer'}"
        )
        return ready == 200 and metrics == 200, detail

    return probe


def targets_probe(prometheus: Prometheus, spec: Spec, last: list[JobState], since: float | None) -> Probe:
    """Every job's targets up with their declared series; with `since` (unix time), only once
    every target was scraped after it, so a component restarted a moment ago is not judged by
    the samples of the process it replaced."""
    jobs = expected_jobs(spec)

    def probe() -> tuple[bool, str]:
        try:
            stale = [] if since is None else scraped_before(prometheus, since)
            states = job_states(jobs, prometheus.query(targets_query(jobs)))
        except Unreachable as exc:
            return False, f"Prometheus did not answer: {exc}"
        last[:] = states
        bad = [s for s in states if not s.healthy]
        if bad:
            return False, ", ".join(f"{s.job.name} {s.state}" for s in bad)
        if stale:
            return False, f"not scraped since the restart yet: {', '.join(stale)}"
        return True, f"every target of {len(states)} job(s) up, declared series exposed"

    return probe


def scraped_before(prometheus: Prometheus, since: float) -> list[str]:
    """`job instance` of each active target whose last scrape is older than `since`."""
    targets = prometheus.get_json("/api/v1/targets?state=active")["data"]["activeTargets"]
    return sorted(
        f"{t['labels'].get('job', '?')} {t['labels'].get('instance', '?')}"
        for t in targets
        if _unix(t.get("lastScrape", "")) < since
    )


def _unix(stamp: str) -> float:
    """An RFC 3339 time as Prometheus writes it (nanoseconds, `Z`); 0 when unreadable."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", stamp)
    if match is None:
        return 0.0
    zone = "+00:00" if match[3] == "Z" else match[3]
    moment = datetime.fromisoformat(match[1] + zone)
    return moment.timestamp() + float(match[2] or 0)


def smoke_checks(
    spec: Spec, endpoints: Endpoints, wait: float, since: float | None = None
) -> tuple[list[Check], list[str]]:
    """The checks, and the targets table when the targets check failed; with `since`, targets
    must have been scraped after it (see targets_probe)."""
    deadline = time.monotonic() + wait
    checks = [
        Check(name, *until(deadline, ready_probe(f"{url}/-/ready")))
        for name, url in (("prometheus", endpoints.prometheus), ("alertmanager", endpoints.alertmanager))
    ]
    found = {c.name: c for c in running(endpoints.run_dir)}
    for name in endpoints.components:
        if name not in found:
            checks.append(Check(f"component {name}", False, f"not running (obsgen component start {name})"))
    for name, component in sorted(found.items()):
        checks.append(Check(f"component {name}", *until(deadline, component_probe(component))))
    states: list[JobState] = []
    prometheus = Prometheus(endpoints.prometheus, timeout=5)
    ok, detail = until(deadline, targets_probe(prometheus, spec, states, since), every=0.5)
    checks.append(Check("targets", ok, detail))
    return checks, ([] if ok or not states else render(endpoints.prometheus, states))
