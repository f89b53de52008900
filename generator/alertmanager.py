"""Model → alertmanager.yml and its routing tests, as plain dicts.

The spec's routes are a flat, ordered list; each becomes one Alertmanager route per receiver
(all but the last with `continue: true`, so one match notifies every receiver listed). The
Watchdog's route comes first and never continues, so it reaches its dead-man's switch only;
`default_pager`, when set, is a last route `severity="page"`, for every page no route stopped.
`expected_receivers` follows Alertmanager's matching for this tree; the generated routing
tests hold it to what `amtool config routes test` says. Waits, intervals and timeouts are
duration values (they shrink under `durations.compressed_time`); time intervals are clock times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.alert_inventory import alert_inventory
from generator.conventions import OBSGEN_LABELS, SLOTH_LABELS, WATCHDOG, IdentityLabels, identity_labels
from generator.durations import duration_value
from generator.model import Spec
from generator.model.alertmanager import AlertmanagerSpec, Inhibition, Receiver, Timing

WATCHDOG_SECONDS = {"group_wait": 0, "group_interval": 60, "repeat_interval": 60}
SLACK_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
    "{{ .CommonLabels.alertname }} ({{ .CommonLabels.service }})"
)
SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Annotations.summary }}*\n{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}\n{{ end }}"
)
PAGERDUTY_SEVERITY = '{{ if eq .CommonLabels.severity "page" }}critical{{ else }}warning{{ end }}'
# From the group's first alert, not .CommonAnnotations: those are empty when the alerts of a
# group differ, and PagerDuty's Events API v2 refuses an event without a summary.
PAGERDUTY_SUMMARY = (
    "{{ (index .Alerts 0).Annotations.summary }}"
    "{{ if gt (len .Alerts) 1 }} ({{ len .Alerts }} alerts){{ end }}"
)
PAGERDUTY_RUNBOOK = "{{ (index .Alerts 0).Annotations.runbook_url }}"


def secret_file(routing: AlertmanagerSpec, variable: str) -> str:
    return f"{routing.secrets_dir.rstrip('/')}/{variable}"


def secret_variables(routing: AlertmanagerSpec) -> list[str]:
    """Every environment variable `obsgen secrets write` must put into a file."""
    names: list[str] = []
    for receiver in routing.receivers:
        if receiver.slack:
            names.append(receiver.slack.webhook_env)
        if receiver.pagerduty:
            names.append(receiver.pagerduty.routing_key_env)
        if receiver.webhook and receiver.webhook.bearer_token_env:
            names.append(receiver.webhook.bearer_token_env)
    return list(dict.fromkeys(names))


# --- the routing tree ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One rendered route under the root: matchers, one receiver, whether matching goes on."""

    match: dict[str, str]
    match_re: dict[str, str]
    receiver: str
    continue_: bool
    timing: dict[str, Any]
    mute: tuple[str, ...] = ()
    active: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k, "") == v for k, v in self.match.items()) and all(
            re.fullmatch(v, labels.get(k, "")) for k, v in self.match_re.items()
        )


def _timing(spec: Spec, timing: Timing) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if timing.group_by is not None:
        out["group_by"] = group_labels(spec, list(timing.group_by))
    for field in ("group_wait", "group_interval", "repeat_interval"):
        value = getattr(timing, field)
        if value is not None:
            out[field] = duration_value(value)
    return out


PAGE = {"severity": "page"}


def is_page(labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in PAGE.items())


def pager_names(routing: AlertmanagerSpec) -> list[str]:
    """The receivers that wake someone up, in spec order."""
    return [r.name for r in routing.receivers if r.pages]


def leaves(spec: Spec, routing: AlertmanagerSpec) -> list[Leaf]:
    found: list[Leaf] = []
    if spec.settings.watchdog and routing.watchdog_receiver:
        timing = {field: duration_value(seconds) for field, seconds in WATCHDOG_SECONDS.items()}
        found.append(Leaf({"alertname": WATCHDOG}, {}, routing.watchdog_receiver, False, timing))
    for route in routing.routes:
        for i, receiver in enumerate(route.receivers):
            last = i == len(route.receivers) - 1
            found.append(
                Leaf(
                    dict(route.match),
                    dict(route.match_re),
                    receiver,
                    route.continue_ if last else True,
                    _timing(spec, route),
                    tuple(route.mute_time_intervals),
                    tuple(route.active_time_intervals),
                )
            )
    if routing.default_pager:
        found.append(Leaf(dict(PAGE), {}, routing.default_pager, False, {}))
    return found


def expected_receivers(tree: list[Leaf], default: str, labels: dict[str, str]) -> list[str]:
    """Alertmanager's answer for a flat tree: matching routes in order until one does not
    continue; the root's receiver when none matches."""
    return [tree[k].receiver for k in matched_leaves(tree, labels)] or [default]


def matched_leaves(tree: list[Leaf], labels: dict[str, str]) -> list[int]:
    """The indices of the leaves Alertmanager routes `labels` to, in order; [] for the root."""
    chosen = []
    for k, leaf in enumerate(tree):
        if leaf.matches(labels):
            chosen.append(k)
            if not leaf.continue_:
                break
    return chosen


def _matchers(
    equal: dict[str, str], regex: dict[str, str] | None = None, unequal: dict[str, str] | None = None
) -> list[str]:
    def quoted(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    out = [f"{k}={quoted(v)}" for k, v in sorted(equal.items())]
    out += [f"{k}=~{quoted(v)}" for k, v in sorted((regex or {}).items())]
    out += [f"{k}!={quoted(v)}" for k, v in sorted((unequal or {}).items())]
    return out


def _route(leaf: Leaf) -> dict[str, Any]:
    route: dict[str, Any] = {"receiver": leaf.receiver, "matchers": _matchers(leaf.match, leaf.match_re)}
    route.update(leaf.timing)
    if leaf.mute:
        route["mute_time_intervals"] = list(leaf.mute)
    if leaf.active:
        route["active_time_intervals"] = list(leaf.active)
    if leaf.continue_:
        route["continue"] = True
    return route


# --- inhibitions ----------------------------------------------------------------------------------


def page_suppresses_ticket(names: IdentityLabels, groups: list[str]) -> Inhibition:
    """A page of an SLO makes its ticket noise; of a grouped SLO, the same group's ticket only."""
    return Inhibition(
        source={names.severity: "page"},
        target={names.severity: "ticket"},
        equal=[names.id],
        equal_or_absent=groups,
    )


def slo_group_labels(spec: Spec) -> list[str]:
    """The `by` labels of every grouped SLO."""
    return sorted({label for s in spec.services for slo in s.slos for label in slo.by})


def slo_inhibitions(spec: Spec) -> list[Inhibition]:
    """obsgen's page-over-ticket rule, and Sloth's label spelling of it when a service uses those."""
    groups = slo_group_labels(spec)
    rules = [page_suppresses_ticket(OBSGEN_LABELS, groups)]
    if uses_sloth_labels(spec):
        rules.append(page_suppresses_ticket(SLOTH_LABELS, groups))
    return rules


def _inhibit_rule(rule: Inhibition) -> dict[str, Any]:
    # A label missing on both sides counts as equal in Alertmanager: require each `equal` label,
    # or a page without slo_id would silence every ticket without one.
    def present(side: dict[str, str]) -> dict[str, str]:
        return {label: ".+" for label in rule.equal if label not in side}

    return {
        "source_matchers": _matchers(rule.source, present(rule.source)),
        "target_matchers": _matchers(rule.target, present(rule.target), rule.target_not),
        "equal": rule.compared(),
    }


# --- receivers ------------------------------------------------------------------------------------


def _receiver(routing: AlertmanagerSpec, receiver: Receiver) -> dict[str, Any]:
    out: dict[str, Any] = {"name": receiver.name}
    if receiver.slack:
        out["slack_configs"] = [
            {
                "api_url_file": secret_file(routing, receiver.slack.webhook_env),
                "channel": receiver.slack.channel,
                "send_resolved": receiver.slack.send_resolved,
                "title": SLACK_TITLE,
                "text": SLACK_TEXT,
            }
        ]
    if receiver.pagerduty:
        out["pagerduty_configs"] = [
            {
                "routing_key_file": secret_file(routing, receiver.pagerduty.routing_key_env),
                "send_resolved": receiver.pagerduty.send_resolved,
                "description": PAGERDUTY_SUMMARY,
                "severity": PAGERDUTY_SEVERITY,
                "links": [{"href": PAGERDUTY_RUNBOOK, "text": "Runbook"}],
            }
        ]
    if receiver.webhook:
        hook: dict[str, Any] = {"url": receiver.webhook.url, "send_resolved": receiver.webhook.send_resolved}
        if receiver.webhook.bearer_token_env:
            credentials = secret_file(routing, receiver.webhook.bearer_token_env)
            hook["http_config"] = {"authorization": {"credentials_file": credentials}}
        out["webhook_configs"] = [hook]
    return out


def _time_interval(interval: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if interval.weekdays:
        spec["weekdays"] = list(interval.weekdays)
    if interval.times:
        spec["times"] = [{"start_time": t.start, "end_time": t.end} for t in interval.times]
    spec["location"] = interval.location
    return {"name": interval.name, "time_intervals": [spec]}


# --- documents ------------------------------------------------------------------------------------


def group_labels(spec: Spec, group_by: list[str]) -> list[str]:
    """The root's grouping; where it groups by slo_id, Sloth-named services group by sloth_id too,
    and grouped SLOs (`by: [handler]`) by their group labels, so each group is its own notification."""
    labels = list(group_by)
    if OBSGEN_LABELS.id in labels and SLOTH_LABELS.id not in labels and uses_sloth_labels(spec):
        labels.insert(labels.index(OBSGEN_LABELS.id) + 1, SLOTH_LABELS.id)
    if {OBSGEN_LABELS.id, SLOTH_LABELS.id} & set(labels):
        labels += [label for label in slo_group_labels(spec) if label not in labels]
    return labels


def uses_sloth_labels(spec: Spec) -> bool:
    return any(identity_labels(s) == SLOTH_LABELS for s in spec.services if s.slos)


def compile_alertmanager(spec: Spec) -> dict[str, Any] | None:
    routing = spec.alertmanager
    if routing is None:
        return None
    root: dict[str, Any] = {
        "receiver": routing.default_receiver,
        "group_by": group_labels(spec, routing.group_by),
        "group_wait": duration_value(routing.group_wait),
        "group_interval": duration_value(routing.group_interval),
        "repeat_interval": duration_value(routing.repeat_interval),
        "routes": [_route(leaf) for leaf in leaves(spec, routing)],
    }
    config: dict[str, Any] = {
        "global": {"resolve_timeout": duration_value(routing.resolve_timeout)},
        "route": root,
        "inhibit_rules": [_inhibit_rule(r) for r in (*slo_inhibitions(spec), *routing.inhibitions)],
        "receivers": [_receiver(routing, r) for r in routing.receivers],
    }
    if routing.time_intervals:
        config["time_intervals"] = [_time_interval(t) for t in routing.time_intervals]
    return config


def compile_routing_tests(spec: Spec) -> dict[str, Any] | None:
    """Every alert the rules can emit → the receivers Alertmanager must choose, in tree order;
    a page is marked `needs_pager`: whatever the config says, one of `pagers` must hear it."""
    routing = spec.alertmanager
    if routing is None:
        return None
    tree = leaves(spec, routing)
    cases: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for alert in alert_inventory(spec):
        key = tuple(sorted(alert.labels.items()))
        receivers = expected_receivers(tree, routing.default_receiver, alert.labels)
        case: dict[str, Any] = {"labels": dict(key), "receivers": receivers}
        if is_page(alert.labels):
            case["needs_pager"] = True
        cases.setdefault(key, case)
    return {"pagers": pager_names(routing), "tests": list(cases.values())}
