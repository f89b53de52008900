"""Sloth's `openslo/v1alpha` dialect, read exactly as Sloth reads it.

Every objective becomes one SLO `<metadata.name>-<index>` whose good/total queries become
Sloth's raw error ratio; both alert tiers are disabled, as Sloth writes no alerts for OpenSLO.
"""

from __future__ import annotations

from typing import Any

from generator.importers.document import OutFile
from generator.importers.openslo import slo
from generator.importers.openslo.objects import Import
from generator.importers.openslo.queries import Query, note_queries, set_error_ratio, window_query
from generator.importers.openslo.service import note, service_file
from generator.importers.openslo.values import is_int, truthy
from generator.importers.source import Cursor, PathKey

DAY = 86400


def convert_v1alpha_slo(imp: Import, root: Cursor) -> None:
    parts = slo.parts(imp, root)
    if parts is None:
        return
    name, metadata, spec = parts
    imp.check_keys(metadata, ("name", "displayName"))
    imp.check_keys(
        spec,
        ("service", "description", "budgetingMethod", "objectives", "timeWindows"),
        refused={
            "indicator": "Sloth's OpenSLO (v1alpha) import reads ratioMetrics objectives only; a "
            "thresholdMetric indicator needs openslo/v1 (SLI thresholdMetric, Timeslices)"
        },
    )
    service = slo.service(imp, spec)
    objectives = slo.objectives(imp, spec)
    method = spec.get("budgetingMethod")
    if method is None or method.value != "Occurrences":
        imp.refuse(
            method or spec,
            "budgetingMethod must be Occurrences: Sloth's OpenSLO (v1alpha) import counts events only",
        )
    period = _period(imp, spec)
    if service is None or objectives is None:
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
        _convert_objective(imp, objective, at, out, period, windows)


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
    if rolling is not None and not truthy(rolling.value) and window.get("calendar") is None:
        imp.refuse(rolling, slo.CALENDAR)
    if unit is None or str(unit.value).lower() != "day":
        imp.refuse(unit or window, "the time window's unit must be Day (Sloth counts SLO periods in days)")
        return None
    if count is None or not is_int(count.value) or int(count.value) <= 0:
        imp.refuse(count or window, "the time window needs a whole number of days as count")
        return None
    return int(count.value) * DAY, count


def _convert_objective(
    imp: Import,
    objective: Cursor,
    at: PathKey,
    out: OutFile,
    period: slo.Period | None,
    windows: list[dict[str, Any]] | None,
) -> None:
    imp.check_keys(
        objective,
        ("displayName", "value", "ratioMetrics", "target"),
        refused={
            key: f"`{key}` applies to threshold metrics, which Sloth's OpenSLO (v1alpha) import ignores"
            for key in ("op", "timeSliceTarget")
        },
    )
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
    set_error_ratio(out, (*at, "sli", "query"), good, total)
    note_queries(out, at, (good, total))
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
    imp.check_keys(ratio, ("good", "total", "counter"))
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
    if kind is None or str(kind.value) not in ("prometheus", "sloth"):
        imp.refuse(kind or source, "the source must be prometheus (or sloth), as Sloth requires")
    if query_type is None or query_type.value != "promql":
        imp.refuse(query_type or source, "queryType must be promql")
    if query is None or not isinstance(query.value, str) or not query.value.strip():
        imp.refuse(query or source, "a PromQL `query` is required")
        return None
    return window_query(query)
