"""References into a service's `metrics` catalog (names, types, labels), and the lookups of a
service's own series the other checks share."""

from __future__ import annotations

from collections.abc import Iterator

from generator.conventions import REALM_LABEL
from generator.errors import unknown
from generator.loader import PathKey
from generator.model import Metric, Service

TARGET_LABELS = frozenset({"job", "instance"})


SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("", "_sum", "_count")}


Found = tuple[PathKey, str]


def loop_issues(service: Service) -> Iterator[Found]:
    if service.loop is None:
        return
    yield from catalog_metric(service, service.loop.metric, ("loop", "metric"), ("gauge",))
    yield from catalog_metric(service, service.loop.jitter_metric, ("loop", "jitter_metric"), ("histogram",))


def _series_counter(service: Service, name: str) -> bool:
    """`x_bucket` and `x_count` of a declared histogram (or `x_count` of a summary) count events."""
    for suffix, kinds in (("_bucket", ("histogram",)), ("_count", ("histogram", "summary"))):
        base = service.metric(name.removesuffix(suffix)) if name.endswith(suffix) else None
        if base is not None and base.type in kinds:
            return True
    return False


def catalog_metric(service: Service, name: str, path: PathKey, types: tuple[str, ...]) -> Iterator[Found]:
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


def label_issues(metric: Metric | None, labels: list[str], path: PathKey) -> Iterator[Found]:
    for label in labels:
        if label == REALM_LABEL:
            yield path, "metric_realm comes from the service's `realm`; do not match it by hand"
        elif metric and not metric.external and label not in {*metric.labels, *TARGET_LABELS}:
            allowed = ", ".join(sorted({*metric.labels, *TARGET_LABELS}))
            yield path, f"label {label!r} is not a label of {metric.name} (expected one of {allowed})"


def own_series(service: Service) -> set[str]:
    """Series this service exports (not external ones) or records."""
    names = {signal.record for signal in service.signals}
    for metric in service.metrics:
        if not metric.external:
            names.update(metric.name + suffix for suffix in SUFFIXES.get(metric.type, ("",)))
    return names


def records(service: Service) -> list[str]:
    return [signal.record for signal in service.signals]


def _catalog_names(service: Service, types: tuple[str, ...]) -> list[str]:
    """Catalog names a reference of one of `types` may use (counters also as _bucket/_count)."""
    names = [metric.name for metric in service.metrics if metric.type in types]
    if "counter" in types:
        counted = {"histogram": ("_bucket", "_count"), "summary": ("_count",)}
        names += [m.name + suffix for m in service.metrics for suffix in counted.get(m.type, ())]
    return names or [metric.name for metric in service.metrics]
