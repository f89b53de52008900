"""A v1 thresholdMetric over Timeslices → a recorded `signals` entry and the SLO's `sli.threshold`.

The query shapes read: `[agg(]fn_over_time(m{…}[w])[)]` records fn over w, aggregated with agg;
a plain selector `m{…}` records the worst sample of each time slice (max for lt/lte, min for
gt/gte), so a slice is good only if every sample in it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from math import gcd
from typing import Any

from generator.conventions import EVENTS_BASE_WINDOW
from generator.durations import format_duration
from generator.importers.document import OutFile
from generator.importers.openslo.objects import Import
from generator.importers.openslo.queries import (
    Query,
    metric_query,
    note_queries,
    parsed,
    selector_parts,
    unparenthesized,
)
from generator.importers.openslo.service import add_metric, note
from generator.importers.openslo.values import duration_seconds, is_number, number
from generator.importers.source import Cursor, PathKey
from generator.validate.cadence import MAX_RECORDING_INTERVAL

OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
OVER_TIME = {
    "avg_over_time": "mean",
    "max_over_time": "max",
    "min_over_time": "min",
    "stddev_over_time": "stddev",
    "quantile_over_time": "quantile",
}
AGGREGATES = {"max": "max", "min": "min", "avg": "avg", "sum": "sum"}


@dataclass
class _Reading:
    """How a signal reads the query's series: `function` over `window` seconds of `selector`."""

    function: str
    window: int
    selector: Any
    quantile: float | None = None
    notes: list[str] = field(default_factory=list)


def convert_threshold(
    imp: Import, objective: Cursor, metric: Cursor, at: PathKey, out: OutFile, service: Cursor
) -> None:
    op, value = objective.get("op"), objective.get("value")
    window, target = objective.get("timeSliceWindow"), objective.get("timeSliceTarget")
    if op is None or str(op.value) not in OPS:
        imp.refuse(op or objective, "a threshold objective needs op: lt, lte, gt or gte (the good condition)")
        return
    if value is None or not is_number(value.value):
        imp.refuse(value or objective, "a threshold objective needs a numeric `value`")
        return
    if window is None:
        imp.refuse(objective, "a Timeslices objective needs timeSliceWindow, e.g. 1m or 5m")
        return
    slice_seconds = duration_seconds(imp, window, "timeSliceWindow", minutes_if_number=True)
    if target is None or not is_number(target.value) or not 0 < float(target.value) <= 1:
        imp.refuse(target or objective, "a Timeslices objective needs timeSliceTarget in (0, 1]")
        return
    query = metric_query(imp, metric)
    if slice_seconds is None or query is None:
        return
    note_queries(out, at, [query])
    native_op = OPS[str(op.value)]
    signal = _signal(imp, query, native_op, slice_seconds, float(target.value), target)
    if signal is None:
        return
    signal_def, notes = signal
    time_slice = _time_slice(slice_seconds)
    if time_slice != slice_seconds:
        notes.append(_slice_note(signal_def, slice_seconds, time_slice))
    record = _signal_record(out, service, signal_def, query.cursor)
    add_metric(imp, out, signal_def["metric"], "gauge", query.cursor)
    out.set((*at, "time_slice"), format_duration(time_slice), window)
    base = (*at, "sli", "threshold")
    out.set((*base, "signal"), record, query.cursor)
    out.set((*base, "op"), native_op, op)
    out.set((*base, "value"), number(value.value), value)
    for text in notes:
        note(out, (*base, "signal"), text)


def _signal(
    imp: Import, query: Query, op: str, slice_seconds: int, slice_target: float, target: Cursor
) -> tuple[dict[str, Any], list[str]] | None:
    """A native signal reading the threshold query, and notes on how it was read."""
    import promql_parser

    node = parsed(imp, query)
    if node is None:
        return None
    worst = "max" if op in ("<", "<=") else "min"
    aggregation = _aggregation(imp, unparenthesized(node), query)
    if aggregation is None:
        return None
    node, aggregate, by = aggregation
    reading: _Reading | None
    if isinstance(node, promql_parser.VectorSelector):
        reading = _plain_series(imp, node, worst, slice_seconds, slice_target, target)
    elif isinstance(node, promql_parser.Call) and node.func.name in OVER_TIME:
        reading = _over_time(imp, node, query, slice_target)
    else:
        imp.unsupported(
            query.cursor,
            "cannot import this threshold query: obsgen records a series selector, "
            "<fn>_over_time(<series>[<range>]) with fn avg, max, min, stddev or quantile, optionally "
            f"inside max, min, avg or sum (by …); got {query.text!r}",
        )
        return None
    if reading is None:
        return None
    parts = selector_parts(imp, reading.selector, query)
    if parts is None:
        return None
    notes = reading.notes
    if aggregate is None:
        aggregate = worst
        notes.append(
            f"several series of the query combine with {worst} (the worst for op {op}), as obsgen "
            "aggregates every signal"
        )
    metric, matchers = parts
    signal: dict[str, Any] = {
        "metric": metric,
        "function": reading.function,
        "window": format_duration(reading.window),
    }
    if reading.quantile is not None:
        signal["quantile"] = reading.quantile
    signal["aggregate"] = aggregate
    if by:
        signal["by"] = by
    if matchers:
        signal["matchers"] = matchers
    return signal, notes


def _aggregation(imp: Import, node: Any, query: Query) -> tuple[Any, str | None, list[str]] | None:
    """(the aggregated expression, its aggregate, by labels); (node, None, []) when not aggregated."""
    import promql_parser

    if not isinstance(node, promql_parser.AggregateExpr) or str(node.op) not in AGGREGATES:
        return node, None, []
    if node.modifier is not None and node.modifier.type != promql_parser.AggModifierType.By:
        imp.unsupported(query.cursor, f"`without` cannot be imported; use `by`: {query.text!r}")
        return None
    by = list(node.modifier.labels if node.modifier else [])
    return unparenthesized(node.expr), AGGREGATES[str(node.op)], by


def _plain_series(
    imp: Import, node: Any, worst: str, slice_seconds: int, slice_target: float, target: Cursor
) -> _Reading | None:
    """A plain series: its worst sample over each time slice (every sample of the slice good)."""
    if slice_target != 1:
        imp.unsupported(
            target,
            f"timeSliceTarget {target.value} over a plain series cannot be imported: obsgen's "
            "slice is good when one derived value meets the objective, not a share of the "
            "slice's samples; give timeSliceTarget: 1 (every sample of the slice good), or "
            f"write the query as e.g. quantile_over_time({target.value}, <series>[<slice>]) "
            "to decide on that quantile instead",
        )
        return None
    notes = [
        f"the source's query is a plain series: obsgen records its {worst} over each "
        f"{format_duration(slice_seconds)} time slice, so a slice is good only if the value held "
        "the objective through all of it (timeSliceTarget 1)"
    ]
    return _Reading(worst, slice_seconds, node, notes=notes)


def _over_time(imp: Import, node: Any, query: Query, slice_target: float) -> _Reading | None:
    """`<fn>_over_time([q, ]<series>[<range>])`: fn over the range."""
    import promql_parser

    function = OVER_TIME[node.func.name]
    args = list(node.args)
    quantile = None
    if function == "quantile":
        if len(args) != 2 or not isinstance(args[0], promql_parser.NumberLiteral):
            imp.unsupported(query.cursor, f"expected quantile_over_time(<q>, …): {query.text!r}")
            return None
        quantile = float(args[0].val)
        args = args[1:]
    matrix = args[0] if len(args) == 1 else None
    if not isinstance(matrix, promql_parser.MatrixSelector):
        imp.unsupported(query.cursor, f"expected {node.func.name}(<series>[<range>]): {query.text!r}")
        return None
    notes = []
    if slice_target != 1:
        notes.append(
            f"timeSliceTarget {slice_target:g}: obsgen checks the query's value once per time slice, "
            "so the slice's share of good values is 0 or 1 and meets the target exactly when that "
            "value is good"
        )
    return _Reading(function, int(matrix.range.total_seconds()), matrix.vector_selector, quantile, notes)


def _slice_note(signal: dict[str, Any], slice_seconds: int, time_slice: int) -> str:
    """How a slice longer than obsgen records one is checked instead."""
    shown, every = format_duration(slice_seconds), format_duration(time_slice)
    plain = signal["window"] == shown and "quantile" not in signal
    return f"obsgen records a time slice at most every {format_duration(MAX_RECORDING_INTERVAL)}: " + (
        f"it checks the trailing {shown} every {every}, so a bad sample counts for {shown} of "
        f"bad time, as it does in one fixed {shown} slice on average"
        if plain
        else f"it checks the query every {every}, each check counting for {every} of time"
    )


def _signal_record(out: OutFile, service: Cursor, signal: dict[str, Any], origin: Cursor) -> str:
    """The signal's record name; an identical signal is shared, a different one gets its own name."""
    operation = signal["function"]
    if signal["function"] == "quantile":
        operation = "p" + _quantile_digits(signal["quantile"])
    level = re.sub(r"[^a-zA-Z0-9_]", "_", str(service.value))
    base = f"{level}:{signal['metric']}:{operation}_{signal['window']}"
    record, suffix = base, 1
    while True:
        existing = next((s for s in out.data["signals"] if s["record"] == record), None)
        if existing is None:
            break
        if {k: v for k, v in existing.items() if k != "record"} == signal:
            return record
        suffix += 1
        record = f"{base}_{suffix}"
    out.set(("signals", len(out.data["signals"])), {"record": record, **signal}, origin)
    return record


def _time_slice(seconds: int) -> int:
    """obsgen's time_slice for an OpenSLO slice: itself, or (longer than obsgen records a slice)
    the longest divisor of it on the 5m grid every SLI window lies on."""
    if seconds <= MAX_RECORDING_INTERVAL:
        return seconds
    grid = gcd(seconds, EVENTS_BASE_WINDOW)
    return max((d for d in range(1, MAX_RECORDING_INTERVAL + 1) if grid % d == 0), default=seconds)


def _quantile_digits(quantile: float) -> str:
    """0.95 → `95`, 0.999 → `99_9`, 0.5 → `50`."""
    text = format(Decimal(str(quantile)) * 100, "f").rstrip("0").rstrip(".")
    return text.replace(".", "_")
