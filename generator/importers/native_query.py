"""Raw `{{.window}}` queries of the standard shape → a native `ratio` SLI, or why not.

The standard shape reads one counter per part, summed over the window:
`sum [by (…)] (rate|increase(metric{…}[{{.window}}]))`. Sloth's events SLI (error_query,
total_query), its raw error_ratio_query written as errors/total, and OpenSLO's bad/total,
good/total and raw ratio metrics are mostly of that shape; a native `ratio` SLI reads the same
counters once over 5m, gets generated promtool tests and cheaper rules. Anything else stays raw,
with the reason.

Pure functions over promql_parser's AST (no files, no model state); `native_problems` (and
`accepted_ratio`) ask the model and its checks whether obsgen takes the result as it would take a
hand-written one. Writing the result into a service file, and falling back to raw PromQL when
the generated tests could not feed it: catalog.py (`WrittenSli`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import promql_parser as pp

from generator import promql
from generator.model.slo import WINDOW_SPELLINGS

Node = Any
"""a promql_parser expression node (the package ships no type stubs)"""

WINDOW = timedelta(seconds=99_999_999)
"""What `{{.window}}` is read as while parsing: a range no query writes by hand (3 years, 61 days)."""
_WINDOW_TEXT = f"{int(WINDOW.total_seconds())}s"
COUNTING = ("rate", "increase")
SCRAPE_INTERVAL = 15
"""obsgen's default scrape interval, which the native SLIs are checked against"""


@dataclass(frozen=True)
class NotNative:
    reason: str
    """why the query stays raw, for people: e.g. `sums irate(…)`"""


@dataclass(frozen=True)
class CounterRead:
    """`sum [by (…)] (rate|increase(selector[{{.window}}]))`: one counter's events over the window."""

    function: str
    selector: str
    """the series as a native selector, e.g. `http_requests_total{code=~"5.."}`"""
    by: tuple[str, ...] = ()


@dataclass(frozen=True)
class NativeRatio:
    """A native `ratio` SLI: errors (or good) over total, grouped by `by`."""

    total: str
    errors: str | None = None
    good: str | None = None
    by: tuple[str, ...] = ()

    def sli(self) -> dict[str, str]:
        """The `sli.ratio` mapping of the native spec."""
        spelled = {"errors": self.errors, "good": self.good, "total": self.total}
        return {key: value for key, value in spelled.items() if value is not None}

    def selectors(self) -> list[str]:
        return [s for s in (self.errors, self.good, self.total) if s is not None]


Recognised = NativeRatio | NotNative


def read_counter(query: str) -> CounterRead | NotNative:
    """One `{{.window}}` query as a counter read, or why it is not one."""
    node = _parsed(query)
    return node if isinstance(node, NotNative) else _counter_read(node)


def ratio_from_errors(errors: str, total: str) -> Recognised:
    """Sloth's events SLI: error events over total events. `errors` may also be `total − good`
    (as Sloth's latency examples write it), which becomes `good`."""
    errors_node, total_node = _parsed(errors), _parsed(total)
    if isinstance(errors_node, NotNative):
        return _in("errors", errors_node)
    if isinstance(total_node, NotNative):
        return _in("total", total_node)
    return _errors_over_total(errors_node, total_node)


def ratio_from_good(good: str, total: str) -> Recognised:
    """OpenSLO's ratioMetrics: good events over total events."""
    good_node, total_node = _parsed(good), _parsed(total)
    if isinstance(good_node, NotNative):
        return _in("good", good_node)
    if isinstance(total_node, NotNative):
        return _in("total", total_node)
    return _good_over_total(good_node, total_node)


def ratio_from_error_ratio(query: str) -> Recognised:
    """Sloth's raw SLI (and OpenSLO's raw ratio of rawType failure) when it is a ratio of
    counters: `errors / total` or `1 − good / total`."""
    return _ratio_of_counters(query, share="errors")


def ratio_from_success_ratio(query: str) -> Recognised:
    """OpenSLO's raw ratio of rawType success when it is a ratio of counters: `good / total` or
    `1 − errors / total`."""
    return _ratio_of_counters(query, share="good")


def accepted_ratio(found: Recognised, scrape_interval: int = SCRAPE_INTERVAL) -> Recognised:
    """`found` if obsgen takes it as it would take the SLI written by hand, else why not."""
    if isinstance(found, NotNative):
        return found
    problems = native_problems(found, scrape_interval)
    return NotNative(f"as a native ratio SLI: {problems[0]}") if problems else found


def native_problems(ratio: NativeRatio, scrape_interval: int) -> list[str]:
    """Why obsgen would refuse this SLI written by hand in a service that declares the counters it
    reads (as the import does): the model's and `obsgen gen`'s checks of events SLIs; [] if none."""
    from pydantic import ValidationError

    from generator.importers.catalog import selector_metrics
    from generator.model import Service
    from generator.validate.slos import slo_issues

    metrics = [
        {"name": name, "type": kind, "help": "probe", "external": True}
        for name, kind in selector_metrics(ratio.selectors()).items()
    ]
    slo = {"name": "probe", "objective": 99, "sli": {"ratio": ratio.sli()}, "by": list(ratio.by)}
    try:
        service = Service.model_validate({"service": "probe", "metrics": metrics, "slos": [slo]})
    except ValidationError as exc:
        return [str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()]
    return [message for _, message in slo_issues(service, scrape_interval)]


# --- the shape, node by node -------------------------------------------------------------------


def _parsed(query: str) -> Node | NotNative:
    """The query's AST with `{{.window}}` read as WINDOW."""
    if not WINDOW_SPELLINGS.search(query):
        return NotNative("it does not read its series over {{.window}}")
    try:
        return promql.parse(WINDOW_SPELLINGS.sub(_WINDOW_TEXT, query))
    except promql.PromQLError:
        return NotNative("it does not parse as PromQL")


def _ratio_of_counters(query: str, share: Literal["errors", "good"]) -> Recognised:
    """`share / total`, or `1 − other / total`, of counters: a ratio of errors or of good events."""
    node = _parsed(query)
    if isinstance(node, NotNative):
        return node
    node = _unparen(node)
    complement = _one_minus(node)
    division = _unparen(complement if complement is not None else node)
    other = "good" if share == "errors" else "errors"
    if not _plain_binary(division, "/"):
        return NotNative(
            f"it is {_describe(division)}, not {share} / total (or 1 − {other} / total) of counters "
            "summed over {{.window}}"
        )
    over_total = _errors_over_total if (share == "errors") == (complement is None) else _good_over_total
    return over_total(division.lhs, division.rhs)


def _errors_over_total(errors: Node, total: Node) -> Recognised:
    whole = _counter_read(total)
    difference = _unparen(errors)
    if _plain_binary(difference, "-"):
        if isinstance(whole, NotNative):
            return _in("total", whole)
        good = _good_of(difference, whole)
        return good if isinstance(good, NotNative) else _ratio(whole, good=good)
    part = _part_read(errors)
    if isinstance(part, NotNative):
        return _in("errors", part)
    if isinstance(whole, NotNative):
        return _in("total", whole)
    return _ratio(whole, errors=part)


def _good_over_total(good: Node, total: Node) -> Recognised:
    part = _part_read(good)
    if isinstance(part, NotNative):
        return _in("good", part)
    whole = _counter_read(total)
    if isinstance(whole, NotNative):
        return _in("total", whole)
    return _ratio(whole, good=part)


def _good_of(difference: Node, total: CounterRead) -> CounterRead | NotNative:
    """`good` of errors written `total − good`."""
    if _counter_read(difference.lhs) != total:
        return NotNative(
            "errors: they subtract from something other than the total query; only `total − good` "
            "maps to `good`"
        )
    good = _counter_read(difference.rhs)
    return _in("errors (total − good)", good) if isinstance(good, NotNative) else good


def _part_read(node: Node) -> CounterRead | NotNative:
    """The errors or good part: a counter read, also `… or vector(0)` (native SLIs count a counter
    without series as zero anyway) when it is not grouped."""
    node = _unparen(node)
    if _plain_binary(node, "or", allow_on_nothing=True) and _is_zero_vector(node.rhs):
        read = _counter_read(node.lhs)
        if isinstance(read, CounterRead) and read.by:
            return NotNative("`or vector(0)` after a grouped sum adds a series without the group's labels")
        return read
    return _counter_read(node)


def _counter_read(node: Node) -> CounterRead | NotNative:
    node = _unparen(node)
    if not isinstance(node, pp.AggregateExpr) or str(node.op) != "sum":
        return NotNative(f"it is {_describe(node)}, not sum(rate(counter[{{{{.window}}}}]))")
    modifier = node.modifier
    if modifier is not None and modifier.type == pp.AggModifierType.Without:
        return NotNative("it sums `without (…)`; only `sum by (…)` maps to a native `by`")
    by = tuple(modifier.labels) if modifier is not None else ()
    call = _unparen(node.expr)
    if not isinstance(call, pp.Call) or call.func.name not in COUNTING:
        return NotNative(f"it sums {_describe(call)}, not rate() or increase() of a counter")
    function = call.func.name
    matrix = call.args[0]
    if not isinstance(matrix, pp.MatrixSelector):
        return NotNative(f"{function}() reads {_describe(matrix)}, not a series over {{{{.window}}}}")
    if matrix.range != WINDOW:
        return NotNative(f"{function}() reads a fixed range, not {{{{.window}}}}")
    selector = _selector(matrix.vector_selector)
    return selector if isinstance(selector, NotNative) else CounterRead(function, selector, by)


def _selector(node: Node) -> str | NotNative:
    """The selector spelled for the native spec (matchers in their order, Prometheus quoting)."""
    if node.offset is not None or node.at is not None:
        return NotNative("it reads the counter with `offset` or `@`")
    if not node.name:
        return NotNative("its selector names no metric (matchers or __name__ alone)")
    if node.matchers.or_matchers:
        return NotNative("its selector uses `or` between matchers")
    triples = promql.matcher_triples(node)
    if any(_WINDOW_TEXT in value for _, _, value in triples):
        return NotNative("its matchers hold {{.window}}, which changes with every window")
    matchers = [f"{label}{op}{promql.quote(value)}" for label, op, value in triples]
    return f"{node.name}{{{', '.join(matchers)}}}" if matchers else str(node.name)


def _ratio(
    total: CounterRead, errors: CounterRead | None = None, good: CounterRead | None = None
) -> Recognised:
    part = errors or good
    assert part is not None
    name = "errors" if errors is not None else "good"
    if part.function != total.function:
        return NotNative(
            f"{name} are read with {part.function}() and total with {total.function}(): their ratio is "
            "not an error ratio (it scales with the window), so it is kept as written"
        )
    if set(part.by) != set(total.by):
        return NotNative(f"{name} and total are summed by different labels ({_by(part)} and {_by(total)})")
    return NativeRatio(
        total.selector,
        errors.selector if errors else None,
        good.selector if good else None,
        total.by,
    )


def _one_minus(node: Node) -> Node | None:
    """X of `1 - X`, else None."""
    one = _unparen(node.lhs) if _plain_binary(node, "-") else None
    return node.rhs if isinstance(one, pp.NumberLiteral) and float(one.val) == 1 else None


def _plain_binary(node: Node, op: str, allow_on_nothing: bool = False) -> bool:
    """A binary `op` matching series on all their labels (no on/ignoring, group_*, bool); `or` also
    `on ()`, which Sloth writes before `vector(0)`."""
    if not isinstance(node, pp.BinaryExpr) or str(node.op) != op:
        return False
    modifier = node.modifier
    if modifier is None:
        return True
    if modifier.return_bool:
        return False
    matching = modifier.matching
    if matching is None:
        return True
    on_nothing = matching.type == pp.LabelModifierType.Include and not matching.labels
    return allow_on_nothing and on_nothing


def _is_zero_vector(node: Node) -> bool:
    node = _unparen(node)
    if not isinstance(node, pp.Call) or node.func.name != "vector" or len(node.args) != 1:
        return False
    arg = _unparen(node.args[0])
    return isinstance(arg, pp.NumberLiteral) and float(arg.val) == 0


def _unparen(node: Node) -> Node:
    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node


def _describe(node: Node) -> str:
    """What a node is, in a few words, for the reason a query stays raw."""
    node = _unparen(node)
    if isinstance(node, pp.AggregateExpr):
        return f"{node.op}(…)"
    if isinstance(node, pp.Call):
        inner = _unparen(node.args[0]) if node.args else None
        over = " over a subquery" if isinstance(inner, pp.SubqueryExpr) else ""
        return f"{node.func.name}(…){over}"
    if isinstance(node, pp.BinaryExpr):
        return f"an expression with `{node.op}`"
    if isinstance(node, pp.SubqueryExpr):
        return "a subquery"
    if isinstance(node, pp.VectorSelector | pp.MatrixSelector):
        return "a series read as is"
    if isinstance(node, pp.NumberLiteral):
        return "a number"
    return "another expression"


def _by(read: CounterRead) -> str:
    return f"by ({', '.join(read.by)})" if read.by else "no labels"


def _in(part: str, problem: NotNative) -> NotNative:
    return NotNative(f"{part}: {problem.reason}")
