"""Argo's own rules for an AnalysisTemplate metric, which its CRD schema does not express; each
gate's template is built as `compile_argo` builds it and refused at the gate."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.argo import analysis_template
from generator.errors import SpecIssue
from generator.model import Spec

GO_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$")


def gate_template_issues(spec: Spec) -> Iterator[SpecIssue]:
    """Each gate's AnalysisTemplate, checked against Argo's metric rules."""
    for service in spec.services:
        for i, gate in enumerate(service.gates):
            location = spec.sources[service.service].location(("gates", i))
            for problem in metric_problems(analysis_template(spec, service, gate)):
                yield SpecIssue(location, problem)


def metric_problems(template: dict[str, Any]) -> list[str]:
    """Argo's own rules for a metric that its CRD schema does not express."""
    problems = []
    for metric in template["spec"]["metrics"]:
        name = metric.get("name", "?")
        for field in ("interval", "initialDelay"):
            if field in metric and not GO_DURATION.match(str(metric[field])):
                problems.append(
                    f"metric {name}: {field} {metric[field]!r} is not a Go duration (e.g. 90s, 15m, 24h; "
                    "Argo has no `d` unit)"
                )
        count = metric.get("count")
        if isinstance(count, int) and count > 1 and "interval" not in metric:
            problems.append(f"metric {name}: count {count} needs an interval")
        for field in ("count", "failureLimit", "inconclusiveLimit", "consecutiveErrorLimit"):
            value = metric.get(field)
            if isinstance(value, int) and value < 0:
                problems.append(f"metric {name}: {field} must not be negative (got {value})")
        limit = metric.get("failureLimit")
        if isinstance(count, int) and isinstance(limit, int) and count < limit:
            problems.append(f"metric {name}: count {count} is smaller than failureLimit {limit}")
    return problems
