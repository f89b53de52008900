"""Checks on the series an expression reads: that they exist, how they are typed, their realm."""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as pp

from generator.conventions import REALM_LABEL
from generator.lint import promql_ast as ast
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule

BUILTIN_PREFIXES = ("scrape_",)
"""Prometheus adds scrape_duration_seconds, scrape_samples_scraped, scrape_series_added, … to any target."""
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})


def unknown_series(ctx: LintContext) -> Iterator[Finding]:
    known = ctx.facts.known | ctx.recorded
    for rule, root in ctx.parsed_rules():
        names = {ast.name(sel) for sel, _ in ast.selectors(root)}
        unknown = (n for n in names if n and n not in known and not n.startswith(BUILTIN_PREFIXES))
        for name in sorted(n for n in unknown if not ctx.external.declares(n)):
            yield at_rule(
                rule,
                "unknown-series",
                f"{name} is neither declared in a metrics catalog of the spec nor recorded by the spec "
                "or a linted file",
                f"declare {name} in its service's `metrics` (`external: true` if another exporter serves it) "
                "or in a --catalog file, or correct the name",
                rule.expr_line,
            )


def _range_argument(call: ast.Node) -> ast.Node | None:
    """The vector selector a range function reads, through `x[5m]` or a subquery `x[5m:1m]`."""
    if not call.args:
        return None
    arg = ast.unparen(call.args[0])
    if isinstance(arg, pp.MatrixSelector):
        return arg.vector_selector
    if isinstance(arg, pp.SubqueryExpr):
        inner = ast.unparen(arg.expr)
        return inner if isinstance(inner, pp.VectorSelector) else None
    return None


def rate_on_gauge(ctx: LintContext) -> Iterator[Finding]:
    for rule, root in ctx.parsed_rules():
        for node, _ in ast.walk(root):
            fn = ast.function(node)
            selector = _range_argument(node) if fn in COUNTER_FUNCTIONS else None
            name = ast.name(selector) if selector is not None else None
            if name in ctx.facts.gauges:
                yield at_rule(
                    rule,
                    "rate-on-gauge",
                    f"{fn}() over {name}, but {ctx.facts.gauges[name]}: {fn}() treats every decrease as a "
                    "counter reset and returns nonsense",
                    "use deriv() or delta() for a gauge's change, or an *_over_time() function for its level",
                    rule.expr_line,
                )


def missing_realm(ctx: LintContext) -> Iterator[Finding]:
    for rule, root in ctx.parsed_rules():
        reported: set[str] = set()
        for selector, _ in ast.selectors(root):
            name = ast.name(selector)
            realm = ctx.facts.realm_of(name, selector) if name else None
            if name and realm and ast.equalities(selector).get(REALM_LABEL) != realm and name not in reported:
                reported.add(name)
                yield at_rule(
                    rule,
                    "missing-realm",
                    f"{name} belongs to a service of realm {realm!r} but is selected without "
                    f'metric_realm="{realm}": series of other realms (or none) join in',
                    f'add metric_realm="{realm}" to the selector',
                    rule.expr_line,
                )
