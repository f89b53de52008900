"""SLOs: their SLI (threshold, ratio, latency, query), grouping, windows and burn rates."""

from __future__ import annotations

from collections.abc import Iterator

from generator import promql
from generator.conventions import EVENTS_BASE_WINDOW, REALM_LABEL
from generator.durations import format_duration
from generator.errors import unknown
from generator.label_values import values_selected
from generator.loader import PathKey
from generator.model import SLO, Service
from generator.model.selectors import labels_of
from generator.model.slo import LatencySLI
from generator.rules import query_at
from generator.sli_events import events_of, unprovable
from generator.slo_math import burn_windows, error_budget, sli_windows
from generator.validate.catalog import Found, catalog_metric, label_issues, records
from generator.validate.names import RESERVED_ALERT_LABELS, RESERVED_SLO_LABELS


def slo_issues(service: Service, scrape: int) -> Iterator[Found]:
    for i, slo in enumerate(service.slos):
        base: PathKey = ("slos", i)
        sli = slo.sli
        if sli.threshold and service.signal(sli.threshold.signal) is None:
            message = f"signal {sli.threshold.signal!r} is not one of this service's `signals`"
            yield (
                (*base, "sli", "threshold", "signal"),
                unknown(message, sli.threshold.signal, records(service)),
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
                    yield from catalog_metric(service, query.metric, (*path, "metric"), ("counter",))
                    counted = service.metric(query.metric) or service.histogram_part(query.metric)
                    bucket_bound = ["le"] if query.metric.endswith("_bucket") else []
                    labels = [x for x in labels_of(query.matchers) if x not in bucket_bound]
                    yield from label_issues(counted, labels, path)
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


def _latency_issues(service: Service, latency: LatencySLI, path: PathKey) -> Iterator[Found]:
    yield from catalog_metric(service, latency.histogram, (*path, "histogram"), ("histogram",))
    histogram = service.metric(latency.histogram)
    if histogram is None or histogram.type != "histogram":
        return
    yield from label_issues(histogram, labels_of(latency.selector), (*path, "selector"))
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
    reserved = {"job", "instance", "le", REALM_LABEL, *RESERVED_SLO_LABELS, *RESERVED_ALERT_LABELS}
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
