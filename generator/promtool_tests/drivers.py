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
from generator.model import SLO, Service, Signal
from generator.model.slo import ThresholdSLI
from generator.promtool_tests.series import (
    Level,
    alternating,
    constant,
    counter_values,
    decimal,
    input_series,
    legacy_label_sets,
    target_labels,
    values,
)
from generator.rules import EVENTS_BASE_WINDOW

Badness = list[float | None]


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
    return RatioDriver(service, slo)


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
        labels = target_labels(self.service, f"{self.service.service}-1", {**self.signal.matchers, **extra})
        series = [input_series(metric, labels, values(self.raw(badness)))]
        always_bad = values(self.raw([None if b is None else 1.0 for b in badness]))
        series += [
            input_series(metric, legacy, always_bad) for legacy in legacy_label_sets(self.service, labels)
        ]
        return series

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


class RatioDriver:
    """Events SLI: counters of total and errors (or good) events."""

    RATE = 100_000  # events per interval: error fractions down to 0.001 % are whole numbers
    TOTAL_START = 10_000_000
    ERRORS_START = 100_000

    def __init__(self, service: Service, slo: SLO) -> None:
        assert slo.sli.ratio is not None
        self.service, self.ratio, self.interval = service, slo.sli.ratio, slo.time_slice
        self.samples_in_window = max(2, EVENTS_BASE_WINDOW // self.interval)

    def key(self) -> tuple[Any, ...]:
        return ("ratio", self.samples_in_window, self.interval)

    def variants(self) -> list[RatioDriver]:
        return [self]

    def error_increments(self, badness: Badness) -> list[int]:
        return [round((b or 0) * self.RATE) for b in badness[1:]]

    def inputs(self, badness: Badness) -> list[dict[str, str]]:
        """Total and error (or good) counters. When both are one counter told apart by labels
        (`total: {metric: m}`, `good: {metric: m, matchers: {code: "200"}}`), the rest of the
        traffic goes to a sibling series with other label values, so the total still sums it."""
        labels = target_labels(self.service, f"{self.service.service}-1")
        errors = self.error_increments(badness)
        part = self.ratio.errors or self.ratio.good
        assert part is not None
        counted = errors if self.ratio.errors is not None else [self.RATE - e for e in errors]
        start = self.ERRORS_START if self.ratio.errors is not None else self.TOTAL_START - self.ERRORS_START
        out = [self._series(part, labels, start, counted)]
        if part.metric == self.ratio.total.metric:
            steps = [self.RATE - c for c in counted]
            rest = input_series(
                part.metric, self._rest(labels), counter_values(self.TOTAL_START - start, steps)
            )
            out.append(rest)
        else:
            out.insert(0, self._series(self.ratio.total, labels, self.TOTAL_START, [self.RATE] * len(errors)))
        return out

    def traffic_only(self, samples: int) -> list[dict[str, str]]:
        """Traffic, but no series of the errors (or good) counter at all."""
        labels = target_labels(self.service, f"{self.service.service}-1")
        part = self.ratio.errors or self.ratio.good
        assert part is not None
        steps = [self.RATE] * (samples - 1)
        if part.metric != self.ratio.total.metric:
            return [self._series(self.ratio.total, labels, self.TOTAL_START, steps)]
        return [input_series(part.metric, self._rest(labels), counter_values(self.TOTAL_START, steps))]

    def _rest(self, labels: dict[str, str]) -> dict[str, str]:
        """Labels of the traffic the errors (or good) matchers do not select, on a shared counter."""
        part = self.ratio.errors or self.ratio.good
        assert part is not None
        total = self.ratio.total.matchers
        return {**labels, **total, **{k: f"{v}-other" for k, v in part.matchers.items() if k not in total}}

    def _series(self, query: Any, labels: dict[str, str], start: int, steps: list[int]) -> dict[str, str]:
        return input_series(query.metric, {**labels, **query.matchers}, counter_values(start, steps))

    def slice_errors(self, badness: Badness, closed: bool) -> list[float | None]:
        """Each evaluation's error ratio over the base rate window (rate's extrapolation cancels)."""
        errors = [0, *self.error_increments(badness)]
        window = self.samples_in_window + (1 if closed else 0)
        out: list[float | None] = []
        for i in range(len(badness)):
            first = max(1, i - window + 2)
            steps = range(first, i + 1)
            out.append(sum(errors[j] for j in steps) / (self.RATE * len(steps)) if steps else None)
        return out
