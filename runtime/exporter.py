"""One HTTP exporter per service: its metrics on its declared path, `/readyz`, `/healthz`.

Gauges are read from the world at scrape time, once per label set the spec's selectors tell
apart; counters, histograms and summaries come from the world's traffic (runtime/traffic.py).
The realm is not exported: Prometheus adds `metric_realm` as a target label (see
prometheus.yml), so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from generator.model import Service
from runtime.http import QuietHandler, Server
from runtime.state import CANARY_METRIC, RUNTIME_METRICS
from runtime.traffic import label_sets
from runtime.world import World

disable_created_metrics()  # `<name>_created` series would be undeclared in the spec's catalog


class PortInUse(RuntimeError):
    """A declared port is taken: say which service wanted it."""


class WorldCollector:
    def __init__(self, service: Service, world: World) -> None:
        self.service, self.world = service, world
        self.gauges = [
            m
            for m in service.metrics
            if m.type == "gauge" and not m.external and m.name not in RUNTIME_METRICS  # see StateGauges
        ]

        self.label_sets = {m.name: label_sets(service, m.name) for m in self.gauges}

    def collect(self) -> Iterator[Metric]:
        for metric in self.gauges:
            if not self.world.served(metric.name):
                continue
            instances = self.world.per_instance(metric.name)
            if instances and metric.labels:
                family = GaugeMetricFamily(metric.name, metric.help, labels=[metric.labels[0]])
                for instance, value in sorted(instances.items()):
                    family.add_metric([instance], value)
            elif metric.name == CANARY_METRIC:  # one canary: the runtime's state serves it as is
                family = GaugeMetricFamily(metric.name, metric.help)
                family.add_metric([], self.world.value(metric.name))
            else:
                value = self.world.value(metric.name)
                sets = self.label_sets[metric.name] or [()]
                family = GaugeMetricFamily(metric.name, metric.help, labels=[k for k, _ in sets[0]])
                for labels in sets:
                    family.add_metric([v for _, v in labels], value)
            yield family
        if self.world.traffic is not None:
            yield from self.world.traffic.collect(self.service.service)


def service_registry(service: Service, world: World) -> tuple[CollectorRegistry, dict[str, Histogram]]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorldCollector(service, world))  # type: ignore[arg-type]
    histograms: dict[str, Histogram] = {}
    if service.loop is not None:
        from runtime.loop import JITTER_BUCKETS

        help_text = service.metric(service.loop.jitter_metric)
        histograms[service.loop.jitter_metric] = Histogram(
            service.loop.jitter_metric,
            help_text.help if help_text else "Lateness of each tick.",
            registry=registry,
            buckets=JITTER_BUCKETS,
        )
    return registry, histograms


def _handler(path: str, registry: CollectorRegistry, world: World) -> type[QuietHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            route = self.path.split("?", 1)[0]
            if route == path:
                self.answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif route == "/readyz":
                with world.lock:
                    ready = world.scenario.ready
                self.answer(200 if ready else 503, b"ready\n" if ready else b"not ready\n")
            elif route == "/healthz":
                self.answer(200, b"ok\n")
            else:
                self.answer(404, f"not found; metrics are at {path}\n".encode())

    return Handler


class Exporter(Server):
    def __init__(self, service: Service, world: World, host: str, port: int) -> None:
        self.service = service
        self.registry, self.histograms = service_registry(service, world)
        handler = _handler(service.scrape.path, self.registry, world)
        try:
            super().__init__(host, port, handler, f"exporter-{service.service}")
        except OSError as exc:
            raise PortInUse(
                f"cannot serve service {service.service!r} on {host}:{port}: {exc.strerror or exc} "
                "(is another process, or another service of the spec, using that port?)"
            ) from None
