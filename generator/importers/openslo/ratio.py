"""An OpenSLO ratio (v1 ratioMetric, v1alpha ratioMetrics) → the native `sli.ratio` (counters, or
queries over `{{.window}}` of the standard shape) or `sli.query` (other `{{.window}}` queries).

Queries over `{{.window}}` of the shape `sum [by (…)] (rate|increase(counter{…}[{{.window}}]))`
(native_query.py) become `sli.ratio` selectors, whose counters join the file's catalog with their
job (catalog.py), as Sloth's do; the others stay `sli.query` verbatim, and one note per service
says which and why. `raw_queries` keeps them all raw, computed exactly as Sloth computes them.
"""

from __future__ import annotations

from typing import Any

from generator.importers import native_query
from generator.importers.catalog import RawQueries, WrittenSli
from generator.importers.document import OutFile
from generator.importers.openslo.objects import Import
from generator.importers.openslo.queries import (
    WINDOW,
    Query,
    metric_query,
    note_queries,
    plain_selector,
    sloth_error_ratio,
)
from generator.importers.openslo.service import add_metric
from generator.importers.openslo.values import truthy
from generator.importers.source import Cursor, PathKey

NATIVE_EVENTS = {"bad": "errors", "good": "good", "total": "total"}
"""OpenSLO's ratio parts → the events of a native sli.ratio"""
RAW_TYPES = ("success", "failure")


def convert_ratio(imp: Import, ratio: Cursor, at: PathKey, out: OutFile) -> None:
    imp.check_keys(ratio, ("counter", "good", "bad", "total", "raw", "rawType"))
    parts = {k: ratio.get(k) for k in ("good", "bad", "total", "raw")}
    present = [k for k, v in parts.items() if v is not None]
    if present not in (["good", "total"], ["bad", "total"], ["raw"]):
        imp.refuse(ratio, "a ratioMetric needs good and total, bad and total, or raw (with rawType)")
        return
    raw_type = ratio.get("rawType")
    if raw_type is not None and "raw" not in present:
        imp.refuse(raw_type, "rawType only applies to a `raw` ratio; remove it")
    queries = {k: metric_query(imp, part) for k in present if (part := parts[k]) is not None}
    if any(q is None for q in queries.values()):
        return
    found = {k: q for k, q in queries.items() if q is not None}
    set_ratio_sli(imp, ratio, found, at, out, ratio.get("counter"))


def set_ratio_sli(
    imp: Import, ratio: Cursor, found: dict[str, Query], at: PathKey, out: OutFile, counter: Cursor | None
) -> None:
    """The SLI of a ratio's queries: over `{{.window}}` verbatim, else plain counter selectors as
    events (`counter`: the flag saying they are counters, v1's `counter` or v1alpha's `incremental`)."""
    windowed = [k for k, q in found.items() if WINDOW in q.text]
    if windowed and len(windowed) != len(found):
        plain = next(k for k in found if k not in windowed)
        imp.unsupported(
            found[plain].cursor,
            f"the {' and '.join(windowed)} query reads {WINDOW} but this one does not; give every "
            f"query of the ratio over {WINDOW}, or every one as a plain counter selector",
        )
        return
    note_queries(out, at, found.values())
    if windowed:
        _set_queries(imp, ratio, found, at, out)
    else:
        _set_events(imp, ratio, found, at, out, counter)


def _set_queries(imp: Import, ratio: Cursor, found: dict[str, Query], at: PathKey, out: OutFile) -> None:
    """Queries over `{{.window}}` → `sli.ratio` when they are counters of the standard shape (and
    not `raw_queries`), else `sli.query`: errors/total, or an error ratio. The SLI is settled, and
    may go back to `sli.query`, once the file holds every SLO (convert)."""
    raw_type = _raw_type(imp, ratio) if "raw" in found else None
    if "raw" in found and raw_type is None:
        return
    recognised = None if imp.options.raw_queries else _recognised(found, raw_type)
    native = recognised if isinstance(recognised, native_query.NativeRatio) else None
    reason = recognised.reason if isinstance(recognised, native_query.NotNative) else None
    queries = {NATIVE_EVENTS.get(part, part): query.cursor for part, query in found.items()}
    slo = str(out.data["slos"][at[-1]]["name"])
    written = WrittenSli(slo, (*at, "sli"), ratio, queries, _raw_queries(found, raw_type), native, reason)
    written.write(out)
    imp.written_slis.setdefault(str(out.data["service"]), []).append(written)


def _raw_type(imp: Import, ratio: Cursor) -> str | None:
    """A raw ratio's rawType: success (a good ratio) or failure (an error ratio); else refused."""
    raw_type = ratio.get("rawType")
    if raw_type is None or raw_type.value not in RAW_TYPES:
        imp.refuse(raw_type or ratio, "rawType must be success or failure with raw")
        return None
    return str(raw_type.value)


def _recognised(found: dict[str, Query], raw_type: str | None) -> native_query.Recognised:
    """The queries as a native ratio SLI obsgen takes, or why they stay raw."""
    if raw_type == "failure":
        ratio = native_query.ratio_from_error_ratio(found["raw"].text)
    elif raw_type == "success":
        ratio = native_query.ratio_from_success_ratio(found["raw"].text)
    elif "bad" in found:
        ratio = native_query.ratio_from_errors(found["bad"].text, found["total"].text)
    else:
        ratio = native_query.ratio_from_good(found["good"].text, found["total"].text)
    return native_query.accepted_ratio(ratio)


def _raw_queries(found: dict[str, Query], raw_type: str | None) -> RawQueries:
    """The `sli.query` of the queries: errors/total, or an error ratio (a good one as `1 - (…)`,
    good/total as Sloth's `1 - (good / total)`)."""
    if raw_type is not None:
        raw = found["raw"]
        text = raw.text if raw_type == "failure" else f"\n  1 - (\n    {raw.text}\n  )\n"
        return RawQueries({"error_ratio": (text, raw.cursor)})
    total = found["total"]
    if "bad" in found:
        bad = found["bad"]
        return RawQueries({"errors": (bad.text, bad.cursor), "total": (total.text, total.cursor)})
    good = found["good"]
    # the total query's comments go above `query:`
    return RawQueries({"error_ratio": (sloth_error_ratio(good, total), good.cursor)}, total.cursor)


def _set_events(
    imp: Import, ratio: Cursor, found: dict[str, Query], at: PathKey, out: OutFile, counter: Cursor | None
) -> None:
    """Plain counter selectors → `sli.ratio` events, the counters added to the file's metrics."""
    if counter is None or not truthy(counter.value):
        flag = "incremental" if counter is not None and counter.path[-1] == "incremental" else "counter"
        imp.unsupported(
            counter or ratio,
            f"queries without {{{{.window}}}} are read as counters, which needs `{flag}: true`; for "
            "gauges or other shapes write each query over {{.window}}, e.g. "
            "sum(rate(x[{{.window}}])), and they are imported verbatim",
        )
        return
    if "raw" in found:
        imp.unsupported(
            found["raw"].cursor,
            f"a raw ratio must be read over {WINDOW} (e.g. avg_over_time(x[{WINDOW}])) to be imported",
        )
        return
    selected: dict[str, tuple[str, dict[str, str]]] = {}
    for part, query in found.items():
        selector = plain_selector(imp, query, "an events (counter) SLI")
        if selector is None:
            return
        selected[part] = selector
    for part, (metric, matchers) in selected.items():
        event: dict[str, Any] = {"metric": metric}
        if matchers:
            event["matchers"] = matchers
        source = ratio.get(part)
        assert source is not None
        out.set((*at, "sli", "ratio", NATIVE_EVENTS[part]), event, source)
        out.mark((*at, "sli", "ratio", NATIVE_EVENTS[part], "metric"), found[part].cursor)
        add_metric(imp, out, metric, "counter", found[part].cursor)
