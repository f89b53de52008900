"""Rule files → the layouts of scaled rulers, as plain dicts.

Every layout holds the very group dicts `compile_rules` made, only packed differently, so a rule
cannot differ between a single Prometheus, the operator, Mimir/Cortex and Thanos:
  kubernetes/prometheusrule-<owner>.yaml  a prometheus-operator PrometheusRule per owner
  mimir/<owner>.yaml                      one mimirtool namespace per owner (`namespace:` + groups)
  thanos/rules/<file>.yml                 the plain files unchanged (written by the pipeline)
All three are opt-in: the pipeline writes them only when `settings.outputs` lists them.
The owner of `<service>.yml`, `<service>.<slo>.yml` and `<service>.gate.<gate>.yml` is the
service; the owner of `_watchdog.yml` is `obsgen`.
"""

from __future__ import annotations

from typing import Any

from generator.conventions import WATCHDOG_FILE
from generator.gate_rules import gate_file
from generator.model import Spec
from generator.rules import slo_file

API_VERSION = "monitoring.coreos.com/v1"
PROJECT_OWNER = "obsgen"
"""Owner of the rule files no service owns (the Watchdog)."""


def rule_file_owners(spec: Spec) -> dict[str, str]:
    """Rule file name → owner, named from the model rather than parsed out of file names."""
    owners: dict[str, str] = {}
    for service in spec.services:
        owners[service.service] = service.service
        owners.update({slo_file(service, slo): service.service for slo in service.slos})
        owners.update({gate_file(service, gate): service.service for gate in service.gates})
    owners[WATCHDOG_FILE] = PROJECT_OWNER
    return owners


def groups_by_owner(spec: Spec, rule_files: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Owner → the groups of its rule files, in the order `compile_rules` produced them."""
    owners = rule_file_owners(spec)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for name, document in rule_files.items():
        grouped.setdefault(owners[name], []).extend(document["groups"])
    return {owner: groups for owner, groups in grouped.items() if groups}


def object_name(owner: str) -> str:
    """`obsgen-<service>`; the Watchdog's is plain `obsgen`, as `obsgen-watchdog` could be a service's."""
    return PROJECT_OWNER if owner == PROJECT_OWNER else f"{PROJECT_OWNER}-{owner}"


def prometheus_rule(spec: Spec, owner: str, groups: list[dict[str, Any]]) -> dict[str, Any]:
    settings = spec.settings.kubernetes
    metadata: dict[str, Any] = {"name": object_name(owner)}
    if settings.namespace is not None:
        metadata["namespace"] = settings.namespace
    metadata["labels"] = dict(settings.rule_labels)
    return {
        "apiVersion": API_VERSION,
        "kind": "PrometheusRule",
        "metadata": metadata,
        "spec": {"groups": groups},
    }


def compile_prometheus_rules(spec: Spec, rule_files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Owner → PrometheusRule; the operator's ruleSelector picks them by `settings.kubernetes.rule_labels`."""
    return {
        owner: prometheus_rule(spec, owner, groups)
        for owner, groups in groups_by_owner(spec, rule_files).items()
    }


def compile_mimir_namespaces(spec: Spec, rule_files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Owner → a mimirtool rule file: `namespace: <owner>` and the owner's groups.

    `mimirtool rules sync` takes the namespace from that key, so one file per owner gives one
    ruler namespace per service, and syncing replaces a service's groups without touching others.
    """
    return {
        owner: {"namespace": owner, "groups": groups}
        for owner, groups in groups_by_owner(spec, rule_files).items()
    }
