"""Names obsgen sets itself (reserved labels) and names that must be unique (within a service,
and across the whole spec)."""

from __future__ import annotations

from collections.abc import Iterator

from generator.alert_contract import missing_alert_name, stale_alert_name
from generator.conventions import OBSGEN_LABELS, REALM_LABEL, SLOTH_LABELS, WATCHDOG, slo_id
from generator.durations import format_duration
from generator.loader import PathKey
from generator.model import Service, Spec
from generator.slo_math import burn_alert_name
from generator.validate.cadence import MAX_RECORDING_INTERVAL
from generator.validate.catalog import Found

RESERVED_ALERT_LABELS = {"alertname": "the alert's name", "severity": "`severity`", "service": "`service`"}


RESERVED_SLO_LABELS = {
    key: "the SLO's identity"
    for names in (OBSGEN_LABELS, SLOTH_LABELS)
    for key in (names.id, names.service, names.name, names.window, names.severity, REALM_LABEL)
}


BURN_ALERT_RESERVED = {
    k: v for k, v in {**RESERVED_ALERT_LABELS, **RESERVED_SLO_LABELS}.items() if k != "severity"
}
"""A burn-rate alert's `severity` defaults to its tier but may be the team's own (Sloth allows it)."""


def reserved_label_issues(service: Service) -> Iterator[Found]:
    places: list[tuple[PathKey, dict[str, str], dict[str, str]]] = [
        (("labels",), service.labels, {**RESERVED_ALERT_LABELS, **RESERVED_SLO_LABELS})
    ]
    places += [
        (("alerts", i, "labels"), a.labels, RESERVED_ALERT_LABELS) for i, a in enumerate(service.alerts)
    ]
    for i, slo in enumerate(service.slos):
        reserved = {**RESERVED_ALERT_LABELS, **RESERVED_SLO_LABELS}
        places.append((("slos", i, "labels"), slo.labels, reserved))
        places.append((("slos", i, "alerting", "labels"), slo.alerting.labels, BURN_ALERT_RESERVED))
        for tier in ("page", "ticket"):
            labels = getattr(slo.alerting, tier).labels
            places.append((("slos", i, "alerting", tier, "labels"), labels, BURN_ALERT_RESERVED))
    for path, labels, reserved in places:
        for key in sorted(set(labels) & set(reserved)):
            yield (*path, key), f"label {key!r} is set by obsgen from {reserved[key]}; remove it here"


def duplicates(names: list[str], field: PathKey | str, what: str) -> Iterator[Found]:
    prefix = (field,) if isinstance(field, str) else field
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield (*prefix, i), f"duplicate {what} {name!r}"
        seen.add(name)


def spec_issues(spec: Spec) -> Iterator[tuple[str, PathKey, str]]:
    """Names and ports that must be unique across services."""
    if spec.settings.evaluation_interval > MAX_RECORDING_INTERVAL:
        yield (
            "settings",
            ("settings", "evaluation_interval"),
            (
                f"evaluation_interval {format_duration(spec.settings.evaluation_interval)} is longer than "
                f"{format_duration(MAX_RECORDING_INTERVAL)}: recorded series would go stale between "
                "evaluations (Prometheus drops a series 5m after its last sample)"
            ),
        )
    owners: dict[str, dict[object, str]] = {kind: {} for kind in CLASH_MESSAGES}
    if spec.settings.watchdog:
        owners["alert"][WATCHDOG] = "settings (the Watchdog)"
    burn_alerts: dict[object, str] = {}
    for service in spec.services:
        for kind, path, key in _claims(service):
            # Burn-rate alerts of several SLOs may share a name (slo_id tells them apart), as in
            # Sloth; they may not share one with any other alert.
            burn = kind == "burn_alert"
            kind = "alert" if burn else kind
            seen = {**owners[kind], **burn_alerts} if kind == "alert" and not burn else owners[kind]
            if key in seen:
                shown = key[1] if isinstance(key, tuple) else key
                message = CLASH_MESSAGES[kind].format(key=shown, owner=seen[key])
                yield service.service, path, message
            elif burn:
                burn_alerts.setdefault(key, service.service)
            else:
                owners[kind][key] = service.service


CLASH_MESSAGES = {
    "record": "{key} is already recorded by service {owner!r}",
    "slo_id": "slo_id {key!r} is also the id of an SLO of service {owner!r}; rename one (slo_id is "
    "<service>-<slo>)",
    "alert": "alert {key} is already defined by service {owner!r}",
    "job": "scrape job {key!r} is already used by service {owner!r}",
    "port": "port {key} is already the port of service {owner!r} (ports must not conflict)",
    "gate": "gate {key!r} is already defined by service {owner!r}",
    "dashboard": "dashboard uid {key!r} is already taken by service {owner!r} (SLO dashboards are "
    "<service>-slos, gate dashboards the gate's name)",
}
"""Names and addresses that must be unique across the whole spec."""


def _claims(service: Service) -> Iterator[tuple[str, PathKey, object]]:
    """(kind, path, key) of every name or address the service takes for itself."""
    for i, signal in enumerate(service.signals):
        yield "record", ("signals", i, "record"), signal.record
    for i, heartbeat in enumerate(service.heartbeats):
        yield "record", ("heartbeats", i, "metric"), heartbeat.changes_record()
        yield "record", ("heartbeats", i, "metric"), heartbeat.ok_record()
    for i, slo in enumerate(service.slos):
        yield "slo_id", ("slos", i, "name"), slo_id(service, slo)
    for i, alert in enumerate(service.alerts):
        yield "alert", ("alerts", i, "name"), alert.name
    for i, slo in enumerate(service.slos):
        yield "burn_alert", ("slos", i, "alerting", "name"), burn_alert_name(service, slo)
    for i, heartbeat in enumerate(service.heartbeats):
        yield "alert", ("heartbeats", i, "stale_alert"), stale_alert_name(heartbeat)
        yield "alert", ("heartbeats", i, "missing_alert"), missing_alert_name(heartbeat)
    for i, gate in enumerate(service.gates):
        yield "alert", ("gates", i, "alert", "name"), gate.alert_name()
        yield "gate", ("gates", i, "name"), gate.name
    if service.scrape is not None:
        yield "job", ("scrape", "job"), service.job
    for i, probe in enumerate(service.probes):
        yield "job", ("probes", i, "name"), probe.name
    for i, heartbeat in enumerate(service.heartbeats):
        yield "job", ("heartbeats", i, "job"), service.heartbeat_job(heartbeat)
    if service.scrape is not None:
        yield "port", ("scrape", "port"), (service.scrape.host, service.scrape.port)
    if service.slos:
        yield "dashboard", ("service",), f"{service.service}-slos"
    for i, gate in enumerate(service.gates):
        yield "dashboard", ("gates", i, "name"), gate.name
    for i, dashboard in enumerate(service.dashboards):
        yield "dashboard", ("dashboards", i, "uid"), dashboard.uid
