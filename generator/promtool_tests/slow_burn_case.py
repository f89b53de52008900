"""The slow-burn test of an SLO: a burn that fires the ticket and never the page, designed by
`slow_burn`; or, when every burn its SLI can show pages, why no such test exists."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from generator.durations import format_duration
from generator.model import SLO, Service
from generator.promtool_tests.drivers import SliDriver
from generator.promtool_tests.series import ScenarioError, alert_case
from generator.promtool_tests.slo_expectations import (
    BadTime,
    Expect,
    first_fire,
    history_samples,
    scenario_group,
)
from generator.promtool_tests.slow_burn import HOUR, design_slow_burn, periodic_errors
from generator.slo_math import BurnWindow, burn_alert_name, error_budget


class SlowBurnImpossible(ScenarioError):
    """Every burn this SLI can show pages: a property of the SLO worth telling, not an error."""


def slow_burn_test(
    service: Service, slo: SLO, driver: SliDriver, windows: list[BurnWindow], expect: Expect
) -> dict[str, Any] | None:
    budget = error_budget(slo)
    page = [w for w in windows if w.severity == "page"]
    ticket = [w for w in windows if w.severity == "ticket"]
    if not ticket:
        return None
    found = ((d, design_slow_burn(d, page, ticket, budget)) for d in driver.variants())
    driver, design = next(((d, x) for d, x in found if x is not None), (driver, None))
    if design is None:
        raise SlowBurnImpossible(why_every_burn_pages(driver, page, ticket, budget))
    history = history_samples(slo, windows)
    step = slo.time_slice
    start = Fraction(history * step)
    steady = [BadTime((float(bad),), start, step) for bad in design.bad.values()]
    latest = max(t for bad in steady if (t := first_fire(ticket, "ticket", budget, bad)))
    period = design.period
    first = math.ceil((latest + (latest - start) / 4) / step) + period + 2
    first += (design.phase - (first - history)) % period
    checks = [(first + k * period) * step for k in range(4)]
    name = burn_alert_name(service, slo)
    ticket_only = expect(["ticket"])
    cases = [alert_case(history * step - step, name, [])]
    cases += [alert_case(t, name, ticket_only) for t in checks]
    length = checks[-1] // step + 1
    bad = design.bad[False]
    pattern = [_burst_badness(i, period, design.burst, bad) for i in range(period)]
    badness = [0.0] * history + _repeated(pattern, length - history)
    return scenario_group(
        f"{name}: slow burn ({float(bad) * 100:.3g}% bad) fires the ticket, never the page",
        driver,
        badness,
        alert_rule_test=cases,
    )


def why_every_burn_pages(
    driver: SliDriver, page: list[BurnWindow], ticket: list[BurnWindow], budget: Fraction
) -> str:
    """Why no slow-burn test exists for this SLO, in numbers an SLO owner can act on."""
    ticket_x = min(w.threshold(budget) for w in ticket)
    page_x = min((w.threshold(budget) for w in page), default=Fraction(1))
    tail = "no slow-burn test is generated"
    generic = (
        f"no {'steady error ratio' if driver.key()[0] == 'ratio' else 'pattern of bad bursts'} "
        f"stays below 90% of every page threshold (lowest {float(page_x):.4g}) while staying 10% "
        f"above a ticket threshold (lowest {float(ticket_x):.4g}) under both Prometheus 2 and 3 "
        f"windows; {tail}"
    )
    if driver.key()[0] == "ratio" or not page:
        return generic
    step = driver.interval
    smallest = min(_smallest_burst(d, 24 * HOUR // step) for d in driver.variants())
    paging = [w for w in page if all(smallest / (t // step) > w.threshold(budget) for t in (w.long, w.short))]
    if not paging:
        return generic
    pair = paging[0]
    return (
        f"every incident pages: the smallest burst this SLI can show spoils {smallest:g} slice(s) "
        f"of {format_duration(step)}, {smallest / (pair.long // step):.2%} of the {pair.label()} "
        f"page pair's long window, above its threshold {float(pair.threshold(budget)):.2%}; "
        f"the ticket can only follow a page, and {tail}"
    )


def _smallest_burst(driver: SliDriver, period: int) -> float:
    """The fewest bad evaluations any burst of bad raw samples causes (Prometheus 3)."""
    for burst in range(1, 4 * getattr(driver, "samples_in_window", 1) + 4):
        spoiled = sum(periodic_errors(driver, period, burst, False).pattern)
        if spoiled:
            return spoiled
    return float("inf")


def _repeated(pattern: list[float], length: int) -> list[float]:
    """`pattern` over and over, cut to `length` (the badness of index i is pattern[i % period])."""
    return (pattern * (length // len(pattern) + 1))[:length]


def _burst_badness(i: int, period: int, burst: int, bad: Fraction) -> float:
    if burst == period:
        return float(bad)
    return 1.0 if i % period < burst else 0.0
