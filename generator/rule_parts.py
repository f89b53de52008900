"""The shapes every rule compiler emits: groups, recording rules and alerting rules as dicts.

Each expression is parsed here, so a compiler cannot emit PromQL that does not parse. Intervals
and `for` are duration values: they shrink under `durations.compressed_time`.
"""

from __future__ import annotations

from typing import Any

from generator import promql
from generator.alert_contract import AlertContract
from generator.durations import duration_value

Rule = dict[str, Any]


def group(name: str, interval: int, rules: list[Rule]) -> dict[str, Any]:
    return {"name": name, "interval": duration_value(interval), "rules": rules}


def record(name: str, expr: str, labels: dict[str, str] | None = None) -> Rule:
    promql.check(expr)
    rule: Rule = {"record": name, "expr": expr}
    if labels:
        rule["labels"] = dict(sorted(labels.items()))
    return rule


def alert(contract: AlertContract, expr: str) -> Rule:
    """The alerting rule that fires `contract` when `expr` has results."""
    promql.check(expr)
    rule: Rule = {"alert": contract.name, "expr": expr}
    if contract.for_:
        rule["for"] = duration_value(contract.for_)
    rule["labels"] = dict(sorted(contract.labels.items()))
    rule["annotations"] = dict(sorted(contract.annotations.items()))
    return rule
