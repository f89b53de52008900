"""Alertmanager routing: receivers and intervals that exist, routes some alert reaches, alerts
someone hears, pages a pager hears, and a Watchdog that reaches no person.

These read the alerts the rules emit, so `validate` runs them on an otherwise sound model."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from generator.alert_inventory import EmittedAlert, alert_inventory
from generator.alertmanager import is_page, leaves, matched_leaves, pager_names
from generator.errors import Location, SpecIssue, did_you_mean, unknown
from generator.model import Spec
from generator.model.alertmanager import AlertmanagerSpec, Route


def routing_issues(spec: Spec) -> Iterator[SpecIssue]:
    """Receivers and intervals that do not exist, routes no alert reaches, alerts no receiver
    hears, pages no pager hears, and a Watchdog that could reach a person."""
    routing = spec.alertmanager
    if routing is None:
        return
    doc = spec.sources["alertmanager"]

    def at(*path: str | int) -> Location:
        return doc.location(("alertmanager", *path))

    names = [r.name for r in routing.receivers]
    for i, name in enumerate(names):
        if name in names[:i]:
            yield SpecIssue(at("receivers", i, "name"), f"duplicate receiver {name!r}")
    known = set(names)
    intervals = {t.name for t in routing.time_intervals}
    for field in ("default_receiver", "watchdog_receiver", "default_pager"):
        name = getattr(routing, field)
        if name is not None and name not in known:
            yield SpecIssue(at(field), unknown(f"receiver {name!r} is not one of `receivers`", name, names))
    for i, route in enumerate(routing.routes):
        for j, name in enumerate(route.receivers):
            if name not in known:
                yield SpecIssue(
                    at("routes", i, "receivers", j),
                    unknown(f"receiver {name!r} is not one of `receivers`", name, names),
                )
        for field in ("mute_time_intervals", "active_time_intervals"):
            for j, name in enumerate(getattr(route, field)):
                if name not in intervals:
                    message = f"time interval {name!r} is not one of `time_intervals`"
                    yield SpecIssue(at("routes", i, field, j), unknown(message, name, intervals))
        for j, pattern in enumerate(route.match_re.values()):
            try:
                re.compile(pattern)
            except re.error as exc:
                yield SpecIssue(at("routes", i, "match_re"), f"regex {j + 1} does not compile: {exc}")
    yield from _watchdog_issues(spec, routing, at)
    yield from _coverage_issues(spec, routing, at)
    yield from _page_issues(spec, routing, at)


def _watchdog_issues(spec: Spec, routing: AlertmanagerSpec, at: Any) -> Iterator[SpecIssue]:
    if not spec.settings.watchdog:
        return
    if routing.watchdog_receiver is None:
        yield SpecIssue(
            at(), "the Watchdog is on (settings.watchdog): name its dead-man's switch in `watchdog_receiver`"
        )
        return
    receiver = routing.receiver(routing.watchdog_receiver)
    if receiver is not None and (
        receiver.slack or receiver.pagerduty or receiver.webhook is None or receiver.pages
    ):
        yield SpecIssue(
            at("watchdog_receiver"),
            "the Watchdog always fires: its receiver must be a webhook to a dead-man's switch, never "
            "Slack or PagerDuty (nor a pager)",
        )


def _coverage_issues(spec: Spec, routing: AlertmanagerSpec, at: Any) -> Iterator[SpecIssue]:
    alerts = alert_inventory(spec)
    tree = leaves(spec, routing)
    offset = 1 if spec.settings.watchdog and routing.watchdog_receiver else 0
    reached: set[int] = set()
    for alert in alerts:
        chosen = matched_leaves(tree, alert.labels)
        reached.update(chosen)
        default = routing.receiver(routing.default_receiver)
        if not chosen and default is not None and default.quiet:
            yield SpecIssue(
                alert.where,
                f"alert {_describe(alert)} matches no route, and the default receiver "
                f"{routing.default_receiver!r} notifies no one: route it",
            )
    position = offset
    for i, route in enumerate(routing.routes):
        span = range(position, position + len(route.receivers))
        if not reached & set(span):
            yield SpecIssue(
                at("routes", i),
                f"no alert the rules can emit reaches this route ({_describe_route(route)}); "
                "remove it or fix its matchers" + _value_hints(route, alerts),
            )
        position += len(route.receivers)


def _value_hints(route: Route, alerts: list[EmittedAlert]) -> str:
    """`; no alert has alertname='X': did you mean 'Y'?` for each `match` value no alert carries."""
    hints = []
    for key, value in route.match.items():
        values = {alert.labels[key] for alert in alerts if key in alert.labels}
        if value not in values:
            hint = did_you_mean(value, values)
            hints.append(f"; no alert has {key}={value!r}" + (f": {hint}" if hint else ""))
    return "".join(hints)


def _page_issues(spec: Spec, routing: AlertmanagerSpec, at: Any) -> Iterator[SpecIssue]:
    """Every page reaches a pager. Located at the route that ends a page's search without one,
    or at `default_receiver` for pages no route takes; naming the alerts."""
    pagers = pager_names(routing)
    hint = (
        f"pagers: {', '.join(pagers)}"
        if pagers
        else "no receiver pages: give one `pagerduty`, or `pager: true` on a webhook into a paging system"
    )
    fallback = routing.receiver(routing.default_pager) if routing.default_pager else None
    if fallback is not None and not fallback.pages:
        yield SpecIssue(at("default_pager"), f"receiver {fallback.name!r} does not page ({hint})")
    tree = leaves(spec, routing)
    owner = _route_of_leaf(spec, routing)
    stranded: dict[int, list[EmittedAlert]] = {}
    seen: set[tuple[tuple[str, str], ...]] = set()
    for alert in alert_inventory(spec):
        key = tuple(sorted(alert.labels.items()))
        if not is_page(alert.labels) or key in seen:
            continue
        seen.add(key)
        chosen = matched_leaves(tree, alert.labels)
        receivers = [tree[k].receiver for k in chosen] or [routing.default_receiver]
        last = owner[chosen[-1]] if chosen else -1
        if set(receivers) & set(pagers) or last is None:
            continue  # a pager hears it, or it ends at the Watchdog's or default_pager's route
        stranded.setdefault(last, []).append(alert)
    for index, alerts in sorted(stranded.items()):
        named = "; ".join(_describe(a, ("service", "team")) for a in alerts)
        if index < 0:
            yield SpecIssue(
                at("default_receiver"),
                f"pages that match no route go to {routing.default_receiver!r}, which pages no one: "
                f"{named}. Route them to a pager, or set `default_pager` to catch every page no route "
                f"stops ({hint})",
            )
            continue
        route = routing.routes[index]
        fix = "set `default_pager`" if route.continue_ else "give it `continue: true` and set `default_pager`"
        yield SpecIssue(
            at("routes", index),
            f"pages end at this route ({_describe_route(route)}) and reach only "
            f"{', '.join(route.receivers)}, no pager: {named}. Add a pager to its receivers, or {fix} "
            f"({hint})",
        )


def _route_of_leaf(spec: Spec, routing: AlertmanagerSpec) -> list[int | None]:
    """For each leaf, the index of the spec route it renders; None for the Watchdog's and
    `default_pager`'s."""
    owner: list[int | None] = [None] if spec.settings.watchdog and routing.watchdog_receiver else []
    for i, route in enumerate(routing.routes):
        owner += [i] * len(route.receivers)
    if routing.default_pager:
        owner.append(None)
    return owner


def _describe(alert: EmittedAlert, keys: tuple[str, ...] = ("severity", "service")) -> str:
    extra = ", ".join(f"{k}={alert.labels[k]}" for k in keys if k in alert.labels)
    return f"{alert.name} ({extra})" if extra else alert.name


def _describe_route(route: Route) -> str:
    parts = [f"{k}={v}" for k, v in route.match.items()] + [f"{k}=~{v}" for k, v in route.match_re.items()]
    return ", ".join(parts)
