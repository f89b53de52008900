"""Alerts: the metadata routing and on-call need, and `for` long enough for absence alerts."""

from __future__ import annotations

from collections.abc import Iterator

from generator.durations import format_duration
from generator.lint import promql_ast as ast
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule

REQUIRED_ANNOTATIONS = ("summary", "description", "runbook_url")
ABSENCE_FUNCTIONS = frozenset({"absent", "absent_over_time"})


def metadata(ctx: LintContext) -> Iterator[Finding]:
    for rule in ctx.rules:
        if rule.kind != "alert":
            continue
        missing = ["label severity"] if not rule.labels.get("severity") else []
        missing += [f"annotation {key}" for key in REQUIRED_ANNOTATIONS if not rule.annotations.get(key)]
        if missing:
            yield at_rule(
                rule,
                "alert-metadata",
                f"the alert has no {', '.join(missing)}: routing needs severity, the on-call the rest",
                "add " + ", ".join(missing),
            )


def _absence_selectors(root: ast.Node) -> list[ast.Node]:
    """Selectors whose absence or `up == 0` the alert fires on (empty if it does neither)."""
    found: list[ast.Node] = []
    for node, _ in ast.walk(root):
        if ast.function(node) in ABSENCE_FUNCTIONS:
            found += [sel for sel, _ in ast.selectors(node)]
        elif ast.op(node) == "==":
            for side, other in ((node.lhs, node.rhs), (node.rhs, node.lhs)):
                if ast.number(other) == 0:
                    found += [sel for sel, _ in ast.selectors(side) if ast.name(sel) == "up"]
    return found


def absent_for(ctx: LintContext) -> Iterator[Finding]:
    """A missed scrape or a restart makes a series vanish for one interval: don't page on that."""
    for rule, root in ctx.parsed_rules():
        if rule.kind != "alert":
            continue
        selectors = _absence_selectors(root)
        if not selectors:
            continue
        interval = max(ctx.facts.job_interval(sel) for sel in selectors)
        if rule.for_ < 2 * interval:
            shown = format_duration(rule.for_)
            yield at_rule(
                rule,
                "absent-for-too-short",
                f"the alert fires on absence or a down target with `for: {shown}`, shorter than two scrape "
                f"intervals (2 × {format_duration(interval)} = {format_duration(2 * interval)}): one missed "
                "scrape pages",
                f"set `for: {format_duration(2 * interval)}` or longer",
            )
