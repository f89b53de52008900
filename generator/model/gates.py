"""Canary gates: conditions on live series plus promotion and rollback policies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from generator.model.common import (
    AlertName,
    Duration,
    LabelName,
    Runbook,
    SeriesName,
    Severity,
    Slug,
    StrictModel,
)

Worst = Literal["max", "min"]


class ThresholdCondition(StrictModel):
    """Holds while `series <op> value` for the worst instance."""

    kind: Literal["threshold"] = "threshold"
    name: Slug
    series: SeriesName = Field(description="a catalog gauge, signal or heartbeat record of this service")
    op: Literal["<", "<=", ">", ">=", "=="] = Field(description="the condition that must hold")
    value: float
    worst: Worst | None = Field(
        None, description="how instances combine; default max for < and <=, min for >, >= and =="
    )
    rollback_at_once: bool = Field(False, description="roll back as soon as this one is violated")

    def worst_of(self) -> Worst:
        return self.worst or ("max" if self.op in ("<", "<=") else "min")


class TrendCondition(StrictModel):
    """Holds while the series does not move in `trend` direction faster than `epsilon` per second."""

    kind: Literal["trend"] = "trend"
    name: Slug
    series: SeriesName
    trend: Literal["rising", "falling"] = Field(description="the direction that violates the condition")
    window: Duration = Field(description="the slope is deriv() over this window")
    epsilon: float = Field(ge=0, description="slope per second tolerated in the trend's direction")
    rollback_at_once: bool = Field(True, description="roll back as soon as the trend shows")

    def worst_of(self) -> Worst:
        return "max" if self.trend == "rising" else "min"


class InstanceCheck(StrictModel):
    """What one canary instance must satisfy."""

    series: SeriesName = Field(description="a catalog gauge carrying the quorum's label")
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float


MAX_CANARIES = 100


class QuorumCondition(StrictModel):
    """Holds while at least `min_passing` of the `of` canary instances pass every check."""

    kind: Literal["quorum"] = "quorum"
    name: Slug
    label: LabelName = Field(description="the label telling canary instances apart, e.g. canary")
    min_passing: int = Field(ge=1, description="K: instances that must pass")
    of: int = Field(
        ge=1,
        le=MAX_CANARIES,
        description=f"N: canary instances expected (at most {MAX_CANARIES}; the tests feed each one)",
    )
    checks: list[InstanceCheck] = Field(min_length=1)
    rollback_at_once: bool = Field(False, description="roll back as soon as the quorum is missed")

    @model_validator(mode="after")
    def _reachable(self) -> QuorumCondition:
        if self.min_passing > self.of:
            raise ValueError(f"min_passing {self.min_passing} is more than the {self.of} instances (`of`)")
        return self

    @property
    def series(self) -> str:
        return self.checks[0].series

    def worst_of(self) -> Worst:
        return "min"


def _condition_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "trend" if "trend" in value else "quorum" if "checks" in value else "threshold"
    return getattr(value, "kind", "threshold")


Condition = Annotated[
    Annotated[ThresholdCondition, Tag("threshold")]
    | Annotated[TrendCondition, Tag("trend")]
    | Annotated[QuorumCondition, Tag("quorum")],
    Discriminator(_condition_kind),
]


class PromotePolicy(StrictModel):
    after: Duration = Field(900, description="promote when every condition has held this long")


class RollbackPolicy(StrictModel):
    violations: int = Field(2, ge=1, description="roll back when at least this many conditions …")
    for_: Duration = Field(180, alias="for", description="… have been violated for this long")


class GateAlert(StrictModel):
    name: AlertName | None = Field(None, description="default CanaryGate<Gate>Rollback")
    severity: Severity = "ticket"


class Gate(StrictModel):
    name: Slug = Field(description="the gate label of every canary:* series")
    description: str = ""
    conditions: list[Condition] = Field(min_length=1)
    promote: PromotePolicy = Field(default_factory=PromotePolicy)
    rollback: RollbackPolicy = Field(default_factory=RollbackPolicy)
    alert: GateAlert = Field(default_factory=GateAlert)
    runbook: Runbook | None = Field(None, description="steps for the runbook page of its rollback alert")

    @model_validator(mode="after")
    def _rollback_reachable(self) -> Gate:
        if self.rollback.violations > len(self.conditions):
            raise ValueError(
                f"rollback.violations is {self.rollback.violations} but the gate has only "
                f"{len(self.conditions)} condition(s), so the rule could never roll back"
            )
        return self

    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("-"))

    def alert_name(self) -> str:
        return self.alert.name or f"CanaryGate{self.camel()}Rollback"
