"""Alertmanager as code: receivers, an ordered routing policy, inhibitions, time intervals.

Secrets never live in the spec: a receiver names the environment variable that holds its
webhook or key, `obsgen secrets write` puts it into `<secrets_dir>/<VARIABLE>` at deploy time,
and the generated config points at that file (`api_url_file`, `routing_key_file`, …).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from generator.model.common import Duration, DurationOrZero, LabelName, Labels, Slug, StrictModel

EnvName = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", description="an environment variable name")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Slack(StrictModel):
    channel: str = Field(pattern=r"^[#@]?[A-Za-z0-9._-]+$", description="e.g. #lumen-alerts")
    webhook_env: EnvName = Field("ALERT_SLACK_WEBHOOK", description="variable holding the webhook URL")
    send_resolved: bool = True


class PagerDuty(StrictModel):
    routing_key_env: EnvName = Field(
        "ALERT_PAGERDUTY_ROUTING_KEY", description="variable holding the Events API v2 routing key"
    )
    send_resolved: bool = True


class Webhook(StrictModel):
    """A generic webhook (e.g. a dead-man's switch). Its URL is in git: put tokens in a header."""

    url: str = Field(pattern=r"^https?://[^\s@?#]+$", description="no credentials or query tokens")
    bearer_token_env: EnvName | None = Field(None, description="variable holding a bearer token")
    send_resolved: bool = True


class Receiver(StrictModel):
    """One receiver; a receiver with no integration is quiet (visible in Alertmanager only).

    A receiver is a pager when it wakes someone up: by default one with `pagerduty`; Slack (chat)
    and a plain webhook do not page. Every `severity: page` alert must reach a pager."""

    name: Slug
    slack: Slack | None = None
    pagerduty: PagerDuty | None = None
    webhook: Webhook | None = None
    pager: bool | None = Field(
        None,
        description="whether it pages someone: default true with `pagerduty`, else false. Set true "
        "for a webhook into a paging system (Opsgenie, Grafana OnCall, …), false for a "
        "low-urgency PagerDuty service. Every `severity: page` alert must reach a pager",
    )

    @property
    def quiet(self) -> bool:
        """Notifies no one: alerts routed here are only visible in Alertmanager itself."""
        return self.slack is None and self.pagerduty is None and self.webhook is None

    @property
    def pages(self) -> bool:
        """Wakes someone up (PagerDuty, or a webhook said to be a pager), unlike chat."""
        return self.pagerduty is not None if self.pager is None else self.pager

    @model_validator(mode="after")
    def _can_page(self) -> Receiver:
        if self.pager and self.pagerduty is None and self.webhook is None:
            raise ValueError(
                "`pager: true` needs `pagerduty` or a `webhook` into a paging system; Slack is chat"
            )
        return self


class Timing(StrictModel):
    group_by: list[LabelName] | None = None
    group_wait: DurationOrZero | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None


class Route(Timing):
    """Alerts whose labels equal `match` (and match the regexes of `match_re`) go to every
    receiver listed; routes are tried in order, and the first that matches ends the search
    unless it says `continue: true`."""

    match: Labels = Field(default_factory=dict)
    match_re: Labels = Field(default_factory=dict)
    receivers: list[Slug] = Field(min_length=1)
    continue_: bool = Field(False, alias="continue")
    mute_time_intervals: list[Slug] = Field(default_factory=list)
    active_time_intervals: list[Slug] = Field(default_factory=list)

    @model_validator(mode="after")
    def _matches_something(self) -> Route:
        if not self.match and not self.match_re:
            raise ValueError("give `match` or `match_re`; unmatched alerts go to `default_receiver`")
        return self


class Inhibition(StrictModel):
    """While an alert matching `source` fires, alerts matching `target` with the same values of
    `equal` are not sent. Every `equal` label must be present on both (obsgen adds `=~".+"`)."""

    source: Labels = Field(min_length=1)
    target: Labels = Field(default_factory=dict)
    target_not: Labels = Field(default_factory=dict, description="labels the target must not have")
    equal: list[LabelName] = Field(min_length=1)
    equal_or_absent: list[LabelName] = Field(
        default_factory=list,
        description="also compared, but may be absent on both (e.g. the `by` labels of grouped SLOs)",
    )

    def compared(self) -> list[str]:
        return [*self.equal, *self.equal_or_absent]


class TimeRange(StrictModel):
    start: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    end: str = Field(pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


class TimeInterval(StrictModel):
    name: Slug
    weekdays: list[Weekday] = Field(default_factory=list)
    times: list[TimeRange] = Field(default_factory=list)
    location: str = Field("UTC", description="IANA time zone, e.g. Europe/Berlin")


class AlertmanagerSpec(Timing):
    secrets_dir: str = Field("/etc/alertmanager/secrets", pattern=r"^/\S*$")
    group_by: list[LabelName] = Field(default_factory=lambda: ["alertname", "service", "slo_id"])
    group_wait: DurationOrZero = Field(30, description="wait for more alerts of a new group")
    group_interval: Duration = Field(300, description="wait before notifying a group's changes")
    repeat_interval: Duration = Field(4 * 3600, description="re-send a group still firing")
    resolve_timeout: Duration = 300
    default_receiver: Slug = Field(description="where alerts that match no route go")
    default_pager: Slug | None = Field(
        None,
        description='a pager behind every route: a last route `severity="page"` to this receiver '
        "catches each page no route stopped, so a page of a team without a route still wakes "
        "someone. Without it such a page is a spec error, unless `default_receiver` is a pager",
    )
    watchdog_receiver: Slug | None = Field(
        None, description="the dead-man's switch that receives the Watchdog (required with the Watchdog)"
    )
    receivers: list[Receiver] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    inhibitions: list[Inhibition] = Field(default_factory=list)
    time_intervals: list[TimeInterval] = Field(default_factory=list)

    def receiver(self, name: str) -> Receiver | None:
        return next((r for r in self.receivers if r.name == name), None)
