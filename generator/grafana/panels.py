"""Panels built with grafanalib: a time series, a stat, a table of firing alerts; thresholds
drawn from the model; the data source always the `${datasource}` variable."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import attr
from grafanalib import core as g

from generator import promql

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTHS = {"timeseries": 12, "stat": 6, "table": 24}
HEIGHT = 8


@dataclass(frozen=True)
class Line:
    """A threshold at `value`; values beyond it in the bad direction turn red."""

    value: float
    bad_above: bool
    color: str = "red"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


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
        promql.parse(query.expr)
        targets.append(
            g.Target(
                expr=query.expr,
                legendFormat=query.legend,
                refId=chr(ord("A") + i),
                datasource=DATASOURCE,
                instant=instant,
            )
        )
    return targets


def timeseries(
    title: str, queries: Sequence[Query], lines: Sequence[Line] = (), unit: str = "none"
) -> g.Panel:
    return g.TimeSeries(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets(queries),
        unit=unit,
        thresholds=steps(lines),
        thresholdsStyleMode="line" if lines else "off",
    )


def stat(title: str, query: Query, lines: Sequence[Line] = (), unit: str = "none") -> g.Panel:
    return g.Stat(
        title=title,
        dataSource=DATASOURCE,
        targets=_targets([query]),
        format=unit,
        reduceCalc="lastNotNull",
        thresholds=steps(lines),
    )


def alerts_table(title: str, matchers: dict[str, str]) -> g.Panel:
    selector = promql.selector("ALERTS", {"alertstate": "firing", **matchers})
    return g.Table(title=title, dataSource=DATASOURCE, targets=_targets([Query(selector)], instant=True))


def laid_out(panels: Sequence[g.Panel]) -> list[g.Panel]:
    """Left to right, wrapping at Grafana's 24 columns; ids in order."""
    placed, x, y = [], 0, 0
    for i, panel in enumerate(panels):
        width = WIDTHS[panel.to_json_data()["type"]]
        if x + width > 24:
            x, y = 0, y + HEIGHT
        placed.append(_with(panel, gridPos=g.GridPos(h=HEIGHT, w=width, x=x, y=y), id=i + 1))
        x += width
    return placed


def _with(panel: g.Panel, **changes: object) -> g.Panel:
    return attr.evolve(panel, **changes)


def datasource_variable() -> g.Templating:
    return g.Templating(
        list=[g.Template(name="datasource", label="Data source", query="prometheus", type="datasource")]
    )
