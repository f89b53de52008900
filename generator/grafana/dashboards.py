"""Model → Grafana dashboards: the spec's own (e.g. `lumen-min`), one SLO dashboard per
service with SLOs, one per canary gate. Every query reads series the rules record or the
declared exporters serve, realm-filtered like the rules."""

from __future__ import annotations

import json
from typing import Any

from generator import promql
from generator.durations import format_duration
from generator.gate_rules import CONDITION_VALUE, PROMOTE, ROLLBACK, VIOLATIONS, gate_selector
from generator.grafana.normalise import normalise
from generator.grafana.panels import (
    Line,
    Query,
    alerts_table,
    datasource_variable,
    laid_out,
    stat,
    timeseries,
)
from generator.model import SLO, Gate, Service, Spec, ThresholdAlert, ThresholdCondition, TrendCondition
from generator.model.dashboards import Dashboard, DashboardPanel
from generator.model.gates import QuorumCondition
from generator.rules import BUDGET_REMAINING, ERROR_BUDGET, sli_error_ratio, slo_selector
from generator.slo_math import burn_windows, error_budget, identity_labels, slo_id

BAD_ABOVE_OPS = ("<", "<=")
"""A condition `x <= v` (good below) turns red above v."""


def _dashboard(uid: str, title: str, description: str, panels: list[Any], tags: list[str]) -> dict[str, Any]:
    from grafanalib import core as g
    from grafanalib._gen import DashboardEncoder

    board = g.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=tags,
        panels=laid_out(panels),
        templating=datasource_variable(),
        timezone="utc",
        refresh="1m",
    )
    return normalise(json.loads(json.dumps(board.to_json_data(), cls=DashboardEncoder)))


# --- thresholds from the model --------------------------------------------------------------------


def slo_line(slo: SLO) -> Line | None:
    if slo.sli.threshold is None:
        return None
    return Line(slo.sli.threshold.value, slo.sli.threshold.op in BAD_ABOVE_OPS)


def alert_line(alert: ThresholdAlert) -> Line:
    return Line(alert.value, alert.op in (">", ">=", "==", "!="))


def condition_line(condition: ThresholdCondition | TrendCondition) -> Line:
    if isinstance(condition, TrendCondition):
        if condition.trend == "rising":
            return Line(condition.epsilon, True)
        return Line(-condition.epsilon, False)
    return Line(condition.value, condition.op in BAD_ABOVE_OPS)


def series_query(service: Service, series: str) -> Query:
    metric = service.metric(series)
    legend = "{{instance}}" if metric is not None else ""
    return Query(promql.selector(series, service.realm_matchers()), legend)


# --- the spec's own dashboards --------------------------------------------------------------------


def _panel_line(service: Service, panel: DashboardPanel) -> list[Line]:
    if panel.threshold is None:
        return []
    if panel.threshold.slo is not None:
        slo = next(s for s in service.slos if s.name == panel.threshold.slo)
        line = slo_line(slo)
        return [line] if line else []
    alert = next(a for a in service.alerts if a.name == panel.threshold.alert)
    return [alert_line(alert)] if isinstance(alert, ThresholdAlert) else []


def declared_dashboard(service: Service, dashboard: Dashboard) -> dict[str, Any]:
    panels = []
    for panel in dashboard.panels:
        title = panel.title or panel.series
        query, lines = series_query(service, panel.series), _panel_line(service, panel)
        if panel.type == "stat":
            panels.append(stat(title, query, lines, panel.unit))
        else:
            panels.append(timeseries(title, [query], lines, panel.unit))
    return _dashboard(dashboard.uid, dashboard.title, dashboard.description, panels, [service.service])


# --- SLO dashboards ---------------------------------------------------------------------------------


def slo_dashboard_uid(service: Service) -> str:
    return f"{service.service}-slos"


def _slo_panels(service: Service, slo: SLO) -> list[Any]:
    ident = slo_id(service, slo)
    if slo.sli.threshold is not None:
        signal = slo.sli.threshold.signal
        line = slo_line(slo)
        sli = timeseries(
            f"{ident}: {signal} {slo.sli.threshold.op} {promql.number(slo.sli.threshold.value)}",
            [series_query(service, signal)],
            [line] if line else [],
        )
    else:
        ratio = Query(slo_selector(sli_error_ratio(300), service, slo), "error ratio (5m)")
        budget = Line(float(error_budget(slo)), True)
        sli = timeseries(f"{ident}: error ratio against the budget", [ratio], [budget], "percentunit")
    remaining = stat(
        f"{ident}: error budget left ({format_duration(slo.period)})",
        Query(slo_selector(BUDGET_REMAINING, service, slo)),
        [Line(0, False, "red"), Line(0.25, False, "orange")],
        "percentunit",
    )
    windows = burn_windows(slo)
    names = identity_labels(service)
    budget_series = slo_selector(ERROR_BUDGET, service, slo)
    rates = [
        Query(
            f"{slo_selector(sli_error_ratio(w), service, slo)} / ignoring ({names.window}) {budget_series}",
            f"burn rate {format_duration(w)}",
        )
        for w in sorted({w.long for w in windows})
    ]
    factors = [Line(float(w.factor), True, "red" if w.severity == "page" else "orange") for w in windows]
    burn = timeseries(f"{ident}: burn rate (page and ticket factors drawn)", rates, _unique(factors))
    firing = alerts_table(f"{ident}: firing alerts", {names.id: ident})
    return [sli, remaining, burn, firing]


def _unique(lines: list[Line]) -> list[Line]:
    """One line per value; a page factor wins over an equal ticket factor."""
    by_value: dict[float, Line] = {}
    for line in sorted(lines, key=lambda ln: ln.color != "red"):
        by_value.setdefault(line.value, line)
    return list(by_value.values())


def slo_dashboard(service: Service) -> dict[str, Any]:
    panels = [panel for slo in service.slos for panel in _slo_panels(service, slo)]
    return _dashboard(
        slo_dashboard_uid(service),
        f"{service.service} SLOs",
        f"SLIs, error budgets and burn rates of the {service.service} SLOs (generated by obsgen).",
        panels,
        [service.service, "slo"],
    )


# --- gate dashboards --------------------------------------------------------------------------------


def _quorum_panels(service: Service, gate: Gate, quorum: QuorumCondition) -> list[Any]:
    passing = Query(gate_selector(CONDITION_VALUE, service, gate, quorum.name), "instances passing")
    panels = [
        timeseries(
            f"{quorum.name}: canaries passing (≥ {quorum.min_passing} of {quorum.of})",
            [passing],
            [Line(quorum.min_passing, False)],
        )
    ]
    for check in quorum.checks:
        query = Query(promql.selector(check.series, service.realm_matchers()), f"{{{{{quorum.label}}}}}")
        line = Line(check.value, check.op in BAD_ABOVE_OPS)
        title = f"{quorum.name}: {check.series} {check.op} {promql.number(check.value)} per canary"
        panels.append(timeseries(title, [query], [line]))
    return panels


def _condition_panel(service: Service, condition: ThresholdCondition | TrendCondition) -> Any:
    source = promql.selector(condition.series, service.realm_matchers())
    if isinstance(condition, TrendCondition):
        slope = promql.call("deriv", promql.range_vector(source, condition.window))
        query = Query(
            promql.aggregate(condition.worst_of(), slope), f"slope over {format_duration(condition.window)}"
        )
        title = f"{condition.name}: {condition.series} trend (per second)"
    else:
        query = series_query(service, condition.series)
        title = f"{condition.name}: {condition.series} {condition.op} {promql.number(condition.value)}"
    return timeseries(title, [query], [condition_line(condition)])


def gate_dashboard(service: Service, gate: Gate) -> dict[str, Any]:
    panels = []
    for condition in gate.conditions:
        if isinstance(condition, QuorumCondition):
            panels += _quorum_panels(service, gate, condition)
        else:
            panels.append(_condition_panel(service, condition))
    panels += [
        stat(
            f"{gate.name}: promote", Query(gate_selector(PROMOTE, service, gate)), [Line(1, False, "orange")]
        ),
        stat(f"{gate.name}: roll back", Query(gate_selector(ROLLBACK, service, gate)), [Line(1, True)]),
        timeseries(
            f"{gate.name}: conditions violated",
            [Query(gate_selector(VIOLATIONS, service, gate), "violated")],
            [Line(gate.rollback.violations, True)],
        ),
    ]
    return _dashboard(
        gate.name,
        f"Canary gate {gate.name}",
        gate.description or f"The conditions and verdict of canary gate {gate.name} (generated by obsgen).",
        panels,
        [service.service, "canary"],
    )


def compile_dashboards(spec: Spec) -> dict[str, dict[str, Any]]:
    """uid → dashboard JSON."""
    boards: dict[str, dict[str, Any]] = {}
    for service in spec.services:
        for dashboard in service.dashboards:
            boards[dashboard.uid] = declared_dashboard(service, dashboard)
        if service.slos:
            boards[slo_dashboard_uid(service)] = slo_dashboard(service)
        for gate in service.gates:
            boards[gate.name] = gate_dashboard(service, gate)
    return dict(sorted(boards.items()))


def compile_provisioning() -> dict[str, Any]:
    """A file provider for generated/grafana/dashboards, so Grafana loads them without the API."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "obsgen",
                "orgId": 1,
                "folder": "obsgen",
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": "/var/lib/grafana/dashboards/obsgen", "foldersFromFilesStructure": False},
            }
        ],
    }
