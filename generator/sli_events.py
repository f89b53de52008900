"""The counters an events SLI reads: `ratio` (errors or good over total) and `latency` (a histogram's
bucket at the bound over its count) are the same shape once their selectors are known."""

from __future__ import annotations

from dataclasses import dataclass

from generator import promql
from generator.model import SLI
from generator.model.selectors import Matcher, Selector


@dataclass(frozen=True)
class Events:
    total: Selector
    errors: Selector | None = None
    good: Selector | None = None

    @property
    def part(self) -> Selector:
        """The errors, or the good events when errors are not counted directly."""
        part = self.errors or self.good
        assert part is not None
        return part

    @property
    def counts_errors(self) -> bool:
        return self.errors is not None

    def selectors(self) -> list[Selector]:
        return [s for s in (self.errors, self.good, self.total) if s is not None]


def le_spellings(bound: float) -> list[str]:
    """How exporters write a bucket bound: Go's shortest form (`1`, `0.3`) and the float form
    (`1.0`) of client_python, which Prometheus 3 also normalises `le` to."""
    return sorted({promql.number(bound), repr(float(bound))})


def bucket_matcher(bound: float) -> Matcher:
    """`le="0.3"`, or `le=~"1|1\\.0"` where the spellings differ, so either exporter matches."""
    spellings = le_spellings(bound)
    if len(spellings) == 1:
        return Matcher("le", "=", spellings[0])
    return Matcher("le", "=~", "|".join(s.replace(".", "\\.") for s in spellings))


def events_of(sli: SLI) -> Events:
    if sli.ratio is not None:
        return Events(sli.ratio.total, sli.ratio.errors, sli.ratio.good)
    latency = sli.latency
    assert latency is not None
    given = latency.selector
    return Events(
        total=Selector(metric=f"{latency.histogram}_count", matchers=given),
        good=Selector(metric=f"{latency.histogram}_bucket", matchers=(*given, bucket_matcher(latency.below))),
    )
