"""Building blocks shared by every spec model: strict base, durations, names."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from generator.durations import DURATION_PATTERN, parse_duration


def kind_by_key(key: str, present: str, absent: str) -> Callable[[Any], str]:
    """A union discriminator: `present` when a mapping has `key` (or a model's kind says so)."""

    def kind(value: Any) -> str:
        if isinstance(value, dict):
            return present if key in value else absent
        return getattr(value, "kind", absent)

    return kind


class StrictModel(BaseModel):
    """Unknown fields are errors; models are immutable once validated; numbers are finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


MAX_DURATION = 400 * 86400
"""Longer than any SLO period or retention a spec needs (a year and a bit); also what keeps the
generated tests, which hold one sample per evaluation across a window, finite."""


def _duration_or_zero(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(f"expected a Prometheus duration string such as 5m, got {value!r}")
    seconds = parse_duration(value)
    if seconds > MAX_DURATION:
        raise ValueError(f"expected a duration of at most 400d, got {value!r}")
    return seconds


def _duration(value: object) -> int:
    seconds = _duration_or_zero(value)
    if seconds == 0:
        raise ValueError(f"expected a duration longer than zero, got {value!r}")
    return seconds


_DURATION_SCHEMA = {"type": "string", "pattern": DURATION_PATTERN, "examples": ["5m", "30d"]}
Duration = Annotated[int, BeforeValidator(_duration), WithJsonSchema(_DURATION_SCHEMA)]
"""A Prometheus duration longer than zero, held as whole seconds."""
DurationOrZero = Annotated[int, BeforeValidator(_duration_or_zero), WithJsonSchema(_DURATION_SCHEMA)]
"""A Prometheus duration that may be `0s` (an alert's `for`, a test's evaluation time)."""

Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$", max_length=63)]
MetricName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
RECORD_NAME_PATTERN = r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_:]*[a-zA-Z0-9_]$"
"""level:metric:operations, as Prometheus's naming guide asks"""
SeriesName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
LabelName = Annotated[
    str,
    Field(
        pattern=r"^(?:[a-zA-Z][a-zA-Z0-9_]*|_[a-zA-Z0-9][a-zA-Z0-9_]*)$",
        description="a Prometheus label name; names starting with __ are reserved",
    ),
]
ALERT_NAME_PATTERN = r"^[A-Z][A-Za-z0-9]*$"
AlertName = Annotated[str, Field(pattern=ALERT_NAME_PATTERN, description="CamelCase, as in kubernetes-mixin")]
KEPT_ALERT_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.:-]*$"
"""An alert name kept as another tool wrote it (Sloth's `myServiceAlert`): safe in URLs and matchers."""
Labels = dict[LabelName, str]
Annotations = dict[LabelName, str]
Severity = Literal["page", "ticket", "info"]
Comparison = Literal["<", "<=", ">", ">=", "==", "!="]


_SECONDS_UNITS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60)}


def _seconds(value: object) -> float:
    """`300ms`, `1.5s`, `2m` or a plain number of seconds, as a float (0.3 for 300ms)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 300ms or 1s, got {value!r}")
    if isinstance(value, int | float):
        seconds = Decimal(repr(value))
    else:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", str(value).strip())
        if match is None:
            raise ValueError(f"expected a duration such as 300ms, 1s or 1.5s, got {value!r}")
        seconds = Decimal(match.group(1)) * _SECONDS_UNITS[match.group(2)]
    if not seconds.is_finite() or seconds <= 0:
        raise ValueError(f"expected a duration longer than zero, got {value!r}")
    return float(seconds)


Seconds = Annotated[
    float,
    BeforeValidator(_seconds),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?(ms|s|m)$", "examples": ["300ms", "1s"]}),
]
"""A latency such as `300ms`, held as seconds (a histogram bucket bound)."""


class Runbook(StrictModel):
    """What to do when the alert fires, beyond the generic steps of its kind."""

    steps: list[Annotated[str, Field(min_length=1)]] = Field(
        min_length=1,
        description="the alert's own steps, in order; written into generated/runbooks/<AlertName>.md",
    )
