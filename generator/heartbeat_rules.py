"""Heartbeats → recording rules (`<base>_changes_<window>`, `<base>_ok`) and their two alerts.

`<base>_ok` is 1 while the heartbeat both changed within the window and its last beat is
younger than the freshness threshold, and 0 — never absent — otherwise, so a dashboard, a
gate or an alert on `== 0` also sees a heartbeat that vanished entirely.
"""

from __future__ import annotations

from generator import promql
from generator import rule_parts as parts
from generator.alert_contract import heartbeat_alerts
from generator.durations import seconds_value
from generator.model import Heartbeat, Service, Spec
from generator.rule_parts import Rule


def changes_expr(service: Service, heartbeat: Heartbeat) -> str:
    beats = promql.range_vector(promql.selector(heartbeat.metric, service.realm_matchers()), heartbeat.window)
    return promql.aggregate("max", promql.call("changes", beats), by=list(service.realm_matchers()))


def ok_expr(service: Service, heartbeat: Heartbeat) -> str:
    realm = list(service.realm_matchers())
    changed = promql.compare(
        promql.selector(heartbeat.changes_record(), service.realm_matchers()), ">", 0, as_bool=True
    )
    # The newest beat scraped within `freshness`: one failed scrape (a stale marker) does not
    # hide it, and a heartbeat not scraped for that long reads as old as it is.
    recent = promql.over_time(
        "max", promql.selector(heartbeat.metric, service.realm_matchers()), heartbeat.freshness
    )
    newest = promql.aggregate("max", recent, by=realm)
    fresh = promql.compare(f"time() - {newest}", "<", seconds_value(heartbeat.freshness), as_bool=True)
    both = f"({changed}) * on ({', '.join(realm)}) ({fresh})"
    return f"{both} or on () vector(0)"


def missing_expr(service: Service, heartbeat: Heartbeat) -> str:
    """No target of the job up (down, or not configured), or no heartbeat series: one label set
    whichever it is, so a cause changing while it lasts neither restarts `for` nor splits it."""
    up = promql.aggregate("sum", promql.selector("up", {"job": service.heartbeat_job(heartbeat)}))
    beats = promql.aggregate("count", promql.selector(heartbeat.metric, service.realm_matchers()))
    return f"({up} or on () vector(0)) == 0 or on () ({beats} or on () vector(0)) == 0"


def heartbeat_rules(spec: Spec, service: Service, interval: int) -> list[Rule]:
    rules: list[Rule] = []
    for heartbeat in service.heartbeats:
        realm = service.realm_matchers()
        stale, missing = heartbeat_alerts(
            spec, service, heartbeat, promql.selector(heartbeat.metric, realm), interval
        )
        rules += [
            parts.record(heartbeat.changes_record(), changes_expr(service, heartbeat)),
            parts.record(heartbeat.ok_record(), ok_expr(service, heartbeat), realm),
            parts.alert(stale, promql.compare(promql.selector(heartbeat.ok_record(), realm), "==", 0)),
            parts.alert(missing, missing_expr(service, heartbeat)),
        ]
    return rules
