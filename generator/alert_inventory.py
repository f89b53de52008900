"""Every alert the generated rules can emit, with the labels Alertmanager routes on.

Built from the alert contracts the rule compilers render, so routing tests
and routing checks see exactly what Prometheus will send: rule labels, plus the series labels
obsgen itself puts there (`slo_id` on burn-rate alerts, `gate` on gate alerts, the realm).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.alert_contract import (
    burn_alert_labels,
    gate_alert_labels,
    heartbeat_alert_labels,
    missing_alert_name,
    spec_alert_labels,
    stale_alert_name,
    watchdog,
)
from generator.conventions import WATCHDOG, identity_labels, slo_id
from generator.errors import Location
from generator.model import Spec, ThresholdAlert
from generator.slo_math import burn_alert_name, enabled_windows


@dataclass(frozen=True)
class EmittedAlert:
    name: str
    labels: dict[str, str]
    """alertname included"""
    where: Location
    """the spec element that makes the rules emit it"""


def alert_inventory(spec: Spec) -> list[EmittedAlert]:
    found: list[EmittedAlert] = []

    def add(name: str, labels: dict[str, str], where: Location) -> None:
        found.append(EmittedAlert(name, dict(sorted({**labels, "alertname": name}.items())), where))

    for service in spec.services:
        doc = spec.sources[service.service]
        realm = service.realm_matchers()
        for i, alert in enumerate(service.alerts):
            known = realm if isinstance(alert, ThresholdAlert) else {}
            add(alert.name, {**known, **spec_alert_labels(service, alert)}, doc.location(("alerts", i)))
        for i, slo in enumerate(service.slos):
            severities = {w.severity for w in enabled_windows(slo)}
            for severity in ("page", "ticket"):
                if severity in severities:
                    labels = {
                        **realm,
                        identity_labels(service).id: slo_id(service, slo),
                        **burn_alert_labels(service, slo, severity),
                    }
                    add(burn_alert_name(service, slo), labels, doc.location(("slos", i)))
        for i, heartbeat in enumerate(service.heartbeats):
            labels = heartbeat_alert_labels(service, heartbeat)
            add(stale_alert_name(heartbeat), labels, doc.location(("heartbeats", i)))
            add(missing_alert_name(heartbeat), labels, doc.location(("heartbeats", i)))
        for i, gate in enumerate(service.gates):
            add(gate.alert_name(), gate_alert_labels(service, gate), doc.location(("gates", i)))
    if spec.settings.watchdog:
        add(WATCHDOG, watchdog(spec).labels, spec.sources["settings"].location(("settings", "watchdog")))
    return found
