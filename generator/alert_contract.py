"""What every alert obsgen writes must carry, from the spec alone: name, `for`, labels, annotations.

The rule compilers render these into alerting rules; the promtool test generator expects them
in its `exp_alerts`. Neither reads the other's output, so a label a compiler gets wrong is a
failing generated test, not a copied one.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.conventions import WATCHDOG, identity_labels
from generator.durations import format_duration
from generator.heartbeat_timing import missing_for
from generator.model import SLO, Gate, Heartbeat, PromQLAlert, Service, Spec, ThresholdAlert
from generator.slo_math import burn_alert_name, enabled_windows, error_budget


@dataclass(frozen=True)
class AlertContract:
    name: str
    labels: dict[str, str]
    annotations: dict[str, str]
    """As written in the rule, before template expansion."""
    for_: int = 0


def runbook_url(spec: Spec, alert_name: str) -> str:
    return f"{spec.settings.runbook_base_url.rstrip('/')}/{alert_name}"


# --- SLO burn rates ---------------------------------------------------------------------------


def burn_alert_labels(service: Service, slo: SLO, severity: str) -> dict[str, str]:
    tier = getattr(slo.alerting, severity)
    return {
        "severity": severity,
        **service.labels,
        **slo.alerting.labels,
        **tier.labels,
        # page or ticket, even where a tier sets its own `severity` (as Sloth's sloth_severity)
        identity_labels(service).severity: severity,
        "service": service.service,
    }


def group_text(slo: SLO) -> str:
    """` (handler {{ $labels.handler }})`: which group of a grouped SLO is burning."""
    return "".join(f" ({label} {{{{ $labels.{label} }}}})" for label in slo.by)


def burn_alerts(spec: Spec, service: Service, slo: SLO) -> dict[str, AlertContract]:
    """The SLO's burn-rate alerts by tier (`page`, `ticket`); a disabled tier has none."""
    budget = error_budget(slo)
    name = burn_alert_name(service, slo)
    alerts = {}
    for severity in ("page", "ticket"):
        windows = [w for w in enabled_windows(slo) if w.severity == severity]
        if not windows:
            continue
        tier = getattr(slo.alerting, severity)
        rates = ", ".join(f"{float(w.factor):g}× over {w.label()}" for w in windows)
        annotations = {
            "summary": f"The {service.service} {slo.name} SLO is burning its error budget too fast.",
            "description": (
                f"{{{{ $labels.{identity_labels(service).id} }}}}{group_text(slo)} is spending its error "
                f"budget of {float(budget) * 100:g}% per {format_duration(slo.period)} faster than the "
                f"{severity} burn rates allow ({rates}); the share of bad "
                f"{'time slices' if slo.sli.threshold else 'events'} is above that rate in both "
                "windows of a pair."
            ),
            "runbook_url": runbook_url(spec, name),
            **slo.alerting.annotations,
            **tier.annotations,
        }
        alerts[severity] = AlertContract(name, burn_alert_labels(service, slo, severity), annotations)
    return alerts


# --- the spec's own alerts --------------------------------------------------------------------


def spec_alert_labels(service: Service, alert: ThresholdAlert | PromQLAlert) -> dict[str, str]:
    return {**service.labels, **alert.labels, "severity": alert.severity, "service": service.service}


def spec_alert(spec: Spec, service: Service, alert: ThresholdAlert | PromQLAlert) -> AlertContract:
    annotations = {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": alert.runbook_url or runbook_url(spec, alert.name),
    }
    return AlertContract(alert.name, spec_alert_labels(service, alert), annotations, alert.for_)


# --- heartbeats ------------------------------------------------------------------------------


def stale_alert_name(heartbeat: Heartbeat) -> str:
    return heartbeat.stale_alert or f"{heartbeat.camel()}Stale"


def missing_alert_name(heartbeat: Heartbeat) -> str:
    return heartbeat.missing_alert or f"{heartbeat.camel()}Missing"


def heartbeat_alert_labels(service: Service, heartbeat: Heartbeat) -> dict[str, str]:
    return {
        **service.labels,
        **service.realm_matchers(),
        "severity": heartbeat.severity,
        "service": service.service,
    }


def heartbeat_alerts(
    spec: Spec, service: Service, heartbeat: Heartbeat, selector: str, interval: int
) -> tuple[AlertContract, AlertContract]:
    """The stale and the missing alert of one heartbeat; `selector` is how its metric is read,
    `interval` how often its rule group is evaluated."""
    labels = heartbeat_alert_labels(service, heartbeat)
    stale = AlertContract(
        stale_alert_name(heartbeat),
        labels,
        {
            "summary": f"The {service.service} heartbeat has stopped.",
            "description": (
                f"{selector} did not change within {format_duration(heartbeat.window)} or its last "
                f"beat is {format_duration(heartbeat.freshness)} old or more (the writer beats "
                f"every {format_duration(heartbeat.period)}). Check the writer and node_exporter's "
                "textfile collector."
            ),
            "runbook_url": runbook_url(spec, stale_alert_name(heartbeat)),
        },
        interval,
    )
    missing = AlertContract(
        missing_alert_name(heartbeat),
        labels,
        {
            "summary": f"The {service.service} heartbeat cannot be read.",
            "description": (
                f"The scrape job {service.heartbeat_job(heartbeat)} is down or absent, or it "
                f"serves no {selector}: the heartbeat cannot be judged. Check node_exporter on "
                f"{spec.settings.node_exporter} and its textfile directory."
            ),
            "runbook_url": runbook_url(spec, missing_alert_name(heartbeat)),
        },
        missing_for(heartbeat, interval),
    )
    return stale, missing


# --- canary gates ----------------------------------------------------------------------------


def gate_labels(service: Service, gate: Gate) -> dict[str, str]:
    """Gate series carry the service's realm like every series it records."""
    return {"gate": gate.name, **service.realm_matchers()}


def gate_alert_labels(service: Service, gate: Gate) -> dict[str, str]:
    return {
        **service.labels,
        "severity": gate.alert.severity,
        "service": service.service,
        **gate_labels(service, gate),
    }


def rollback_description(gate: Gate) -> str:
    at_once = [c.name for c in gate.conditions if c.rollback_at_once]
    text = (
        f"{gate.rollback.violations} or more of the {len(gate.conditions)} conditions of gate "
        f"{gate.name} have been violated for {format_duration(gate.rollback.for_)}"
    )
    if at_once:
        text += f", or {' or '.join(at_once)} is violated"
    return f"{text}. Run `obsgen gate decide {gate.name}` to see which; Argo rolls the canary back."


def gate_alert(spec: Spec, service: Service, gate: Gate) -> AlertContract:
    return AlertContract(
        gate.alert_name(),
        gate_alert_labels(service, gate),
        {
            "summary": f"The canary gate {gate.name} calls for a rollback.",
            "description": rollback_description(gate),
            "runbook_url": runbook_url(spec, gate.alert_name()),
        },
    )


# --- the dead man's switch ---------------------------------------------------------------------


def watchdog(spec: Spec) -> AlertContract:
    """Always firing: when it stops arriving at the dead-man's switch, the pipeline is broken."""
    return AlertContract(
        WATCHDOG,
        {"severity": "none"},
        {
            "summary": "An alert that always fires, to prove the alerting pipeline works.",
            "description": (
                "This alert fires all the time. It is routed to a dead-man's switch, which pages "
                "when it stops arriving: then Prometheus, its rules or Alertmanager are broken."
            ),
            "runbook_url": runbook_url(spec, WATCHDOG),
        },
    )
