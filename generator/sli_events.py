"""The counters an events SLI reads: `ratio` (errors or good over total) and `latency` (a histogram's
bucket at the bound over its count) are the same shape once their selectors are known."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from generator.label_values import unmatched_labels, value_refused
from generator.model import SLI, SLO
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


def unprovable(slo: SLO) -> list[str]:
    """Why the generated tests could not feed this events SLI real series; empty when they can.
    The test generator builds its series the same way, so a spec refused here is one whose
    tests would otherwise fail."""
    events = events_of(slo.sli)
    part, total = events.part, events.total
    name = "errors" if events.counts_errors else "good"
    shared = part.metric == total.metric
    problems = [
        f"no value of {label!r} satisfies `total`'s matchers" for label in unmatched_labels(total.matchers)
    ]
    missing = [m for m in total.matchers if m not in part.matchers] if shared else []
    if missing:
        hint = "; for a latency SLO use `latency:`" if part.metric.endswith("_bucket") else ""
        spelled = ", ".join(m.spelled() for m in missing)
        problems.append(
            f"`{name}` reads the counter `total` reads, so it must select a part of total's series: "
            f"repeat total's matchers ({spelled}) in `{name}`{hint}"
        )
    problems += [
        f"no value of {label!r} satisfies `{name}`'s matchers (they contradict each other, or a "
        "regex obsgen cannot sample a value from)"
        for label in unmatched_labels(part.matchers)
    ]
    if shared and not problems and not _rest_exists(part.matchers, total.matchers):
        whole = "100 % bad" if name == "errors" else "perfect"
        problems.append(
            f"`{name}` selects every series `total` does, so the SLI is always {whole}; narrow it, "
            f'e.g. {total.metric}{{code=~"5.."}}'
        )
    total_on = set(total.matchers)
    for label in slo.by:
        if any(m.label == label and m not in total_on for m in part.matchers):
            problems.append(
                f"`by: [{label}]` groups on a label `{name}` filters on, so some groups hold no "
                f"{name} at all; group by a label `{name}` and `total` match alike (e.g. handler)"
            )
    return problems


def _rest_exists(part: tuple[Matcher, ...], total: tuple[Matcher, ...]) -> bool:
    """Some series `total` counts and `part` leaves out (the rest of the traffic)."""
    return any(value_refused(m, [*(t for t in total if t.label == m.label), m]) is not None for m in part)


def le_spellings(bound: float) -> list[str]:
    """How exporters write a bucket bound: Go's shortest `%g` (`1`, `0.3`, `1e+06`), and the float
    form of client_python and of Prometheus 3, which normalises `le` (`1.0`, `0.3`, `1e+06`)."""
    go = go_float(bound)
    openmetrics = go if any(ch in go for ch in ".eIN") else f"{go}.0"
    return sorted({go, openmetrics})


def go_float(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64): shortest digits, exponent form from 1e+06 and
    below 1e-04 (what Go's client and Prometheus write)."""
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    if not -4 <= point - 1 < 6:
        mantissa = text[0] + (f".{text[1:]}" if len(text) > 1 else "")
        power = point - 1
        body = f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"
    elif point <= 0:
        body = "0." + "0" * -point + text
    elif point >= len(text):
        body = text + "0" * (point - len(text))
    else:
        body = f"{text[:point]}.{text[point:]}"
    return ("-" if sign else "") + body


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
