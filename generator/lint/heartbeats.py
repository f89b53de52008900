"""Heartbeat timing that cannot hold (DESIGN.md, generator/heartbeat_timing.py).

A heartbeat written every `period` and scraped every `scrape_interval` shows a change in
changes(X[W]) only if W > period + 2 × scrape_interval, and its last beat can look
period + scrape_interval + evaluation_interval old to a rule while healthy.
"""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as pp

from generator.durations import format_duration
from generator.heartbeat_timing import largest_healthy_age, shortest_window
from generator.lint import promql_ast as ast
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule
from generator.model import Heartbeat
from generator.promql import number

MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def windows(ctx: LintContext) -> Iterator[Finding]:
    for rule, root in ctx.parsed_rules():
        for node, _ in ast.walk(root):
            arg = ast.unparen(node.args[0]) if ast.function(node) == "changes" and node.args else None
            if not isinstance(arg, pp.MatrixSelector):
                continue
            heartbeat = ctx.facts.heartbeats.get(ast.name(arg.vector_selector) or "")
            window = ast.seconds(arg.range)
            if heartbeat is None or window > shortest_window(heartbeat):
                continue
            least = format_duration(shortest_window(heartbeat))
            yield at_rule(
                rule,
                "heartbeat-window",
                f"changes({heartbeat.metric}[{format_duration(window)}]) can read 0 while the heartbeat is "
                f"healthy: the window must exceed period {format_duration(heartbeat.period)} + 2 × scrape "
                f"interval {format_duration(heartbeat.scrape_interval)} = {least}",
                f"use a window longer than {least}, e.g. the spec's {format_duration(heartbeat.window)}",
                rule.expr_line,
            )


def _age_of(node: ast.Node, ctx: LintContext) -> Heartbeat | None:
    """The heartbeat whose age `time() - …` computes, if `node` is that."""
    node = ast.unparen(node)
    if ast.op(node) != "-" or ast.function(ast.unparen(node.lhs)) != "time":
        return None
    names = (ast.name(sel) for sel, _ in ast.selectors(node.rhs))
    return next((ctx.facts.heartbeats[n] for n in names if n in ctx.facts.heartbeats), None)


def _age_comparisons(root: ast.Node, ctx: LintContext) -> Iterator[tuple[Heartbeat, str, float]]:
    """(heartbeat, op, threshold) of every `time() - X op T` (or `T op time() - X`)."""
    for node, _ in ast.walk(root):
        comparison = ast.op(node)
        if comparison not in MIRRORED:
            continue
        for age_side, limit_side, op in (
            (node.lhs, node.rhs, comparison),
            (node.rhs, node.lhs, MIRRORED[comparison]),
        ):
            heartbeat, limit = _age_of(age_side, ctx), ast.number(limit_side)
            if heartbeat is not None and limit is not None:
                yield heartbeat, op, limit


def freshness(ctx: LintContext) -> Iterator[Finding]:
    for rule, root in ctx.parsed_rules():
        interval = rule.interval or ctx.facts.evaluation_interval
        for heartbeat, op, limit in _age_comparisons(root, ctx):
            age = largest_healthy_age(heartbeat, interval)
            if limit > age:  # at exactly `age`, a beat delayed by a millisecond more would flap
                continue
            yield at_rule(
                rule,
                "heartbeat-freshness",
                f"`time() - {heartbeat.metric} {op} {number(limit)}` flaps: a healthy heartbeat's last "
                f"beat can be period {format_duration(heartbeat.period)} + scrape interval "
                f"{format_duration(heartbeat.scrape_interval)} + evaluation interval "
                f"{format_duration(interval)} = {format_duration(age)} ({age}s) old",
                f"use a threshold above {age}, e.g. the spec's freshness {heartbeat.freshness}",
                rule.expr_line,
            )
