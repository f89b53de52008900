"""What a panel shows of a series, and the thresholds it draws, from the model.

A counter is a per-second rate, a histogram its quantiles, a gauge or recorded series itself;
every raw series is scoped (job, realm) by `Service.scope`, exactly as the rules scope it.
"""

from __future__ import annotations

from typing import Literal

from generator import promql
from generator.grafana.panels import Line, Query, rate
from generator.model import SLO, Service, Spec, ThresholdAlert, ThresholdCondition, TrendCondition

Matching = tuple[tuple[str, str, str], ...]

BAD_ABOVE_OPS = ("<", "<=")
"""A condition `x <= v` (good below) turns red above v."""
HISTOGRAM_QUANTILES = (0.5, 0.9, 0.99)

Kind = Literal["gauge", "counter", "histogram"]


def slo_line(slo: SLO) -> Line | None:
    if slo.sli.threshold is None:
        return None
    return Line(slo.sli.threshold.value, slo.sli.threshold.op in BAD_ABOVE_OPS)


def alert_line(alert: ThresholdAlert) -> Line:
    return Line(alert.value, alert.op in (">", ">=", "==", "!="))


def condition_line(condition: ThresholdCondition | TrendCondition) -> Line:
    if isinstance(condition, TrendCondition):
        if condition.trend == "rising":
            return Line(condition.epsilon, True)
        return Line(-condition.epsilon, False)
    return Line(condition.value, condition.op in BAD_ABOVE_OPS)


def series_kind(service: Service, series: str) -> Kind:
    """A catalog metric's type (a summary reads as its quantile gauges); a histogram's or
    summary's `_bucket`, `_count` and `_sum` are counters; recorded series are gauges."""
    metric = service.metric(series)
    if metric is None:
        return "counter" if service.histogram_part(series) is not None else "gauge"
    if metric.type == "counter":
        return "counter"
    return "histogram" if metric.type == "histogram" else "gauge"


def scoped(service: Service, series: str, matchers: Matching = ()) -> str:
    return promql.scoped(series, matchers, service.scope(series))


def _counter_labels(service: Service, series: str) -> list[str]:
    declared = service.metric(series)
    if declared is not None:
        return list(declared.labels)
    base = service.histogram_part(series)
    if base is None:
        return []
    return [*base.labels, "le"] if series.endswith("_bucket") else list(base.labels)


def series_queries(spec: Spec, service: Service, series: str, matchers: Matching = ()) -> list[Query]:
    """A counter: `sum by (<its labels>) (rate(<scoped>[$__rate_interval]))`; a histogram: its
    quantiles over the rate of the scoped `_bucket`; anything else the scoped series itself."""
    kind = series_kind(service, series)
    scrape = service.scrape_interval(spec.settings.scrape_interval)
    if kind == "counter":
        by = _counter_labels(service, series)
        legend = " ".join(f"{{{{{label}}}}}" for label in by) or series
        return [
            Query(promql.aggregate("sum", rate(scoped(service, series, matchers)), by=by), legend, scrape)
        ]
    if kind == "histogram":
        buckets = promql.aggregate("sum", rate(scoped(service, f"{series}_bucket", matchers)), by=["le"])
        return [
            Query(promql.call("histogram_quantile", promql.number(q), buckets), f"p{q * 100:g}", scrape)
            for q in HISTOGRAM_QUANTILES
        ]
    legend = "{{instance}}" if service.metric(series) is not None else ""
    return [Query(scoped(service, series, matchers), legend)]
