"""Heartbeats: a timestamp a job writes every period, proven alive by `changes()` and its age."""

from __future__ import annotations

from pydantic import Field

from generator.model.common import AlertName, Duration, MetricName, Runbook, Severity, Slug, StrictModel


class Heartbeat(StrictModel):
    """A unix-time gauge written every `period` (through node_exporter's textfile collector)."""

    metric: MetricName = Field(
        pattern=r"_timestamp_seconds$",
        description="unix time of the last beat, named <base>_timestamp_seconds",
    )
    period: Duration = Field(description="how often the writer beats")
    scrape_interval: Duration = Field(description="how often Prometheus scrapes the textfile collector")
    window: Duration = Field(description="the changes() window; ≥ period + 2 × scrape_interval + ε")
    freshness: Duration = Field(
        description="largest age of the last beat still counted as alive; must exceed the age a "
        "healthy heartbeat reaches (period + scrape_interval + evaluation_interval)"
    )
    job: Slug | None = Field(
        None, description="scrape job of the textfile collector; default <service>-heartbeat"
    )
    severity: Severity = "page"
    stale_alert: AlertName | None = Field(None, description="default <Base>Stale, e.g. DuriHeartbeatStale")
    missing_alert: AlertName | None = Field(
        None, description="target down or series absent; default <Base>Missing"
    )
    runbook: Runbook | None = Field(None, description="steps for the runbook pages of both its alerts")

    @property
    def base(self) -> str:
        return self.metric.removesuffix("_timestamp_seconds")

    def changes_record(self) -> str:
        from generator.durations import format_duration

        return f"{self.base}_changes_{format_duration(self.window)}"

    def ok_record(self) -> str:
        return f"{self.base}_ok"

    def camel(self) -> str:
        return "".join(part.capitalize() for part in self.base.split("_"))
