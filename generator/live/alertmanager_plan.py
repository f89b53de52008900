"""The plan of `obsgen alert test`: which synthetic alerts to post, and what the spec says
Alertmanager must do with each.

One alert per route of the spec (chosen among the alerts the rules can emit, the Watchdog
included), the page and the ticket of one SLO, and a second instance of one alert for the
grouping check; for each, the receivers the routing tree reaches and whether an inhibition rule
mutes it. Also the alerts' bodies as posted: labelled with the run, annotated as a routing audit
that is safe to ignore, with a marker that notifications carry.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from generator.alert_contract import runbook_url
from generator.alert_inventory import alert_inventory
from generator.alertmanager import Leaf, expected_receivers, leaves, slo_inhibitions
from generator.conventions import OBSGEN_LABELS, SLOTH_LABELS, WATCHDOG
from generator.model import Spec
from generator.model.alertmanager import AlertmanagerSpec, Inhibition

AUDIT_LABEL = "obsgen_audit"
TWIN_LABEL = "instance"
"""The label telling the two instances of the grouping check apart."""
TWIN_VALUES = ("obsgen-audit-1", "obsgen-audit-2")
MARKER = re.compile(r"obsgen routing audit (?P<run>[0-9A-Za-z-]+) case (?P<case>\d+)\b")
"""How a notification body names the synthetic alerts it carries (in their description)."""


# --- the expected routing -------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One synthetic alert and what the spec says Alertmanager must do with it."""

    labels: dict[str, str]
    """as the rules emit them (alertname included), without the audit label"""
    receivers: list[str]
    inhibited: bool = False
    role: str = "route"
    """route, page or ticket (the SLO pair), or twin (grouped with `twin_of`)"""
    twin_of: int | None = None
    grouped: bool = True
    """whether the twin must share each receiver's group with `twin_of`"""
    runbook_url: str = ""


def inhibition_rules(spec: Spec, routing: AlertmanagerSpec) -> list[Inhibition]:
    """The rules compile_alertmanager renders, in its order."""
    return [*slo_inhibitions(spec), *routing.inhibitions]


def _side_matches(labels: dict[str, str], equal: dict[str, str], rule: Inhibition) -> bool:
    present = all(labels.get(name, "") != "" for name in rule.equal)
    return present and all(labels.get(k, "") == v for k, v in equal.items())


def is_source(rule: Inhibition, labels: dict[str, str]) -> bool:
    return _side_matches(labels, rule.source, rule)


def is_target(rule: Inhibition, labels: dict[str, str]) -> bool:
    unequal = all(labels.get(k, "") != v for k, v in rule.target_not.items())
    return unequal and _side_matches(labels, rule.target, rule)


def inhibits(rule: Inhibition, source: dict[str, str], target: dict[str, str]) -> bool:
    """Alertmanager's decision for one rule, including its exception: an alert matching both
    sides is not muted by another alert matching both sides (they would mute each other)."""
    if source == target or not (is_source(rule, source) and is_target(rule, target)):
        return False
    if all(source.get(name, "") == target.get(name, "") for name in rule.compared()):
        return not (is_source(rule, target) and is_target(rule, source))
    return False


def _muted(rules: Sequence[Inhibition], labels: dict[str, str], others: Iterable[dict[str, str]]) -> bool:
    return any(inhibits(rule, other, labels) for rule in rules for other in others)


def _reached(tree: Sequence[Leaf], labels: dict[str, str]) -> list[int]:
    """The leaves Alertmanager routes `labels` to, in order; -1 stands for the root (default)."""
    found = []
    for index, leaf in enumerate(tree):
        if leaf.matches(labels):
            found.append(index)
            if not leaf.continue_:
                break
    return found or [-1]


def _slo_pair(alerts: Sequence[dict[str, str]]) -> tuple[dict[str, str], dict[str, str]] | None:
    for page in alerts:
        for names in (OBSGEN_LABELS, SLOTH_LABELS):
            if page.get(names.severity) != "page" or not page.get(names.id):
                continue
            for ticket in alerts:
                if ticket.get(names.severity) == "ticket" and ticket.get(names.id) == page[names.id]:
                    return page, ticket
    return None


def plan(spec: Spec) -> list[Probe]:
    """The synthetic alerts of one audit, with their expected receivers and inhibition.

    Every route some alert of the rules reaches gets one that is not inhibited (the root too, if
    an alert falls through to it); the SLO pair's ticket does not count, since it must be muted.
    Besides the pair, an alert is chosen only if it neither inhibits nor is inhibited by those
    chosen before where possible (posting BridgeNotReady, say, would mute every other alert of
    the bridge), and alerts that are no inhibition's source come first.
    """
    routing = spec.alertmanager
    if routing is None:
        raise ValueError("the spec has no alertmanager")
    tree = leaves(spec, routing)
    rules = inhibition_rules(spec, routing)
    inventory = list({tuple(sorted(a.labels.items())): a.labels for a in alert_inventory(spec)}.values())
    pair = _slo_pair(inventory)
    chosen: list[dict[str, str]] = list(pair or ())
    covered = set(_reached(tree, pair[0])) if pair else set()
    wanted = sorted({index for labels in inventory for index in _reached(tree, labels)})
    ordered = sorted(inventory, key=lambda labels: any(is_source(rule, labels) for rule in rules))
    for index in wanted:
        if index in covered:
            continue
        candidates = [
            labels for labels in ordered if index in _reached(tree, labels) and labels not in chosen
        ]
        if not candidates:
            continue
        fits = [
            labels
            for labels in candidates
            if not _muted(rules, labels, chosen) and not any(_muted(rules, c, [labels]) for c in chosen)
        ]
        pick = (fits or candidates)[0]
        chosen.append(pick)
        covered.update(_reached(tree, pick))
    probes = [
        Probe(
            dict(labels),
            expected_receivers(tree, routing.default_receiver, labels),
            runbook_url=runbook_url(spec, labels.get("alertname", "")),
        )
        for labels in chosen
    ]
    if pair:
        probes[0], probes[1] = replace(probes[0], role="page"), replace(probes[1], role="ticket")
    probes = _add_twin(routing, tree, probes)
    everyone = [p.labels for p in probes]
    return [
        replace(p, inhibited=_muted(rules, p.labels, [o for o in everyone if o != p.labels])) for p in probes
    ]


def _add_twin(routing: AlertmanagerSpec, tree: list[Leaf], probes: list[Probe]) -> list[Probe]:
    """A second instance of the first routed alert that reaches people, for the grouping check."""
    for index, probe in enumerate(probes):
        loud = all(not (r := routing.receiver(name)) or not r.quiet for name in probe.receivers)
        if probe.role != "route" or probe.labels.get("alertname") == WATCHDOG or not loud:
            continue
        if TWIN_LABEL in probe.labels:  # the rules set it: telling the two apart would change it
            continue
        first = {**probe.labels, TWIN_LABEL: TWIN_VALUES[0]}
        second = {**probe.labels, TWIN_LABEL: TWIN_VALUES[1]}
        grouped = all(
            TWIN_LABEL not in ((tree[i].timing.get("group_by") if i >= 0 else None) or routing.group_by)
            for i in _reached(tree, first)
        )
        twin = Probe(
            second,
            expected_receivers(tree, routing.default_receiver, second),
            role="twin",
            twin_of=index,
            grouped=grouped,
            runbook_url=probe.runbook_url,
        )
        return [*probes[:index], replace(probe, labels=first), *probes[index + 1 :], twin]
    return probes


# --- the synthetic alerts ----------------------------------------------------------------------------


def new_run_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def marker(run_id: str, case: int) -> str:
    return f"obsgen routing audit {run_id} case {case}"


def cases_in(text: str, run_id: str) -> set[int]:
    """The cases of `run_id` whose marker appears in a notification body."""
    return {int(m["case"]) for m in MARKER.finditer(text) if m["run"] == run_id}


def synthetic_alerts(probes: Sequence[Probe], run_id: str, start: datetime, end: datetime) -> list[dict]:
    """The body of POST /api/v2/alerts."""
    return [_synthetic(probe, case, run_id, start, end) for case, probe in enumerate(probes)]


def _synthetic(probe: Probe, case: int, run_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    name = probe.labels.get("alertname", "alert")
    annotations = {
        # One summary for all alerts of a group, as the rules give: the templates read
        # .CommonAnnotations.summary, and PagerDuty refuses an event without one.
        "summary": f"Routing audit {run_id}: synthetic {name}, safe to ignore",
        "description": (
            f"{marker(run_id, case)}: posted by `obsgen alert test` to check that Alertmanager routes "
            f"this alert to the receivers the spec says. Nothing is wrong; it resolves by itself at "
            f"{end.strftime('%H:%M:%S UTC')}."
        ),
    }
    if probe.runbook_url:  # PagerDuty links need an href: the runbook of the alert it imitates
        annotations["runbook_url"] = probe.runbook_url
    return {
        "labels": {**probe.labels, AUDIT_LABEL: run_id},
        "annotations": annotations,
        "startsAt": _rfc3339(start),
        "endsAt": _rfc3339(end),
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
