"""Panels built with grafanalib: a time series, a stat, a table of firing alerts; thresholds
drawn from the model; the data source always the `${datasource}` variable."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import attr
from grafanalib import core as g

from generator import promql
from generator.durations import format_duration, parse_duration
from generator.grafana.normalise import normalise

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTHS = {"timeseries": 12, "stat": 6, "table": 12}
HEIGHT = 8

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


def _targets(queries: Sequence[Query], instant: bool = False) -> list[g.Target]:
    targets = []
    for i, query in enumerate(queries):
        promql.parse(as_sent(query.expr, query.min_step))
        targets.append(
            g.Target(
                expr=query.expr,
                legendFormat=query.legend,
                refId=chr(ord("A") + i),
                datasource=DATASOURCE,
                instant=instant,
                interval=format_duration(query.min_step) if query.min_step else "",
                # Grafana's default; 2 would double the step but not $__rate_interval, skipping data.
                intervalFactor=1,
            )
        )
    return targets


def timeseries(
    title: str,
    queries: Sequence[Query],
    lines: Sequence[Line] = (),
    unit: str = "none",
    legend_calcs: Sequence[str] = (),
) -> g.Panel:
    return g.TimeSeries(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        thresholds=steps(lines),
        thresholdsStyleMode="line" if lines else "off",
        legendCalcs=list(legend_calcs),
    )


def stat(title: str, queries: Sequence[Query], lines: Sequence[Line] = (), unit: str = "none") -> g.Panel:
    return g.Stat(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        format=unit,
        reduceCalc="lastNotNull",
        thresholds=steps(lines),
    )


def alerts_table(title: str, matchers: Sequence[tuple[str, str, str]]) -> g.Panel:
    selector = promql.selector("ALERTS", [("alertstate", "=", "firing"), *matchers])
    return g.Table(title=title, dataSource=DATASOURCE, targets=_targets([Query(selector)], instant=True))


def laid_out(sections: Sequence[Sequence[g.Panel]]) -> list[g.Panel]:
    """Left to right, wrapping at Grafana's 24 columns, each section on a new line; ids in order."""
    placed: list[g.Panel] = []
    y = 0
    for section in sections:
        x, height = 0, 0
        for panel in section:
            width = WIDTHS[panel.to_json_data()["type"]]
            if x + width > 24:
                x, y = 0, y + HEIGHT
            pos = g.GridPos(h=HEIGHT, w=width, x=x, y=y)
            placed.append(_with(panel, gridPos=pos, id=len(placed) + 1))
            x, height = x + width, HEIGHT
        y += height
    return placed


def _with(panel: g.Panel, **changes: object) -> g.Panel:
    return attr.evolve(panel, **changes)


def datasource_variable() -> g.Template:
    return g.Template(name="datasource", label="Data source", query="prometheus", type="datasource")


def label_variable(name: str, label: str, series: str) -> g.Template:
    """A query variable of `label`'s values on `series`: several or All (then `.*`), so a panel
    filtering `label=~"$name"` shows one series per chosen value. Refreshed with the time range,
    so groups that appear later are offered."""
    return g.Template(
        name=name,
        label=label,
        query=f"label_values({series}, {label})",
        type="query",
        dataSource=DATASOURCE,
        multi=True,
        includeAll=True,
        allValue=".*",
        refresh=2,
    )


def dashboard(
    uid: str,
    title: str,
    description: str,
    sections: Sequence[Sequence[g.Panel]],
    tags: list[str],
    variables: Sequence[g.Template] = (),
) -> dict[str, Any]:
    """A whole dashboard, brought to Grafana's current schema (see normalise)."""
    board = g.Dashboard(
        title=title,
        uid=uid,
        description=description,
        tags=tags,
        panels=laid_out(sections),
        templating=g.Templating(list=[datasource_variable(), *variables]),
        timezone="utc",
        refresh="1m",
    )
    return normalise(json.loads(json.dumps(board.to_json_data(), default=json_data)))


def json_data(obj: Any) -> Any:
    """grafanalib objects nest: each one encodes as its own `to_json_data()`."""
    to_json_data = getattr(obj, "to_json_data", None)
    if to_json_data is None:
        raise TypeError(f"{type(obj).__name__} is not JSON serialisable")
    return to_json_data()
