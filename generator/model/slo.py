"""SLOs: a threshold (time-slice) or ratio (events) SLI, an objective, and burn-rate alerting."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from generator.model.common import (
    ALERT_NAME_PATTERN,
    KEPT_ALERT_NAME_PATTERN,
    Annotations,
    Duration,
    LabelName,
    Labels,
    MetricName,
    Runbook,
    Seconds,
    SeriesName,
    Slug,
    StrictModel,
)
from generator.model.selectors import SELECTABLE, Matchers, SelectorField, parse_matchers, split_selector


class ThresholdSLI(StrictModel):
    """A slice is good when `signal <op> value`; the SLO counts good slices."""

    signal: SeriesName = Field(description="a recorded signal of this service")
    op: Literal["<", "<=", ">", ">="] = Field(description="the good condition")
    value: float
    missing_data: Literal["bad", "good", "ignore"] = Field(
        "bad", description="what a slice without data counts as; `ignore` leaves it out"
    )


class RatioSLI(StrictModel):
    """errors/total, or (total − good)/total, from counters. No traffic is not an error."""

    errors: SelectorField | None = Field(
        None, description='error events, e.g. http_requests_total{code=~"5.."}'
    )
    good: SelectorField | None = Field(None, description="good events, when errors are not counted")
    total: SelectorField = Field(description="all events, e.g. http_requests_total")

    @model_validator(mode="after")
    def _errors_or_good(self) -> RatioSLI:
        if (self.errors is None) == (self.good is None):
            raise ValueError("give exactly one of `errors` or `good`")
        return self


WINDOW_PLACEHOLDER = "{{.window}}"
"""Sloth's placeholder for the range of each SLI window, kept so Sloth queries carry over verbatim."""
WINDOW_SPELLINGS = re.compile(r"\{\{-?\s*\.window\s*-?\}\}")
"""Other ways Go templates (Sloth's) let you write it: `{{ .window }}`, `{{- .window -}}`."""


class QuerySLI(StrictModel):
    """Raw PromQL read over every window, as Sloth's `events` and `raw` SLIs: `errors`/`total`, or
    one `error_ratio`. Each query holds `{{.window}}` where the window's range goes, e.g.
    `sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))`. The period's ratio is the mean of
    the 5m ratios (as Sloth's), since re-reading raw series over 30 days would be too costly."""

    errors: str | None = Field(None, min_length=1, description="error events per second over {{.window}}")
    total: str | None = Field(None, min_length=1, description="all events per second over {{.window}}")
    error_ratio: str | None = Field(None, min_length=1, description="the error ratio over {{.window}}")

    @model_validator(mode="after")
    def _errors_and_total_or_ratio(self) -> QuerySLI:
        pair = self.errors is not None and self.total is not None
        if pair == (self.error_ratio is not None) or (self.errors is None) != (self.total is None):
            raise ValueError("give `errors` and `total`, or `error_ratio` alone")
        for name in ("errors", "total", "error_ratio"):
            query = getattr(self, name)
            if query is not None and WINDOW_PLACEHOLDER not in query:
                raise ValueError(
                    f"`{name}` must read its series over {WINDOW_PLACEHOLDER}, e.g. "
                    f"rate(x[{WINDOW_PLACEHOLDER}]): without it every alerting window sees the same value"
                )
        return self

    def queries(self) -> dict[str, str]:
        return {k: v for k in ("errors", "total", "error_ratio") if (v := getattr(self, k)) is not None}


class LatencySLI(StrictModel):
    """Requests faster than `below` are good: good = `<histogram>_bucket{le="<below>"}`, total =
    `<histogram>_count`, from a classic histogram whose catalog entry declares `buckets`."""

    histogram: Annotated[MetricName, SELECTABLE] = Field(
        description="a histogram of the catalog, e.g. http_request_duration_seconds"
    )
    below: Seconds = Field(description="the latency bound, e.g. 300ms; one of the histogram's buckets")
    selector: Matchers = Field(default=(), description='which requests count, e.g. {handler!="/health"}')

    @model_validator(mode="before")
    @classmethod
    def _histogram_as_selector(cls, data: Any) -> Any:
        """`histogram: 'http_request_duration_seconds{handler!="/health"}'` reads as the selector."""
        if isinstance(data, dict) and "matchers" in data:
            raise ValueError(
                "a latency SLI takes its matchers in `selector`, e.g. selector: '{handler!=\"/health\"}'"
            )
        split = split_selector(data, "histogram")
        if split is not data and isinstance(split, dict):
            found = split.pop("matchers", ())
            split["selector"] = (*found, *_given(data.get("selector")))
        return split


def _given(selector: Any) -> tuple[Any, ...]:
    return parse_matchers(selector) if selector else ()


class SLI(StrictModel):
    threshold: ThresholdSLI | None = None
    ratio: RatioSLI | None = None
    latency: LatencySLI | None = Field(None, description="requests faster than a histogram bucket bound")
    query: QuerySLI | None = Field(None, description="raw PromQL over {{.window}}, e.g. imported from Sloth")

    @model_validator(mode="after")
    def _one_kind(self) -> SLI:
        if sum(kind is not None for kind in (self.threshold, self.ratio, self.latency, self.query)) != 1:
            raise ValueError("give exactly one of `threshold`, `ratio`, `latency` or `query`")
        return self

    @property
    def counts_events(self) -> bool:
        """ratio and latency SLIs count events from counters; both compile to errors/total."""
        return self.ratio is not None or self.latency is not None


class AlertTier(StrictModel):
    disabled: bool = False
    labels: Labels = Field(
        default_factory=dict,
        description="added to the alert; `severity` defaults to the tier (page or ticket), which "
        "the alert always carries as `slo_severity`",
    )
    annotations: Annotations = Field(default_factory=dict)


class BurnWindow(StrictModel):
    """Fire when both windows' error ratios exceed factor × error budget."""

    severity: Literal["page", "ticket"]
    long: Duration
    short: Duration
    factor: float = Field(gt=0)


def _camel_name_unless_as_written(schema: dict[str, Any]) -> None:
    """Editors check `name` as CamelCase unless `name_as_written: true`, as the model does."""
    schema["if"] = {"properties": {"name_as_written": {"const": True}}, "required": ["name_as_written"]}
    schema["else"] = {"properties": {"name": {"pattern": ALERT_NAME_PATTERN}}}


class SLOAlerting(StrictModel):
    model_config = ConfigDict(**StrictModel.model_config, json_schema_extra=_camel_name_unless_as_written)

    name_as_written: bool = Field(
        False,
        description="keep `name` as written (letters, digits and _ . : -, e.g. Sloth's myServiceAlert) "
        "instead of CamelCase, so routes and silences that match it keep matching; "
        "`obsgen import sloth --keep-alert-names` sets it",
    )
    name: str | None = Field(
        None,
        pattern=KEPT_ALERT_NAME_PATTERN,
        description="CamelCase, as in kubernetes-mixin (unless name_as_written); "
        "default: <Service><Slo>ErrorBudgetBurn",
    )
    labels: Labels = Field(default_factory=dict)
    annotations: Annotations = Field(default_factory=dict)
    page: AlertTier = Field(default_factory=AlertTier)
    ticket: AlertTier = Field(default_factory=AlertTier)
    windows: list[BurnWindow] | None = Field(
        None, description="default: the SRE workbook's four window pairs scaled to the period"
    )

    @field_validator("name")
    @classmethod
    def _camel_case(cls, name: str | None, info: ValidationInfo) -> str | None:
        if name is None or info.data.get("name_as_written") or re.match(ALERT_NAME_PATTERN, name):
            return name
        raise ValueError(
            f"alert names are CamelCase, as in kubernetes-mixin (e.g. {_camel(name)!r}); to keep "
            f"{name!r} as written (routes and silences match it), add name_as_written: true"
        )


def _camel(name: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", name) if word)


class SLO(StrictModel):
    name: Slug
    description: str = ""
    objective: float = Field(gt=0, lt=100, description="percent of good slices or events (99.9, not 0.999)")
    period: Duration = 30 * 86400
    time_slice: Duration = 60
    sli: SLI
    alerting: SLOAlerting = Field(default_factory=SLOAlerting)
    runbook: Runbook | None = Field(None, description="steps for the runbook page of its burn-rate alert")
    labels: Labels = Field(default_factory=dict)
    by: list[LabelName] = Field(
        default_factory=list,
        description="one SLO per value of these labels (e.g. [handler]), as Pyrra's grouping: every "
        "SLO series and burn-rate alert keeps them",
    )

    @field_validator("objective")
    @classmethod
    def _objective_is_percent(cls, value: float) -> float:
        """0.99 is a ratio written where a percent belongs: 0.99 % is no SLO anyone means."""
        if value <= 1:
            meant = f"{round(value * 100, 9)!r}".removesuffix(".0")
            hint = f"did you mean objective: {meant}?" if value < 1 else "1 means 1 %; e.g. objective: 99.9"
            raise ValueError(
                f"objectives are percent, not ratios: {hint} (got {f'{value!r}'.removesuffix('.0')})"
            )
        return value
