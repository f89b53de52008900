"""Whether two rules of one name can write the same series (for duplicate-rule).

Prometheus tells series apart by name and labels, so two rules of one name clash only where an
output series of one can carry the labels of an output series of the other. promtool compares
names and static `labels:` alone; mixins, though, write per-job or per-status-code rules of one
name that differ only in their selectors (`{job="a"}` / `{job="b"}`, `code=~"2.."` / `code=~"3.."`)
and never clash. So each rule's output is described by the matchers every output series
satisfies: its selectors' matchers as far as the labels survive the expression (the same label
flow as dropped-label), and "" for the labels it aggregates away. Two outputs are disjoint when,
for some label, no value satisfies both. Where the analysis is unsure, it says "may overlap", so
a true duplicate is still reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import promql_parser as pp

from generator.lint import promql_ast as ast
from generator.lint.labels import ADDS_LABEL, KEEPS_LABELS, Shape, is_scalar, shape, string_literal

Matcher = tuple[str, str]
"""(op, value) with op one of = != =~ !~"""
Constraints = dict[str, frozenset[Matcher]]
"""label → matchers every output series satisfies on it"""

REGEX_META = frozenset(".^$*+?()[]{}|\\")
ABSENT: frozenset[Matcher] = frozenset({("=", "")})


@dataclass(frozen=True)
class Output:
    """What every series a rule writes satisfies."""

    constraints: Constraints
    shape: Shape

    def on(self, label: str) -> frozenset[Matcher]:
        if label in self.constraints:
            return self.constraints[label]
        return ABSENT if self.shape.lacks(label) else frozenset()


def output(root: ast.Node | None) -> Output:
    """The output of an expression; an unparsable one (None) may write anything."""
    if root is None:
        return Output({}, Shape())
    return Output(constraints(root), shape(root))


def disjoint(a: Output, b: Output) -> bool:
    """True when no series can be written by both: some label has matchers no value satisfies together."""
    labels = a.constraints.keys() | b.constraints.keys()
    return any(excludes(x, y) for label in labels for x in a.on(label) for y in b.on(label))


def constraints(node: ast.Node) -> Constraints:
    node = ast.unparen(node)
    if isinstance(node, pp.VectorSelector):
        return _selector(node)
    if isinstance(node, pp.MatrixSelector):
        return _selector(node.vector_selector)
    if isinstance(node, pp.UnaryExpr | pp.SubqueryExpr):
        return constraints(node.expr)
    if isinstance(node, pp.AggregateExpr):
        return _aggregate(node)
    if isinstance(node, pp.Call):
        return _call(node)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    return {}


def _selector(selector: ast.Node) -> Constraints:
    found: dict[str, set[Matcher]] = {}
    for label, op, value in ast.matchers(selector):
        if label != "__name__":
            found.setdefault(label, set()).add((op, value))
    return {label: frozenset(matchers) for label, matchers in found.items()}


def _only(found: Constraints, labels: frozenset[str]) -> Constraints:
    return {label: m for label, m in found.items() if label in labels}


def _without(found: Constraints, labels: frozenset[str]) -> Constraints:
    return {label: m for label, m in found.items() if label not in labels}


def _aggregate(node: ast.Node) -> Constraints:
    inner = constraints(node.expr)
    if ast.op(node) in KEEPS_LABELS:
        return inner
    modifier = node.modifier
    if modifier is None:
        return {}
    labels = frozenset(modifier.labels)
    kept = _without(inner, labels) if modifier.type == pp.AggModifierType.Without else _only(inner, labels)
    added = string_literal(node.param) if ast.op(node) == "count_values" and node.param is not None else None
    return _without(kept, frozenset({added})) if added else kept


def _call(node: ast.Node) -> Constraints:
    fn, args = ast.function(node), list(node.args)
    if is_scalar(node) or not args:
        return {}
    if fn in ("absent", "absent_over_time"):
        selector = ast.unparen(args[0])
        if isinstance(selector, pp.MatrixSelector):
            selector = selector.vector_selector
        if not isinstance(selector, pp.VectorSelector):
            return {}
        return {k: frozenset({("=", v)}) for k, v in ast.equalities(selector).items() if k != "__name__"}
    vectors = [arg for arg in args if not is_scalar(arg)]
    inner = constraints(vectors[0]) if vectors else {}
    if fn in ADDS_LABEL and len(args) > 1:
        target = string_literal(args[1])
        return _without(inner, frozenset({target})) if target else {}
    if fn == "histogram_quantile":
        return _without(inner, frozenset({"le"}))
    return inner


def _binary(node: ast.Node) -> Constraints:
    if is_scalar(node.lhs) and is_scalar(node.rhs):
        return {}
    if is_scalar(node.rhs):
        return constraints(node.lhs)
    if is_scalar(node.lhs):
        return constraints(node.rhs)
    left, right = constraints(node.lhs), constraints(node.rhs)
    if ast.op(node) == "or":
        common = {label: left[label] & right[label] for label in left.keys() & right.keys()}
        return {label: matchers for label, matchers in common.items() if matchers}
    if ast.op(node) in ast.SET_OPERATORS:
        return left
    modifier = node.modifier
    card = modifier.card if modifier is not None else pp.VectorMatchCardinality.OneToOne
    copied = frozenset(modifier.group_labels or ()) if modifier is not None else frozenset()
    if card == pp.VectorMatchCardinality.ManyToOne:
        return _without(left, copied)
    if card == pp.VectorMatchCardinality.OneToMany:
        return _without(right, copied)
    matching = modifier.matching if modifier is not None else None
    if matching is None:
        return left
    labels = frozenset(matching.labels)
    return _only(left, labels) if matching.type == pp.LabelModifierType.Include else _without(left, labels)


def excludes(a: Matcher, b: Matcher) -> bool:
    """True when no label value satisfies both matchers; False also when that is unsure."""
    for (op, value), other in ((a, b), (b, a)):
        if op == "=":
            return satisfies(value, other) is False
    if a[0] == b[0] == "=~":
        return _regexes_disjoint(a[1], b[1])
    return False


def satisfies(value: str, matcher: Matcher) -> bool | None:
    """Whether a label value satisfies a matcher (fully anchored, as Prometheus anchors regexes);
    None for a regex Python cannot read."""
    op, pattern = matcher
    if op in ("=", "!="):
        return (value == pattern) == (op == "=")
    try:
        found = re.fullmatch(pattern, value) is not None
    except re.error:
        return None
    return found == (op == "=~")


def _regexes_disjoint(first: str, second: str) -> bool:
    for alternatives, other in ((literal_alternatives(first), second), (literal_alternatives(second), first)):
        if alternatives is not None:
            return all(satisfies(text, ("=~", other)) is False for text in alternatives)
    a, b = literal_prefix(first), literal_prefix(second)
    return not (a.startswith(b) or b.startswith(a))


def literal_alternatives(pattern: str) -> frozenset[str] | None:
    """The strings a regex of plain alternatives matches (`LIST|GET` → {LIST, GET}); None for any
    other regex."""
    alternatives: list[str] = []
    current: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if not escaped or escaped.isalnum():
                return None
            current.append(escaped)
        elif char == "|":
            alternatives.append("".join(current))
            current = []
        elif char in REGEX_META:
            return None
        else:
            current.append(char)
    return frozenset([*alternatives, "".join(current)])


def literal_prefix(pattern: str) -> str:
    """Text every match of a regex starts with (`2` for `2..`); "" when unsure (any alternation)."""
    if "|" in pattern:
        return ""
    prefix: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if not escaped or escaped.isalnum():
                break
            prefix.append(escaped)
        elif char in "*?{":
            return "".join(prefix[:-1])  # the last character may be repeated zero times
        elif char in REGEX_META:
            break
        else:
            prefix.append(char)
    return "".join(prefix)
