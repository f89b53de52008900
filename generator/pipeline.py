"""spec/ → {relative path: text} for every generated file; no disk writes here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator.alertmanager import compile_alertmanager, compile_routing_tests
from generator.argo import compile_argo
from generator.errors import SpecIssue
from generator.grafana import compile_dashboards, compile_provisioning
from generator.kubernetes import compile_mimir_namespaces, compile_prometheus_rules
from generator.loader import load_spec_dir
from generator.model import Spec
from generator.model.build import build_spec
from generator.prometheus_config import compile_prometheus_config
from generator.promtool_tests import PromtoolTests, compile_promtool_tests, keep_design
from generator.render import to_json, to_yaml
from generator.rules import compile_rules
from generator.runbooks import bundled_runbook_template, compile_runbooks, read_project_template
from generator.schema import compile_schema
from generator.validate import validate


def load(spec_dir: Path) -> Spec:
    """Read, type and cross-check the spec; raises SpecError with every problem found."""
    spec = build_spec(load_spec_dir(spec_dir))
    validate(spec)
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


def render_outputs(spec: Spec) -> Rendered:
    """Every file of the targets `settings.outputs` names; prometheus is always among them."""
    settings = spec.settings
    outputs: Outputs = {}
    rule_files = compile_rules(spec)
    tests = compile_promtool_tests(spec)
    _prometheus(spec, rule_files, tests, outputs)
    if settings.writes("thanos"):
        outputs.update({f"thanos/{name}": outputs[f"prometheus/{name}"] for name in _rule_paths(rule_files)})
    if settings.writes("kubernetes"):
        for owner, rule in compile_prometheus_rules(spec, rule_files).items():
            outputs[f"kubernetes/prometheusrule-{owner}.yaml"] = to_yaml(rule)
    if settings.writes("mimir"):
        for owner, namespace in compile_mimir_namespaces(spec, rule_files).items():
            outputs[f"mimir/{owner}.yaml"] = to_yaml(namespace)
    if settings.writes("alertmanager"):
        _alertmanager(spec, outputs)
    if settings.writes("grafana") or settings.writes("runbooks"):
        _grafana_and_runbooks(spec, rule_files, outputs)
    if settings.writes("argo"):
        for gate, template in compile_argo(spec).items():
            outputs[f"argo/{gate}.yaml"] = to_yaml(template)
    if settings.writes("schema"):
        outputs["schema/spec.schema.json"] = to_json(compile_schema())
    return Rendered(dict(sorted(outputs.items())), tests.notes)


def _rule_paths(rule_files: RuleFiles) -> list[str]:
    return [f"rules/{name}.yml" for name in rule_files]


def _prometheus(spec: Spec, rule_files: RuleFiles, tests: PromtoolTests, outputs: Outputs) -> None:
    for path, document in zip(_rule_paths(rule_files), rule_files.values(), strict=True):
        outputs[f"prometheus/{path}"] = to_yaml(document)
    for name, document in tests.files.items():
        outputs[f"prometheus/tests/{name}.yml"] = to_yaml(document)
    outputs["prometheus/prometheus.yml"] = to_yaml(compile_prometheus_config(spec))


def _alertmanager(spec: Spec, outputs: Outputs) -> None:
    alertmanager = compile_alertmanager(spec)
    routing_tests = compile_routing_tests(spec)
    if alertmanager is not None and routing_tests is not None:
        outputs["alertmanager/alertmanager.yml"] = to_yaml(alertmanager)
        outputs["alertmanager/routing-tests.yml"] = to_yaml(routing_tests)


def _grafana_and_runbooks(spec: Spec, rule_files: RuleFiles, outputs: Outputs) -> None:
    """The runbooks link to the dashboards, so they are compiled for either target."""
    dashboards = compile_dashboards(spec)
    if spec.settings.writes("grafana"):
        for uid, dashboard in dashboards.items():
            outputs[f"grafana/dashboards/{uid}.json"] = to_json(dashboard)
        outputs["grafana/provisioning/dashboards.yaml"] = to_yaml(compile_provisioning())
    if spec.settings.writes("runbooks"):
        template = spec.runbook_template or bundled_runbook_template()
        for name, page in compile_runbooks(spec, rule_files, dashboards, template).items():
            outputs[f"runbooks/{name}"] = page
