"""Project-wide settings: evaluation cadence, Alertmanager and blackbox addresses, runbooks."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field, field_validator

from generator.model.common import Duration, Labels, StrictModel


class BudgetPolicy(StrictModel):
    """When a change may go out (`obsgen budget check`, the CI check error-budget-burn-ok)."""

    freeze_below: float = Field(
        0.25, ge=0, le=1, description="freeze risky changes while less than this share of the budget is left"
    )
    max_burn_rate: float = Field(
        2.0, gt=0, description="hold changes while the current (5m) burn rate is above this"
    )


_K8S_NAME = r"[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
K8S_LABEL_KEY = rf"^(?:[a-z0-9](?:[-a-z0-9.]{{0,251}}[a-z0-9])?/)?{_K8S_NAME}$"
"""An optional DNS-subdomain prefix and `/`, then a name of at most 63 characters."""
K8S_LABEL_VALUE = rf"^(?:{_K8S_NAME})?$"
KubernetesLabels = dict[
    Annotated[str, Field(pattern=K8S_LABEL_KEY)], Annotated[str, Field(pattern=K8S_LABEL_VALUE)]
]


class KubernetesSettings(StrictModel):
    """The PrometheusRule objects under `generated/kubernetes/`."""

    rule_labels: KubernetesLabels = Field(
        default_factory=lambda: {"role": "alert-rules", "app.kubernetes.io/managed-by": "obsgen"},
        description="metadata.labels of every PrometheusRule: what the operator's ruleSelector matches",
    )
    namespace: str | None = Field(
        None,
        pattern=r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$",
        description="metadata.namespace of every PrometheusRule (none: kubectl's current namespace)",
    )


OutputTarget = Literal[
    "prometheus", "alertmanager", "grafana", "runbooks", "argo", "schema", "kubernetes", "mimir", "thanos"
]
"""One output module of `generated/`: prometheus = rules/ + tests/ + prometheus.yml, alertmanager =
alertmanager.yml + routing-tests.yml, grafana = dashboards/ + provisioning/, and the others the
directory of their name."""
OUTPUT_TARGETS: tuple[str, ...] = get_args(OutputTarget)
OPT_IN_OUTPUTS = ("kubernetes", "mimir", "thanos")
"""The scaled rulers' layouts: the same rule groups again, written only when the spec asks."""
DEFAULT_OUTPUTS: tuple[str, ...] = tuple(t for t in OUTPUT_TARGETS if t not in OPT_IN_OUTPUTS)


class Settings(StrictModel):
    evaluation_interval: Duration = Field(60, description="Prometheus rule evaluation interval")
    scrape_interval: Duration = Field(15, description="default scrape interval of every job")
    alertmanagers: list[str] = Field(
        default_factory=lambda: ["127.0.0.1:9093"], min_length=1, description="host:port"
    )
    blackbox_exporter: str = Field("127.0.0.1:9115", description="host:port of the prober")
    node_exporter: str = Field(
        "127.0.0.1:9100", description="host:port of node_exporter, whose textfile collector serves heartbeats"
    )
    prometheus_url: str = Field(
        "http://127.0.0.1:9090",
        pattern=r"^https?://\S+$",
        description="default Prometheus for `obsgen gate decide` and `targets verify`",
    )
    argo_prometheus_address: str = Field(
        "http://prometheus-operated.monitoring.svc:9090",
        pattern=r"^https?://\S+$",
        description="default `prometheus-address` argument of the Argo AnalysisTemplates (in-cluster)",
    )
    watchdog: bool = Field(True, description="render the always-firing Watchdog dead-man alert")
    error_budget_policy: BudgetPolicy = Field(default_factory=BudgetPolicy)
    runbook_base_url: str = Field(
        pattern=r"^https?://\S+$",
        description="alerts without their own runbook_url link to <base>/<AlertName>",
    )
    external_labels: Labels = Field(default_factory=dict)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    outputs: list[OutputTarget] = Field(
        default_factory=lambda: list(DEFAULT_OUTPUTS),
        min_length=1,
        description="what `obsgen gen` writes under generated/; default: all but kubernetes, mimir and "
        "thanos (opt-in). prometheus is always written: its promtool tests are the proof of the rules",
    )

    @field_validator("outputs")
    @classmethod
    def _prometheus_and_no_repeats(cls, outputs: list[str]) -> list[str]:
        if "prometheus" not in outputs:
            raise ValueError(
                "outputs must include prometheus: the rules and the promtool tests that prove them are "
                "always written (the other layouts are made from those rules)"
            )
        repeated = sorted({name for name in outputs if outputs.count(name) > 1})
        if repeated:
            raise ValueError(f"outputs lists {', '.join(repeated)} more than once")
        return outputs

    def writes(self, target: str) -> bool:
        return target in self.outputs
