"""record-comparison: a recording rule records a value; a filter belongs in an alert.

`x > 0.5` as a recorded series exists only while the condition holds, so dashboards, gates and
`absent()` see gaps instead of a value; `x > bool 0.5` records 0 or 1 and is fine.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.lint import promql_ast as ast
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule


def _top_level_filters(node: ast.Node) -> Iterator[ast.Node]:
    """Filtering comparisons whose result is what gets recorded (through parens and and/or/unless)."""
    node = ast.unparen(node)
    if ast.op(node) in ast.SET_OPERATORS:
        yield from _top_level_filters(node.lhs)
        yield from _top_level_filters(node.rhs)
    elif ast.is_filter(node):
        yield node


def findings(ctx: LintContext) -> Iterator[Finding]:
    for rule, root in ctx.parsed_rules():
        if rule.kind != "record":
            continue
        for comparison in _top_level_filters(root):
            yield at_rule(
                rule,
                "record-comparison",
                f"the recorded value is filtered by `{ast.op(comparison)}`: the series exists only while the "
                "condition holds, so readers see gaps instead of a value",
                f"record the value and compare in the alert, or record 0/1 with `{ast.op(comparison)} bool`",
                rule.expr_line,
            )
            break
