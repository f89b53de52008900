"""Pyrra's `spec.indicator` → the native `sli` (and `by`), with the series it reads in the catalog.

What Pyrra computes over each window w (slo/rules.go `Burnrate`), and what keeps it:
  ratio       sum(rate(errors[w])) / sum(rate(total[w]))          sli.ratio {errors, total}
  latency     (sum(rate(total[w])) - sum(rate(success[w])))       sli.latency {histogram, below,
              / sum(rate(total[w])), success a bucket {le="…"}     selector}; sli.ratio {good, total}
                                                                   when success selects other series
  bool_gauge  (sum(count_over_time(m[w])) - sum(sum_over_time(m[w])))
              / sum(count_over_time(m[w])): the share of samples   sli.query {errors, total}, the
              that are 0                                           same queries over {{.window}}
`grouping` (`sum by (…)`) becomes `by`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from generator import promql
from generator.importers.document import OutFile
from generator.importers.pyrra.context import Import
from generator.importers.source import Cursor, PathKey
from generator.model.slo import WINDOW_PLACEHOLDER as WINDOW

KINDS = ("ratio", "latency", "latencyNative", "bool_gauge")
NATIVE_LATENCY = (
    "latencyNative reads a native histogram (histogram_fraction), which obsgen's SLIs do not: its "
    "latency SLI counts a classic histogram's bucket; give a `latency` indicator over the "
    'histogram\'s _bucket{le="…"} and _count series if it exports them'
)
GROUPED_GAUGE = (
    "a grouped bool_gauge cannot be imported: Pyrra counts the gauge's samples, which obsgen reads "
    "with raw PromQL (sli.query), and obsgen groups (`by`) only SLIs that count events from "
    "counters; remove `grouping` to import it as one SLO over every series, or write one SLO per group"
)


@dataclass(frozen=True)
class Series:
    """One `{metric: <selector>}` of the source: its text, metric name and matchers."""

    cursor: Cursor
    text: str
    name: str
    matchers: tuple[tuple[str, str, str], ...]

    def without(self, label: str) -> set[tuple[str, str, str]]:
        return {m for m in self.matchers if m[0] != label}

    def matcher(self, label: str) -> tuple[str, str, str] | None:
        return next((m for m in self.matchers if m[0] == label), None)

    @property
    def read(self) -> tuple[Cursor, str | None]:
        """Where the series is read, and the job it matches ("" for a job matcher other than =)."""
        job = self.matcher("job")
        return self.cursor, None if job is None else job[2] if job[1] == "=" else ""


def convert_indicator(imp: Import, indicator: Cursor, at: PathKey, out: OutFile) -> None:
    imp.check_keys(indicator, KINDS)
    kinds = [k for k in KINDS if k in indicator.fields()]
    if len(kinds) != 1:
        imp.refuse(indicator, f"an indicator needs exactly one of {', '.join(KINDS)}")
        return
    node = imp.mapping(indicator, kinds[0])
    if node is None:
        return
    if kinds[0] == "latencyNative":
        imp.refuse(node, NATIVE_LATENCY)
    elif kinds[0] == "ratio":
        _ratio(imp, node, at, out)
    elif kinds[0] == "latency":
        _latency(imp, node, at, out)
    else:
        _bool_gauge(imp, node, at, out)


def _ratio(imp: Import, ratio: Cursor, at: PathKey, out: OutFile) -> None:
    imp.check_keys(ratio, ("errors", "total", "grouping"))
    errors, total = _series(imp, ratio, "errors"), _series(imp, ratio, "total")
    by = _grouping(imp, ratio)
    if errors is None or total is None or by is None:
        return
    _set_by(out, at, ratio, by)
    base = (*at, "sli", "ratio")
    out.set(base, {}, ratio)
    for part, series in (("errors", errors), ("total", total)):
        out.set((*base, part), series.text, series.cursor)
        imp.add_metric(out, series.name, "counter", series.read)


def _latency(imp: Import, latency: Cursor, at: PathKey, out: OutFile) -> None:
    imp.check_keys(latency, ("success", "total", "grouping"))
    success, total = _series(imp, latency, "success"), _series(imp, latency, "total")
    by = _grouping(imp, latency)
    if success is None or total is None or by is None:
        return
    bound = _bucket_bound(imp, success)
    if bound is None:
        return
    _set_by(out, at, latency, by)
    histogram = success.name.removesuffix("_bucket")
    one_histogram = success.name.endswith("_bucket") and total.name == f"{histogram}_count"
    if one_histogram and success.without("le") == total.without("le"):
        base = (*at, "sli", "latency")
        out.set(base, {}, latency)
        out.set((*base, "histogram"), histogram + total.text[len(total.name) :], total.cursor)
        out.set((*base, "below"), _number(bound), success.cursor)
        imp.add_metric(out, histogram, "histogram", success.read, bound)
        return
    base = (*at, "sli", "ratio")
    out.set(base, {}, latency)
    out.note(base, _apart(success, total, one_histogram))
    out.set((*base, "good"), success.text, success.cursor)
    out.set((*base, "total"), total.text, total.cursor)
    for series, bucket in ((success, bound), (total, None)):
        if series.name.endswith("_bucket") or (one_histogram and series is total):
            imp.add_metric(out, histogram, "histogram", series.read, bucket)
        else:
            imp.add_metric(out, series.name, "counter", series.read)


def _apart(success: Series, total: Series, one_histogram: bool) -> str:
    """Why a latency indicator is imported as good/total events rather than a latency SLI."""
    if not one_histogram:
        why = f"success reads {success.name} and total {total.name}, not one histogram's _bucket and _count"
    else:
        extra = sorted(success.without("le") ^ total.without("le"))
        shown = ", ".join(f"{label}{op}{promql.quote(value)}" for label, op, value in extra)
        why = f"success and total select different series ({shown} in one of them only)"
    return (
        f"Pyrra's latency indicator: {why}, so obsgen's latency SLI (one selector for both) cannot "
        "hold it; it is imported as good (success) over total events, as Pyrra computes it"
    )


def _bool_gauge(imp: Import, gauge: Cursor, at: PathKey, out: OutFile) -> None:
    imp.check_keys(gauge, ("metric", "grouping"))
    series = _selector(imp, gauge)
    by = _grouping(imp, gauge)
    if series is None or by is None:
        return
    if by:
        grouping = gauge.get("grouping")
        assert grouping is not None
        imp.refuse(grouping, GROUPED_GAUGE)
        return
    samples = f"sum(count_over_time({series.text}[{WINDOW}]))"
    base = (*at, "sli", "query")
    out.set(base, {}, gauge)
    out.note(
        base,
        "Pyrra's bool_gauge: each sample of the gauge is an event, good when 1, so the error ratio "
        "is the share of samples that are 0 — the same queries as Pyrra's over each window",
    )
    out.set((*base, "errors"), f"{samples} - sum(sum_over_time({series.text}[{WINDOW}]))", series.cursor)
    out.set((*base, "total"), samples, series.cursor)


def _series(imp: Import, parent: Cursor, key: str) -> Series | None:
    """The `{metric: <selector>}` at `parent[key]`."""
    query = imp.mapping(parent, key)
    if query is None:
        return None
    imp.check_keys(query, ("metric",))
    return _selector(imp, query)


def _selector(imp: Import, query: Cursor) -> Series | None:
    """A `metric:` field read as Pyrra reads it: one series selector with a metric name."""
    import promql_parser

    metric = imp.text(query, "metric", 'a series selector such as http_requests_total{code=~"5.."}')
    if metric is None:
        return None
    text = str(metric.value).strip()
    try:
        node: Any = promql.parse(text)
    except promql.PromQLError as exc:
        imp.refuse(metric, str(exc))
        return None
    if not isinstance(node, promql_parser.VectorSelector):
        imp.refuse(metric, f'Pyrra reads one series selector here, such as x{{code=~"5.."}}; got {text!r}')
        return None
    if node.offset is not None or node.at is not None:
        imp.refuse(metric, f"offset and @ cannot be imported (Pyrra would drop them): {text!r}")
        return None
    if not node.name or not text.startswith(node.name):
        imp.refuse(metric, f'write the metric name before the braces, e.g. up{{job="x"}}: {text!r}')
        return None
    return Series(metric, text, str(node.name), tuple(promql.matcher_triples(node)))


def _grouping(imp: Import, parent: Cursor) -> list[str] | None:
    grouping = parent.get("grouping")
    if grouping is None or grouping.value is None:
        return []
    labels = [item.value for item in grouping.items()]
    if not isinstance(grouping.value, list) or not all(isinstance(label, str) for label in labels):
        imp.refuse(grouping, "expected a list of label names, e.g. [handler]")
        return None
    return labels


def _set_by(out: OutFile, at: PathKey, parent: Cursor, by: list[str]) -> None:
    if by:
        grouping = parent.get("grouping")
        assert grouping is not None
        out.set((*at, "by"), by, grouping)


def _bucket_bound(imp: Import, success: Series) -> float | None:
    """The `le` of Pyrra's success selector: the latency bound, in seconds."""
    matcher = success.matcher("le")
    if matcher is None:
        imp.refuse(success.cursor, 'the success selector needs its bucket, e.g. le="0.3" (Pyrra requires it)')
        return None
    _, op, value = matcher
    try:
        bound = float(value)
    except ValueError:
        bound = math.nan
    if op != "=" or not math.isfinite(bound) or bound <= 0:
        imp.refuse(
            success.cursor, f'expected one bucket bound above zero, le="<seconds>"; got le{op}"{value}"'
        )
        return None
    return bound


def _number(value: float) -> int | float:
    return int(value) if value == int(value) else value
