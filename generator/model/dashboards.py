"""Hand-picked dashboards (e.g. the seed's three-panel `lumen-min`); SLO and gate dashboards
are derived from the model without being declared."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from generator.model.common import AlertName, SeriesName, Slug, StrictModel
from generator.model.selectors import SELECTABLE, Matchers, split_selector


class PanelThreshold(StrictModel):
    """Draw the threshold of one of this service's SLOs or alerts (never a number copied here)."""

    slo: Slug | None = None
    alert: AlertName | None = None

    @model_validator(mode="after")
    def _one_source(self) -> PanelThreshold:
        if (self.slo is None) == (self.alert is None):
            raise ValueError("give exactly one of `slo` or `alert`")
        return self


class DashboardPanel(StrictModel):
    series: Annotated[SeriesName, SELECTABLE] = Field(
        description="a signal, catalog metric or recorded series of this service; may carry matchers, "
        'e.g. http_requests_total{code=~"5.."}'
    )
    matchers: Matchers = Field(default=(), description="which of the series' label sets to show")
    type: Literal["timeseries", "stat"] = "timeseries"
    title: str | None = Field(None, description="default: the series name")
    unit: str = Field("none", description="a Grafana unit, e.g. percentunit, s")
    threshold: PanelThreshold | None = None

    @model_validator(mode="before")
    @classmethod
    def _series_as_selector(cls, data: Any) -> Any:
        return split_selector(data, "series")


class Dashboard(StrictModel):
    uid: Slug = Field(max_length=40, description="Grafana's uid; stable across imports")
    title: str = Field(min_length=1)
    description: str = ""
    panels: list[DashboardPanel] = Field(min_length=1)
