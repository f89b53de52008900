"""The service's own alerts: what they read, their PromQL, and annotation templates."""

from __future__ import annotations

from collections.abc import Iterator

from generator import alert_templates, promql
from generator.conventions import REALM_LABEL
from generator.durations import format_duration
from generator.errors import unknown
from generator.loader import PathKey
from generator.model import PromQLAlert, Service, ThresholdAlert
from generator.model.selectors import labels_of
from generator.validate.catalog import Found, catalog_metric, label_issues, own_series, records
from generator.validate.signals import signal_alert_issues


def alert_issues(service: Service, known: set[str], interval: int) -> Iterator[Found]:
    for i, alert in enumerate(service.alerts):
        base: PathKey = ("alerts", i)
        if isinstance(alert, ThresholdAlert):
            signal = service.signal(alert.signal) if alert.signal is not None else None
            if alert.signal is not None and signal is None:
                message = f"signal {alert.signal!r} is not one of this service's `signals`"
                yield (*base, "signal"), unknown(message, alert.signal, records(service))
            if signal is not None:
                yield from signal_alert_issues(alert, signal, base, interval)
            if alert.metric is not None:
                yield from catalog_metric(service, alert.metric, (*base, "metric"), ("gauge",))
                metric = service.metric(alert.metric)
                yield from label_issues(metric, labels_of(alert.matchers), (*base, "matchers"))
        elif isinstance(alert, PromQLAlert):
            yield from _promql_issues(service, alert, base, known)
            yield from _early_examples(alert, base)


def _early_examples(alert: PromQLAlert, base: PathKey) -> Iterator[Found]:
    """A firing example must come after `for`: before it the alert is pending, not firing."""
    for j, example in enumerate(alert.examples):
        if example.fires and example.eval_time < alert.for_:
            yield (
                (*base, "examples", j, "eval_time"),
                (
                    f"the example fires at {format_duration(example.eval_time)}, but the alert waits "
                    f"`for` {format_duration(alert.for_)} first: evaluate it at "
                    f"{format_duration(alert.for_)} or later"
                ),
            )


def template_issues(service: Service) -> Iterator[Found]:
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
        own = own_series(service)
        for name in sorted(
            {
                name
                for name, matchers in selected
                if name in own and matchers.get(REALM_LABEL) != service.realm
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
