"""Project-wide settings: evaluation cadence, Alertmanager and blackbox addresses, runbooks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

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
