"""Threshold alerts (structured) and raw-PromQL alerts (with the examples that prove them)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from generator.model.common import (
    AlertName,
    Comparison,
    Duration,
    DurationOrZero,
    Labels,
    MetricName,
    Runbook,
    SeriesName,
    Severity,
    StrictModel,
    kind_by_key,
)
from generator.model.selectors import SELECTABLE, Matchers, split_selector


class AlertText(StrictModel):
    name: AlertName
    severity: Severity
    summary: str = Field(min_length=1, description="one plain sentence")
    description: str = Field(min_length=1, description="may use {{ $value }} and {{ $labels }}")
    runbook_url: str | None = Field(None, pattern=r"^https?://\S+$")
    labels: Labels = Field(default_factory=dict)
    for_: DurationOrZero = Field(0, alias="for")
    runbook: Runbook | None = Field(None, description="steps for the generated runbook page")


class ThresholdAlert(AlertText):
    """`<signal or metric> <op> <value>` held for `for`."""

    kind: Literal["threshold"] = "threshold"
    signal: SeriesName | None = Field(None, description="a recorded signal of this service")
    metric: Annotated[MetricName, SELECTABLE] | None = Field(
        None, description='a metric from the catalog, or a selector such as temp_celsius{zone=~"a|b"}'
    )
    matchers: Matchers = Field(default=())
    op: Comparison
    value: float

    @model_validator(mode="before")
    @classmethod
    def _metric_as_selector(cls, data: Any) -> Any:
        return split_selector(data)

    @model_validator(mode="after")
    def _one_source(self) -> ThresholdAlert:
        if (self.signal is None) == (self.metric is None):
            raise ValueError("give exactly one of `signal` or `metric`")
        return self


class InputSeries(StrictModel):
    series: str
    values: str


class AlertExample(StrictModel):
    """A promtool case for a raw-PromQL alert: inputs and whether it fires at `eval_time`."""

    interval: Duration = 60
    input_series: list[InputSeries] = Field(min_length=1)
    eval_time: DurationOrZero
    fires: bool
    labels: Labels = Field(
        default_factory=dict, description="labels of the expression's result (rule labels are added)"
    )
    value: float | None = Field(None, description="the expression's value, if annotations use $value")


class PromQLAlert(AlertText):
    """For what the structure cannot say; must carry at least one firing example."""

    kind: Literal["promql"] = "promql"
    expr: str = Field(min_length=1)
    examples: list[AlertExample] = Field(min_length=1)

    @model_validator(mode="after")
    def _has_firing_example(self) -> PromQLAlert:
        if not any(example.fires for example in self.examples):
            raise ValueError("needs at least one example with `fires: true`")
        return self


Alert = Annotated[
    Annotated[ThresholdAlert, Tag("threshold")] | Annotated[PromQLAlert, Tag("promql")],
    Discriminator(kind_by_key("expr", "promql", "threshold")),
]
