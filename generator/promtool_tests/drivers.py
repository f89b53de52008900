"""Drive an SLI from its raw inputs: which samples to feed, and what each evaluation records.

A *badness* sequence says, per input sample, how bad the world is: 0 healthy, 1 fully bad,
a fraction for events, None for no data. A driver turns it into promtool input series and
predicts the per-evaluation error the SLO's first recording rule will hold, for Prometheus 3
(left-open windows) or Prometheus 2 (closed windows, one sample more).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from generator import signal_math
from generator.label_values import example_labels
from generator.model import SLO, Service, Signal
from generator.model.slo import ThresholdSLI
from generator.promtool_tests.events_driver import EventsDriver
from generator.promtool_tests.series import (
    Level,
    alternating,
    constant,
    decimal,
    input_series,
    legacy_label_sets,
    target_labels,
    values,
)

Badness = list[float | None]
_VALUES: dict[tuple[Any, ...], str] = {}


class SliDriver(Protocol):
    interval: int

    def inputs(self, badness: Badness) -> list[dict[str, str]]: ...

    def slice_errors(self, badness: Badness, closed: bool) -> list[float | None]: ...

    def key(self) -> tuple[Any, ...]: ...

    def variants(self) -> list[SliDriver]: ...


def driver_for(service: Service, slo: SLO) -> SliDriver:
    if slo.sli.threshold is not None:
        signal = service.signal(slo.sli.threshold.signal)
        assert signal is not None
        return ThresholdDriver(service, slo.sli.threshold, signal, slo.time_slice)
    return EventsDriver(service, slo)


@dataclass(frozen=True)
class Levels:
    healthy: Level
    bad: Level


def levels_for(sli: ThresholdSLI, signal: Signal, samples_in_window: int, gentle: bool = False) -> Levels:
    """Raw levels on each side of the threshold.

    By default a mean's bad level is far enough out that one bad sample already tips the
    window, so onset is instant. `gentle` levels are barely bad: only a window full of bad
    samples tips, so a short burst spoils few slices (what a slow burn needs). A stddev is
    driven by alternation around a centre.
    """
    threshold = decimal(sli.value)
    step = abs(threshold) / 10 or Decimal("0.1")
    bad_high = sli.op in ("<", "<=")
    sign = 1 if bad_high else -1
    if signal.function == "stddev":
        spread = (1 + Decimal(1) / samples_in_window) if gentle else Decimal(samples_in_window + 2)
        wide, narrow = alternating(Decimal(0), abs(threshold) * spread or step), constant(0)
        if bad_high:
            return Levels(narrow, wide)
        return Levels(alternating(Decimal(0), 2 * abs(threshold) or step), narrow)
    reach = Decimal(2)
    if signal.function == "mean":
        reach = 1 / Decimal(samples_in_window) if gentle else Decimal(samples_in_window + 2)
    healthy = threshold - sign * step
    bad = threshold + sign * step * reach
    return Levels(constant(healthy), constant(bad))


class ThresholdDriver:
    """Time-slice SLI over a recorded signal: feeds the signal's raw metric."""

    def __init__(
        self, service: Service, sli: ThresholdSLI, signal: Signal, interval: int, gentle: bool = False
    ) -> None:
        self.service, self.sli, self.signal, self.interval = service, sli, signal, interval
        self.gentle = gentle
        self.samples_in_window = max(1, signal.window // interval)
        self.levels = levels_for(sli, signal, self.samples_in_window, gentle)

    def variants(self) -> list[ThresholdDriver]:
        """This driver and its gentle twin, for scenarios that need few bad slices per burst."""
        return [self, ThresholdDriver(self.service, self.sli, self.signal, self.interval, gentle=True)]

    def key(self) -> tuple[Any, ...]:
        s = self.signal
        return (
            "threshold",
            s.function,
            s.quantile,
            self.samples_in_window,
            self.sli.op,
            self.sli.value,
            self.sli.missing_data,
            self.gentle,
            self.interval,
        )

    def raw(self, badness: Badness) -> list[float | None]:
        healthy, bad = self.levels.healthy, self.levels.bad
        if healthy.low == healthy.high and bad.low == bad.high:
            return [None if b is None else bad.low if b else healthy.low for b in badness]
        return [None if b is None else (bad if b else healthy).at(i) for i, b in enumerate(badness)]

    def inputs(self, badness: Badness) -> list[dict[str, str]]:
        metric = self.signal.metric
        extra = {label: "x" for label in self.signal.by}
        labels = target_labels(
            self.service,
            f"{self.service.service}-1",
            {**example_labels(self.signal.matchers), **extra},
            metric,
        )
        series = [input_series(metric, labels, self._values(tuple(badness)))]
        always_bad = self._values(tuple(None if b is None else 1.0 for b in badness))
        series += [
            input_series(metric, legacy, always_bad)
            for legacy in legacy_label_sets(self.service, labels, metric)
        ]
        return series

    def _values(self, badness: tuple[float | None, ...]) -> str:
        """The raw samples' value string; the levels follow from the key, so it is cached by it."""
        key = (self.key(), badness)
        if key not in _VALUES:
            _VALUES[key] = values(self.raw(list(badness)))
        return _VALUES[key]

    def is_bad(self, value: float) -> bool:
        v, t = value, self.sli.value
        return {"<": v >= t, "<=": v > t, ">": v <= t, ">=": v < t}[self.sli.op]

    def slice_errors(self, badness: Badness, closed: bool) -> list[float | None]:
        window = self.samples_in_window + (1 if closed else 0)
        derived = signal_math.signal_series(
            self.signal.function, self.raw(badness), window, self.signal.quantile
        )
        missing = {"bad": 1.0, "good": 0.0, "ignore": None}[self.sli.missing_data]
        return [missing if v is None else float(self.is_bad(v)) for v in derived]
