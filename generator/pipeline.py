"""spec/ → {relative path: text} for every generated file; no disk writes here."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from generator.alertmanager import compile_alertmanager, compile_routing_tests
from generator.argo import compile_argo
from generator.errors import SpecIssue
from generator.grafana import compile_dashboards, compile_provisioning
from generator.kubernetes import compile_mimir_namespaces, compile_prometheus_rules
from generator.loader import load_spec_dir
from generator.model import Spec
from generator.model.build import build_spec
from generator.prometheus_config import compile_prometheus_config
from generator.promtool_tests import compile_promtool_tests
from generator.render import to_json, to_yaml
from generator.rules import compile_rules
from generator.runbooks import bundled_runbook_template, compile_runbooks, read_project_template
from generator.schema import compile_schema
from generator.validate import validate


def load(spec_dir: Path) -> Spec:
    """Read, type and cross-check the spec; raises SpecError with every problem found."""
    spec = build_spec(load_spec_dir(spec_dir))
    validate(spec)
    return replace(spec, runbook_template=read_project_template(spec_dir))


@dataclass(frozen=True)
class Rendered:
    outputs: dict[str, str]
    """path relative to the output directory → text"""
    notes: list[SpecIssue]
    """things worth telling that are not errors"""


def render_outputs(spec: Spec) -> Rendered:
    outputs: dict[str, str] = {}
    rule_files = compile_rules(spec)
    for name, document in rule_files.items():
        text = to_yaml(document)
        outputs[f"prometheus/rules/{name}.yml"] = text
        outputs[f"thanos/rules/{name}.yml"] = text  # Thanos rule reads plain Prometheus rule files
    for owner, rule in compile_prometheus_rules(spec, rule_files).items():
        outputs[f"kubernetes/prometheusrule-{owner}.yaml"] = to_yaml(rule)
    for owner, namespace in compile_mimir_namespaces(spec, rule_files).items():
        outputs[f"mimir/{owner}.yaml"] = to_yaml(namespace)
    tests = compile_promtool_tests(spec)
    for name, document in tests.files.items():
        outputs[f"prometheus/tests/{name}.yml"] = to_yaml(document)
    outputs["prometheus/prometheus.yml"] = to_yaml(compile_prometheus_config(spec))
    alertmanager = compile_alertmanager(spec)
    routing_tests = compile_routing_tests(spec)
    if alertmanager is not None and routing_tests is not None:
        outputs["alertmanager/alertmanager.yml"] = to_yaml(alertmanager)
        outputs["alertmanager/routing-tests.yml"] = to_yaml(routing_tests)
    dashboards = compile_dashboards(spec)
    for uid, dashboard in dashboards.items():
        outputs[f"grafana/dashboards/{uid}.json"] = to_json(dashboard)
    runbook_template = spec.runbook_template or bundled_runbook_template()
    for name, page in compile_runbooks(spec, rule_files, dashboards, runbook_template).items():
        outputs[f"runbooks/{name}"] = page
    outputs["grafana/provisioning/dashboards.yaml"] = to_yaml(compile_provisioning())
    for gate, template in compile_argo(spec).items():
        outputs[f"argo/{gate}.yaml"] = to_yaml(template)
    outputs["schema/spec.schema.json"] = to_json(compile_schema())
    return Rendered(dict(sorted(outputs.items())), tests.notes)
