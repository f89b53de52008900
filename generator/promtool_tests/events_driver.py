"""Drive an events SLI (`ratio` or `latency`) from counters, with decoys that must not leak.

Every input stream is one target's counters: the errors (or good) counter and the total, or a
classic histogram's buckets and count. Besides the stream the SLO reads, each test is fed
all-bad decoy streams a correct rule never selects: another scrape job, another realm, no
realm, and for each of the user's matchers a label value it refuses. A grouped SLO also gets a
second, healthy group. A rule that loses its job matcher, widens a regex or reads the wrong
bucket then counts a decoy, and the generated test fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from generator.conventions import EVENTS_BASE_WINDOW
from generator.label_values import example_labels, value_refused, values_selected
from generator.model import SLO, Service
from generator.model.selectors import Matcher, Selector
from generator.promtool_tests.series import counter_values, input_series, legacy_label_sets, target_labels
from generator.sli_events import events_of, le_spellings

Badness = list[float | None]
Labels = dict[str, str]


def group_values(service: Service, slo: SLO, count: int = 2) -> list[Labels]:
    """`count` label sets of a grouped SLO's `by` labels (one empty set when not grouped)."""
    if not slo.by:
        return [{}]
    matchers = [m for s in events_of(slo.sli).selectors() for m in s.matchers]
    per_label = {label: values_selected(label, matchers, count) for label in slo.by}
    return [{label: values[i] for label, values in per_label.items()} for i in range(count)]


class EventsDriver:
    """Events SLI: counters of total and errors (or good) events, or a histogram."""

    RATE = 100_000  # events per interval: error fractions down to 0.001 % are whole numbers
    TOTAL_START = 10_000_000
    ERRORS_START = 100_000

    def __init__(self, service: Service, slo: SLO, spelling: int = 0) -> None:
        self.service, self.slo, self.interval = service, slo, slo.time_slice
        self.events = events_of(slo.sli)
        self.samples_in_window = max(2, EVENTS_BASE_WINDOW // self.interval)
        self.spelling = spelling
        self.groups = group_values(service, slo)
        every = [m for selector in self.events.selectors() for m in selector.matchers]
        if slo.sli.latency is not None:
            every = list(slo.sli.latency.selector)
        self.pinned = {k: v for k, v in example_labels(every).items() if k in ("job", "instance")}
        """target labels the SLI's own matchers fix (`job="edge"` on an external counter)"""

    def key(self) -> tuple[Any, ...]:
        return ("ratio", self.samples_in_window, self.interval)

    def variants(self) -> list[EventsDriver]:
        return [self]

    def respelled(self) -> EventsDriver | None:
        """The same driver writing `le` in the other spelling (`1.0` for `1`), if there is one."""
        latency = self.slo.sli.latency
        if latency is None or len(le_spellings(latency.below)) < 2:
            return None
        return EventsDriver(self.service, self.slo, 1 - self.spelling)

    def target(self) -> Labels:
        """The scraped target's labels, as the SLI's own `job`/`instance` matchers want them."""
        labels = target_labels(self.service, f"{self.service.service}-1", metric=self.events.total.metric)
        return {**labels, **self.pinned}

    @property
    def group(self) -> Labels:
        """The group the scenarios run in (labels of `by`)."""
        return self.groups[0]

    def error_increments(self, badness: Badness) -> list[int]:
        return list(_increments(tuple(badness), self.RATE))

    def inputs(self, badness: Badness) -> list[dict[str, str]]:
        """The scenario's stream, a healthy second group when grouped, and the decoys."""
        target = self.target()
        out = self.stream({**target, **self.group}, self.error_increments(badness))
        steps = len(badness) - 1
        for other in self.groups[1:]:
            out += self.stream({**target, **other}, [0] * steps)
        for decoy, part_only in self.decoys(target):
            out += self.stream(decoy, [self.RATE] * steps, part_only)
        return out

    def group_inputs(self, badness_by_group: list[Badness]) -> list[dict[str, str]]:
        """One stream per group, each with its own badness (groups must not mix)."""
        target = self.target()
        out = []
        for group, badness in zip(self.groups, badness_by_group, strict=True):
            out += self.stream({**target, **group}, self.error_increments(badness))
        return out

    def traffic_only(self, samples: int) -> list[dict[str, str]]:
        """Traffic, but no series of the errors (or good) counter at all."""
        target = {
            **self.target(),
            **self.group,
        }
        steps = [self.RATE] * (samples - 1)
        return self.stream(target, steps, absent_part=True)

    # --- streams ---------------------------------------------------------------------------

    def stream(
        self, labels: Labels, errors: list[int], part_only: bool = False, absent_part: bool = False
    ) -> list[dict[str, str]]:
        """One target's counters for these per-step error counts."""
        if self.slo.sli.latency is not None:
            return self._histogram(labels, errors, absent_part)
        events = self.events
        part, total = events.part, events.total
        counted = errors if events.counts_errors else [self.RATE - e for e in errors]
        start = self.ERRORS_START if events.counts_errors else self.TOTAL_START - self.ERRORS_START
        out = []
        if not absent_part:
            out.append(self._counter(part.metric, {**self.part_labels(), **labels}, start, counted))
        if part_only:
            return out
        if part.metric == total.metric:
            rest = [self.RATE - c for c in counted]
            out.append(
                self._counter(total.metric, {**self.rest_labels(), **labels}, self.TOTAL_START - start, rest)
            )
        else:
            total_labels = {**example_labels(total.matchers), **labels}
            out.insert(
                0, self._counter(total.metric, total_labels, self.TOTAL_START, [self.RATE] * len(errors))
            )
        return out

    def _histogram(self, labels: Labels, errors: list[int], absent_part: bool) -> list[dict[str, str]]:
        """A classic histogram: buckets below the bound empty, the bound's bucket the good
        requests, every higher bucket (and +Inf) all of them; `_count` all of them."""
        latency = self.slo.sli.latency
        assert latency is not None
        histogram = self.service.metric(latency.histogram)
        bounds = sorted({*(histogram.buckets if histogram and histogram.buckets else ()), latency.below})
        base = {**example_labels(latency.selector), **labels}
        every = [self.RATE] * len(errors)
        out = [self._counter(f"{latency.histogram}_count", base, self.TOTAL_START, every)]
        if absent_part:
            return out
        for bound in bounds:
            spelled = le_spellings(bound)
            le = spelled[min(self.spelling, len(spelled) - 1)]
            if bound < latency.below:
                steps, start = [0] * len(errors), 0
            elif bound == latency.below:
                steps, start = [self.RATE - e for e in errors], self.TOTAL_START - self.ERRORS_START
            else:
                steps, start = every, self.TOTAL_START
            out.append(self._counter(f"{latency.histogram}_bucket", {**base, "le": le}, start, steps))
        out.append(
            self._counter(f"{latency.histogram}_bucket", {**base, "le": "+Inf"}, self.TOTAL_START, every)
        )
        return out

    def _counter(self, metric: str, labels: Labels, start: int, steps: list[int]) -> dict[str, str]:
        return input_series(metric, labels, counter_values(start, steps))

    def _combined(self) -> list[Matcher]:
        """The part's matchers, plus the total's when both read one counter (a part of the total)."""
        part, total = self.events.part, self.events.total
        return [*part.matchers, *(total.matchers if part.metric == total.metric else ())]

    def part_labels(self) -> Labels:
        return example_labels(self._combined())

    def rest_labels(self) -> Labels:
        """Labels of the traffic the part's matchers leave out but the total counts (a shared
        counter: `code="200"` next to `code=~"5.."`)."""
        labels = example_labels(self.events.total.matchers)
        for matcher in self.events.part.matchers:
            if matcher in self.events.total.matchers:
                continue  # the total selects only what this matcher selects: the rest must too
            on_label = [m for m in self.events.total.matchers if m.label == matcher.label]
            refused = value_refused(matcher, [*on_label, matcher])
            if refused is not None:
                return {**labels, matcher.label: refused}
        return labels

    # --- decoys -----------------------------------------------------------------------------

    def decoys(self, target: Labels) -> list[tuple[Labels, bool]]:
        """Label sets of all-bad streams no correct rule selects, and whether each feeds only the
        errors (or good) counter, which the total does not read."""
        found = [
            (labels, False) for labels in legacy_label_sets(self.service, target, self.events.total.metric)
        ]
        shared = self.events.part.metric == self.events.total.metric
        for i, (matcher, on_part_only) in enumerate(self._decoy_matchers(shared)):
            refused = value_refused(matcher, self._matchers_on(matcher.label, on_part_only))
            decoy = {**target, **self.group, matcher.label: refused or "", "instance": f"other-{i}"}
            if refused is not None and all(_distinct_streams(decoy, d) for d, _ in found):
                found.append((decoy, on_part_only))
        return found

    def _decoy_matchers(self, shared: bool) -> Iterable[tuple[Matcher, bool]]:
        if self.slo.sli.latency is not None:
            return ((m, False) for m in self.slo.sli.latency.selector)
        total: list[tuple[Matcher, bool]] = [(m, False) for m in self.events.total.matchers]
        if shared:
            return total
        return [*total, *((m, True) for m in self.events.part.matchers)]

    def _matchers_on(self, label: str, on_part_only: bool) -> list[Matcher]:
        selectors: list[Selector] = [self.events.part] if on_part_only else self.events.selectors()
        return [m for s in selectors for m in s.matchers if m.label == label]

    # --- what the rules record ----------------------------------------------------------------

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


@lru_cache(maxsize=1024)
def _increments(badness: tuple[float | None, ...], rate: int) -> tuple[int, ...]:
    """Per-step error counts; every SLO of a shape feeds the same badness."""
    return tuple(round((b or 0) * rate) for b in badness[1:])


def _distinct_streams(a: Labels, b: Labels) -> bool:
    """Decoys that differ only by instance would feed one stream twice."""
    return {k: v for k, v in a.items() if k != "instance"} != {k: v for k, v in b.items() if k != "instance"}
