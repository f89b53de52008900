"""Recorded signals: a raw metric turned into a derived gauge over a window."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from generator.model.common import (
    RECORD_NAME_PATTERN,
    Duration,
    LabelName,
    MetricName,
    SeriesName,
    StrictModel,
)
from generator.model.selectors import SELECTABLE, Matchers, split_selector

OverTime = Literal["mean", "quantile", "stddev", "max", "min", "histogram_quantile"]
QUANTILE_FUNCTIONS = ("quantile", "histogram_quantile")


class Signal(StrictModel):
    record: SeriesName = Field(
        description="series name, level:metric:operations, e.g. bridge:phase_diff_mean_5m"
    )
    contract: bool = Field(
        False, description="the name is a contract other tools rely on; keep it even without colons"
    )
    metric: Annotated[MetricName, SELECTABLE] = Field(
        description='source metric from the catalog, or a selector such as x{zone=~"a|b"}'
    )
    function: OverTime
    window: Duration
    quantile: float | None = Field(None, gt=0, lt=1)
    aggregate: Literal["max", "min", "avg", "sum"] = Field(
        "max", description="how series of several instances combine; max keeps the worst"
    )
    by: list[LabelName] = Field(default_factory=list, description="labels kept besides realm")
    matchers: Matchers = Field(default=(), description='e.g. {code: "500"} or {code=~"5.."}')
    help: str = ""

    @model_validator(mode="before")
    @classmethod
    def _metric_as_selector(cls, data: Any) -> Any:
        """`metric: 'x{a=~"b.*"}'` reads as `metric: x` plus those matchers."""
        return split_selector(data)

    @model_validator(mode="after")
    def _quantile_matches_function(self) -> Signal:
        if not self.contract and not re.match(RECORD_NAME_PATTERN, self.record):
            raise ValueError(
                f"record {self.record!r} should be named level:metric:operations, e.g. "
                "bridge:phase_diff_mean_5m; if other tools already rely on this name, set `contract: true`"
            )
        if self.function in QUANTILE_FUNCTIONS and self.quantile is None:
            raise ValueError(f"function {self.function} needs `quantile` (e.g. 0.95)")
        if self.function not in QUANTILE_FUNCTIONS and self.quantile is not None:
            raise ValueError(f"`quantile` only applies to {' and '.join(QUANTILE_FUNCTIONS)}")
        return self
