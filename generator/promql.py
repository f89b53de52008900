"""PromQL built from the model by small functions, and checked by a real parser.

Compilers never concatenate PromQL by hand; they call these, so quoting, matcher order and
number formatting are decided once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any

from generator.durations import duration_value, format_duration_ms, scaled_milliseconds, time_scale

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


def range_vector(series: str, window_seconds: int | Fraction) -> str:
    """`series[5m]`; the range is a duration value, so it shrinks under `compressed_time`."""
    return f"{series}[{_scaled_duration(window_seconds, time_scale())}]"


@lru_cache(maxsize=1024)
def _scaled_duration(window_seconds: int | Fraction, scale: Fraction) -> str:
    """duration_value under `scale` (the key: the same window renders differently under another)."""
    return duration_value(window_seconds)


def tile_range_vector(series: str, window_seconds: int, lag_seconds: int) -> str:
    """`series[59m59s999ms] offset 1m`: one tile of a sum of back-to-back windows (see
    `left_open`), read `lag_seconds` back, so that a sample recorded just before the tile by
    another rule group (which may not have finished writing it) falls in the next tile."""
    return f"{series}[{left_open(window_seconds)}] offset {duration_value(lag_seconds)}"


def tile_subquery(expr: str, range_seconds: int, step_seconds: int) -> str:
    """`expr[29d23h59m59s999ms:1h]`: `expr` at every multiple of the step (Prometheus aligns
    subquery steps to the epoch) in the range, which is left open as in `left_open`."""
    return f"{expr}[{left_open(range_seconds)}:{duration_value(step_seconds)}]"


def left_open(seconds: int) -> str:
    """A range one millisecond short of `seconds` (after the time scale): Prometheus 2's ranges
    are closed, so `[1h]` ending on a sample holds the sample an hour before too, and windows
    laid end to end would share their edges; one millisecond less holds exactly the samples of
    the left-open range Prometheus 3 reads (timestamps are whole milliseconds)."""
    return format_duration_ms(scaled_milliseconds(seconds) - 1)


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


# An equality matcher's double-quoted value: `="…"` or `!="…"`, not `=~`, `!~`, `==`, `<=`, `>=`.
_MATCHER_VALUE = re.compile(r'((?<![=!<>~])=|!=)(\s*)"(?:[^"\\\n]|\\.)*"')


def check(expr: str) -> None:
    """Raise PromQLError unless `expr` parses; what the compilers call on every expression.

    The parser is asked once per shape: the expression with every equality matcher's value
    emptied, since such a value cannot make an expression fail to parse (a regex matcher's can,
    so those are kept). A shape that fails (`{job=""}` alone is refused, `{job="api"}` is not)
    sends the expression itself to the parser, which gives the verdict and the reason. Only
    expressions holding no other kind of string literal and no comment are reduced to a shape: a
    `="` inside a single-quoted or raw string could otherwise be taken for a matcher.
    """
    if "'" in expr or "`" in expr or "#" in expr or not _parses(_MATCHER_VALUE.sub(r'\1\2""', expr)):
        parse(expr)


@lru_cache(maxsize=65536)
def _parses(shape: str) -> bool:
    try:
        parse(shape)
    except PromQLError:
        return False
    return True


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


# --- durations written in the user's own PromQL ------------------------------------------------

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_UNIT_MS["y"] = 365 * _UNIT_MS["d"]
_DURATION = r"(?:\d+(?:ms|[smhdwy]))+"
_LITERAL = re.compile(r""""(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`|#[^\n]*""")
_RANGE = re.compile(rf"\[(\s*)({_DURATION})(\s*)(?::(\s*)({_DURATION})?(\s*))?\]")
_OFFSET = re.compile(rf"\b(offset\s+-?\s*)({_DURATION})\b", re.IGNORECASE)


def _milliseconds(duration: str) -> int:
    return sum(int(n) * _UNIT_MS[unit] for n, unit in re.findall(r"(\d+)(ms|[smhdwy])", duration))


def _scaled(duration: str) -> str:
    return duration_value(Fraction(_milliseconds(duration), 1000))


def _scale_code(code: str) -> str:
    """Ranges, subquery ranges and steps, and offsets of PromQL outside string literals."""

    def subquery(m: re.Match[str]) -> str:
        head = f"[{m[1]}{_scaled(m[2])}{m[3]}"
        if m.group(4) is None:
            return f"{head}]"
        return f"{head}:{m[4]}{_scaled(m[5]) if m[5] else ''}{m[6]}]"

    code = _RANGE.sub(subquery, code)
    return _OFFSET.sub(lambda m: f"{m[1]}{_scaled(m[2])}", code)


def durations_ms(expr: str) -> list[int]:
    """Every range, step and offset of the parsed expression in milliseconds, in walk order."""
    import promql_parser

    found: list[int] = []

    def visit(node: object) -> bool:
        for field in ("range", "step", "offset"):
            value = getattr(node, field, None)
            if isinstance(value, timedelta):
                found.append(value // timedelta(milliseconds=1))
        return True

    promql_parser.walk(parse(expr), visit)
    return found


def scale_durations(expr: str) -> str:
    """The user's PromQL with its literal ranges, subquery steps and offsets divided by the time
    scale (unchanged at scale 1); checked against the parsed expression, so a duration the
    rewrite missed or misread is an error, not a silently unscaled window. Numbers of seconds
    (`time() - x > 86400`) cannot be told from other numbers and stay as written."""
    if time_scale() == 1:
        return expr
    parts, end = [], 0
    for literal in _LITERAL.finditer(expr):
        parts += [_scale_code(expr[end : literal.start()]), literal[0]]
        end = literal.end()
    scaled = "".join([*parts, _scale_code(expr[end:])])
    wanted = [_sign(ms) * scaled_milliseconds(Fraction(abs(ms), 1000)) for ms in durations_ms(expr)]
    if durations_ms(scaled) != wanted:
        raise PromQLError(f"cannot scale the durations of this PromQL for the sandbox: {expr}")
    return scaled


def _sign(ms: int) -> int:
    return -1 if ms < 0 else 1
