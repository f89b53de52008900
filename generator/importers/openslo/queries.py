"""The PromQL queries of metric sources: read from a Prometheus source, parsed, and taken apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from generator import promql
from generator.importers.document import OutFile
from generator.importers.openslo.objects import Import
from generator.importers.openslo.service import note
from generator.importers.source import Cursor, PathKey
from generator.model.slo import WINDOW_PLACEHOLDER as WINDOW
from generator.model.slo import WINDOW_SPELLINGS

SLOTH_ERROR_RATIO = "\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n"
"""Sloth's errorRatioRawQueryTpl, with Go's `{{ .good }}`/`{{ .total }}` as Python fields"""


@dataclass
class Query:
    """One PromQL query of a metric source, and the notes its source adds."""

    cursor: Cursor
    text: str
    notes: list[str] = field(default_factory=list)


def window_query(query: Cursor) -> Query:
    """The query with `{{.window}}` spelled as obsgen reads it (Go templates allow spaces)."""
    text = str(query.value)
    normal = WINDOW_SPELLINGS.sub(WINDOW, text)
    notes = [f"{WINDOW} was spelled differently in the source; obsgen reads exactly {WINDOW}"]
    return Query(query, normal, notes if normal != text else [])


def metric_query(imp: Import, metric: Cursor) -> Query | None:
    """The PromQL query of one `{metricSource: {...}}` (Prometheus sources only)."""
    if not metric.is_map():
        imp.refuse(metric, "expected {metricSource: {type, spec}}")
        return None
    imp.check_keys(metric, ("metricSource",))
    source = metric.get("metricSource")
    if source is None or not source.is_map():
        imp.refuse(metric, "expected metricSource (type: Prometheus, spec: {query})")
        return None
    imp.check_keys(source, ("metricSourceRef", "type", "spec"))
    kind, ref, spec = source.get("type"), source.get("metricSourceRef"), source.get("spec")
    notes: list[str] = []
    source_type = str(kind.value) if kind is not None else None
    if ref is not None:
        referred = _referred_type(imp, ref, kind)
        if referred is None:
            return None
        source_type, note_text = referred
        notes.append(note_text)
    if source_type is None or source_type.lower() != "prometheus":
        shown = "no type" if source_type is None else f"type {source_type}"
        imp.unsupported(
            kind or ref or source,
            f"metric source with {shown} cannot be imported: obsgen's rules run in Prometheus, so "
            "the source must be type: Prometheus with a PromQL `query`",
        )
        return None
    if spec is None or not spec.is_map():
        imp.refuse(source, "a Prometheus metric source needs spec: {query: <PromQL>}")
        return None
    query = spec.get("query")
    if query is None or not isinstance(query.value, str) or not query.value.strip():
        imp.refuse(query or spec, "a PromQL `query` is required")
        return None
    found = window_query(query)
    found.notes += notes + _unread_settings(spec)
    return found


def _referred_type(imp: Import, ref: Cursor, kind: Cursor | None) -> tuple[str, str] | None:
    """(type, a note) of a metric source naming a DataSource: the DataSource's type, or the type
    the source gives itself when no imported file defines that DataSource."""
    data_source = imp.defined("DataSource", ref)
    if data_source is None and kind is not None:
        return str(kind.value), (
            f"metric source {ref.value}: no DataSource of that name is imported, and none is needed: "
            f"the source says its type ({kind.value}), and obsgen's rules run in the Prometheus that "
            "loads them"
        )
    if data_source is None:
        imp.referenced("DataSource", ref)  # refused: without its DataSource the type is unknown
        return None
    ds_type = _data_source_type(imp, data_source)
    if ds_type is None:
        return None
    if kind is not None and str(kind.value).lower() != ds_type.lower():
        imp.refuse(kind, f"type {kind.value} differs from DataSource {ref.value}'s {ds_type}")
        return None
    return ds_type, (
        f"metric source {ref.value}: obsgen's rules run in the Prometheus that loads them; the "
        "DataSource's connection details are not used"
    )


def _unread_settings(spec: Cursor) -> list[str]:
    """Notes on the fields of a Prometheus source's `spec` besides `query`, which obsgen does not read:
    OpenSLO passes them to the tool that queries the source."""
    return [
        f"metric source field {key!r} is not read: obsgen reads a Prometheus source's `query` "
        "(the other fields of a metric source's spec are settings of the tool that queries it)"
        for key in spec.fields()
        if key != "query"
    ]


def check_metric_sources(imp: Import, sli: Cursor) -> None:
    """Refuse what obsgen cannot read in the SLI's metric sources (while its SLO is refused for
    something else: every problem is reported at once)."""
    for metric in _metrics(sli):
        metric_query(imp, metric)


def _metrics(sli: Cursor) -> list[Cursor]:
    ratio, threshold = sli.get("ratioMetric"), sli.get("thresholdMetric")
    if threshold is not None:
        return [threshold]
    parts = [ratio.get(part) for part in ("good", "bad", "total", "raw")] if ratio is not None else []
    return [part for part in parts if part is not None]


def _data_source_type(imp: Import, root: Cursor) -> str | None:
    parts = imp.referred_spec(
        root, ("type", "description", "connectionDetails"), "a DataSource needs a `spec` with its type"
    )
    if parts is None:
        return None
    _, spec = parts
    kind = spec.get("type")
    if kind is None:
        imp.refuse(spec, "a DataSource needs a type (Prometheus)")
        return None
    return str(kind.value)


def note_queries(out: OutFile, at: PathKey, queries: Iterable[Query]) -> None:
    """The notes of the SLO's queries, above its `sli`."""
    for query in queries:
        for text in query.notes:
            note(out, (*at, "sli"), text)


def sloth_error_ratio(good: Query, total: Query) -> str:
    """Sloth's error ratio `1 - (good / total)`, spelled as Sloth's template spells it."""
    return SLOTH_ERROR_RATIO.format(good=good.text, total=total.text)


def parsed(imp: Import, query: Query) -> Any:
    """The query's PromQL syntax tree; None (refused) for a `{{.window}}` query or bad PromQL."""
    if WINDOW in query.text:
        imp.unsupported(query.cursor, f"{WINDOW} only applies to ratio queries read over every window")
        return None
    try:
        return promql.parse(query.text)
    except promql.PromQLError as exc:
        imp.refuse(query.cursor, str(exc))
        return None


def unparenthesized(node: Any) -> Any:
    import promql_parser

    while isinstance(node, promql_parser.ParenExpr):
        node = node.expr
    return node


def plain_selector(imp: Import, query: Query, what: str) -> tuple[str, dict[str, str]] | None:
    """(metric, equality matchers) of a query that is one vector selector, else refused."""
    import promql_parser

    node = parsed(imp, query)
    if node is None:
        return None
    node = unparenthesized(node)
    if not isinstance(node, promql_parser.VectorSelector):
        imp.unsupported(
            query.cursor,
            f"{what} needs the query to be one series selector such as "
            f'http_requests_total{{code="500"}}, or each query written over {WINDOW}; '
            f"cannot import {query.text!r}",
        )
        return None
    return selector_parts(imp, node, query)


def selector_parts(imp: Import, node: Any, query: Query) -> tuple[str, dict[str, str]] | None:
    """(metric, equality matchers) of a vector selector; other matchers and modifiers are refused."""
    import promql_parser

    if not node.name:
        imp.unsupported(query.cursor, f"the selector needs a metric name: {query.text!r}")
        return None
    if node.offset is not None or node.at is not None:
        imp.unsupported(query.cursor, f"offset and @ modifiers cannot be imported: {query.text!r}")
        return None
    matchers: dict[str, str] = {}
    for matcher in [*node.matchers.matchers, *[m for group in node.matchers.or_matchers for m in group]]:
        if matcher.name == "__name__":
            continue
        if matcher.op != promql_parser.MatchOp.Equal or node.matchers.or_matchers:
            imp.unsupported(
                query.cursor,
                f"the OpenSLO importer keeps equality matchers only (for now); "
                f"{matcher.name}{promql.match_op(matcher.op)}{promql.quote(matcher.value)} cannot be "
                f"imported as a matcher (write the ratio's queries over {WINDOW} to keep it verbatim)",
            )
            return None
        matchers[matcher.name] = matcher.value
    return str(node.name), matchers
