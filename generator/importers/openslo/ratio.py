"""An OpenSLO ratio (v1 ratioMetric, v1alpha ratioMetrics) → the native `sli.query` (queries over
`{{.window}}`) or `sli.ratio` (counters)."""

from __future__ import annotations

from typing import Any

from generator.importers.document import OutFile
from generator.importers.openslo.objects import Import
from generator.importers.openslo.queries import (
    WINDOW,
    Query,
    metric_query,
    note_queries,
    plain_selector,
    set_error_ratio,
)
from generator.importers.openslo.service import add_metric
from generator.importers.openslo.values import truthy
from generator.importers.source import Cursor, PathKey

NATIVE_EVENTS = {"bad": "errors", "good": "good", "total": "total"}
"""OpenSLO's ratio parts → the events of a native sli.ratio"""


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
    """Queries over `{{.window}}` → `sli.query`: errors/total, or an error ratio."""
    base = (*at, "sli", "query")
    if "raw" in found:
        raw_type = ratio.get("rawType")
        if raw_type is None or raw_type.value not in ("success", "failure"):
            imp.refuse(raw_type or ratio, "rawType must be success or failure with raw")
            return
        raw = found["raw"]
        if raw_type.value == "failure":
            out.set((*base, "error_ratio"), raw.text, raw.cursor)
        else:
            out.set((*base, "error_ratio"), f"\n  1 - (\n    {raw.text}\n  )\n", raw.cursor)
    elif "bad" in found:
        out.set((*base, "errors"), found["bad"].text, found["bad"].cursor)
        out.set((*base, "total"), found["total"].text, found["total"].cursor)
    else:
        set_error_ratio(out, base, found["good"], found["total"])


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
