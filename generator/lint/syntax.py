"""promql-parse: every expression must parse, or nothing else can be said about it."""

from __future__ import annotations

from collections.abc import Iterator

from generator.lint.context import LintContext, parse
from generator.lint.findings import Finding, at_rule


def findings(ctx: LintContext) -> Iterator[Finding]:
    for rule in ctx.rules:
        if ctx.ast(rule) is None:
            reason = parse(rule.expr)[1]
            yield at_rule(
                rule,
                "promql-parse",
                f"the expression does not parse: {reason}",
                "correct the PromQL (promtool check rules shows the same error)",
                rule.expr_line,
            )
