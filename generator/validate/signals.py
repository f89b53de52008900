"""Recorded signals, and threshold alerts on them."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.durations import format_duration
from generator.loader import PathKey
from generator.model import Service, Signal, ThresholdAlert
from generator.model.selectors import labels_of
from generator.validate.catalog import Found, catalog_metric, label_issues

MAX_SIGNAL_WINDOW = 86400
"""Its generated test holds one sample per evaluation across the window."""


def signal_issues(service: Service, scrape: int) -> Iterator[Found]:
    for i, signal in enumerate(service.signals):
        two = {"histogram_quantile": "two scrapes for rate()", "stddev": "two scrapes for a spread"}
        needed = 2 * scrape if signal.function in two else scrape
        if signal.window < needed:
            what = two.get(signal.function, "one scrape")
            yield (
                ("signals", i, "window"),
                (
                    f"window {format_duration(signal.window)} is shorter than {what} "
                    f"({format_duration(needed)} at a {format_duration(scrape)} scrape interval)"
                ),
            )
        if signal.window > MAX_SIGNAL_WINDOW:
            yield (
                ("signals", i, "window"),
                (
                    f"window {format_duration(signal.window)} is longer than "
                    f"{format_duration(MAX_SIGNAL_WINDOW)}: "
                    "a signal feeds alerts and gates, read every evaluation; for a longer view use an SLO "
                    "(its period can be 30d or more)"
                ),
            )
        types = ("histogram",) if signal.function == "histogram_quantile" else ("gauge",)
        yield from catalog_metric(service, signal.metric, ("signals", i, "metric"), types)
        metric = service.metric(signal.metric)
        yield from label_issues(metric, labels_of(signal.matchers), ("signals", i, "matchers"))
        yield from label_issues(metric, signal.by, ("signals", i, "by"))
        for label in sorted(set(signal.by) & {"instance", "job"}):
            yield (
                ("signals", i, "by"),
                (
                    f"a signal is one series per service (instances combine by `aggregate`); `by: {label}` "
                    "would keep one per target, which the SLOs and generated tests do not support yet"
                ),
            )


def signal_alert_issues(
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
