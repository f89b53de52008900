"""Small helpers over promql_parser's AST: children, walks with ancestors, selectors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import promql_parser as pp

from generator import promql

Node = Any
"""a promql_parser expression node (the package ships no type stubs)"""

COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPERATORS = frozenset({"and", "or", "unless"})


def children(node: Node) -> list[Node]:
    if isinstance(node, pp.AggregateExpr):
        return [node.expr] if node.param is None else [node.param, node.expr]
    if isinstance(node, pp.BinaryExpr):
        return [node.lhs, node.rhs]
    if isinstance(node, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [node.expr]
    if isinstance(node, pp.Call):
        return list(node.args)
    if isinstance(node, pp.MatrixSelector):
        return [node.vector_selector]
    return []


def walk(node: Node, ancestors: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """Every node with its ancestors, root first."""
    yield node, ancestors
    for child in children(node):
        yield from walk(child, (*ancestors, node))


def unparen(node: Node) -> Node:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def op(node: Node) -> str:
    """The operator of a BinaryExpr or AggregateExpr (`>`, `or`, `sum`), else ``."""
    if isinstance(node, pp.BinaryExpr | pp.AggregateExpr):
        return str(node.op)
    return ""


def function(node: Node) -> str:
    return node.func.name if isinstance(node, pp.Call) else ""


def returns_bool(node: Node) -> bool:
    return isinstance(node, pp.BinaryExpr) and node.modifier is not None and bool(node.modifier.return_bool)


def is_filter(node: Node) -> bool:
    """A comparison without `bool`: it drops series instead of returning 0 or 1."""
    return op(node) in COMPARISONS and not returns_bool(node)


def number(node: Node) -> float | None:
    node = unparen(node)
    return float(node.val) if isinstance(node, pp.NumberLiteral) else None


def matchers(selector: Node) -> list[tuple[str, str, str]]:
    """(label, op, value) of a vector selector; op is one of = != =~ !~."""
    return promql.matcher_triples(selector)


def name(selector: Node) -> str | None:
    """The metric name of a selector, also when spelled `{__name__="x"}`."""
    if selector.name:
        return str(selector.name)
    return next((v for k, o, v in matchers(selector) if k == "__name__" and o == "="), None)


def equalities(selector: Node) -> dict[str, str]:
    return {k: v for k, o, v in matchers(selector) if o == "="}


def selectors(root: Node) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """Every vector selector (also inside a range) with its ancestors."""
    for node, ancestors in walk(root):
        if isinstance(node, pp.VectorSelector):
            yield node, ancestors


def requires_label(op_: str, value: str) -> bool:
    """Whether a matcher can only match series that carry the label (not its absence)."""
    if op_ == "=":
        return value != ""
    if op_ == "!=":
        return value == ""
    try:
        matches_empty = re.fullmatch(value, "") is not None
    except re.error:
        return False
    return not matches_empty if op_ == "=~" else matches_empty


def seconds(duration: Any) -> int:
    return int(duration.total_seconds())
