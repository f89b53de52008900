"""SLOs: a threshold (time-slice) or ratio (events) SLI, an objective, and burn-rate alerting."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from generator.model.common import (
    AlertName,
    Annotations,
    Duration,
    Labels,
    MetricName,
    SeriesName,
    Slug,
    StrictModel,
)


class ThresholdSLI(StrictModel):
    """A slice is good when `signal <op> value`; the SLO counts good slices."""

    signal: SeriesName = Field(description="a recorded signal of this service")
    op: Literal["<", "<=", ">", ">="] = Field(description="the good condition")
    value: float
    missing_data: Literal["bad", "good", "ignore"] = Field(
        "bad", description="what a slice without data counts as; `ignore` leaves it out"
    )


class EventQuery(StrictModel):
    metric: MetricName = Field(description="a counter from the catalog (without _total suffix rules)")
    matchers: Labels = Field(default_factory=dict)


class RatioSLI(StrictModel):
    """errors/total, or (total − good)/total, from counters. No traffic is not an error."""

    errors: EventQuery | None = None
    good: EventQuery | None = None
    total: EventQuery

    @model_validator(mode="after")
    def _errors_or_good(self) -> RatioSLI:
        if (self.errors is None) == (self.good is None):
            raise ValueError("give exactly one of `errors` or `good`")
        return self


class SLI(StrictModel):
    threshold: ThresholdSLI | None = None
    ratio: RatioSLI | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SLI:
        if (self.threshold is None) == (self.ratio is None):
            raise ValueError("give exactly one of `threshold` or `ratio`")
        return self


class AlertTier(StrictModel):
    disabled: bool = False
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)


class BurnWindow(StrictModel):
    """Fire when both windows' error ratios exceed factor × error budget."""

    severity: Literal["page", "ticket"]
    long: Duration
    short: Duration
    factor: float = Field(gt=0)


class SLOAlerting(StrictModel):
    name: AlertName | None = Field(None, description="default: <Service><Slo>ErrorBudgetBurn")
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    page: AlertTier = Field(default_factory=AlertTier)
    ticket: AlertTier = Field(default_factory=AlertTier)
    windows: list[BurnWindow] | None = Field(
        None, description="default: the SRE workbook's four window pairs scaled to the period"
    )


class SLO(StrictModel):
    name: Slug
    description: str = ""
    objective: float = Field(gt=0, lt=100, description="percent of good slices or events")
    period: Duration = 30 * 86400
    time_slice: Duration = 60
    sli: SLI
    alerting: SLOAlerting = Field(default_factory=SLOAlerting)
    labels: Labels = Field(default_factory=dict)
