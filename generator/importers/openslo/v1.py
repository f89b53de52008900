"""An `openslo/v1` SLO → native SLOs: one per objective, with its SLI, period and alerting."""

from __future__ import annotations

from generator.importers.document import OutFile
from generator.importers.openslo import slo
from generator.importers.openslo.alerting import policy_windows, set_alerting
from generator.importers.openslo.objects import ANNOTATIONS, METADATA_KEYS, Import
from generator.importers.openslo.queries import check_metric_sources
from generator.importers.openslo.ratio import convert_ratio
from generator.importers.openslo.service import note, service_file, set_labels
from generator.importers.openslo.threshold import convert_threshold
from generator.importers.openslo.values import duration_seconds, truthy
from generator.importers.source import Cursor, PathKey

SLO_KEYS = (
    "description",
    "service",
    "indicator",
    "indicatorRef",
    "budgetingMethod",
    "timeWindow",
    "objectives",
    "alertPolicies",
)
SLI_KEYS = ("description", "thresholdMetric", "ratioMetric")
RATIO_OBJECTIVE_KEYS = ("displayName", "target", "targetPercent")
RATIO_OBJECTIVE_REFUSED = {
    "op": "op and value apply to threshold metrics; a ratio SLO's objective is its target",
    "value": "op and value apply to threshold metrics; a ratio SLO's objective is its target",
    "timeSliceTarget": "timeSliceTarget applies to Timeslices budgeting, which a ratio SLO cannot use here",
    "timeSliceWindow": "timeSliceWindow applies to Timeslices budgeting, which a ratio SLO cannot use here",
}
THRESHOLD_OBJECTIVE_KEYS = (
    "displayName",
    "op",
    "value",
    "target",
    "targetPercent",
    "timeSliceTarget",
    "timeSliceWindow",
)


def convert_v1_slo(imp: Import, root: Cursor) -> None:
    parts = slo.parts(imp, root)
    if parts is None:
        return
    name, metadata, spec = parts
    imp.check_keys(metadata, METADATA_KEYS, refused={"annotations": ANNOTATIONS})
    imp.check_keys(spec, SLO_KEYS)
    service = slo.service(imp, spec)
    objectives = slo.objectives(imp, spec)
    indicator = _indicator(imp, spec)
    method = _budgeting_method(imp, spec)
    period = _period(imp, spec)
    policies = policy_windows(imp, spec)
    if service is None or objectives is None or indicator is None:
        return
    sli_spec, sli_meta, sli_root = indicator
    if method is None:
        check_metric_sources(imp, sli_spec)  # every problem at once
        return
    out = service_file(imp, service, root)
    if sli_spec.get("thresholdMetric") is not None and len(objectives) != 1:
        imp.refuse(objectives[1], "an SLO over a thresholdMetric has exactly one objective (OpenSLO)")
        return
    labels = {**imp.options.extra_labels}
    meta_labels = metadata.get("labels")
    description = spec.get("description")
    display = metadata.get("displayName")
    for index, objective in enumerate(objectives):
        at = slo.new_entry(out, objective, name if len(objectives) == 1 else f"{name}-{index}", metadata)
        if description is not None:
            out.set((*at, "description"), str(description.value), description)
            if display is not None:
                note(out, at, f"OpenSLO displayName: {display.value}")
        elif display is not None:
            out.set((*at, "description"), str(display.value), display)
        slo.set_objective(imp, objective, at, out, ("target", "targetPercent"))
        if period is None:
            note(out, at, "the source gives no timeWindow; obsgen's default period (30d) applies")
        elif isinstance(period, tuple):
            slo.set_period(out, at, period)
        if meta_labels is not None:
            set_labels(imp, out, (*at, "labels"), meta_labels, labels)
        elif labels:
            out.set((*at, "labels"), labels)
        for line in imp.header_once(sli_root):
            note(out, (*at, "sli"), line)
        _convert_sli(imp, objective, at, out, sli_spec, sli_meta, method, service)
        set_alerting(imp, spec, at, out, policies, period)


def _indicator(imp: Import, spec: Cursor) -> tuple[Cursor, Cursor | None, Cursor] | None:
    """The SLI's `spec` mapping (inline or referenced), its metadata, and its object."""
    inline, ref = spec.get("indicator"), spec.get("indicatorRef")
    if (inline is None) == (ref is None):
        imp.refuse(spec, "give exactly one of `indicator` (inline SLI) or `indicatorRef`")
        return None
    if ref is not None:
        root = imp.referenced("SLI", ref)
        if root is None:
            return None
    else:
        assert inline is not None
        if not inline.is_map():
            imp.refuse(inline, "expected an inline SLI (metadata, spec)")
            return None
        root = inline
    parts = imp.referred_spec(root, SLI_KEYS, "an SLI needs a `spec` with thresholdMetric or ratioMetric")
    if parts is None:
        return None
    metadata, body = parts
    if (body.get("thresholdMetric") is None) == (body.get("ratioMetric") is None):
        imp.refuse(body, "an SLI needs exactly one of `thresholdMetric` or `ratioMetric`")
        return None
    return body, metadata, root


def _budgeting_method(imp: Import, spec: Cursor) -> str | None:
    """Occurrences or Timeslices; RatioTimeslices and anything else are refused."""
    method = spec.get("budgetingMethod")
    if method is None or method.value not in ("Occurrences", "Timeslices", "RatioTimeslices"):
        imp.refuse(method or spec, "budgetingMethod must be Occurrences, Timeslices or RatioTimeslices")
        return None
    if method.value == "RatioTimeslices":
        imp.unsupported(
            method,
            "RatioTimeslices (the mean of every slice's good/total ratio) has no obsgen equivalent: "
            "obsgen counts events (Occurrences over a ratio) or good slices (Timeslices over a "
            "threshold); choose one of those",
        )
        return None
    return str(method.value)


def _period(imp: Import, spec: Cursor) -> slo.Period | bool | None:
    """The SLO's period; None when the source gives none (obsgen's 30d); False when refused."""
    windows = spec.get("timeWindow")
    if windows is None:
        return None
    items = windows.items()
    if len(items) != 1:
        imp.refuse(windows, "timeWindow holds exactly one time window")
        return False
    window = items[0]
    imp.check_keys(window, ("duration", "isRolling"), refused={"calendar": slo.CALENDAR})
    rolling = window.get("isRolling")
    if window.get("calendar") is not None:
        return False
    if rolling is not None and not truthy(rolling.value):
        imp.unsupported(rolling, slo.CALENDAR)
        return False
    duration = window.get("duration")
    if duration is None:
        imp.refuse(window, "the time window needs a duration, e.g. 30d")
        return False
    seconds = duration_seconds(imp, duration, "the SLO period")
    return False if seconds is None else (seconds, duration)


def _convert_sli(
    imp: Import,
    objective: Cursor,
    at: PathKey,
    out: OutFile,
    sli: Cursor,
    sli_meta: Cursor | None,
    method: str,
    service: Cursor,
) -> None:
    """The SLO's `sli` from the SLI's ratioMetric (Occurrences) or thresholdMetric (Timeslices)."""
    out.mark((*at, "sli"), sli)
    description = sli.get("description")
    if description is not None:
        note(out, (*at, "sli"), f"OpenSLO SLI description: {description.value}")
    display = sli_meta.get("displayName") if sli_meta else None
    if display is not None:
        note(out, (*at, "sli"), f"OpenSLO SLI displayName: {display.value}")
    ratio, threshold = sli.get("ratioMetric"), sli.get("thresholdMetric")
    if ratio is not None:
        if method != "Occurrences":
            slices = ("timeSliceTarget", "timeSliceWindow")  # the method's refusal says it all
            refused = {k: v for k, v in RATIO_OBJECTIVE_REFUSED.items() if k not in slices}
            imp.check_keys(objective, (*RATIO_OBJECTIVE_KEYS, *slices), refused=refused)
            imp.unsupported(
                ratio,
                f"a ratioMetric SLO with budgetingMethod {method} cannot be imported: obsgen counts "
                "a ratio's events over the period (Occurrences), not good slices; use "
                "Occurrences, or a thresholdMetric for a time-slice SLO",
            )
            check_metric_sources(imp, sli)
            return
        imp.check_keys(objective, RATIO_OBJECTIVE_KEYS, refused=RATIO_OBJECTIVE_REFUSED)
        _note_objective_name(objective, at, out)
        convert_ratio(imp, ratio, at, out)
    elif threshold is not None:
        imp.check_keys(objective, THRESHOLD_OBJECTIVE_KEYS)
        if method != "Timeslices":
            imp.unsupported(
                threshold,
                f"a thresholdMetric SLO with budgetingMethod {method} cannot be imported: a "
                "threshold has no events to count; obsgen counts good time slices "
                "(budgetingMethod: Timeslices)",
            )
            check_metric_sources(imp, sli)
            return
        _note_objective_name(objective, at, out)
        convert_threshold(imp, objective, threshold, at, out, service)


def _note_objective_name(objective: Cursor, at: PathKey, out: OutFile) -> None:
    display = objective.get("displayName")
    if display is not None:
        note(out, (*at, "objective"), f"OpenSLO objective displayName: {display.value}")
