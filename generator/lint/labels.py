"""dropped-label: a rule that matches on a label the recording rule of that series aggregated away.

The labels an expression's result can carry are tracked through the AST: `sum by (a)` keeps only
`a`, `without (b)` drops `b`, `on (…)` one-to-one matching keeps only the `on` labels, `or` keeps
what either side has, `label_replace` adds its target. A label is *dropped* only when no path
can carry it, so the check stays quiet where it cannot be sure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import promql_parser as pp

from generator.lint import promql_ast as ast
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule
from generator.lint.rulefiles import Rule

KEEPS_LABELS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
ADDS_LABEL = frozenset({"label_replace", "label_join"})


@dataclass(frozen=True)
class Shape:
    """The labels a result can carry: at most `kept` (when known), never any of `dropped`."""

    kept: frozenset[str] | None = None
    dropped: frozenset[str] = frozenset()

    def lacks(self, label: str) -> bool:
        return (self.kept is not None and label not in self.kept) or label in self.dropped

    def only(self, labels: frozenset[str]) -> Shape:
        return Shape(frozenset(label for label in labels if not self.lacks(label)))

    def without(self, labels: frozenset[str]) -> Shape:
        return Shape(self.kept - labels) if self.kept is not None else Shape(None, self.dropped | labels)

    def plus(self, labels: frozenset[str]) -> Shape:
        return Shape(self.kept | labels) if self.kept is not None else Shape(None, self.dropped - labels)

    def union(self, other: Shape) -> Shape:
        if self.kept is not None and other.kept is not None:
            return Shape(self.kept | other.kept)
        if self.kept is None and other.kept is None:
            return Shape(None, self.dropped & other.dropped)
        open_, closed = (self, other) if self.kept is None else (other, self)
        return Shape(None, open_.dropped - (closed.kept or frozenset()))


ANY = Shape()
NO_LABELS = Shape(frozenset())


def is_scalar(node: ast.Node) -> bool:
    node = ast.unparen(node)
    if isinstance(node, pp.NumberLiteral | pp.StringLiteral):
        return True
    if isinstance(node, pp.Call):
        return str(node.func.return_type).endswith("Scalar")
    if isinstance(node, pp.UnaryExpr):
        return is_scalar(node.expr)
    return isinstance(node, pp.BinaryExpr) and is_scalar(node.lhs) and is_scalar(node.rhs)


def string_literal(node: ast.Node) -> str | None:
    node = ast.unparen(node)
    return str(node.val) if isinstance(node, pp.StringLiteral) else None


def shape(node: ast.Node) -> Shape:
    node = ast.unparen(node)
    if isinstance(node, pp.VectorSelector | pp.MatrixSelector):
        return ANY
    if isinstance(node, pp.UnaryExpr | pp.SubqueryExpr):
        return shape(node.expr)
    if isinstance(node, pp.AggregateExpr):
        return _aggregate(node)
    if isinstance(node, pp.Call):
        return _call(node)
    if isinstance(node, pp.BinaryExpr):
        return _binary(node)
    return NO_LABELS


def _aggregate(node: ast.Node) -> Shape:
    inner = shape(node.expr)
    if ast.op(node) in KEEPS_LABELS:
        return inner
    modifier = node.modifier
    if modifier is None:
        result = NO_LABELS
    elif modifier.type == pp.AggModifierType.Without:
        result = inner.without(frozenset(modifier.labels))
    else:
        result = inner.only(frozenset(modifier.labels))
    added = string_literal(node.param) if ast.op(node) == "count_values" and node.param is not None else None
    return result.plus(frozenset({added})) if added else result


def _call(node: ast.Node) -> Shape:
    fn, args = ast.function(node), list(node.args)
    if is_scalar(node) or not args:
        return NO_LABELS
    if fn in ("absent", "absent_over_time"):
        selector = ast.unparen(args[0])
        if isinstance(selector, pp.MatrixSelector):
            selector = selector.vector_selector
        if isinstance(selector, pp.VectorSelector):
            return Shape(frozenset(ast.equalities(selector)) - {"__name__"})
        return NO_LABELS
    vectors = [arg for arg in args if not is_scalar(arg)]
    inner = shape(vectors[0]) if vectors else NO_LABELS
    if fn in ADDS_LABEL and len(args) > 1 and (target := string_literal(args[1])):
        return inner.plus(frozenset({target}))
    if fn == "histogram_quantile":
        return inner.without(frozenset({"le"}))
    return inner


def _binary(node: ast.Node) -> Shape:
    operator = ast.op(node)
    if is_scalar(node.lhs) and is_scalar(node.rhs):
        return NO_LABELS
    if is_scalar(node.rhs):
        return shape(node.lhs)
    if is_scalar(node.lhs):
        return shape(node.rhs)
    left, right = shape(node.lhs), shape(node.rhs)
    if operator == "or":
        return left.union(right)
    if operator in ast.SET_OPERATORS:
        return left
    modifier = node.modifier
    matching = modifier.matching if modifier is not None else None
    card = modifier.card if modifier is not None else pp.VectorMatchCardinality.OneToOne
    if card == pp.VectorMatchCardinality.ManyToOne:
        return left.plus(frozenset(modifier.group_labels or ()))
    if card == pp.VectorMatchCardinality.OneToMany:
        return right.plus(frozenset(modifier.group_labels or ()))
    if matching is None:
        return left
    labels = frozenset(matching.labels)
    return left.only(labels) if matching.type == pp.LabelModifierType.Include else left.without(labels)


@dataclass(frozen=True)
class Recording:
    rule: Rule
    shape: Shape

    def relevant_to(self, selector: ast.Node) -> bool:
        """False when the rule's own labels contradict the selector's, e.g. another slo_id."""
        wanted = ast.equalities(selector)
        return all(wanted.get(key, value) == value for key, value in self.rule.labels.items())


def _recordings(ctx: LintContext) -> dict[str, list[Recording]]:
    found: dict[str, list[Recording]] = {}
    for rule, root in ctx.parsed_rules():
        if rule.kind == "record":
            recorded = shape(root).plus(frozenset(rule.labels))
            found.setdefault(rule.name, []).append(Recording(rule, recorded))
    return found


def findings(ctx: LintContext) -> Iterator[Finding]:
    recordings = _recordings(ctx)
    for rule, root in ctx.parsed_rules():
        reported: set[tuple[str, str]] = set()
        for selector, _ in ast.selectors(root):
            name = ast.name(selector)
            sources = [
                r for r in recordings.get(name or "", []) if r.rule is not rule and r.relevant_to(selector)
            ]
            if not name or not sources:
                continue
            for label, op, value in ast.matchers(selector):
                if label == "__name__" or not ast.requires_label(op, value) or (name, label) in reported:
                    continue
                if all(source.shape.lacks(label) for source in sources):
                    reported.add((name, label))
                    first = sources[0].rule
                    yield at_rule(
                        rule,
                        "dropped-label",
                        f'matches {name}{{{label}{op}"{value}"}}, but the rule recording {name} '
                        f"({first.file}:{first.expr_line}) aggregates {label} away: the selector "
                        "matches nothing",
                        f"keep {label} in that rule's aggregation (by (…, {label})) or drop the matcher here",
                        rule.expr_line,
                    )
