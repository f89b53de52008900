"""Canary gates: conditions on live series plus promotion and rollback policies."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from generator.model.common import AlertName, Duration, SeriesName, Severity, Slug, StrictModel, kind_by_key

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


Condition = Annotated[
    Annotated[ThresholdCondition, Tag("threshold")] | Annotated[TrendCondition, Tag("trend")],
    Discriminator(kind_by_key("trend", "trend", "threshold")),
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
