"""Runbook pages: one Markdown page per alert the rules emit, rendered from a Jinja2 template.

`compile_runbooks` is pure: the spec, the rule files and the dashboards the other compilers
built, and the template's text → {`<AlertName>.md`: text}. The pages describe the rules as
rendered (expression, `for`, labels, annotations), so a page can never describe an alert the
rules do not emit. Jinja2 is imported only here, when pages are rendered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator import promql
from generator.alert_contract import missing_alert_name, stale_alert_name
from generator.conventions import WATCHDOG, slo_id
from generator.durations import format_duration, human_duration
from generator.errors import Location, SpecError, SpecIssue
from generator.grafana.slo_dashboard import slo_dashboard_uid
from generator.model import SLO, Gate, Heartbeat, PromQLAlert, Service, Spec, ThresholdAlert
from generator.model.spec import RunbookTemplate
from generator.slo_math import burn_alert_name, enabled_windows, error_budget, fire_time_base, time_to_fire

if TYPE_CHECKING:
    from jinja2 import Template

TEMPLATE_NAME = "runbook.md.j2"
PROJECT_TEMPLATE = Path("templates") / TEMPLATE_NAME
"""Where a project overrides the bundled template, relative to the directory holding spec/."""

BLANK_RUNS = re.compile(r"\n{3,}")
"""Blank lines the template's conditional blocks leave behind: one is enough in Markdown."""

KIND_TITLES = {
    "burn_rate": "SLO burn rate (multiwindow, multi-burn-rate)",
    "threshold": "threshold",
    "promql": "PromQL expression",
    "heartbeat_stale": "heartbeat stopped",
    "heartbeat_missing": "heartbeat unreadable",
    "gate": "canary gate rollback",
    "watchdog": "Watchdog (dead man's switch)",
}

MEANINGS = {
    "burn_rate": "The SLO's error budget is being spent faster than the burn rates allow: the share of "
    "bad {unit} is above factor × error budget in both the long and the short window of a pair.",
    "threshold": "The watched series has crossed its threshold and stayed across it for the `for` period.",
    "promql": "The expression below returned a result for the `for` period.",
    "heartbeat_stale": "The heartbeat's timestamp stopped changing, or its last beat is too old.",
    "heartbeat_missing": "The heartbeat cannot be judged: its scrape target is down or the series is absent.",
    "gate": "The canary gate's rollback policy holds: enough of its conditions are violated.",
    "watchdog": "Nothing is wrong: this alert always fires, to prove the alerting pipeline works.",
}


# --- the template ------------------------------------------------------------------------------


def bundled_runbook_template() -> RunbookTemplate:
    """The template shipped inside the package (generator/templates/runbook.md.j2)."""
    source = resources.files("generator").joinpath("templates", TEMPLATE_NAME).read_text("utf-8")
    return RunbookTemplate(source, f"obsgen's bundled templates/{TEMPLATE_NAME}")


def read_project_template(spec_dir: Path) -> RunbookTemplate | None:
    """The project's own templates/runbook.md.j2 next to `spec_dir`, checked; None when absent."""
    path = spec_dir.parent / PROJECT_TEMPLATE
    if not path.is_file():
        return None
    try:
        template = RunbookTemplate(path.read_text("utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(
            [SpecIssue(Location(str(path)), f"cannot read the runbook template: {reason}")]
        ) from None
    parse_template(template)
    return template


def parse_template(template: RunbookTemplate) -> Template:
    """The compiled template; a syntax error is a SpecError at its file and line."""
    import jinja2

    environment = jinja2.Environment(
        autoescape=False,  # Markdown, not HTML; values go in as text
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    try:
        return environment.from_string(template.source)
    except jinja2.TemplateSyntaxError as exc:
        raise _template_error(template, exc.lineno, exc.message or str(exc)) from None


def _template_error(template: RunbookTemplate, line: int | None, message: str) -> SpecError:
    return SpecError([SpecIssue(Location(template.origin, line), f"runbook template: {message}")])


def _failing_line(exc: BaseException) -> int | None:
    """The template line a rendering error comes from: Jinja2 rewrites the traceback so the
    template's frames carry the file name `<template>` and the template's line numbers."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render_page(compiled: Template, template: RunbookTemplate, page: dict[str, Any]) -> str:
    try:
        text = compiled.render(page)
    except Exception as exc:  # any error a user's template raises is theirs to fix, with its line
        raise _template_error(template, _failing_line(exc), f"{page['name']}: {exc}") from None
    return BLANK_RUNS.sub("\n\n", text).strip("\n") + "\n"


# --- what a page says ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The spec element an alert comes from."""

    kind: str
    service: Service | None = None
    element: SLO | ThresholdAlert | PromQLAlert | Heartbeat | Gate | None = None


def alert_sources(spec: Spec) -> dict[str, Source]:
    """Alert name → the element that makes the rules emit it (names are unique in a spec)."""
    sources: dict[str, Source] = {}
    for service in spec.services:
        for alert in service.alerts:
            sources[alert.name] = Source(alert.kind, service, alert)
        for slo in service.slos:
            sources[burn_alert_name(service, slo)] = Source("burn_rate", service, slo)
        for heartbeat in service.heartbeats:
            sources[stale_alert_name(heartbeat)] = Source("heartbeat_stale", service, heartbeat)
            sources[missing_alert_name(heartbeat)] = Source("heartbeat_missing", service, heartbeat)
        for gate in service.gates:
            sources[gate.alert_name()] = Source("gate", service, gate)
    sources[WATCHDOG] = Source("watchdog")
    return sources


def alert_rules(rule_files: dict[str, dict[str, Any]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Alert name → (rule file, alerting rule) in the order the files hold them."""
    found: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for file, document in sorted(rule_files.items()):
        for group in document.get("groups", []):
            for rule in group.get("rules", []):
                if "alert" in rule:
                    found.setdefault(str(rule["alert"]), []).append((f"{file}.yml", rule))
    return found


def rule_view(rule: dict[str, Any]) -> dict[str, Any]:
    annotations = rule.get("annotations", {})
    labels = rule.get("labels", {})
    return {
        "severity": str(labels.get("severity", "")),
        "expr": str(rule["expr"]).strip(),
        "for": str(rule.get("for", "0s")),
        "labels": sorted((str(k), str(v)) for k, v in labels.items()),
        "summary": str(annotations.get("summary", "")),
        "description": " ".join(str(annotations.get("description", "")).split()),
        "runbook_url": str(annotations.get("runbook_url", "")),
    }


PLACEHOLDER = re.compile(r"\{\{-?\s*(\$value|\$labels\.(\w+))([^}]*)\}\}")


def placeholders(descriptions: list[str]) -> list[dict[str, str]]:
    """Each `{{ $value }}` / `{{ $labels.x }}` the descriptions use, with what it stands for."""
    seen: dict[str, str] = {}
    for text in descriptions:
        for match in PLACEHOLDER.finditer(text):
            shown = match.group(0)
            if match.group(2):
                seen[shown] = f"the `{match.group(2)}` label of the firing series"
            else:
                seen[shown] = "the expression's value when the alert was evaluated" + (
                    ", formatted by" + match.group(3).replace("|", " ").rstrip()
                    if "|" in match.group(3)
                    else ""
                )
    return [{"text": text, "meaning": meaning} for text, meaning in sorted(seen.items())]


def burn_window_rows(slo: SLO) -> list[dict[str, str]]:
    """Each enabled window pair with its threshold and detection time for a total outage."""
    budget = error_budget(slo)
    rows = []
    for window in enabled_windows(slo):
        threshold = window.threshold(budget)
        fire = time_to_fire(window, budget, Fraction(1), fire_time_base(slo))
        spent = threshold * window.long / (budget * slo.period)
        rows.append(
            {
                "severity": window.severity,
                "windows": window.label(),
                "factor": f"{float(window.factor):g}",
                "threshold": f"{float(threshold):.6g}",
                "fires_after": human_duration(float(fire)),
                "budget_spent": f"{float(spent) * 100:.3g}%",
            }
        )
    return rows


def threshold_lines(source: Source) -> list[str]:
    """The thresholds in words, for the kinds that have them (burn rates have their table)."""
    element = source.element
    if isinstance(element, ThresholdAlert):
        watched = element.signal or element.metric
        return [f"fires when `{watched}` {element.op} {promql.number(element.value)}"]
    if isinstance(element, Heartbeat):
        return [
            f"the writer beats every {format_duration(element.period)}; `changes()` window "
            f"{format_duration(element.window)}; a beat older than "
            f"{format_duration(element.freshness)} is stale"
        ]
    if isinstance(element, Gate):
        return [f"condition `{c.name}` on `{c.series}`" for c in element.conditions] + [
            f"rollback: {element.rollback.violations} violated condition(s) "
            f"for {format_duration(element.rollback.for_)}"
        ]
    if isinstance(element, SLO):
        budget = error_budget(element)
        return [
            f"objective {promql.number(element.objective)}% over {format_duration(element.period)} "
            f"(error budget {float(budget) * 100:g}%)"
        ]
    return []


Boards = dict[str, list[dict[str, str]]]
"""tag → the dashboards carrying it, as {uid, title}, in uid order"""


def boards_by_service(dashboards: dict[str, dict[str, Any]]) -> Boards:
    """One pass over the dashboards, so each alert finds its service's without scanning them all.
    A generated dashboard's first tag is its service; the others ("slo", "canary") could equal
    another service's name, which must not give that service every SLO or gate dashboard."""
    found: Boards = {}
    for uid in sorted(dashboards):
        board = dashboards[uid]
        found.setdefault(str(board["tags"][0]), []).append(
            {"uid": uid, "title": str(board.get("title", uid))}
        )
    return found


def dashboards_for(source: Source, boards: Boards) -> list[dict[str, str]]:
    """The service's generated dashboards, the one made for this alert's kind first."""
    if source.service is None:
        return []
    service = source.service
    first = {
        "burn_rate": slo_dashboard_uid(service),
        "gate": source.element.name if isinstance(source.element, Gate) else "",
    }.get(source.kind, "")
    owned = boards.get(service.service, [])
    return sorted(owned, key=lambda board: (board["uid"] != first, board["uid"]))


def own_steps(source: Source) -> list[str]:
    runbook = getattr(source.element, "runbook", None)
    return list(runbook.steps) if runbook is not None else []


def page_context(
    name: str, source: Source, rules: list[tuple[str, dict[str, Any]]], boards: Boards
) -> dict[str, Any]:
    """Everything the template may use for one alert; templates/README.md lists it."""
    views = [rule_view(rule) for _, rule in rules]
    element = source.element
    unit = "events" if isinstance(element, SLO) and not element.sli.threshold else "time slices"
    return {
        "name": name,
        "kind": source.kind,
        "kind_title": KIND_TITLES[source.kind],
        "service": source.service.service if source.service else "",
        "summary": views[0]["summary"],
        "meaning": MEANINGS[source.kind].format(unit=unit),
        "rules": views,
        "rule_files": sorted({file for file, _ in rules}),
        "placeholders": placeholders([v["description"] for v in views]),
        "thresholds": threshold_lines(source),
        "slo_id": slo_id(source.service, element) if isinstance(element, SLO) and source.service else "",
        "burn_windows": burn_window_rows(element) if isinstance(element, SLO) else [],
        "gate": element.name if isinstance(element, Gate) else "",
        "dashboards": dashboards_for(source, boards),
        "steps": own_steps(source),
        "runbook_url": views[0]["runbook_url"],
    }


def compile_runbooks(
    spec: Spec,
    rule_files: dict[str, dict[str, Any]],
    dashboards: dict[str, dict[str, Any]],
    template: RunbookTemplate,
) -> dict[str, str]:
    """`<AlertName>.md` → page, for every alert in `rule_files`, in name order."""
    compiled = parse_template(template)
    sources = alert_sources(spec)
    boards = boards_by_service(dashboards)
    pages: dict[str, str] = {}
    for name, rules in sorted(alert_rules(rule_files).items()):
        context = page_context(name, sources.get(name, Source("promql")), rules, boards)
        pages[f"{name}.md"] = render_page(compiled, template, context)
    return pages
