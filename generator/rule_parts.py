"""The shapes every rule compiler emits: groups, recording rules and alerting rules as dicts.

Each expression is parsed here, so a compiler cannot emit PromQL that does not parse.
"""

from __future__ import annotations

from typing import Any

from generator import promql
from generator.durations import format_duration
from generator.model import Spec

Rule = dict[str, Any]


def group(name: str, interval: int, rules: list[Rule]) -> dict[str, Any]:
    return {"name": name, "interval": format_duration(interval), "rules": rules}


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    promql.parse(expr)
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = dict(sorted(labels.items()))
    return rule


def alert(name: str, expr: str, for_: int, labels: dict[str, str], annotations: dict[str, str]) -> Rule:
    promql.parse(expr)
    rule: Rule = {"alert": name, "expr": expr}
    if for_:
        rule["for"] = format_duration(for_)
    rule["labels"] = dict(sorted(labels.items()))
    rule["annotations"] = dict(sorted(annotations.items()))
    return rule


def runbook_url(spec: Spec, alert_name: str) -> str:
    return f"{spec.settings.runbook_base_url.rstrip('/')}/{alert_name}"
