"""PromQL built from the model by small functions, and checked by a real parser.

Compilers never concatenate PromQL by hand; they call these, so quoting, matcher order and
number formatting are decided once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from generator.durations import format_duration

AGGREGATION_OF_OVER_TIME: dict[str, str] = {
    "mean": "avg_over_time",
    "quantile": "quantile_over_time",
    "stddev": "stddev_over_time",
    "max": "max_over_time",
    "min": "min_over_time",
}

NEGATED: dict[str, str] = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


_MATCH_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}


def match_op(op: object) -> str:
    """promql-parser's MatchOp spelled as in PromQL: = != =~ !~."""
    return _MATCH_OPS[str(op).rsplit(".", 1)[-1]]


def matcher_triples(node: Any) -> list[tuple[str, str, str]]:
    """(label, op, value) of a parsed vector selector's matchers."""
    return [(m.name, match_op(m.op), m.value) for m in node.matchers.matchers]


class PromQLError(ValueError):
    """An expression the PromQL parser refuses."""


def number(value: float) -> str:
    """Shortest exact spelling: 30.0 → `30`, 0.02 → `0.02`."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


Matching = Mapping[str, str] | Iterable[tuple[str, str, str]]
"""Equality matchers as a mapping, or (label, op, value) triples with op one of = != =~ !~."""


def selector(name: str, matchers: Matching | None = None) -> str:
    triples = [(k, "=", v) for k, v in matchers.items()] if isinstance(matchers, Mapping) else matchers or []
    if not triples:
        return name
    inner = ", ".join(f"{label}{op}{quote(value)}" for label, op, value in sorted(set(triples)))
    return f"{name}{{{inner}}}"


def scoped(name: str, matchers: Iterable[tuple[str, str, str]], scope: Mapping[str, str]) -> str:
    """A selector of the user's matchers plus the service's scope (realm, job) where the user did
    not match that label already."""
    given = list(matchers)
    mine = {label for label, _, _ in given}
    return selector(name, [*given, *((k, "=", v) for k, v in scope.items() if k not in mine)])


def range_vector(series: str, window_seconds: int) -> str:
    return f"{series}[{format_duration(window_seconds)}]"


def call(function: str, *args: str) -> str:
    return f"{function}({', '.join(args)})"


def over_time(function: str, series: str, window_seconds: int, quantile: float | None = None) -> str:
    """`avg_over_time(x[5m])`, `quantile_over_time(0.95, x[10m])`, …"""
    fn = AGGREGATION_OF_OVER_TIME[function]
    args = [range_vector(series, window_seconds)]
    if quantile is not None:
        args.insert(0, number(quantile))
    return call(fn, *args)


def aggregate(op: str, expr: str, by: Iterable[str] = (), without: Iterable[str] = ()) -> str:
    """Explicit aggregation; `by ()` is spelled out so a reader sees every label is dropped."""
    by, without = list(by), list(without)
    if without:
        return f"{op} without ({', '.join(without)}) ({expr})"
    return f"{op} by ({', '.join(by)}) ({expr})"


def compare(expr: str, op: str, value: float, as_bool: bool = False) -> str:
    return f"{expr} {op}{' bool' if as_bool else ''} {number(value)}"


def group(expr: str) -> str:
    return f"({expr})"


@lru_cache(maxsize=65536)
def parse(expr: str) -> object:
    """The parsed AST (cached: treat it as read-only); raises PromQLError with the reason."""
    import promql_parser

    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        raise PromQLError(f"PromQL does not parse ({exc}): {expr}") from None


def selectors(expr: str) -> list[tuple[str, dict[str, str]]]:
    """(metric name, equality matchers) of every vector and matrix selector in `expr`."""
    import promql_parser

    found: list[tuple[str, dict[str, str]]] = []

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            equal = {m.name: m.value for m in node.matchers.matchers if m.op == promql_parser.MatchOp.Equal}
            found.append((node.name, equal))
        return True

    promql_parser.walk(parse(expr), visit)
    return found
