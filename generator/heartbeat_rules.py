"""Heartbeats → recording rules (`<base>_changes_<window>`, `<base>_ok`) and their two alerts.

`<base>_ok` is 1 while the heartbeat both changed within the window and its last beat is
younger than the freshness threshold, and 0 — never absent — otherwise, so a dashboard, a
gate or an alert on `== 0` also sees a heartbeat that vanished entirely.
"""

from __future__ import annotations

from generator import promql
from generator import rule_parts as parts
from generator.durations import format_duration
from generator.model import Heartbeat, Service, Spec
from generator.rule_parts import Rule, runbook_url


def largest_healthy_age(heartbeat: Heartbeat, evaluation_interval: int) -> int:
    """The oldest a healthy heartbeat's last beat can look to a rule: a beat just missed by a
    scrape, a scrape just missed by an evaluation, read one evaluation late (DESIGN.md)."""
    return heartbeat.period + heartbeat.scrape_interval + evaluation_interval


def shortest_window(heartbeat: Heartbeat) -> int:
    """changes() needs the sample before a beat and the one after it, each up to a scrape late."""
    return heartbeat.period + 2 * heartbeat.scrape_interval


def missing_for(heartbeat: Heartbeat, evaluation_interval: int) -> int:
    """Two scrapes, so one failed scrape does not page."""
    return max(2 * heartbeat.scrape_interval, evaluation_interval)


def stale_alert_name(heartbeat: Heartbeat) -> str:
    return heartbeat.stale_alert or f"{heartbeat.camel()}Stale"


def missing_alert_name(heartbeat: Heartbeat) -> str:
    return heartbeat.missing_alert or f"{heartbeat.camel()}Missing"


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
    fresh = promql.compare(f"time() - {newest}", "<", heartbeat.freshness, as_bool=True)
    both = f"({changed}) * on ({', '.join(realm)}) ({fresh})"
    return f"{both} or on () vector(0)"


def missing_expr(service: Service, heartbeat: Heartbeat) -> str:
    """No target of the job up (down, or not configured), or no heartbeat series: one label set
    whichever it is, so a cause changing while it lasts neither restarts `for` nor splits it."""
    up = promql.aggregate("sum", promql.selector("up", {"job": service.heartbeat_job(heartbeat)}))
    beats = promql.aggregate("count", promql.selector(heartbeat.metric, service.realm_matchers()))
    return f"({up} or on () vector(0)) == 0 or on () ({beats} or on () vector(0)) == 0"


def heartbeat_alert_labels(service: Service, heartbeat: Heartbeat) -> dict[str, str]:
    return {
        **service.labels,
        **service.realm_matchers(),
        "severity": heartbeat.severity,
        "service": service.service,
    }


def heartbeat_rules(spec: Spec, service: Service) -> list[Rule]:
    interval = spec.settings.evaluation_interval
    rules: list[Rule] = []
    for heartbeat in service.heartbeats:
        realm = service.realm_matchers()
        labels = heartbeat_alert_labels(service, heartbeat)
        what = promql.selector(heartbeat.metric, realm)
        rules += [
            parts.record(heartbeat.changes_record(), changes_expr(service, heartbeat)),
            parts.record(heartbeat.ok_record(), ok_expr(service, heartbeat), realm),
            parts.alert(
                stale_alert_name(heartbeat),
                promql.compare(promql.selector(heartbeat.ok_record(), realm), "==", 0),
                interval,
                labels,
                {
                    "summary": f"The {service.service} heartbeat has stopped.",
                    "description": (
                        f"{what} did not change within {format_duration(heartbeat.window)} or its last "
                        f"beat is {format_duration(heartbeat.freshness)} old or more (the writer beats "
                        f"every {format_duration(heartbeat.period)}). Check the writer and node_exporter's "
                        "textfile collector."
                    ),
                    "runbook_url": runbook_url(spec, stale_alert_name(heartbeat)),
                },
            ),
            parts.alert(
                missing_alert_name(heartbeat),
                missing_expr(service, heartbeat),
                missing_for(heartbeat, interval),
                labels,
                {
                    "summary": f"The {service.service} heartbeat cannot be read.",
                    "description": (
                        f"The scrape job {service.heartbeat_job(heartbeat)} is down or absent, or it "
                        f"serves no {what}: the heartbeat cannot be judged. Check node_exporter on "
                        f"{spec.settings.node_exporter} and its textfile directory."
                    ),
                    "runbook_url": runbook_url(spec, missing_alert_name(heartbeat)),
                },
            ),
        ]
    return rules
