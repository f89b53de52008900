"""A service: where it is scraped, what it exports, and what obsgen derives from that."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from generator.conventions import REALM_LABEL
from generator.model.alerts import Alert
from generator.model.common import (
    Duration,
    LabelName,
    Labels,
    MetricName,
    Slug,
    StrictModel,
)
from generator.model.dashboards import Dashboard
from generator.model.gates import Gate
from generator.model.heartbeats import Heartbeat
from generator.model.signals import Signal
from generator.model.slo import SLO


class Scrape(StrictModel):
    job: Slug | None = Field(None, description="default: the service name")
    host: str = "127.0.0.1"
    port: int = Field(ge=1, le=65535)
    path: str = Field("/metrics", pattern=r"^/\S*$")
    interval: Duration | None = Field(None, description="default: settings.scrape_interval")


class Metric(StrictModel):
    name: MetricName
    type: Literal["gauge", "counter", "histogram", "summary"]
    help: str = Field(min_length=1)
    labels: list[LabelName] = Field(default_factory=list)
    external: bool = Field(False, description="exported by something else, e.g. an exporter")
    job: Slug | None = Field(
        None,
        description="the scrape job that exports an `external` metric; its selectors then carry "
        "job=<job> (the service's own metrics always carry the service's job)",
    )
    buckets: list[float] | None = Field(
        None, min_length=1, description="a histogram's bucket bounds (le), e.g. [0.1, 0.3, 1]"
    )
    ratio: bool = Field(False, description="a share in [0, 1]; signals derived from it are clamped to [0, 1]")

    @model_validator(mode="after")
    def _buckets_of_a_histogram(self) -> Metric:
        if self.buckets is not None and self.type != "histogram":
            raise ValueError(f"`buckets` belong to histograms; {self.name} is a {self.type}")
        if self.buckets is not None and sorted(set(self.buckets)) != self.buckets:
            raise ValueError("`buckets` must be increasing, each bound once, e.g. [0.1, 0.3, 1]")
        if self.job is not None and not self.external:
            raise ValueError(
                "`job` names the exporter of an `external` metric; the service's own metrics are "
                "scraped by its `scrape.job`"
            )
        return self


def _milliseconds(value: object) -> int:
    text = str(value)
    match = re.fullmatch(r"(\d+)(ms|s)", text)
    if match is None or isinstance(value, bool):
        raise ValueError(f"expected a duration in ms or s such as 50ms or 1s, got {value!r}")
    amount = int(match.group(1)) * (1 if match.group(2) == "ms" else 1000)
    if amount <= 0:
        raise ValueError(f"expected a duration longer than zero, got {value!r}")
    return amount


Milliseconds = Annotated[
    int, BeforeValidator(_milliseconds), WithJsonSchema({"type": "string", "pattern": r"^\d+(ms|s)$"})
]


class Loop(StrictModel):
    """A periodic control loop the runtime runs for real (the seed's bridge: gain / tick / guard)."""

    tick: Milliseconds = Field(description="period of the loop, e.g. 50ms")
    gain: float = Field(gt=0, le=1, description="share of the error corrected per tick")
    guard: float = Field(gt=0, description="largest correction of one tick")
    metric: MetricName = Field(description="the gauge the loop drives toward its target")
    jitter_metric: MetricName = Field(description="histogram of each tick's lateness, in seconds")


class Probe(StrictModel):
    """A blackbox_exporter probe of one of the service's HTTP paths."""

    name: Slug = Field(description="the probe's scrape job name")
    module: str = "http_2xx"
    path: str = Field("/readyz", pattern=r"^/\S*$")
    interval: Duration | None = None


class Service(StrictModel):
    service: Slug
    description: str = ""
    realm: str | None = Field(
        None, pattern=r"^[a-z0-9_-]+$", description="every selector carries metric_realm=<realm>"
    )
    labels: Labels = Field(default_factory=dict, description="added to every alert")
    scrape: Scrape | None = Field(
        None, description="where Prometheus scrapes the service; omit when another job already does"
    )
    metrics: list[Metric] = Field(default_factory=list)
    signals: list[Signal] = Field(default_factory=list)
    slos: list[SLO] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    probes: list[Probe] = Field(default_factory=list)
    heartbeats: list[Heartbeat] = Field(default_factory=list)
    gates: list[Gate] = Field(default_factory=list)
    dashboards: list[Dashboard] = Field(default_factory=list)
    loop: Loop | None = Field(None, description="a control loop the bundled runtime runs")
    slo_label_names: Literal["obsgen", "sloth"] = Field(
        "obsgen",
        description="identity labels of the SLO series and burn-rate alerts: obsgen's slo_id, slo_service, "
        "slo_name, slo_window, slo_severity, or Sloth's sloth_id, sloth_service, sloth_slo, sloth_window, "
        "sloth_severity, so dashboards and routes built for Sloth work unchanged",
    )

    @property
    def job(self) -> str:
        return (self.scrape.job if self.scrape else None) or self.service

    def scrape_interval(self, default: int) -> int:
        return (self.scrape.interval if self.scrape else None) or default

    def realm_matchers(self) -> dict[str, str]:
        return {REALM_LABEL: self.realm} if self.realm else {}

    def clamps(self, signal: Signal) -> bool:
        """Whether the rules clamp the signal to [0, 1]: a share stays a share through mean,
        quantile, min and max of one — not through a spread or a sum."""
        metric = self.metric(signal.metric)
        return (
            metric is not None and metric.ratio and signal.function != "stddev" and signal.aggregate != "sum"
        )

    def scope(self, metric: str) -> dict[str, str]:
        """Matchers every selector of the raw series `metric` carries: the realm, and the scrape
        job for the service's own metrics (an `external` one only when it names its job), so
        another service's series of the same name never leak in. `x_bucket`/`x_count` are x's."""
        declared = self.metric(metric) or self.histogram_part(metric)
        job = None
        if declared is not None:
            job = declared.job if declared.external else (self.job if self.scrape else None)
        return {**({"job": job} if job else {}), **self.realm_matchers()}

    def histogram_part(self, name: str) -> Metric | None:
        """The histogram or summary whose `_bucket`, `_count` or `_sum` series `name` is."""
        for suffix in ("_bucket", "_count", "_sum"):
            if name.endswith(suffix):
                base = self.metric(name.removesuffix(suffix))
                if base is not None and base.type in ("histogram", "summary"):
                    return base
        return None

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def signal(self, record: str) -> Signal | None:
        return next((s for s in self.signals if s.record == record), None)

    def heartbeat_job(self, heartbeat: Heartbeat) -> str:
        return heartbeat.job or f"{self.service}-heartbeat"


__all__ = ["LabelName", "Labels", "Metric", "Probe", "Scrape", "Service"]
