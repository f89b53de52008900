"""obs-lint: offline checks of Prometheus rule files against the spec model.

`lint_files(paths, spec)` reads rule files, PrometheusRule manifests and directories of them
(rulefiles.read_rules), parses every expression with promql_parser and runs each check family
over all of them together (unknown series, duplicate rules and dropped labels look across
files). Checks and their ids: `findings.CHECKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from generator.lint import alerts, heartbeats, labels, names, ratios, recording, series, syntax
from generator.lint.context import LintContext, SpecFacts
from generator.lint.external import STRICT, ExternalSeries
from generator.lint.findings import CHECKS, Finding, render
from generator.lint.rulefiles import Group, LintInputError, read_rules
from generator.model import Spec

Check = Callable[[LintContext], Iterable[Finding]]

CHECK_FUNCTIONS: tuple[Check, ...] = (
    syntax.findings,
    series.unknown_series,
    series.rate_on_gauge,
    series.missing_realm,
    ratios.findings,
    names.record_names,
    names.duplicate_groups,
    names.duplicate_rules,
    alerts.metadata,
    alerts.absent_for,
    recording.findings,
    labels.findings,
    heartbeats.windows,
    heartbeats.freshness,
)


def lint_groups(groups: Sequence[Group], spec: Spec, external: ExternalSeries = STRICT) -> list[Finding]:
    ctx = LintContext(SpecFacts.from_spec(spec), list(groups), external)
    return sorted({finding for check in CHECK_FUNCTIONS for finding in check(ctx)})


def lint_files(paths: Sequence[Path], spec: Spec, external: ExternalSeries = STRICT) -> list[Finding]:
    """Every finding in the rule files under `paths`; raises LintInputError for an unreadable
    path, a broken rule file, a named file that is not a rule file, or no rule file at all."""
    rules = read_rules(paths)
    if not rules.files:
        raise LintInputError(f"no rule files in {', '.join(map(str, paths))}")
    return lint_groups(rules.groups, spec, external)


__all__ = ["CHECKS", "ExternalSeries", "Finding", "LintInputError", "lint_files", "lint_groups", "render"]
