"""`obsgen probe`: the seed's latency budgets (§7) measured end to end against a running stack.

Two checks. Each scraped service target Prometheus has active is scraped here a bounded number
of times, one new connection each, and its p95 compared with the scrape budget (150 ms). Each
loop's jitter histogram is read through Prometheus as a p95 over a window and compared with the
jitter budget (25 ms). The spec has no field for either budget, so they are options with the
seed's figures as defaults. This module is pure: choosing targets, the query, the percentile,
the verdict and the output; generator/live/commands.py does the I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any

from generator import promql
from generator.exit_codes import ExitCode
from generator.model import Service, Spec

SCRAPE_BUDGET_MS = 150.0
"""The seed's §7: exporter scrape p95 ≤ 150 ms."""
JITTER_BUDGET_MS = 25.0
"""The seed's §7: bridge tick jitter p95 ≤ 25 ms."""
QUANTILE = 0.95
SCRAPE_ACCEPT = "text/plain;version=0.0.4;q=1,*/*;q=0.1"
"""What Prometheus accepts when it scrapes the text format."""

_BUDGET_RE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|s)?")


class State(Enum):
    """A check's outcome, least severe first; the most severe sets the exit code."""

    OK = ("ok", "[OK]", ExitCode.OK)
    MISSED = ("MISSED", "[MISSED]", ExitCode.CHECK_FAILED)
    NO_DATA = ("NO DATA", "[NO DATA]", ExitCode.NO_DATA)
    UNREACHABLE = ("UNREACHABLE", "[UNREACHABLE]", ExitCode.UNREACHABLE)

    def __init__(self, word: str, tag: str, code: ExitCode) -> None:
        self.word = word
        self.tag = tag
        self.code = code


SEVERITY = tuple(State)


@dataclass(frozen=True)
class ScrapeTarget:
    service: str
    url: str
    """the scrapeUrl Prometheus reports"""


@dataclass(frozen=True)
class Result:
    check: str
    """`scrape` or `jitter`"""
    subject: str
    """the target (`bridge http://…/metrics_bridge`) or the loop (`bridge loop`)"""
    p95_ms: float | None
    budget_ms: float
    state: State
    why: str = ""
    """for a state other than ok or MISSED: what went wrong"""


def parse_budget_ms(text: str) -> float:
    """Milliseconds of `150ms`, `0.15s` or `150` (ms); raises ValueError with what was expected."""
    match = _BUDGET_RE.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"expected a time such as 150ms or 0.15s, got {text!r}")
    value = float(match.group(1)) * (1000 if match.group(2) == "s" else 1)
    if not 0 < value < math.inf:
        raise ValueError(f"expected a time longer than zero, got {text!r}")
    return value


def scraped_services(spec: Spec) -> list[Service]:
    return [service for service in spec.services if service.scrape is not None]


def loop_services(spec: Spec) -> list[Service]:
    return [service for service in spec.services if service.loop is not None]


def active_targets(answer: Any) -> list[Mapping[str, Any]]:
    """The activeTargets of a /api/v1/targets answer; raises ValueError when it is not one."""
    if not isinstance(answer, dict) or answer.get("status") != "success":
        raise ValueError("the targets API did not answer with status success")
    found = (answer.get("data") or {}).get("activeTargets")
    if not isinstance(found, list):
        raise ValueError("the targets API answer holds no activeTargets list")
    return [target for target in found if isinstance(target, dict)]


def scrape_targets(services: Sequence[Service], targets: Iterable[Mapping[str, Any]]) -> list[ScrapeTarget]:
    """The active targets of the services' scrape jobs, matched as the rules scope selectors
    (job, and realm when the service has one), sorted per service by URL."""
    found = []
    for service in services:
        wanted = {"job": service.job, **service.realm_matchers()}
        urls = {
            str(target.get("scrapeUrl"))
            for target in targets
            if target.get("scrapeUrl")
            and isinstance(target.get("labels"), dict)
            and all(target["labels"].get(label) == value for label, value in wanted.items())
        }
        found += [ScrapeTarget(service.service, url) for url in sorted(urls)]
    return found


def services_without_targets(services: Sequence[Service], found: Sequence[ScrapeTarget]) -> list[Service]:
    having = {target.service for target in found}
    return [service for service in services if service.service not in having]


def window_range(seconds: float) -> int | Fraction:
    """A window in seconds as promql.range_vector takes it (whole milliseconds)."""
    exact = Fraction(round(seconds * 1000), 1000)
    return int(exact) if exact.denominator == 1 else exact


def jitter_query(service: Service, window_seconds: float) -> str:
    """The loop's jitter p95 over the window, scoped as the service's rules scope it, e.g.
    `histogram_quantile(0.95, sum by (le) (rate(bridge_tick_jitter_seconds_bucket{job="bridge",
    metric_realm="prod"}[5m])))`."""
    assert service.loop is not None
    bucket = f"{service.loop.jitter_metric}_bucket"
    series = promql.selector(bucket, service.scope(bucket))
    rate = promql.call("rate", promql.range_vector(series, window_range(window_seconds)))
    return promql.call(
        "histogram_quantile", promql.number(QUANTILE), promql.aggregate("sum", rate, by=["le"])
    )


def percentile(values: Sequence[float], q: float = QUANTILE) -> float:
    """The nearest-rank percentile: the smallest value at least a share q of the values are not
    above (p95 of 50 scrapes is the 48th fastest); never an interpolation."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def within(p95_ms: float, budget_ms: float) -> State:
    return State.OK if p95_ms <= budget_ms else State.MISSED


def scrape_result(target: ScrapeTarget, seconds: Sequence[float], budget_ms: float) -> Result:
    p95 = percentile(seconds) * 1000
    return Result("scrape", scrape_subject(target), p95, budget_ms, within(p95, budget_ms))


def scrape_failure(target: ScrapeTarget, why: str, budget_ms: float) -> Result:
    return Result("scrape", scrape_subject(target), None, budget_ms, State.UNREACHABLE, why)


def no_targets(service: Service, budget_ms: float) -> Result:
    why = f"no active target of job {service.job!r} in Prometheus (not configured, or not discovered yet)"
    return Result("scrape", service.service, None, budget_ms, State.NO_DATA, why)


def jitter_result(service: Service, values: Sequence[float], budget_ms: float) -> Result:
    """The loop's row from the query's answer: no sample, or NaN (no tick in the window), is
    NO DATA."""
    assert service.loop is not None
    subject = loop_subject(service)
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        why = f"no {service.loop.jitter_metric} observations in the window"
        return Result("jitter", subject, None, budget_ms, State.NO_DATA, why)
    p95 = max(finite) * 1000
    return Result("jitter", subject, p95, budget_ms, within(p95, budget_ms))


def jitter_failure(service: Service, why: str, budget_ms: float) -> Result:
    return Result("jitter", loop_subject(service), None, budget_ms, State.UNREACHABLE, why)


def scrape_subject(target: ScrapeTarget) -> str:
    return f"{target.service} {target.url}"


def loop_subject(service: Service) -> str:
    return f"{service.service} loop"


def most_severe(results: Iterable[Result]) -> State:
    return max((result.state for result in results), key=SEVERITY.index, default=State.OK)


def exit_code(results: Sequence[Result]) -> ExitCode:
    """The most severe state's code; NO DATA when there was nothing to probe at all."""
    return most_severe(results).code if results else ExitCode.NO_DATA


def milliseconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def render(url: str, scrapes: int, results: Sequence[Result]) -> list[str]:
    """Header, the table (check, target or loop, p95, budget, state), a line per failure, then
    one final line beginning with [OK], [MISSED], [NO DATA] or [UNREACHABLE]."""
    rows = [("check", "target / loop", "p95", "budget", "state")]
    rows += [
        (r.check, r.subject, milliseconds(r.p95_ms), milliseconds(r.budget_ms), r.state.word) for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [f"latency budgets at {url} (p95 of {scrapes} scrape(s) per target; jitter through Prometheus)"]
    for check, subject, p95, budget, state in rows:
        lines.append(
            f"  {check.ljust(widths[0])}  {subject.ljust(widths[1])}  {p95.rjust(widths[2])}  "
            f"{budget.rjust(widths[3])}  {state}"
        )
    lines += [f"  {r.check} {r.subject}: {r.why}" for r in results if r.why]
    lines.append(verdict_line(results))
    return lines


def verdict_line(results: Sequence[Result]) -> str:
    state = most_severe(results)
    if not results:
        return "[NO DATA] the spec has no scraped service and no loop to probe"
    if state is State.OK:
        return f"[OK] all {len(results)} check(s) within budget"
    if state is State.MISSED:
        missed = [r for r in results if r.state is State.MISSED]
        details = [
            f"{r.check} {r.subject}: p95 {milliseconds(r.p95_ms)} > {milliseconds(r.budget_ms)}"
            for r in missed
        ]
        return f"{state.tag} {'; '.join(details)}"
    return f"{state.tag} {'; '.join(f'{r.check} {r.subject}' for r in results if r.state is state)}"
