"""Canary gates → Argo Rollouts AnalysisTemplates (`generated/argo/<gate>.yaml`).

Both metrics read the gate's recorded series, so Argo and `obsgen gate decide` cannot disagree:
  rollback  every evaluation interval, from the start until the promote check: one reading of
            canary:rollback:bool == 1 fails the run (the rules already waited `rollback.for`)
  promote   once, one interval after `promote.after`: promote − rollback is 1 (GO → success),
            −1 (ROLLBACK → failure) or 0 (HOLD → inconclusive, so the Rollout pauses for a human)
The run lasts promote.after + one interval; as background analysis it guards that long.
"""

from __future__ import annotations

from typing import Any

from generator import promql
from generator.conventions import PROMOTE, ROLLBACK
from generator.durations import go_duration
from generator.gate_rules import gate_selector
from generator.model import Gate, Service, Spec

API_VERSION = "argoproj.io/v1alpha1"
ADDRESS_ARG = "prometheus-address"
CONSECUTIVE_ERROR_LIMIT = 2
"""More than two failed queries in a row (Prometheus down, rules not loaded) end the run as
Error, which aborts the Rollout: Argo errors once the count exceeds the limit."""


def compile_argo(spec: Spec) -> dict[str, dict[str, Any]]:
    """Gate name → AnalysisTemplate (`validate` has held each to Argo's metric rules)."""
    templates: dict[str, dict[str, Any]] = {}
    for service in spec.services:
        for gate in service.gates:
            templates[gate.name] = analysis_template(spec, service, gate)
    return templates


def analysis_template(spec: Spec, service: Service, gate: Gate) -> dict[str, Any]:
    interval = spec.settings.evaluation_interval
    promote_at = gate.promote.after + interval
    address = f"{{{{args.{ADDRESS_ARG}}}}}"
    rollback_now = gate_selector(ROLLBACK, service, gate)
    verdict = f"{gate_selector(PROMOTE, service, gate)} - {rollback_now}"
    promql.check(verdict)
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": gate.name,
            "labels": {
                "app.kubernetes.io/managed-by": "obsgen",
                "app.kubernetes.io/part-of": service.service,
            },
        },
        "spec": {
            "args": [{"name": ADDRESS_ARG, "value": spec.settings.argo_prometheus_address}],
            "metrics": [
                {
                    "name": "rollback",
                    "interval": go_duration(interval),
                    "count": promote_at // interval + 1,
                    "failureLimit": 0,
                    "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
                    "successCondition": "result[0] == 0",
                    "failureCondition": "result[0] == 1",
                    "provider": {"prometheus": {"address": address, "query": rollback_now}},
                },
                {
                    "name": "promote",
                    "initialDelay": go_duration(promote_at),
                    "count": 1,
                    "failureLimit": 0,
                    "inconclusiveLimit": 0,
                    "consecutiveErrorLimit": CONSECUTIVE_ERROR_LIMIT,
                    "successCondition": "result[0] == 1",
                    "failureCondition": "result[0] == -1",
                    "provider": {"prometheus": {"address": address, "query": verdict}},
                },
            ],
        },
    }


def template_labels(service: Service) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "obsgen", "app.kubernetes.io/part-of": service.service}
