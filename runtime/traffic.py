"""Simulated request traffic: every counter, histogram and summary a service declares, served
with the shape its type implies.

Each events SLO (ratio or latency) gets one stream of RATE events per second per group; the
stream's series are the ones the SLO's selectors tell apart (`code=~"5.."` gets a matching
`500` series and a refused `200` one), taken from the same label planning the generated
promtool tests use (generator.promtool_tests.events_driver), so a selector the tests prove is
one the sandbox feeds. The share of bad events in a stream is the scenario's; counters only
ever grow, at the rates of the scenario in force. Metrics no SLO reads get a quiet background
series per label value the spec's selectors name.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.core import HistogramMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.utils import floatToGoString

from generator.conventions import REALM_LABEL, slo_id
from generator.label_values import example_labels, value_refused, values_selected
from generator.model import SLO, Service, Spec
from generator.model.selectors import Matcher
from generator.promtool_tests.events_driver import EventsDriver
from generator.sli_events import events_of
from runtime.levels import healthy_level

RATE = 10.0
"""events per second of each SLO stream (one group); the background series get a tenth"""
BACKGROUND = 0.1
TARGET_LABELS = {"job", "instance", REALM_LABEL}
"""labels Prometheus adds from the target: never exported"""
MAX_VALUES_PER_LABEL = 3
USUAL_VALUES = {
    "handler": "/api",
    "path": "/api",
    "route": "/api",
    "method": "GET",
    "code": "200",
    "status": "200",
}
"""what a label no selector constrains reads, for the common HTTP ones"""
MAX_BACKGROUND_SERIES = 16

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Share:
    """A cell's increase per second, as fractions of RATE: `fixed + per_bad × bad share`."""

    fixed: float
    per_bad: float = 0.0

    def rate(self, bad: float) -> float:
        return max(0.0, RATE * (self.fixed + self.per_bad * bad))


ALL, BAD, GOOD = Share(1.0), Share(0.0, 1.0), Share(1.0, -1.0)


@dataclass(frozen=True)
class Cell:
    """One exposed number: a counter, a histogram bucket (`part` = le) or a `_sum`/`_count`."""

    metric: str
    labels: Labels
    part: str = ""


@dataclass(frozen=True)
class Stream:
    """The series one SLO (one group of it) reads, and how each grows with the bad share."""

    slo: str
    group: int
    cells: tuple[tuple[Cell, Share], ...]


def _labels(values: Mapping[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in values.items() if k not in TARGET_LABELS))


def _filled(service: Service, metric: str, given: Mapping[str, str], matchers: Iterable[Matcher]) -> Labels:
    """`given`, plus a value for every other label the catalog declares for `metric`."""
    declared = service.metric(metric)
    values = dict(given)
    on = list(matchers)
    for label in declared.labels if declared else ():
        if label not in values and label not in TARGET_LABELS:
            values[label] = _usual_value(label, [m for m in on if m.label == label])
    return _labels(values)


def _usual_value(label: str, matchers: list[Matcher]) -> str:
    usual = USUAL_VALUES.get(label)
    if usual is not None and all(m.selects(usual) for m in matchers):
        return usual
    picked = values_selected(label, matchers)
    return picked[0] if picked else f"{label}-1"


def _bounds(service: Service, histogram: str, extra: Iterable[float] = ()) -> list[float]:
    declared = service.metric(histogram)
    bounds = declared.buckets if declared and declared.buckets else [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]
    return sorted({*bounds, *extra})


def _le(bound: float) -> str:
    return floatToGoString(bound)


def histogram_cells(
    name: str, labels: Labels, bounds: list[float], good: float, bad: float | None, share: Share = ALL
) -> list[tuple[Cell, Share]]:
    """A classic histogram whose good observations take `good` seconds and bad ones `bad`
    (None: every observation is good); cumulative buckets, `_sum`, `_count` (= +Inf)."""
    cells = []
    for bound in bounds:
        if bound < good:
            grows = Share(0.0) if bad is None or bound < bad else Share(0.0, share.fixed)
        else:
            grows = share if bad is None or bound >= bad else Share(share.fixed, -share.fixed)
        cells.append((Cell(f"{name}_bucket", labels, _le(bound)), grows))
    cells.append((Cell(f"{name}_bucket", labels, "+Inf"), share))
    cells.append((Cell(f"{name}_count", labels), share))
    slow = good if bad is None else bad
    cells.append((Cell(f"{name}_sum", labels), Share(share.fixed * good, share.fixed * (slow - good))))
    return cells


def _events_streams(service: Service, slo: SLO) -> list[Stream]:
    driver = EventsDriver(service, slo)
    events = driver.events
    latency = slo.sli.latency
    streams = []
    for index, group in enumerate(driver.groups):
        cells: list[tuple[Cell, Share]] = []
        if latency is not None:
            bounds = _bounds(service, latency.histogram, [latency.below])
            faster = max([b for b in bounds if b <= latency.below])
            slower = next((b for b in bounds if b > latency.below), latency.below * 2)
            base = {**example_labels(latency.selector), **group}
            labels = _filled(service, latency.histogram, base, latency.selector)
            cells = histogram_cells(latency.histogram, labels, bounds, faster, slower)
        else:
            part, total = events.part, events.total
            on_part = BAD if events.counts_errors else GOOD
            part_labels = {**driver.part_labels(), **group}
            cells.append(
                (Cell(part.metric, _filled(service, part.metric, part_labels, part.matchers)), on_part)
            )
            if part.metric == total.metric:
                rest = {**driver.rest_labels(), **group}
                rest_share = GOOD if events.counts_errors else BAD
                cells.append(
                    (Cell(total.metric, _filled(service, total.metric, rest, total.matchers)), rest_share)
                )
            else:
                total_labels = {**example_labels(total.matchers), **group}
                cells.append(
                    (Cell(total.metric, _filled(service, total.metric, total_labels, total.matchers)), ALL)
                )
        streams.append(Stream(slo_id(service, slo), index, tuple(cells)))
    return streams


def simulated_slos(service: Service) -> list[SLO]:
    """The events SLOs whose every input this service's exporter serves."""
    found = []
    for slo in service.slos:
        if slo.sli.ratio is None and slo.sli.latency is None:
            continue
        metrics = {s.metric for s in events_of(slo.sli).selectors()}
        if slo.sli.latency is not None:
            metrics = {slo.sli.latency.histogram}
        declared = [service.metric(_family(m)) for m in metrics]
        if all(d is not None and not d.external for d in declared):
            found.append(slo)
    return found


def _family(metric: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if metric.endswith(suffix):
            return metric.removesuffix(suffix)
    return metric


def _spec_matchers(service: Service, metric: str) -> list[Matcher]:
    """Every matcher the service's selectors put on `metric` (signals, alerts, SLOs)."""
    found: list[Matcher] = []
    for signal in service.signals:
        if signal.metric == metric:
            found += signal.matchers
    for slo in service.slos:
        if slo.sli.ratio is not None or slo.sli.latency is not None:
            found += [
                m for s in events_of(slo.sli).selectors() if _family(s.metric) == metric for m in s.matchers
            ]
    return found


def label_sets(service: Service, metric: str) -> list[Labels]:
    """One label set per value the spec's selectors distinguish (a selected and a refused one
    per matcher), capped; a declared label no selector names gets one value."""
    declared = service.metric(metric)
    labels = [label for label in (declared.labels if declared else ()) if label not in TARGET_LABELS]
    matchers = _spec_matchers(service, metric)
    choices = []
    for label in labels:
        on = [m for m in matchers if m.label == label]
        values = [_usual_value(label, on)]
        for matcher in on:
            refused = value_refused(matcher, [matcher])
            if refused and refused not in values:
                values.append(refused)
        choices.append(values[:MAX_VALUES_PER_LABEL])
    combos = itertools.islice(itertools.product(*choices), MAX_BACKGROUND_SERIES)
    return [tuple(sorted(zip(labels, combo, strict=True))) for combo in combos]


def _background_cells(service: Service, metric: str, kind: str) -> list[tuple[Cell, Share]]:
    quiet = Share(BACKGROUND)
    cells: list[tuple[Cell, Share]] = []
    for labels in label_sets(service, metric):
        if kind == "counter":
            cells.append((Cell(metric, labels), quiet))
        elif kind == "summary":
            cells.append((Cell(f"{metric}_count", labels), quiet))
            cells.append((Cell(f"{metric}_sum", labels), Share(BACKGROUND * 0.1)))
        else:
            bounds = _bounds(service, metric)
            level = healthy_level(service, metric).value
            at = max([b for b in bounds if b <= level], default=bounds[0])
            cells += histogram_cells(metric, labels, bounds, at, None, quiet)
    return cells


@dataclass
class Traffic:
    """Every simulated counter cell of every service, and the bad share of each stream now."""

    cells: dict[str, dict[Cell, list[tuple[str, Share]]]]
    """service → cell → (owner, share) in order of preference; owner: a stream key or ''"""
    kinds: dict[tuple[str, str], str]
    """(service, metric family) → its type, for exposition"""
    helps: dict[tuple[str, str], str]
    values: dict[Cell, float]
    rates: dict[Cell, float]
    bad: dict[str, float]
    """stream key (slo id / group) → bad share; absent: the SLO's healthy share"""
    healthy: dict[str, float]
    missing: set[str]
    since: float
    lock: threading.Lock
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def from_spec(cls, spec: Spec, healthy: Mapping[str, float]) -> Traffic:
        cells: dict[str, dict[Cell, list[tuple[str, Share]]]] = {}
        kinds: dict[tuple[str, str], str] = {}
        helps: dict[tuple[str, str], str] = {}
        for service in spec.scraped_services:
            own = cells.setdefault(service.service, {})
            loop_metric = service.loop.jitter_metric if service.loop else None
            fed: set[str] = set()
            for slo in simulated_slos(service):
                for stream in _events_streams(service, slo):
                    for cell, share in stream.cells:
                        own.setdefault(cell, []).append((stream_key(stream.slo, stream.group), share))
                        fed.add(_family(cell.metric))
            for metric in service.metrics:
                if metric.external or metric.type == "gauge" or metric.name == loop_metric:
                    continue
                kinds[(service.service, metric.name)] = metric.type
                helps[(service.service, metric.name)] = metric.help or metric.name
                if metric.name not in fed:
                    for cell, share in _background_cells(service, metric.name, metric.type):
                        own.setdefault(cell, []).append(("", share))
        traffic = cls(
            cells, kinds, helps, {}, {}, {}, dict(healthy), set(), time.monotonic(), threading.Lock()
        )
        traffic.switch({}, set())
        return traffic

    def switch(self, bad: Mapping[str, float], missing: set[str]) -> None:
        """The rates of a new scenario, from now on (counters keep what they counted)."""
        with self.lock:
            self._advance(self.clock())
            self.bad, self.missing = dict(bad), set(missing)
            for service_cells in self.cells.values():
                for cell, owners in service_cells.items():
                    owner, share = self._owner(owners)
                    self.rates[cell] = share.rate(self._bad_share(owner))
                    self.values.setdefault(cell, 0.0)

    def _owner(self, owners: list[tuple[str, Share]]) -> tuple[str, Share]:
        """The stream the scenario acts on wins a cell two SLOs share; else the first."""
        return next(((o, s) for o, s in owners if o in self.bad or o in self.missing), owners[0])

    def _bad_share(self, owner: str) -> float:
        return self.bad.get(owner, self.healthy.get(owner.rpartition("/")[0], 0.0))

    def _advance(self, now: float) -> None:
        elapsed, self.since = now - self.since, now
        for cell, rate in self.rates.items():
            self.values[cell] += rate * elapsed

    def collect(self, service: str) -> Iterator[Metric]:
        with self.lock:
            self._advance(self.clock())
            shown = {
                cell: self.values[cell]
                for cell, owners in self.cells.get(service, {}).items()
                if self._owner(owners)[0] not in self.missing
            }
        yield from _families(service, shown, self.kinds, self.helps)


def stream_key(slo: str, group: int) -> str:
    return f"{slo}/{group}"


def _families(
    service: str,
    shown: dict[Cell, float],
    kinds: dict[tuple[str, str], str],
    helps: dict[tuple[str, str], str],
) -> Iterator[Metric]:
    by_family: dict[str, dict[Labels, dict[str, float]]] = {}
    for cell, value in shown.items():
        family = cell.metric if kinds.get((service, cell.metric)) == "counter" else _family(cell.metric)
        part = cell.part or cell.metric.removeprefix(family)
        by_family.setdefault(family, {}).setdefault(cell.labels, {})[part] = value
    for family, series in sorted(by_family.items()):
        kind = kinds.get((service, family), "counter")
        names = sorted({k for labels in series for k, _ in labels})
        yield _family_metric(kind, family, helps.get((service, family), family), names, series)


def _family_metric(
    kind: str, family: str, help_text: str, names: list[str], series: dict[Labels, dict[str, float]]
) -> Metric:
    if kind == "histogram":
        histogram = HistogramMetricFamily(family, help_text, labels=names)
        for labels, parts in sorted(series.items()):
            values = dict(labels)
            buckets = sorted(
                ((le, v) for le, v in parts.items() if not le.startswith("_")),
                key=lambda item: float(item[0]),
            )
            histogram.add_metric([values.get(n, "") for n in names], buckets, parts.get("_sum", 0.0))
        return histogram
    if kind == "summary":
        summary = SummaryMetricFamily(family, help_text, labels=names)
        for labels, parts in sorted(series.items()):
            values = dict(labels)
            summary.add_metric(
                [values.get(n, "") for n in names], parts.get("_count", 0.0), parts.get("_sum", 0.0)
            )
        return summary
    # The text format names a counter family without `_total`; one the catalog declares without
    # the suffix is exposed untyped under its own name, as older client libraries do.
    typed = family.endswith("_total")
    counter = Metric(
        family.removesuffix("_total") if typed else family, help_text, "counter" if typed else "unknown"
    )
    for labels, parts in sorted(series.items()):
        counter.add_sample(family, dict(labels), parts.get("", 0.0))
    return counter
