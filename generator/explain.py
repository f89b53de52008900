"""`obsgen explain SLO_ID`: one SLO's rules, burn-rate factors and detection times, for people."""

from __future__ import annotations

from fractions import Fraction

from generator import promql
from generator.conventions import (
    EVENTS_BASE_WINDOW,
    SLI_ERRORS,
    SLI_TOTAL,
    TIME_SLICE_ERROR,
    identity_labels,
    sli_error_ratio,
    slo_id,
)
from generator.durations import format_duration, human_duration
from generator.model import SLO, Service, Spec
from generator.rules import event_selector, hour_tiles
from generator.sli_events import events_of
from generator.slo_math import (
    burn_alert_name,
    burn_windows,
    enabled_windows,
    error_budget,
    fire_time_base,
    objective_ratio,
    sli_windows,
    time_to_fire,
)


def find_slo(spec: Spec, wanted: str) -> tuple[Service, SLO] | None:
    for service in spec.services:
        for slo in service.slos:
            if slo_id(service, slo) == wanted:
                return service, slo
    return None


def all_slo_ids(spec: Spec) -> list[str]:
    return [slo_id(service, slo) for service in spec.services for slo in service.slos]


def explain(service: Service, slo: SLO) -> str:
    budget = error_budget(slo)
    names = identity_labels(service)
    lines = [
        f"SLO {slo_id(service, slo)}" + (f" — {slo.description}" if slo.description else ""),
        f"  objective      {float(objective_ratio(slo)) * 100:g}% over {format_duration(slo.period)}"
        f" (error budget {float(budget) * 100:g}%"
        f" = {human_duration(float(budget * slo.period))} of bad time)",
        f"  SLI            {_sli_sentence(service, slo)}",
        "",
        f"Recording rules (labels {names.id}, {names.service}, {names.name}; {names.window} on the ratios):",
    ]
    base = [TIME_SLICE_ERROR] if slo.sli.threshold else [] if slo.sli.query else [SLI_ERRORS, SLI_TOTAL]
    lines += [f"  {name}" for name in base]
    lines += [f"  {sli_error_ratio(w)}" for w in sli_windows(slo)[:-1]]
    tiles = [tile for tile, _, _ in hour_tiles(service, slo)]
    if tiles:
        lines.append(f"  {', '.join(tiles)} (hour tiles: the period up to the last whole hour)")
    lines.append(f"  {sli_error_ratio(slo.period, service)}")
    lines += [
        "  slo:objective:ratio, slo:error_budget:ratio, slo:time_period:days",
        "  slo:current_burn_rate:ratio, slo:period_burn_rate:ratio, slo:period_error_budget_remaining:ratio",
        "",
        f"Burn-rate alert {burn_alert_name(service, slo)} (multiwindow, multi-burn-rate, no `for`):",
        "  severity  long/short   factor  error ratio above   fires after (100% bad)   budget spent",
    ]
    enabled = enabled_windows(slo)
    base = fire_time_base(slo)
    for window in burn_windows(slo):
        threshold = window.threshold(budget)
        fire = time_to_fire(window, budget, Fraction(1), base)
        spent = threshold * window.long / (budget * slo.period)
        state = "" if window in enabled else "   (disabled)"
        lines.append(
            f"  {window.severity:<9} {window.label():<12} {float(window.factor):>6g}"
            f"  {float(threshold):<18.6g}  {human_duration(float(fire)):<22}"
            f"   {float(spent) * 100:.3g}%{state}"
        )
    lines += [
        "",
        *_fire_time_note(slo),
    ]
    return "\n".join(lines) + "\n"


def _fire_time_note(slo: SLO) -> list[str]:
    if slo.sli.threshold is None and slo.sli.query is None:
        return [
            "Fires after: when both windows' error ratios reach factor × budget, after a clean history;",
            f"the events are read over {format_duration(EVENTS_BASE_WINDOW)}, so a new error ratio "
            "ramps up over that long first.",
        ]
    return [
        "Fires after = long window × factor × budget ÷ bad fraction, after a clean history;"
        " a derived signal's own window adds its delay before slices turn bad."
    ]


def _sli_sentence(service: Service, slo: SLO) -> str:
    if slo.sli.threshold is not None:
        t = slo.sli.threshold
        return (
            f"time slices of {format_duration(slo.time_slice)} where {t.signal} {t.op} {t.value:g}"
            f" are good; a slice without data counts as {t.missing_data}"
        )
    if slo.sli.query is not None:
        queries = "; ".join(f"{k} = {' '.join(v.split())}" for k, v in slo.sli.query.queries().items())
        return f"raw PromQL over each window ({queries}); the period is the mean of the 5m ratios"
    events = events_of(slo.sli)
    read = f"sum{' by (' + ', '.join(slo.by) + ')' if slo.by else ''} of rate over 5m"
    if slo.sli.latency is not None:
        head = f"requests faster than {promql.number(slo.sli.latency.below)}s are good"
    else:
        head = "events"
    if events.errors is not None:
        parts = f"errors = {event_selector(service, events.errors)}"
    else:
        parts = f"good = {event_selector(service, events.part)}"
    groups = f"; one SLO per {', '.join(slo.by)}" if slo.by else ""
    return (
        f"{head}: {parts}, total = {event_selector(service, events.total)} ({read}); "
        f"no traffic is not an error{groups}"
    )
