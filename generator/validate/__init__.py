"""Cross-reference checks the field types alone cannot make; every issue is located.

One validation pass: everything that can refuse a spec runs here, one module per concern, and the
compilers assume a model that passed. `validate` runs `CHECKS` in order, then, only if they found
nothing, `CHECKS_ON_SOUND_MODEL`: those read what the compilers make of the model (the alerts the
rules emit, the gates' AnalysisTemplates, the scenarios of the generated tests), so they need a
sound model first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from generator.conventions import GATE_SERIES, SLO_SERIES, sli_error_ratio
from generator.errors import SpecError, SpecIssue
from generator.model import Service, Spec
from generator.slo_math import sli_windows
from generator.validate.alerts import alert_issues, template_issues
from generator.validate.argo import gate_template_issues
from generator.validate.cadence import cadence_issues
from generator.validate.catalog import SUFFIXES, Found, loop_issues
from generator.validate.dashboards import dashboard_issues
from generator.validate.gates import gate_issues
from generator.validate.heartbeats import heartbeat_issues
from generator.validate.names import duplicates, reserved_label_issues, spec_issues
from generator.validate.routing import routing_issues
from generator.validate.scenarios import scenario_issues
from generator.validate.signals import signal_issues
from generator.validate.slos import slo_issues

Check = Callable[[Spec], Iterable[SpecIssue]]

# Series Prometheus itself produces for any target or rule.
BUILTIN_SERIES = frozenset(
    {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
)


def validate(spec: Spec, scenarios: bool = True) -> None:
    """Raise SpecError with every issue of the first stage that finds any.

    `scenarios=False` leaves out the last check, the designs of the generated tests, for a caller
    that designs them itself (`obsgen gen`, per service, in parallel); it is still run when the
    other checks of its stage found something, so the error lists the same issues either way."""
    issues = [issue for check in CHECKS for issue in check(spec)]
    if issues:
        raise SpecError(issues)
    issues = [issue for check in CHECKS_ON_SOUND_MODEL for issue in check(spec)]
    if scenarios or issues:
        issues += scenario_issues(spec)
    if issues:
        raise SpecError(issues)


def known_series(spec: Spec) -> set[str]:
    """Every series name a rule may read: catalog metrics, recorded signals, SLO series."""
    names = set(BUILTIN_SERIES)
    for service in spec.services:
        for metric in service.metrics:
            names.update(metric.name + suffix for suffix in SUFFIXES.get(metric.type, ("",)))
        names.update(signal.record for signal in service.signals)
        for heartbeat in service.heartbeats:
            names.update((heartbeat.metric, heartbeat.changes_record(), heartbeat.ok_record()))
        for slo in service.slos:
            names.update(sli_error_ratio(w) for w in sli_windows(slo)[:-1])
            names.add(sli_error_ratio(slo.period, service))  # as the rules name it (4w under sloth)
    names.update(SLO_SERIES)
    names.update(GATE_SERIES)
    return names


def _service_issues(spec: Spec, service: Service, known: set[str]) -> Iterator[Found]:
    yield from duplicates([m.name for m in service.metrics], "metrics", "metric")
    yield from duplicates([s.name for s in service.slos], "slos", "SLO")
    scrape = service.scrape_interval(spec.settings.scrape_interval)
    yield from signal_issues(service, scrape)
    yield from slo_issues(service, scrape)
    yield from alert_issues(service, known, spec.settings.evaluation_interval)
    yield from template_issues(service)
    yield from reserved_label_issues(service)
    yield from cadence_issues(spec, service)
    yield from heartbeat_issues(spec, service)
    yield from gate_issues(spec, service)
    yield from dashboard_issues(service, known)
    yield from loop_issues(service)
    if service.scrape is None:
        for what in ("probes", "loop"):
            if getattr(service, what):
                yield (what,), f"`{what}` need the service's own `scrape` address; add `scrape`"


def service_checks(spec: Spec) -> Iterator[SpecIssue]:
    """Every service's own checks (`_service_issues`), located in its file."""
    known = known_series(spec)
    for service in spec.services:
        doc = spec.sources[service.service]
        for path, message in _service_issues(spec, service, known):
            yield SpecIssue(doc.location(path), message)


def spec_checks(spec: Spec) -> Iterator[SpecIssue]:
    """Checks across services (unique names and ports, settings)."""
    for path_owner, path, message in spec_issues(spec):
        yield SpecIssue(spec.sources[path_owner].location(path), message)


CHECKS: tuple[Check, ...] = (service_checks, spec_checks)
"""Checks of the model, in the order their issues are reported."""
CHECKS_ON_SOUND_MODEL: tuple[Check, ...] = (routing_issues, gate_template_issues)
"""Checks of what the compilers make of the model, then scenario_issues; run only when `CHECKS`
found nothing."""
