"""Panels as plain Grafana JSON (dashboard schemaVersion 39): a time series, a stat, a table of
firing alerts; thresholds drawn from the model; the data source always the `${datasource}`
variable. Each builder returns the finished document: every field Grafana's schema allows and
the dashboards carry, no nulls (Grafana reads an absent option as its default)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from generator import promql
from generator.durations import format_duration, parse_duration

Panel = dict[str, Any]
Variable = dict[str, Any]

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTHS = {"timeseries": 12, "stat": 6, "table": 12}
HEIGHT = 8
REFRESH_INTERVALS = ("5s", "10s", "30s", "1m", "5m", "15m", "30m", "1h", "2h", "1d")

RATE_INTERVAL = "$__rate_interval"
RATE_INTERVAL_SCRAPES = 4
"""Grafana's `$__rate_interval` is max($__interval + S, 4 × S), S the query's Min step."""


@dataclass(frozen=True)
class Line:
    """A threshold at `value`; values beyond it in the bad direction turn red."""

    value: float
    bad_above: bool
    color: str = "red"


@dataclass(frozen=True)
class Query:
    """A PromQL query and its legend; `min_step` (seconds), the scrape interval of the series a
    `$__rate_interval` query reads, is sent as the query's Min step."""

    expr: str
    legend: str = ""
    min_step: int | None = None


def rate(selector: str) -> str:
    """`rate(x[$__rate_interval])`: the scrape-safe window that also follows the zoom.

    Grafana makes `$__rate_interval` max($__interval + S, 4 × S), where S is the query's Min step
    when it has one and otherwise the data source's "scrape interval" setting (15s unless set).
    A query built here always carries the series' scrape interval from the spec as its Min step
    (see `Query.min_step`), so the window is at least four scrapes of *that* service (one failed
    scrape and an unfinished one still leave two samples) whatever the data source says, and
    when zoomed out it grows with the step, so no sample between two points is skipped. A fixed
    `[4 × scrape]` would be safe too, but at a 30-day range would draw a 1-minute rate every 30
    minutes and miss whatever happened in between. Queries are parsed as Grafana sends them at
    the narrowest zoom (see `as_sent`)."""
    return promql.call("rate", f"{selector}[{RATE_INTERVAL}]")


def as_sent(expr: str, min_step: int | None) -> str:
    """The query as Grafana sends it at its narrowest zoom, where `$__rate_interval` is 4 × the
    Min step (template variables such as `$handler` sit in label values, which parse as they are)."""
    if RATE_INTERVAL not in expr:
        return expr
    if not min_step:
        raise ValueError(f"a {RATE_INTERVAL} query needs the scrape interval as its Min step: {expr}")
    return expr.replace(RATE_INTERVAL, format_duration(RATE_INTERVAL_SCRAPES * min_step))


def target_as_sent(target: dict[str, Any]) -> str:
    """`as_sent` of a dashboard's JSON target."""
    interval = target.get("interval")
    return as_sent(target["expr"], parse_duration(interval) if interval else None)


def steps(lines: Sequence[Line]) -> list[dict[str, object]]:
    """Grafana threshold steps: a base colour, then a step at each line in ascending order.

    Bad above: green, then each line's colour from its value up. Bad below: the lowest line's
    colour, then the next line's from each value, green above the highest.
    """
    ordered = sorted(lines, key=lambda line: line.value)
    if not ordered:
        return [{"color": "green", "value": None}]
    if len({line.bad_above for line in ordered}) > 1:
        raise ValueError("a panel's thresholds must all be bad above, or all bad below")
    if ordered[0].bad_above:
        return [{"color": "green", "value": None}] + [
            {"color": ln.color, "value": ln.value} for ln in ordered
        ]
    after = [ln.color for ln in ordered[1:]] + ["green"]
    return [{"color": ordered[0].color, "value": None}] + [
        {"color": color, "value": ln.value} for ln, color in zip(ordered, after, strict=True)
    ]


def datasource() -> dict[str, str]:
    """A fresh copy of `DATASOURCE`, so no two places in a dashboard share one dict."""
    return dict(DATASOURCE)


def target(query: Query, ref_id: str, instant: bool = False) -> dict[str, Any]:
    """One query of a panel; `query`, `metric`, `step` and `target` are fields Grafana ignores
    for Prometheus, kept so the generated documents stay as they were."""
    return {
        "datasource": datasource(),
        "expr": query.expr,
        "format": "time_series",
        "hide": False,
        "instant": instant,
        "interval": format_duration(query.min_step) if query.min_step else "",
        # Grafana's default; 2 would double the step but not $__rate_interval, skipping data.
        "intervalFactor": 1,
        "legendFormat": query.legend,
        "metric": "",
        "query": query.expr,
        "refId": ref_id,
        "step": 10,
        "target": "",
    }


def _targets(queries: Sequence[Query], instant: bool = False) -> list[dict[str, Any]]:
    """Refs A, B, …; each query must parse as Grafana sends it."""
    targets = []
    for i, query in enumerate(queries):
        promql.check(as_sent(query.expr, query.min_step))
        targets.append(target(query, chr(ord("A") + i), instant))
    return targets


def _panel(
    kind: str,
    title: str,
    targets: list[dict[str, Any]],
    defaults: dict[str, Any],
    thresholds: list[dict[str, object]],
    options: dict[str, Any],
) -> Panel:
    """The fields every panel carries; `defaults` are its field defaults but the thresholds.
    Placed (`gridPos`, `id`) by `laid_out`."""
    return {
        "datasource": datasource(),
        "fieldConfig": {
            "defaults": {**defaults, "thresholds": {"mode": "absolute", "steps": thresholds}},
            "overrides": [],
        },
        "hideTimeOverride": False,
        "links": [],
        "maxDataPoints": 100,
        "options": options,
        "targets": targets,
        "title": title,
        "transformations": [],
        "transparent": False,
        "type": kind,
    }


def timeseries(
    title: str,
    queries: Sequence[Query],
    lines: Sequence[Line] = (),
    unit: str = "none",
    legend_calcs: Sequence[str] = (),
) -> Panel:
    """Lines drawn as lines (`thresholdsStyle` off when there are none)."""
    custom = {
        "axisLabel": "",
        "axisPlacement": "auto",
        "barAlignment": 0,
        "drawStyle": "line",
        "fillOpacity": 0,
        "gradientMode": "none",
        "hideFrom": {"legend": False, "tooltip": False, "viz": False},
        "lineInterpolation": "linear",
        "lineWidth": 1,
        "pointSize": 5,
        "scaleDistribution": {"log": 2, "type": "linear"},
        "showPoints": "auto",
        "spanNulls": False,
        "stacking": {},
        "thresholdsStyle": {"mode": "line" if lines else "off"},
    }
    defaults = {"color": {"mode": "palette-classic"}, "custom": custom, "mappings": [], "unit": unit}
    options = {
        "legend": {"calcs": list(legend_calcs), "displayMode": "list", "placement": "bottom"},
        "tooltip": {"mode": "single", "sort": "none"},
    }
    return _panel("timeseries", title, _targets(queries), defaults, steps(lines), options)


def stat(title: str, queries: Sequence[Query], lines: Sequence[Line] = (), unit: str = "none") -> Panel:
    """The last non-null value, coloured by the lines."""
    defaults = {"custom": {}, "mappings": [], "noValue": "none", "unit": unit}
    options = {
        "colorMode": "value",
        "graphMode": "area",
        "justifyMode": "auto",
        "orientation": "auto",
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "textMode": "auto",
    }
    return _panel("stat", title, _targets(queries), defaults, steps(lines), options)


def alerts_table(title: str, matchers: Sequence[tuple[str, str, str]]) -> Panel:
    """The firing `ALERTS` matching `matchers`, as of now (an instant query)."""
    selector = promql.selector("ALERTS", [("alertstate", "=", "firing"), *matchers])
    defaults = {"custom": {"align": "auto", "displayMode": "auto", "filterable": False}, "unit": ""}
    options = {"showHeader": True, "sortBy": []}
    return _panel("table", title, _targets([Query(selector)], instant=True), defaults, [], options)


def laid_out(sections: Sequence[Sequence[Panel]]) -> list[Panel]:
    """Left to right, wrapping at Grafana's 24 columns, each section on a new line; ids in order."""
    placed: list[Panel] = []
    y = 0
    for section in sections:
        x, height = 0, 0
        for panel in section:
            width = WIDTHS[panel["type"]]
            if x + width > 24:
                x, y = 0, y + HEIGHT
            grid = {"h": HEIGHT, "w": width, "x": x, "y": y}
            placed.append({**panel, "gridPos": grid, "id": len(placed) + 1})
            x, height = x + width, HEIGHT
        y += height
    return placed


def _variable(name: str, label: str, query: str, kind: str) -> Variable:
    """A dashboard variable shown with its label, one value at a time, refreshed on load."""
    return {
        "auto": False,
        "auto_count": 30,
        "auto_min": "10s",
        "hide": 0,
        "includeAll": False,
        "label": label,
        "multi": False,
        "name": name,
        "options": [],
        "query": query,
        "refresh": 1,
        "sort": 1,
        "type": kind,
    }


def datasource_variable() -> Variable:
    """`${datasource}`: any Prometheus data source, Grafana's default one until chosen."""
    return _variable("datasource", "Data source", "prometheus", "datasource")


def label_variable(name: str, label: str, series: str) -> Variable:
    """A query variable of `label`'s values on `series`: several or All (then `.*`), so a panel
    filtering `label=~"$name"` shows one series per chosen value. Refreshed with the time range,
    so groups that appear later are offered."""
    variable = _variable(name, label, f"label_values({series}, {label})", "query")
    variable.update(allValue=".*", datasource=datasource(), includeAll=True, multi=True, refresh=2)
    return variable


def dashboard(
    uid: str,
    title: str,
    description: str,
    sections: Sequence[Sequence[Panel]],
    tags: list[str],
    variables: Sequence[Variable] = (),
) -> dict[str, Any]:
    """A whole dashboard in Grafana's current schema: UTC, the last hour, refreshed every minute."""
    return {
        "annotations": {"list": []},
        "description": description,
        "editable": True,
        "graphTooltip": 0,
        "links": [],
        "panels": laid_out(sections),
        "refresh": "1m",
        "schemaVersion": SCHEMA_VERSION,
        "tags": list(tags),
        "templating": {"list": [datasource_variable(), *variables]},
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {"hidden": False, "refresh_intervals": list(REFRESH_INTERVALS)},
        "timezone": "utc",
        "title": title,
        "uid": uid,
        "version": 0,
    }
