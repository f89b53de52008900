"""The `<service>-slos` dashboard, one section per SLO: its SLI over the alerting windows against
the objective, the error budget left against the budget policy's `freeze_below`, the burn rate
against the page and ticket factors, and its firing alerts. Every number comes from the model
(slo_math, settings); every query reads the series the SLO's rules record.

A grouped SLO (`by: [handler]`) gets a dashboard variable per label, offered from the SLO's own
series; its panels keep only the chosen groups (`handler=~"$handler"`) and draw one series per
group, as its rules and alerts keep one per group.
"""

from __future__ import annotations

from typing import Any

from generator import promql
from generator.conventions import BUDGET_REMAINING, ERROR_BUDGET, identity_labels, sli_error_ratio, slo_id
from generator.durations import format_duration
from generator.grafana.panels import (
    Line,
    Panel,
    Query,
    Variable,
    alerts_table,
    dashboard,
    label_variable,
    timeseries,
)
from generator.grafana.queries import series_queries, slo_line
from generator.model import SLO, Service, Spec
from generator.rules import slo_matchers
from generator.slo_math import burn_windows, enabled_windows, objective_ratio, sli_windows

Matchers = list[tuple[str, str, str]]

RESERVED_VARIABLES = frozenset({"datasource"})
"""Variable names the dashboard already uses."""


def slo_dashboard_uid(service: Service) -> str:
    return f"{service.service}-slos"


def variable_name(label: str) -> str:
    """The variable of a `by` label: the label's own name, unless the dashboard has it already."""
    return f"{label}_group" if label in RESERVED_VARIABLES else label


def chosen_groups(slo: SLO) -> Matchers:
    """`handler=~"$handler"` for each `by` label: the groups chosen in the variables (All: `.*`)."""
    return [(label, "=~", f"${variable_name(label)}") for label in slo.by]


def _identity(service: Service, slo: SLO) -> Matchers:
    return [(label, "=", value) for label, value in slo_matchers(service, slo).items()]


def slo_series(name: str, service: Service, slo: SLO) -> str:
    """One of the SLO's recorded series, only the chosen groups of a grouped SLO."""
    return promql.selector(name, [*_identity(service, slo), *chosen_groups(slo)])


def _legend(slo: SLO, text: str) -> str:
    """`{{handler}} 1h` for a grouped SLO: one series per group."""
    return " ".join([*(f"{{{{{label}}}}}" for label in slo.by), text])


def _percent(ratio: float) -> str:
    return f"{promql.number(round(ratio * 100, 9))}%"


def sli_panel(service: Service, slo: SLO) -> Panel:
    """The share of good events (or slices) over every window a burn-rate alert reads."""
    sli = slo.sli
    if sli.latency is not None:
        what = f"share of requests under {promql.number(sli.latency.below)}s"
    elif sli.threshold is not None:
        what = f"share of good {format_duration(slo.time_slice)} slices"
    else:
        what = "availability (1 − error ratio)"
    windows = sorted({w for pair in burn_windows(slo) for w in (pair.long, pair.short)})
    queries = [
        Query(f"1 - {slo_series(sli_error_ratio(w), service, slo)}", _legend(slo, format_duration(w)))
        for w in windows
    ]
    title = f"{slo_id(service, slo)}: {what} (objective {promql.number(slo.objective)}%)"
    return timeseries(title, queries, [Line(float(objective_ratio(slo)), False)], "percentunit")


def budget_panel(spec: Spec, service: Service, slo: SLO) -> Panel:
    """What is left of the period's error budget: red once spent, orange below the budget
    policy's `freeze_below`, where `obsgen budget check` freezes risky changes."""
    freeze = spec.settings.error_budget_policy.freeze_below
    lines = [Line(0, False, "red"), *([Line(freeze, False, "orange")] if freeze > 0 else [])]
    title = (
        f"{slo_id(service, slo)}: error budget left ({format_duration(slo.period)}; "
        f"changes freeze below {_percent(freeze)})"
    )
    query = Query(slo_series(BUDGET_REMAINING, service, slo), _legend(slo, "budget left"))
    return timeseries(title, [query], lines, "percentunit", legend_calcs=["lastNotNull"])


def burn_panel(service: Service, slo: SLO) -> Panel:
    """Error ratio over the budget for each long window, with the factors of the enabled
    page (red) and ticket (orange) tiers drawn; a group's ratio over the SLO's one budget."""
    names = identity_labels(service)
    budget = promql.selector(ERROR_BUDGET, slo_matchers(service, slo))
    matching = f"ignoring ({', '.join([names.window, *slo.by])}){' group_left' if slo.by else ''}"
    rates = [
        Query(
            f"{slo_series(sli_error_ratio(w), service, slo)} / {matching} {budget}",
            _legend(slo, f"burn rate {format_duration(w)}"),
        )
        for w in sorted({pair.long for pair in burn_windows(slo)})
    ]
    enabled = enabled_windows(slo)
    tiers = []
    for severity in ("page", "ticket"):
        factors = sorted({float(w.factor) for w in enabled if w.severity == severity}, reverse=True)
        if factors:
            tiers.append(f"{severity} {', '.join(f'{f:g}×' for f in factors)}")
    lines = [Line(float(w.factor), True, "red" if w.severity == "page" else "orange") for w in enabled]
    title = f"{slo_id(service, slo)}: burn rate ({'; '.join(tiers) or 'no burn-rate alerts'})"
    return timeseries(title, rates, _unique(lines))


def _unique(lines: list[Line]) -> list[Line]:
    """One line per value; a page factor wins over an equal ticket factor."""
    by_value: dict[float, Line] = {}
    for line in sorted(lines, key=lambda ln: ln.color != "red"):
        by_value.setdefault(line.value, line)
    return list(by_value.values())


def slo_panels(spec: Spec, service: Service, slo: SLO) -> list[Panel]:
    ident = slo_id(service, slo)
    panels = []
    if slo.sli.threshold is not None:
        threshold = slo.sli.threshold
        line = slo_line(slo)
        panels.append(
            timeseries(
                f"{ident}: {threshold.signal} {threshold.op} {promql.number(threshold.value)}",
                series_queries(spec, service, threshold.signal),
                [line] if line else [],
            )
        )
    alerts = [(identity_labels(service).id, "=", ident), *chosen_groups(slo)]
    return [
        *panels,
        sli_panel(service, slo),
        budget_panel(spec, service, slo),
        burn_panel(service, slo),
        alerts_table(f"{ident}: firing alerts", alerts),
    ]


def group_variables(service: Service) -> list[Variable]:
    """One variable per `by` label of the service's SLOs, offering the groups their shortest
    SLI window has seen (every SLO grouped by that label, so one choice filters them all)."""
    labels = list(dict.fromkeys(label for slo in service.slos for label in slo.by))
    variables = []
    for label in labels:
        grouped = [slo for slo in service.slos if label in slo.by]
        window = min(set.intersection(*(set(sli_windows(slo)) for slo in grouped)))
        ids = sorted(slo_id(service, slo) for slo in grouped)
        identity = (identity_labels(service).id, "=~" if len(ids) > 1 else "=", "|".join(ids))
        realm = [(k, "=", v) for k, v in service.realm_matchers().items()]
        series = promql.selector(sli_error_ratio(window), [identity, *realm])
        variables.append(label_variable(variable_name(label), label, series))
    return variables


def slo_dashboard(spec: Spec, service: Service) -> dict[str, Any]:
    return dashboard(
        slo_dashboard_uid(service),
        f"{service.service} SLOs",
        f"SLIs, error budgets and burn rates of the {service.service} SLOs (generated by obsgen).",
        [slo_panels(spec, service, slo) for slo in service.slos],
        [service.service, "slo"],
        group_variables(service),
    )
