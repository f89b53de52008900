"""What the checks know: facts taken from the spec model, and the rule files being linted."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import promql_parser

from generator.conventions import slo_id
from generator.lint import promql_ast as ast
from generator.lint.external import STRICT, ExternalSeries
from generator.lint.promql_ast import Node
from generator.lint.rulefiles import Group, Rule
from generator.model import Heartbeat, Spec
from generator.validate import SUFFIXES, known_series

SLO_PREFIX = "slo:"
GATE_PREFIX = "canary:"


@dataclass(frozen=True)
class SpecFacts:
    known: frozenset[str]
    """every series the spec declares or records (catalog metrics with their suffixes, …)"""
    gauges: dict[str, str]
    """series the model types as a gauge → how it says so"""
    owners: dict[str, str]
    """series exported or recorded by a service with a realm → that realm"""
    slo_realms: dict[str, str]
    """slo_id → realm, for the `slo:*` series (which every SLO shares, told apart by slo_id)"""
    gate_realms: dict[str, str]
    """gate → realm, for the `canary:*` series"""
    ratio_metrics: frozenset[str]
    ratio_signals: frozenset[str]
    contracts: frozenset[str]
    """record names the spec keeps although they break level:metric:operations"""
    job_intervals: dict[str, int]
    scrape_interval: int
    evaluation_interval: int
    heartbeats: dict[str, Heartbeat]

    @classmethod
    def from_spec(cls, spec: Spec) -> SpecFacts:
        services = spec.services
        ratio_metrics = frozenset(m.name for service in services for m in service.metrics if m.ratio)
        contracts = {s.record for service in services for s in service.signals if s.contract}
        for heartbeat in (h for service in services for h in service.heartbeats):
            contracts.update((heartbeat.changes_record(), heartbeat.ok_record()))
        return cls(
            known=frozenset(known_series(spec)),
            gauges=_gauges(spec),
            owners=_owners(spec),
            slo_realms={slo_id(s, slo): s.realm for s in services if s.realm for slo in s.slos},
            gate_realms={gate.name: s.realm for s in services if s.realm for gate in s.gates},
            ratio_metrics=ratio_metrics,
            ratio_signals=frozenset(
                s.record for service in services for s in service.signals if s.metric in ratio_metrics
            ),
            contracts=frozenset(contracts),
            job_intervals=_job_intervals(spec),
            scrape_interval=spec.settings.scrape_interval,
            evaluation_interval=spec.settings.evaluation_interval,
            heartbeats={h.metric: h for service in services for h in service.heartbeats},
        )

    def realm_of(self, name: str, selector: Node) -> str | None:
        """The realm a selector of `name` must filter on, or None if its owner has none."""
        if name.startswith(SLO_PREFIX):
            found = ast.equalities(selector)
            return self.slo_realms.get(found.get("slo_id") or found.get("sloth_id", ""))
        if name.startswith(GATE_PREFIX):
            return self.gate_realms.get(ast.equalities(selector).get("gate", ""))
        return self.owners.get(name)

    def job_interval(self, selector: Node) -> int:
        """Scrape interval of the selector's job=…, else the spec's default."""
        job = ast.equalities(selector).get("job")
        return self.job_intervals.get(job, self.scrape_interval) if job else self.scrape_interval


def _gauges(spec: Spec) -> dict[str, str]:
    gauges: dict[str, str] = {}
    for service in spec.services:
        for metric in service.metrics:
            if metric.type == "gauge":
                gauges[metric.name] = f"the catalog of service {service.service} types it as a gauge"
        for signal in service.signals:
            gauges[signal.record] = f"it is a signal of service {service.service}, a derived gauge"
        for heartbeat in service.heartbeats:
            gauges[heartbeat.metric] = f"it is a heartbeat of service {service.service}, a unix time"
    return gauges


def _owners(spec: Spec) -> dict[str, str]:
    """Series of services with a realm: their own metrics (not `external`), signals, heartbeats."""
    owners: dict[str, str] = {}
    for service in spec.services:
        if not service.realm:
            continue
        names = [s.record for s in service.signals]
        for metric in service.metrics:
            if not metric.external:
                names += [metric.name + suffix for suffix in SUFFIXES.get(metric.type, ("",))]
        for heartbeat in service.heartbeats:
            names += [heartbeat.metric, heartbeat.changes_record(), heartbeat.ok_record()]
        owners.update(dict.fromkeys(names, service.realm))
    return owners


def _job_intervals(spec: Spec) -> dict[str, int]:
    """Scrape job → its interval: the service's job, its probes and its heartbeats' jobs."""
    default = spec.settings.scrape_interval
    jobs: dict[str, int] = {}
    for service in spec.services:
        if service.scrape is not None:
            jobs[service.job] = service.scrape_interval(default)
        jobs.update({probe.name: probe.interval or default for probe in service.probes})
        jobs.update({service.heartbeat_job(h): h.scrape_interval for h in service.heartbeats})
    return jobs


@dataclass
class LintContext:
    facts: SpecFacts
    groups: list[Group]
    external: ExternalSeries = STRICT
    """series declared on the command line as served by exporters the spec does not know"""
    _parsed: dict[str, Node | None] = field(default_factory=dict)

    @cached_property
    def rules(self) -> list[Rule]:
        return [rule for group in self.groups for rule in group.rules]

    @cached_property
    def recorded(self) -> frozenset[str]:
        return frozenset(rule.name for rule in self.rules if rule.kind == "record")

    def ast(self, rule: Rule) -> Node | None:
        """The parsed expression, or None when it does not parse (reported by promql-parse)."""
        if rule.expr not in self._parsed:
            self._parsed[rule.expr] = parse(rule.expr)[0]
        return self._parsed[rule.expr]

    def parsed_rules(self) -> list[tuple[Rule, Node]]:
        return [(rule, node) for rule in self.rules if (node := self.ast(rule)) is not None]


def parse(expr: str) -> tuple[Node | None, str]:
    """(AST, "") or (None, the parser's reason)."""
    if not expr.strip():
        return None, "the rule has no expression"
    try:
        return promql_parser.parse(expr), ""
    except ValueError as exc:
        return None, str(exc)
