"""Cross-reference checks the field types alone cannot make; every issue is located."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator import alert_templates, promql
from generator.alert_contract import WATCHDOG, missing_alert_name, stale_alert_name
from generator.alertmanager import routing_issues
from generator.durations import format_duration
from generator.errors import SpecError, SpecIssue, unknown
from generator.gate_rules import GATE_SERIES
from generator.heartbeat_timing import largest_healthy_age, shortest_window
from generator.label_values import values_selected
from generator.loader import PathKey
from generator.model import (
    SLO,
    Metric,
    PromQLAlert,
    Service,
    Signal,
    Spec,
    ThresholdAlert,
    TrendCondition,
)
from generator.model.gates import QuorumCondition
from generator.model.selectors import labels_of
from generator.model.slo import LatencySLI
from generator.rules import EVENTS_BASE_WINDOW, SLO_SERIES, query_at, sli_error_ratio
from generator.sli_events import events_of, unprovable
from generator.slo_math import (
    OBSGEN_LABELS,
    SLOTH_LABELS,
    burn_alert_name,
    burn_windows,
    error_budget,
    sli_windows,
    slo_id,
)

# Series Prometheus itself produces for any target or rule.
BUILTIN_SERIES = frozenset(
    {"up", "ALERTS", "ALERTS_FOR_STATE", "scrape_duration_seconds", "scrape_samples_scraped"}
)
TARGET_LABELS = frozenset({"job", "instance"})
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}

Found = tuple[PathKey, str]


def validate(spec: Spec) -> None:
    issues: list[SpecIssue] = []
    known = known_series(spec)
    for service in spec.services:
        doc = spec.sources[service.service]
        for path, message in _service_issues(spec, service, known):
            issues.append(SpecIssue(doc.location(path), message))
    for path_owner, path, message in _spec_issues(spec):
        issues.append(SpecIssue(spec.sources[path_owner].location(path), message))
    if not issues:  # routing checks need the alerts the rules emit, so a sound model first
        issues += routing_issues(spec)
    if issues:
        raise SpecError(issues)


def known_series(spec: Spec) -> set[str]:
    """Every series name a rule may read: catalog metrics, recorded signals, SLO series."""
    names = set(BUILTIN_SERIES)
    for service in spec.services:
        for metric in service.metrics:
            names.update(metric.name + suffix for suffix in SUFFIXES.get(metric.type, ("",)))
        names.update(signal.record for signal in service.signals)
        for heartbeat in service.heartbeats:
            names.update((heartbeat.metric, heartbeat.changes_record(), heartbeat.ok_record()))
        for slo in service.slos:
            names.update(sli_error_ratio(w) for w in sli_windows(slo))
    names.update(SLO_SERIES)
    names.update(GATE_SERIES)
    return names


def _service_issues(spec: Spec, service: Service, known: set[str]) -> Iterator[Found]:
    yield from _duplicates([m.name for m in service.metrics], "metrics", "metric")
    yield from _duplicates([s.name for s in service.slos], "slos", "SLO")
    scrape = service.scrape_interval(spec.settings.scrape_interval)
    yield from _signal_issues(service, scrape)
    yield from _slo_issues(service, scrape)
    yield from _alert_issues(service, known, spec.settings.evaluation_interval)
    yield from _template_issues(service)
    yield from _reserved_label_issues(service)
    yield from _cadence_issues(spec, service)
    yield from _heartbeat_issues(spec, service)
    yield from _gate_issues(spec, service)
    yield from _dashboard_issues(service, known)
    yield from _loop_issues(service)
    if service.scrape is None:
        for what in ("probes", "loop"):
            if getattr(service, what):
                yield (what,), f"`{what}` need the service's own `scrape` address; add `scrape`"


RESERVED_ALERT_LABELS = {"alertname": "the alert's name", "severity": "`severity`", "service": "`service`"}
RESERVED_SLO_LABELS = {
    key: "the SLO's identity"
    for names in (OBSGEN_LABELS, SLOTH_LABELS)
    for key in (names.id, names.service, names.name, names.window, names.severity, "metric_realm")
}
BURN_ALERT_RESERVED = {
    k: v for k, v in {**RESERVED_ALERT_LABELS, **RESERVED_SLO_LABELS}.items() if k != "severity"
}
"""A burn-rate alert's `severity` defaults to its tier but may be the team's own (Sloth allows it)."""
# Prometheus forgets a series 5m after its last sample; anything recorded less often than
# every 2m30s would flicker in and out of instant queries (dashboards, other groups).
MAX_RECORDING_INTERVAL = 150
MIN_TIME_SLICE = 10


def _reserved_label_issues(service: Service) -> Iterator[Found]:
    places: list[tuple[PathKey, dict[str, str], dict[str, str]]] = [
        (("labels",), service.labels, {**RESERVED_ALERT_LABELS, **RESERVED_SLO_LABELS})
    ]
    places += [
        (("alerts", i, "labels"), a.labels, RESERVED_ALERT_LABELS) for i, a in enumerate(service.alerts)
    ]
    for i, slo in enumerate(service.slos):
        reserved = {**RESERVED_ALERT_LABELS, **RESERVED_SLO_LABELS}
        places.append((("slos", i, "labels"), slo.labels, reserved))
        places.append((("slos", i, "alerting", "labels"), slo.alerting.labels, BURN_ALERT_RESERVED))
        for tier in ("page", "ticket"):
            labels = getattr(slo.alerting, tier).labels
            places.append((("slos", i, "alerting", tier, "labels"), labels, BURN_ALERT_RESERVED))
    for path, labels, reserved in places:
        for key in sorted(set(labels) & set(reserved)):
            yield (*path, key), f"label {key!r} is set by obsgen from {reserved[key]}; remove it here"


def _cadence_issues(spec: Spec, service: Service) -> Iterator[Found]:
    for i, slo in enumerate(service.slos):
        if slo.time_slice < MIN_TIME_SLICE:
            yield (
                ("slos", i, "time_slice"),
                (
                    f"time_slice {format_duration(slo.time_slice)} is shorter than "
                    f"{format_duration(MIN_TIME_SLICE)}: the 30-day window would read more samples than "
                    "a query may load"
                ),
            )
        if slo.time_slice > MAX_RECORDING_INTERVAL:
            yield (
                ("slos", i, "time_slice"),
                (
                    f"time_slice {format_duration(slo.time_slice)} is longer than "
                    f"{format_duration(MAX_RECORDING_INTERVAL)}: SLO series are recorded once per slice, "
                    "and Prometheus drops a series 5m after its last sample"
                ),
            )


def _heartbeat_issues(spec: Spec, service: Service) -> Iterator[Found]:
    """Timing is checked, not trusted: a heartbeat that would flap while healthy is refused."""
    interval = spec.settings.evaluation_interval
    yield from _duplicates([h.metric for h in service.heartbeats], "heartbeats", "heartbeat metric")
    for i, heartbeat in enumerate(service.heartbeats):
        period, scrape = format_duration(heartbeat.period), format_duration(heartbeat.scrape_interval)
        if heartbeat.window <= shortest_window(heartbeat):
            yield (
                ("heartbeats", i, "window"),
                (
                    f"window {format_duration(heartbeat.window)} is too short: changes() needs at least "
                    f"period {period} + 2 × scrape interval {scrape} + ε = more than "
                    f"{format_duration(shortest_window(heartbeat))}, or a healthy heartbeat reads 0 changes"
                ),
            )
        age = largest_healthy_age(heartbeat, interval)
        if heartbeat.freshness <= age:
            yield (
                ("heartbeats", i, "freshness"),
                (
                    f"freshness {format_duration(heartbeat.freshness)} would flap: a healthy heartbeat's "
                    f"last beat can be period {period} + scrape interval {scrape} + evaluation interval "
                    f"{format_duration(interval)} = {format_duration(age)} old, so the threshold must "
                    f"exceed {format_duration(age)} (the smallest safe value is {format_duration(age + 1)})"
                ),
            )
        if service.metric(heartbeat.metric) is not None:
            yield (
                ("heartbeats", i, "metric"),
                f"{heartbeat.metric} is also in the `metrics` catalog; a heartbeat declares its own metric",
            )


def _gate_source_interval(spec: Spec, service: Service, series: str) -> int | None:
    """How often the series a gate condition reads gets a new sample; None if unknown here."""
    if service.signal(series) is not None:
        return spec.settings.evaluation_interval
    for heartbeat in service.heartbeats:
        if series in (heartbeat.ok_record(), heartbeat.changes_record()):
            return spec.settings.evaluation_interval
    metric = service.metric(series)
    if metric is not None and metric.type == "gauge":
        return service.scrape_interval(spec.settings.scrape_interval)
    return None


def _quorum_issues(service: Service, quorum: QuorumCondition, path: PathKey) -> Iterator[Found]:
    for k, check in enumerate(quorum.checks):
        metric = service.metric(check.series)
        where = (*path, "checks", k, "series")
        if metric is None or metric.type != "gauge":
            message = (
                f"{check.series!r} is not a gauge in this service's `metrics` (instances are raw series)"
            )
            yield where, message if metric else unknown(message, check.series, _gauges(service))
        elif quorum.label not in metric.labels:
            yield where, f"{check.series} has no label {quorum.label!r} to tell canary instances apart"


def _gate_issues(spec: Spec, service: Service) -> Iterator[Found]:
    interval = spec.settings.evaluation_interval
    for i, gate in enumerate(service.gates):
        base: PathKey = ("gates", i)
        yield from _duplicates([c.name for c in gate.conditions], (*base, "conditions"), "condition")
        for j, condition in enumerate(gate.conditions):
            path = (*base, "conditions", j)
            if isinstance(condition, QuorumCondition):
                yield from _quorum_issues(service, condition, path)
                continue
            every = _gate_source_interval(spec, service, condition.series)
            if every is None:
                message = (
                    f"{condition.series!r} is not a gauge in this service's `metrics`, one of its "
                    "`signals` or a heartbeat's _ok/_changes record"
                )
                if service.metric(condition.series) is None:
                    message = unknown(message, condition.series, _gate_sources(service))
                yield (*path, "series"), message
            elif isinstance(condition, TrendCondition) and condition.window <= 2 * every:
                yield (
                    (*path, "window"),
                    (
                        f"window {format_duration(condition.window)} must be longer than two sample "
                        f"intervals ({condition.series} gets one every {format_duration(every)}), or a late "
                        "sample leaves deriv() fewer than the two samples it needs"
                    ),
                )
        for field, value in (("promote", gate.promote.after), ("rollback", gate.rollback.for_)):
            if value % interval:
                key = "after" if field == "promote" else "for"
                yield (
                    (*base, field, key),
                    (
                        f"{format_duration(value)} must be a whole number of evaluation intervals "
                        f"({format_duration(interval)}): the gate counts evaluations"
                    ),
                )


def _loop_issues(service: Service) -> Iterator[Found]:
    if service.loop is None:
        return
    yield from _catalog_metric(service, service.loop.metric, ("loop", "metric"), ("gauge",))
    yield from _catalog_metric(service, service.loop.jitter_metric, ("loop", "jitter_metric"), ("histogram",))


def _dashboard_issues(service: Service, known: set[str]) -> Iterator[Found]:
    alerts = {a.name: a for a in service.alerts}
    slos = {s.name for s in service.slos}
    for i, dashboard in enumerate(service.dashboards):
        for j, panel in enumerate(dashboard.panels):
            path: PathKey = ("dashboards", i, "panels", j)
            own = panel.series in _own_series(service) or service.metric(panel.series) is not None
            if not own and panel.series not in known:
                message = f"{panel.series!r} is not a series this spec records or declares"
                yield (*path, "series"), unknown(message, panel.series, known)
            threshold = panel.threshold
            if threshold is not None and threshold.slo is not None and threshold.slo not in slos:
                message = f"SLO {threshold.slo!r} is not one of this service's `slos`"
                yield (*path, "threshold", "slo"), unknown(message, threshold.slo, slos)
            if threshold is not None and threshold.alert is not None:
                alert = alerts.get(threshold.alert)
                if not isinstance(alert, ThresholdAlert):
                    with_value = [name for name, a in alerts.items() if isinstance(a, ThresholdAlert)]
                    message = (
                        f"{threshold.alert!r} is not a threshold alert of this service (one with a value)"
                    )
                    yield (*path, "threshold", "alert"), unknown(message, threshold.alert, with_value)


def _duplicates(names: list[str], field: PathKey | str, what: str) -> Iterator[Found]:
    prefix = (field,) if isinstance(field, str) else field
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield (*prefix, i), f"duplicate {what} {name!r}"
        seen.add(name)


def _series_counter(service: Service, name: str) -> bool:
    """`x_bucket` and `x_count` of a declared histogram (or `x_count` of a summary) count events."""
    for suffix, kinds in (("_bucket", ("histogram",)), ("_count", ("histogram", "summary"))):
        base = service.metric(name.removesuffix(suffix)) if name.endswith(suffix) else None
        if base is not None and base.type in kinds:
            return True
    return False


def _catalog_metric(service: Service, name: str, path: PathKey, types: tuple[str, ...]) -> Iterator[Found]:
    metric = service.metric(name)
    if metric is None and "counter" in types and _series_counter(service, name):
        return
    if metric is None:
        message = (
            f"metric {name!r} is not declared in this service's `metrics` catalog "
            "(declare it, with `external: true` if something else exports it)"
        )
        yield path, unknown(message, name, _catalog_names(service, types))
    elif metric.type not in types:
        yield path, f"metric {name!r} is a {metric.type}; expected a {' or '.join(types)}"


def _label_issues(metric: Metric | None, labels: list[str], path: PathKey) -> Iterator[Found]:
    for label in labels:
        if label == "metric_realm":
            yield path, "metric_realm comes from the service's `realm`; do not match it by hand"
        elif metric and not metric.external and label not in {*metric.labels, *TARGET_LABELS}:
            allowed = ", ".join(sorted({*metric.labels, *TARGET_LABELS}))
            yield path, f"label {label!r} is not a label of {metric.name} (expected one of {allowed})"


def _signal_issues(service: Service, scrape: int) -> Iterator[Found]:
    for i, signal in enumerate(service.signals):
        needed = 2 * scrape if signal.function == "histogram_quantile" else scrape
        if signal.window < needed:
            what = "two scrapes for rate()" if signal.function == "histogram_quantile" else "one scrape"
            yield (
                ("signals", i, "window"),
                (
                    f"window {format_duration(signal.window)} is shorter than {what} "
                    f"({format_duration(needed)} at a {format_duration(scrape)} scrape interval)"
                ),
            )
        types = ("histogram",) if signal.function == "histogram_quantile" else ("gauge",)
        yield from _catalog_metric(service, signal.metric, ("signals", i, "metric"), types)
        metric = service.metric(signal.metric)
        yield from _label_issues(metric, labels_of(signal.matchers), ("signals", i, "matchers"))
        yield from _label_issues(metric, signal.by, ("signals", i, "by"))
        for label in sorted(set(signal.by) & {"instance", "job"}):
            yield (
                ("signals", i, "by"),
                (
                    f"a signal is one series per service (instances combine by `aggregate`); `by: {label}` "
                    "would keep one per target, which the SLOs and generated tests do not support yet"
                ),
            )


def _slo_issues(service: Service, scrape: int) -> Iterator[Found]:
    for i, slo in enumerate(service.slos):
        base: PathKey = ("slos", i)
        sli = slo.sli
        if sli.threshold and service.signal(sli.threshold.signal) is None:
            message = f"signal {sli.threshold.signal!r} is not one of this service's `signals`"
            yield (
                (*base, "sli", "threshold", "signal"),
                unknown(message, sli.threshold.signal, _records(service)),
            )
        signal = service.signal(sli.threshold.signal) if sli.threshold else None
        if signal is not None and signal.function == "histogram_quantile":
            yield (
                (*base, "sli", "threshold", "signal"),
                (
                    "a time-slice SLI over a histogram quantile is not supported; count events "
                    "instead: a `ratio` SLI with good = the _bucket at the threshold (le matcher), "
                    "total = the _count"
                ),
            )
        if sli.ratio and 2 * scrape > EVENTS_BASE_WINDOW:
            yield (
                (*base, "sli", "ratio"),
                (
                    f"events are read with rate() over {format_duration(EVENTS_BASE_WINDOW)}, which needs "
                    f"two scrapes; the scrape interval {format_duration(scrape)} is too long"
                ),
            )
        if sli.query:
            for part, query in sli.query.queries().items():
                try:
                    promql.parse(query_at(query, EVENTS_BASE_WINDOW))
                except promql.PromQLError as exc:
                    yield (*base, "sli", "query", part), f"{exc} (with {{{{.window}}}} read as 5m)"
        if sli.ratio:
            for part in ("errors", "good", "total"):
                query = getattr(sli.ratio, part)
                if query is not None:
                    path = (*base, "sli", "ratio", part)
                    yield from _catalog_metric(service, query.metric, (*path, "metric"), ("counter",))
                    counted = service.metric(query.metric) or service.histogram_part(query.metric)
                    bucket_bound = ["le"] if query.metric.endswith("_bucket") else []
                    labels = [x for x in labels_of(query.matchers) if x not in bucket_bound]
                    yield from _label_issues(counted, labels, path)
        if sli.latency:
            yield from _latency_issues(service, sli.latency, (*base, "sli", "latency"))
        if sli.counts_events:
            kind = "ratio" if sli.ratio else "latency"
            yield from (((*base, "sli", kind), problem) for problem in unprovable(slo))
        yield from _grouping_issues(service, slo, base)
        for window in sli_windows(slo):
            if window % slo.time_slice:
                yield (
                    (*base, "time_slice"),
                    (
                        f"time_slice {format_duration(slo.time_slice)} must divide every SLI window; "
                        f"it does not divide {format_duration(window)}"
                    ),
                )
                break
        if (
            signal is not None
            and signal.function == "stddev"
            and sli.threshold
            and sli.threshold.op in (">", ">=")
        ):
            yield (
                (*base, "sli", "threshold", "op"),
                (
                    "a stddev SLI must count low spread as good (op < or <=): the spread of a window "
                    "with one sample is 0, so every start would count as bad"
                ),
            )
        budget = error_budget(slo)
        longest = max((w.long for w in burn_windows(slo)), default=0)
        if longest >= slo.period:
            yield (
                (*base, "period"),
                (
                    f"period {format_duration(slo.period)} must be longer than the longest alerting "
                    f"window ({format_duration(longest)}); give a longer period or custom `alerting.windows`"
                ),
            )
        for j, window in enumerate(burn_windows(slo)):
            path = (*base, "alerting", "windows", j) if slo.alerting.windows else (*base, "objective")
            if window.short >= window.long:
                yield path, f"short window {format_duration(window.short)} must be shorter than long"
            threshold = window.threshold(budget)
            if threshold >= 1:
                yield (
                    path,
                    (
                        f"the {window.severity} burn rate over {window.label()} can never fire: "
                        f"factor {float(window.factor):g} × error budget {float(budget):g} = "
                        f"{float(threshold):g} ≥ 1, and an error ratio cannot exceed 1 "
                        "(raise the objective, shorten the period, or give smaller factors)"
                    ),
                )


def _alert_issues(service: Service, known: set[str], interval: int) -> Iterator[Found]:
    for i, alert in enumerate(service.alerts):
        base: PathKey = ("alerts", i)
        if isinstance(alert, ThresholdAlert):
            signal = service.signal(alert.signal) if alert.signal is not None else None
            if alert.signal is not None and signal is None:
                message = f"signal {alert.signal!r} is not one of this service's `signals`"
                yield (*base, "signal"), unknown(message, alert.signal, _records(service))
            if signal is not None:
                yield from _signal_alert_issues(alert, signal, base, interval)
            if alert.metric is not None:
                yield from _catalog_metric(service, alert.metric, (*base, "metric"), ("gauge",))
                metric = service.metric(alert.metric)
                yield from _label_issues(metric, labels_of(alert.matchers), (*base, "matchers"))
        elif isinstance(alert, PromQLAlert):
            yield from _promql_issues(service, alert, base, known)


def _latency_issues(service: Service, latency: LatencySLI, path: PathKey) -> Iterator[Found]:
    yield from _catalog_metric(service, latency.histogram, (*path, "histogram"), ("histogram",))
    histogram = service.metric(latency.histogram)
    if histogram is None or histogram.type != "histogram":
        return
    yield from _label_issues(histogram, labels_of(latency.selector), (*path, "selector"))
    if "le" in labels_of(latency.selector):
        yield (*path, "selector"), "`le` comes from `below`; do not match it in the selector"
    buckets = sorted(histogram.buckets or ())
    if not buckets:
        yield (
            (*path, "histogram"),
            (
                f"{histogram.name} declares no `buckets` in the catalog; list its bucket bounds "
                "(e.g. buckets: [0.1, 0.3, 1]) so the latency bound can be checked against them"
            ),
        )
    elif latency.below not in buckets:
        known = ", ".join(f"{promql.number(b)}s" for b in buckets)
        yield (
            (*path, "below"),
            (
                f"{promql.number(latency.below)}s is not a bucket bound of {histogram.name}; "
                f"a latency SLI counts one bucket, so pick one of: {known}"
            ),
        )


def _listed(names: list[str]) -> str:
    return ", ".join(names) or "none"


def _grouping_issues(service: Service, slo: SLO, base: PathKey) -> Iterator[Found]:
    if not slo.by:
        return
    if not slo.sli.counts_events:
        yield (
            (*base, "by"),
            "`by` groups events SLIs (`ratio`, `latency`); a threshold SLI groups through its signal's `by`",
        )
        return
    events = events_of(slo.sli)
    reserved = {"job", "instance", "le", "metric_realm", *RESERVED_SLO_LABELS, *RESERVED_ALERT_LABELS}
    for label in slo.by:
        if label in reserved:
            yield (*base, "by"), f"{label!r} cannot group an SLO (it is a target, bucket or identity label)"
            continue
        for selector in events.selectors():
            metric = service.metric(selector.metric) or service.histogram_part(selector.metric)
            if metric is not None and not metric.external and label not in metric.labels:
                yield (
                    (*base, "by"),
                    f"{label!r} is not a label of {metric.name} (its labels: {_listed(metric.labels)})",
                )
                break
        matchers = [m for s in events.selectors() for m in s.matchers]
        if len(values_selected(label, matchers, 2)) < 2:
            yield (
                (*base, "by"),
                f"the matchers on {label!r} leave at most one value, so grouping by it gives one group",
            )


def _signal_alert_issues(
    alert: ThresholdAlert, signal: Signal, base: PathKey, interval: int
) -> Iterator[Found]:
    if signal.function == "stddev" and (interval % 2 or signal.window % interval):
        yield (
            (*base, "signal"),
            (
                f"an alert on a spread needs an even evaluation_interval that divides the signal's "
                f"{format_duration(signal.window)} window (it is {format_duration(interval)}): otherwise "
                "its window holds a varying number of samples and the spread wobbles"
            ),
        )
    for key in sorted(set(labels_of(alert.matchers)) - set(signal.by)):
        kept = ", ".join(signal.by) or "none besides metric_realm"
        yield (
            (*base, "matchers", key),
            (f"{signal.record} keeps only the labels in its `by` ({kept}); {key!r} can never match"),
        )
    if signal.function == "stddev" and alert.op in ("==", "!="):
        yield (*base, "op"), "a spread is never exactly equal to a value; use <, <=, > or >="
    if signal.function == "stddev":
        for field in ("summary", "description"):
            if re.search(r"{{-?\s*\$value\s*-?}}", getattr(alert, field)):
                yield (
                    (*base, field),
                    (
                        "print a spread through a function ({{ $value | humanize }}); its last digits "
                        "differ between Prometheus versions, so the generated test cannot predict them"
                    ),
                )


def _template_issues(service: Service) -> Iterator[Found]:
    """Annotations must be templates the generated tests can expand."""
    texts: list[tuple[PathKey, str, bool]] = []
    for i, alert in enumerate(service.alerts):
        for field in ("summary", "description"):
            texts.append((("alerts", i, field), getattr(alert, field), True))
        if isinstance(alert, PromQLAlert) and any(
            alert_templates.uses_value(t) for t in (alert.summary, alert.description)
        ):
            for j, example in enumerate(alert.examples):
                if example.fires and example.value is None:
                    yield (
                        ("alerts", i, "examples", j),
                        ("the annotations use $value, so a firing example needs `value`"),
                    )
    for i, slo in enumerate(service.slos):
        alerting = slo.alerting
        for where, texts_by_key in (
            (("alerting", "annotations"), alerting.annotations),
            (("alerting", "page", "annotations"), alerting.page.annotations),
            (("alerting", "ticket", "annotations"), alerting.ticket.annotations),
        ):
            for key, text in texts_by_key.items():
                texts.append((("slos", i, *where, key), text, False))
    for path, text, value_allowed in texts:
        try:
            alert_templates.check(text)
        except alert_templates.TemplateError as exc:
            yield path, str(exc)
            continue
        if not value_allowed and alert_templates.uses_value(text):
            yield (
                path,
                (
                    "burn-rate alert annotations cannot use $value: it is the error ratio of "
                    "whichever window pair fired; use $labels instead"
                ),
            )


def _promql_issues(service: Service, alert: PromQLAlert, base: PathKey, known: set[str]) -> Iterator[Found]:
    path = (*base, "expr")
    try:
        selected = promql.selectors(alert.expr)
    except promql.PromQLError as exc:
        yield path, str(exc)
        return
    for name in sorted({name for name, _ in selected} - known):
        message = (
            f"series {name!r} is neither declared in a `metrics` catalog nor recorded by a "
            "signal (declare it, with `external: true` if something else exports it)"
        )
        yield path, unknown(message, name, known)
    if service.realm:
        own = _own_series(service)
        for name in sorted(
            {
                name
                for name, matchers in selected
                if name in own and matchers.get("metric_realm") != service.realm
            }
        ):
            yield (
                path,
                (
                    f'{name} is selected without {{metric_realm="{service.realm}"}}: series of other '
                    "realms (or none) would join in; filter it as every generated selector does"
                ),
            )
    for j, example in enumerate(alert.examples):
        for k, series in enumerate(example.input_series):
            try:
                promql.parse(series.series)
            except promql.PromQLError as exc:
                yield (*base, "examples", j, "input_series", k, "series"), str(exc)


def _own_series(service: Service) -> set[str]:
    """Series this service exports (not external ones) or records."""
    names = {signal.record for signal in service.signals}
    for metric in service.metrics:
        if not metric.external:
            names.update(metric.name + suffix for suffix in SUFFIXES.get(metric.type, ("",)))
    return names


def _records(service: Service) -> list[str]:
    return [signal.record for signal in service.signals]


def _gauges(service: Service) -> list[str]:
    return [metric.name for metric in service.metrics if metric.type == "gauge"]


def _gate_sources(service: Service) -> list[str]:
    """What a gate condition may read: gauges, signals and heartbeat records."""
    beats = [name for h in service.heartbeats for name in (h.ok_record(), h.changes_record())]
    return [*_gauges(service), *_records(service), *beats]


def _catalog_names(service: Service, types: tuple[str, ...]) -> list[str]:
    """Catalog names a reference of one of `types` may use (counters also as _bucket/_count)."""
    names = [metric.name for metric in service.metrics if metric.type in types]
    if "counter" in types:
        counted = {"histogram": ("_bucket", "_count"), "summary": ("_count",)}
        names += [m.name + suffix for m in service.metrics for suffix in counted.get(m.type, ())]
    return names or [metric.name for metric in service.metrics]


def _spec_issues(spec: Spec) -> Iterator[tuple[str, PathKey, str]]:
    """Names and ports that must be unique across services."""
    if spec.settings.evaluation_interval > MAX_RECORDING_INTERVAL:
        yield (
            "settings",
            ("settings", "evaluation_interval"),
            (
                f"evaluation_interval {format_duration(spec.settings.evaluation_interval)} is longer than "
                f"{format_duration(MAX_RECORDING_INTERVAL)}: recorded series would go stale between "
                "evaluations (Prometheus drops a series 5m after its last sample)"
            ),
        )
    owners: dict[str, dict[object, str]] = {kind: {} for kind in CLASH_MESSAGES}
    if spec.settings.watchdog:
        owners["alert"][WATCHDOG] = "settings (the Watchdog)"
    burn_alerts: dict[object, str] = {}
    for service in spec.services:
        for kind, path, key in _claims(service):
            # Burn-rate alerts of several SLOs may share a name (slo_id tells them apart), as in
            # Sloth; they may not share one with any other alert.
            burn = kind == "burn_alert"
            kind = "alert" if burn else kind
            seen = {**owners[kind], **burn_alerts} if kind == "alert" and not burn else owners[kind]
            if key in seen:
                shown = key[1] if isinstance(key, tuple) else key
                message = CLASH_MESSAGES[kind].format(key=shown, owner=seen[key])
                yield service.service, path, message
            elif burn:
                burn_alerts.setdefault(key, service.service)
            else:
                owners[kind][key] = service.service


CLASH_MESSAGES = {
    "record": "{key} is already recorded by service {owner!r}",
    "slo_id": "slo_id {key!r} is also the id of an SLO of service {owner!r}; rename one (slo_id is "
    "<service>-<slo>)",
    "alert": "alert {key} is already defined by service {owner!r}",
    "job": "scrape job {key!r} is already used by service {owner!r}",
    "port": "port {key} is already the port of service {owner!r} (ports must not conflict)",
    "gate": "gate {key!r} is already defined by service {owner!r}",
    "dashboard": "dashboard uid {key!r} is already taken by service {owner!r} (SLO dashboards are "
    "<service>-slos, gate dashboards the gate's name)",
}
"""Names and addresses that must be unique across the whole spec."""


def _claims(service: Service) -> Iterator[tuple[str, PathKey, object]]:
    """(kind, path, key) of every name or address the service takes for itself."""
    for i, signal in enumerate(service.signals):
        yield "record", ("signals", i, "record"), signal.record
    for i, heartbeat in enumerate(service.heartbeats):
        yield "record", ("heartbeats", i, "metric"), heartbeat.changes_record()
        yield "record", ("heartbeats", i, "metric"), heartbeat.ok_record()
    for i, slo in enumerate(service.slos):
        yield "slo_id", ("slos", i, "name"), slo_id(service, slo)
    for i, alert in enumerate(service.alerts):
        yield "alert", ("alerts", i, "name"), alert.name
    for i, slo in enumerate(service.slos):
        yield "burn_alert", ("slos", i, "alerting", "name"), burn_alert_name(service, slo)
    for i, heartbeat in enumerate(service.heartbeats):
        yield "alert", ("heartbeats", i, "stale_alert"), stale_alert_name(heartbeat)
        yield "alert", ("heartbeats", i, "missing_alert"), missing_alert_name(heartbeat)
    for i, gate in enumerate(service.gates):
        yield "alert", ("gates", i, "alert", "name"), gate.alert_name()
        yield "gate", ("gates", i, "name"), gate.name
    if service.scrape is not None:
        yield "job", ("scrape", "job"), service.job
    for i, probe in enumerate(service.probes):
        yield "job", ("probes", i, "name"), probe.name
    for i, heartbeat in enumerate(service.heartbeats):
        yield "job", ("heartbeats", i, "job"), service.heartbeat_job(heartbeat)
    if service.scrape is not None:
        yield "port", ("scrape", "port"), (service.scrape.host, service.scrape.port)
    if service.slos:
        yield "dashboard", ("service",), f"{service.service}-slos"
    for i, gate in enumerate(service.gates):
        yield "dashboard", ("gates", i, "name"), gate.name
    for i, dashboard in enumerate(service.dashboards):
        yield "dashboard", ("dashboards", i, "uid"), dashboard.uid
