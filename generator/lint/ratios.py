"""unclamped-ratio: a ratio recorded from the model's ratios stays within [0, 1].

A raw ratio metric (`ratio: true` in the catalog) read by a recording rule must reach the
recorded value through clamp(…, lo, hi ≤ 1) or clamp_max(…, ≤ 1); a signal of one is clamped
where it is recorded, so reading it is fine, but summing either is not (three instances at 0.9
sum to 2.7) unless the sum itself is clamped. Paths through a `bool` comparison or a counting
function do not carry the ratio's value and are left alone.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.lint import promql_ast as ast
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule

NOT_THE_VALUE = frozenset(
    {"count_over_time", "present_over_time", "absent", "absent_over_time", "changes", "resets", "timestamp"}
)
COUNTING_AGGREGATIONS = frozenset({"count", "group", "count_values"})


def _clamps_to_one(node: ast.Node) -> bool:
    fn = ast.function(node)
    if fn == "clamp" and len(node.args) == 3:
        upper = ast.number(node.args[2])
    elif fn == "clamp_max" and len(node.args) == 2:
        upper = ast.number(node.args[1])
    else:
        return False
    return upper is not None and upper <= 1


def _sums(node: ast.Node) -> bool:
    return ast.op(node) == "sum" or ast.function(node) == "sum_over_time"


def _carries_value(ancestors: tuple[ast.Node, ...]) -> bool:
    return not any(
        ast.returns_bool(a) or ast.function(a) in NOT_THE_VALUE or ast.op(a) in COUNTING_AGGREGATIONS
        for a in ancestors
    )


def _problem(name: str, raw: bool, ancestors: tuple[ast.Node, ...]) -> tuple[str, str] | None:
    """(message, fix) when this read of a ratio can leave [0, 1] in the recorded value."""
    clamps = [i for i, a in enumerate(ancestors) if _clamps_to_one(a)]
    sums = [i for i, a in enumerate(ancestors) if _sums(a)]
    if sums and not (clamps and clamps[0] < sums[0]):
        return (
            f"sums {name}, which the spec types as a ratio: several series of 0.9 sum to more than 1",
            "aggregate with max, min or avg instead of sum, or wrap the sum in clamp(…, 0, 1)",
        )
    if raw and not clamps:
        return (
            f"records {name}, typed `ratio: true` in the spec, without clamping it to [0, 1]",
            "wrap the expression in clamp(…, 0, 1), as obsgen does for signals of ratios",
        )
    return None


def findings(ctx: LintContext) -> Iterator[Finding]:
    ratios = ctx.facts.ratio_metrics | ctx.facts.ratio_signals
    for rule, root in ctx.parsed_rules():
        if rule.kind != "record":
            continue
        for selector, ancestors in ast.selectors(root):
            name = ast.name(selector)
            if name not in ratios or not _carries_value(ancestors):
                continue
            problem = _problem(name, name in ctx.facts.ratio_metrics, ancestors)
            if problem:
                yield at_rule(rule, "unclamped-ratio", *problem, line=rule.expr_line)
                break
