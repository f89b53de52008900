"""`openslo/v1alpha`, read exactly as Sloth reads it where Sloth reads it.

Every objective becomes one SLO `<metadata.name>-<index>` whose good/total `{{.window}}` queries
become a native ratio SLI when they are of the standard shape, else (and with `raw_queries`)
Sloth's raw error ratio (ratio.py); both alert tiers are disabled, as Sloth writes no alerts for
OpenSLO. Beyond Sloth's dialect, v1alpha's `ratioMetrics.incremental: true` (the v1alpha name of
v1's `counter`: the queries return counters) with plain counter selectors becomes an events SLI.
"""

from __future__ import annotations

from typing import Any

from generator.importers.document import OutFile
from generator.importers.openslo import slo
from generator.importers.openslo.objects import Import
from generator.importers.openslo.queries import Query, window_query
from generator.importers.openslo.ratio import set_ratio_sli
from generator.importers.openslo.service import note, service_file
from generator.importers.openslo.values import is_int, truthy
from generator.importers.source import Cursor, PathKey

DAY = 86400
SPEC_KEYS = ("service", "description", "budgetingMethod", "objectives", "timeWindows", "indicator")


def convert_v1alpha_slo(imp: Import, root: Cursor) -> None:
    parts = slo.parts(imp, root)
    if parts is None:
        return
    name, metadata, spec = parts
    imp.check_keys(metadata, ("name", "displayName"))
    imp.check_keys(spec, SPEC_KEYS)
    indicator = spec.get("indicator")
    if indicator is not None:
        _refuse_threshold(imp, indicator)
    service = slo.service(imp, spec)
    objectives = slo.objectives(imp, spec)
    method = spec.get("budgetingMethod")
    if method is None or method.value not in ("Occurrences", "Timeslices"):
        imp.refuse(method or spec, "budgetingMethod must be Occurrences or Timeslices")
    elif method.value == "Timeslices" and indicator is None:
        imp.unsupported(
            method,
            "budgetingMethod Timeslices over ratioMetrics (good time slices by their good/total "
            "ratio) cannot be imported: obsgen counts a ratio's events over the period "
            "(Occurrences), as Sloth does",
        )
    period = _period(imp, spec)
    if service is None or objectives is None or indicator is not None:
        return
    out = service_file(imp, service, root)
    windows = imp.options.windows.for_period(period[0]) if period else []
    if period is not None and windows is None:
        imp.refuse(period[1], imp.options.windows.missing(period[0]))
    description = spec.get("description")
    display = metadata.get("displayName")
    for index, objective in enumerate(objectives):
        at = slo.new_entry(out, objective, f"{name}-{index}", metadata)
        if display is not None:
            note(out, at, f"OpenSLO displayName: {display.value}")
        if description is not None:
            out.set((*at, "description"), str(description.value), description)
        _check_objective(imp, objective, timeslices=method is not None and method.value == "Timeslices")
        _convert_objective(imp, objective, at, out, period, windows)


def _refuse_threshold(imp: Import, indicator: Cursor) -> None:
    """A v1alpha thresholdMetric: obsgen's threshold SLI needs a time slice v1alpha does not give."""
    imp.unsupported(
        indicator,
        "a v1alpha thresholdMetric cannot be imported: obsgen checks a threshold once per time "
        "slice (Timeslices), and v1alpha gives no slice size (timeSliceWindow came with openslo/v1); "
        "write this SLO as openslo/v1, an SLI thresholdMetric with budgetingMethod Timeslices",
    )
    threshold = indicator.get("thresholdMetric") if indicator.is_map() else None
    source = threshold.get("source") if threshold is not None and threshold.is_map() else None
    if source is not None and not _is_prometheus(source):
        imp.unsupported(source, _source_refused(source))


def _period(imp: Import, spec: Cursor) -> slo.Period | None:
    """The one time window's `count` days."""
    windows = spec.get("timeWindows")
    items = windows.items() if windows is not None else []
    if len(items) != 1:
        imp.refuse(windows or spec, "timeWindows needs exactly one time window (as in Sloth)")
        return None
    window = items[0]
    imp.check_keys(window, ("count", "unit", "isRolling"), refused={"calendar": slo.CALENDAR})
    count, unit, rolling = window.get("count"), window.get("unit"), window.get("isRolling")
    if window.get("calendar") is not None:
        return None
    if rolling is not None and not truthy(rolling.value):
        imp.unsupported(rolling, slo.CALENDAR)
        return None
    if unit is None or str(unit.value).lower() != "day":
        imp.unsupported(
            unit or window, "the time window's unit must be Day (Sloth counts v1alpha SLO periods in days)"
        )
        return None
    if count is None or not is_int(count.value) or int(count.value) <= 0:
        imp.refuse(count or window, "the time window needs a whole number of days as count")
        return None
    return int(count.value) * DAY, count


def _check_objective(imp: Import, objective: Cursor, timeslices: bool) -> None:
    """A ratio objective's fields; under Timeslices, refused already, its timeSliceTarget is not
    refused again."""
    refused = {"op": "`op` applies to threshold metrics; a ratio SLO's objective is its target"}
    if not timeslices:
        refused["timeSliceTarget"] = (
            "`timeSliceTarget` applies to Timeslices budgeting, which obsgen reads for threshold "
            "metrics only (openslo/v1)"
        )
    known = ("displayName", "value", "ratioMetrics", "target", "timeSliceTarget")
    imp.check_keys(objective, known, refused=refused)


def _convert_objective(
    imp: Import,
    objective: Cursor,
    at: PathKey,
    out: OutFile,
    period: slo.Period | None,
    windows: list[dict[str, Any]] | None,
) -> None:
    for key in ("displayName", "value"):
        child = objective.get(key)
        if child is not None:
            note(out, at, f"OpenSLO objective {key}: {child.value} (not used by a ratio SLO, nor by Sloth)")
    slo.set_objective(imp, objective, at, out, ("target",))
    if period is not None:
        slo.set_period(out, at, period)
    if imp.options.extra_labels:
        out.set((*at, "labels"), dict(imp.options.extra_labels))
    ratio_queries = _ratio_queries(imp, objective)
    if ratio_queries is None:
        return
    ratio, good, total = ratio_queries
    out.mark((*at, "sli"), ratio)
    set_ratio_sli(imp, ratio, {"good": good, "total": total}, at, out, _counter_flag(imp, ratio))
    out.set((*at, "alerting"), slo.disabled_alerting(), objective)
    note(
        out,
        (*at, "alerting"),
        "Sloth writes no alerts for OpenSLO SLOs; enable page/ticket for obsgen's burn-rate alerts",
    )
    if windows and period is not None:
        out.set((*at, "alerting", "windows"), windows, period[1])


def _ratio_queries(imp: Import, objective: Cursor) -> tuple[Cursor, Query, Query] | None:
    """(ratioMetrics, its good query, its total query)."""
    ratio = objective.get("ratioMetrics")
    if ratio is None or not ratio.is_map():
        imp.refuse(ratio or objective, "Sloth's OpenSLO import needs ratioMetrics (good, total)")
        return None
    imp.check_keys(ratio, ("good", "total", "counter", "incremental"))
    queries = {part: _query(imp, ratio, part) for part in ("good", "total")}
    good, total = queries["good"], queries["total"]
    if good is None or total is None:
        return None
    return ratio, good, total


def _query(imp: Import, ratio: Cursor, part: str) -> Query | None:
    source = ratio.get(part)
    if source is None or not source.is_map():
        imp.refuse(source or ratio, f"ratioMetrics needs `{part}` (source, queryType, query)")
        return None
    imp.check_keys(source, ("source", "queryType", "query"))
    kind, query_type, query = source.get("source"), source.get("queryType"), source.get("query")
    if kind is None:
        imp.refuse(source, "the source is required: prometheus (or sloth), as Sloth requires")
        return None
    if not _is_prometheus(kind):
        imp.unsupported(kind, _source_refused(kind))
        return None
    if query_type is None or query_type.value != "promql":
        imp.refuse(query_type or source, "queryType must be promql")
    if query is None or not isinstance(query.value, str) or not query.value.strip():
        imp.refuse(query or source, "a PromQL `query` is required")
        return None
    return window_query(query)


def _is_prometheus(source: Cursor) -> bool:
    return str(source.value).lower() in ("prometheus", "sloth")


def _source_refused(source: Cursor) -> str:
    return (
        f"source {source.value} cannot be imported: obsgen's rules run in Prometheus, so the source "
        "must be prometheus (or sloth, as Sloth reads it) with a PromQL query"
    )


def _counter_flag(imp: Import, ratio: Cursor) -> Cursor | None:
    """v1alpha's `incremental` (the spec's name) or `counter` (Sloth's dialect, v1's name): whether
    the queries return counters."""
    incremental, counter = ratio.get("incremental"), ratio.get("counter")
    if incremental is not None and counter is not None:
        imp.refuse(counter, "give one of `incremental` (v1alpha) or `counter` (its v1 name), not both")
    return incremental or counter
