"""spec/ → {relative path: text} for every generated file; no disk writes here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from generator.alertmanager import compile_alertmanager, compile_routing_tests
from generator.argo import compile_argo
from generator.errors import SpecError, SpecIssue
from generator.forked import map_forked
from generator.grafana import compile_dashboards, compile_provisioning
from generator.kubernetes import compile_mimir_namespaces, compile_prometheus_rules
from generator.loader import load_spec_dir
from generator.model import Service, Spec
from generator.model.build import build_spec
from generator.prometheus_config import compile_prometheus_config
from generator.promtool_tests import (
    design_promtool_tests,
    design_service_tests,
    keep_design,
    spec_test_files,
)
from generator.render import to_json, to_yaml
from generator.rules import compile_rules, service_rule_files, spec_rule_files
from generator.runbooks import bundled_runbook_template, compile_runbooks, read_project_template
from generator.schema import compile_schema
from generator.validate import validate


def load(spec_dir: Path, scenarios: bool = True) -> Spec:
    """Read, type and cross-check the spec; raises SpecError with every problem found.
    `scenarios=False` leaves the designs of the generated tests to render_outputs (see there)."""
    spec = build_spec(load_spec_dir(spec_dir))
    validate(spec, scenarios)
    template = read_project_template(spec_dir)
    if template is None:
        return spec
    return keep_design(spec, replace(spec, runbook_template=template))


@dataclass(frozen=True)
class Rendered:
    outputs: dict[str, str]
    """path relative to the output directory → text"""
    notes: list[SpecIssue]
    """things worth telling that are not errors"""


Outputs = dict[str, str]
RuleFiles = dict[str, dict[str, Any]]


def render_outputs(spec: Spec, workers: int = 1) -> Rendered:
    """Every file of the targets `settings.outputs` names; prometheus is always among them.

    With `workers` > 1 the services are split into that many runs of consecutive services, each
    designed (its tests' scenarios, refusing what they cannot prove) and rendered in its own
    process (generator.forked); every file depends on one service and the settings, or on none,
    so the files are the same for any split. Kubernetes and Mimir files gather every service's
    rules, so with either target the services are rendered in one process."""
    settings = spec.settings
    if workers > 1 and not (settings.writes("kubernetes") or settings.writes("mimir")):
        parts = map_forked(partial(_services_part, spec), _runs(spec.services, workers))
        refusals = [issue for part in parts for issue in part.refusals]
        if refusals:
            raise SpecError(refusals)
        outputs = {path: text for part in parts for path, text in part.outputs.items()}
        notes = [note for part in parts for note in part.notes]
        outputs.update(_documents(spec, spec_rule_files(spec), spec_test_files(spec), {}))
    else:
        tests = design_promtool_tests(spec)  # designed already unless loaded with scenarios=False
        if tests.refusals:
            raise SpecError(tests.refusals)
        rule_files = compile_rules(spec)
        outputs = _documents(spec, rule_files, tests.files, _dashboards(spec, spec.services))
        notes = tests.notes
        _rule_targets(spec, rule_files, outputs)
    _spec_files(spec, outputs)
    return Rendered(dict(sorted(outputs.items())), notes)


@dataclass(frozen=True)
class _Part:
    outputs: Outputs
    notes: list[SpecIssue]
    refusals: list[SpecIssue]


def _services_part(spec: Spec, services: Sequence[Service]) -> _Part:
    tests = design_service_tests(spec, services)
    if tests.refusals:
        return _Part({}, [], tests.refusals)
    rule_files = service_rule_files(spec, services)
    return _Part(_documents(spec, rule_files, tests.files, _dashboards(spec, services)), tests.notes, [])


def _runs(services: Sequence[Service], count: int) -> list[Sequence[Service]]:
    """`count` runs of consecutive services (fewer if there are fewer services), about equal in
    weight: an SLO or gate weighs most of the design and rendering."""
    weights = [1 + 4 * (len(s.slos) + len(s.gates)) for s in services]
    total, runs, start, carried = sum(weights), [], 0, 0
    for index, weight in enumerate(weights):
        carried += weight
        if len(runs) < count - 1 and carried * count >= total * (len(runs) + 1):
            runs.append(services[start : index + 1])
            start = index + 1
    runs.append(services[start:])
    return [run for run in runs if run]


def _dashboards(spec: Spec, services: Sequence[Service]) -> dict[str, dict[str, Any]]:
    """The runbooks link to the dashboards, so they are compiled for either target."""
    if spec.settings.writes("grafana") or spec.settings.writes("runbooks"):
        return compile_dashboards(spec, services)
    return {}


def _documents(
    spec: Spec, rule_files: RuleFiles, test_files: RuleFiles, dashboards: dict[str, dict[str, Any]]
) -> Outputs:
    """The files of these rule files, their tests, these dashboards and their alerts' runbooks."""
    outputs: Outputs = {}
    for name, document in rule_files.items():
        outputs[f"prometheus/rules/{name}.yml"] = to_yaml(document)
    for name, document in test_files.items():
        outputs[f"prometheus/tests/{name}.yml"] = to_yaml(document)
    if spec.settings.writes("grafana"):
        for uid, dashboard in dashboards.items():
            outputs[f"grafana/dashboards/{uid}.json"] = to_json(dashboard)
    if spec.settings.writes("runbooks"):
        template = spec.runbook_template or bundled_runbook_template()
        for name, page in compile_runbooks(spec, rule_files, dashboards, template).items():
            outputs[f"runbooks/{name}"] = page
    return outputs


def _rule_targets(spec: Spec, rule_files: RuleFiles, outputs: Outputs) -> None:
    """Kubernetes PrometheusRules and Mimir namespaces: they gather the rules of many services."""
    if spec.settings.writes("kubernetes"):
        for owner, rule in compile_prometheus_rules(spec, rule_files).items():
            outputs[f"kubernetes/prometheusrule-{owner}.yaml"] = to_yaml(rule)
    if spec.settings.writes("mimir"):
        for owner, namespace in compile_mimir_namespaces(spec, rule_files).items():
            outputs[f"mimir/{owner}.yaml"] = to_yaml(namespace)


def _spec_files(spec: Spec, outputs: Outputs) -> None:
    """The files of the spec as a whole, and Thanos's copies of the rule files."""
    settings = spec.settings
    outputs["prometheus/prometheus.yml"] = to_yaml(compile_prometheus_config(spec))
    if settings.writes("thanos"):
        rules = [path for path in outputs if path.startswith("prometheus/rules/")]
        outputs.update({f"thanos/{path.removeprefix('prometheus/')}": outputs[path] for path in rules})
    if settings.writes("alertmanager"):
        _alertmanager(spec, outputs)
    if settings.writes("grafana"):
        outputs["grafana/provisioning/dashboards.yaml"] = to_yaml(compile_provisioning())
    if settings.writes("argo"):
        for gate, template in compile_argo(spec).items():
            outputs[f"argo/{gate}.yaml"] = to_yaml(template)
    if settings.writes("schema"):
        outputs["schema/spec.schema.json"] = to_json(compile_schema())


def _alertmanager(spec: Spec, outputs: Outputs) -> None:
    alertmanager = compile_alertmanager(spec)
    routing_tests = compile_routing_tests(spec)
    if alertmanager is not None and routing_tests is not None:
        outputs["alertmanager/alertmanager.yml"] = to_yaml(alertmanager)
        outputs["alertmanager/routing-tests.yml"] = to_yaml(routing_tests)
