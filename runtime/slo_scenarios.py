"""Four scenarios per SLO, derived from the spec: `healthy` (shared), `<slo id>-fast-burn`
(pages), `<slo id>-slow-burn` (tickets, never pages) and `<slo id>-no-data`.

The levels are the ones the generated promtool tests prove, from the same modules: the SLO
arithmetic (generator.slo_math), the slow-burn design (generator.promtool_tests.slow_burn:
the steady error share of an events SLI, or the burst pattern of a time-slice SLI that keeps
every page pair quiet and fires a ticket) and the drivers' raw levels on each side of a
threshold. A grouped SLO burns in its first group only; the other keeps healthy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from generator.conventions import slo_id
from generator.model import SLO, Service, Spec
from generator.promtool_tests.drivers import SliDriver, ThresholdDriver, driver_for
from generator.promtool_tests.slow_burn import SlowBurn, design_slow_burn
from generator.slo_math import enabled_windows, error_budget
from runtime.scenarios import SCENARIOS, Scenario
from runtime.state import CANARY_METRIC
from runtime.traffic import simulated_slos, stream_key

HEALTHY_SHARE_OF_BUDGET = Fraction(1, 10)
"""a healthy events SLO fails a tenth of its error budget: real errors, budget kept"""


@dataclass(frozen=True)
class SliceBurn:
    """A time-slice SLI's raw gauge over time: bad for the last `burst` of every `period`
    samples of `step` seconds (good first, so a young sandbox never sees a burst alone)."""

    driver: ThresholdDriver
    period: int
    burst: int

    def value(self, elapsed: float) -> float:
        index = int(elapsed // self.driver.interval)
        bad = index % self.period >= self.period - self.burst
        return (self.driver.levels.bad if bad else self.driver.levels.healthy).at(index)


def healthy_shares(spec: Spec) -> dict[str, float]:
    """SLO id → the share of bad events every stream of it shows while healthy."""
    return {
        slo_id(service, slo): float(error_budget(slo) * HEALTHY_SHARE_OF_BUDGET)
        for service in spec.scraped_services
        for slo in simulated_slos(service)
    }


def slo_scenarios(spec: Spec) -> list[Scenario]:
    found: list[Scenario] = []
    for service in spec.scraped_services:
        events = simulated_slos(service)
        for slo in service.slos:
            if slo in events:
                found += _events_scenarios(service, slo)
            elif (gauge := simulated_gauge(service, slo)) is not None:
                found += _slice_scenarios(service, slo, gauge)
    return found


def unsimulated_slos(spec: Spec) -> list[tuple[str, str]]:
    """(SLO id, why the runtime cannot burn it) for the SLOs without scenarios."""
    out = []
    for service in spec.services:
        events = simulated_slos(service) if service.scrape else []
        for slo in service.slos:
            if slo in events or (service.scrape and simulated_gauge(service, slo)):
                continue
            if service.scrape is None:
                why = "its service is not scraped"
            elif slo.sli.query is not None:
                why = "its SLI is raw PromQL"
            else:
                why = "its inputs are external or not served by obsgen's runtime"
            out.append((slo_id(service, slo), why))
    return out


def simulated_gauge(service: Service, slo: SLO) -> str | None:
    """The raw gauge behind a time-slice SLI, when this service's exporter serves it."""
    if slo.sli.threshold is None:
        return None
    signal = service.signal(slo.sli.threshold.signal)
    metric = service.metric(signal.metric) if signal else None
    if metric is None or metric.external or metric.type != "gauge":
        return None
    return metric.name


def _events_scenarios(service: Service, slo: SLO) -> list[Scenario]:
    name, stream = slo_id(service, slo), stream_key(slo_id(service, slo), 0)
    scenarios = [
        Scenario(f"{name}-fast-burn", f"every request {_bad(slo)} ({name}): pages", events={stream: 1.0})
    ]
    design = _slow_burn(service, slo)
    if design is not None:
        _, burn = design
        share = float(burn.bad[False])
        scenarios.append(
            Scenario(
                f"{name}-slow-burn",
                f"{share * 100:.3g}% of requests {_bad(slo, plural=True)} ({name}): tickets, never pages",
                events={stream: share},
            )
        )
    scenarios.append(
        Scenario(f"{name}-no-data", f"the series {name} reads are not served", missing=frozenset({stream}))
    )
    return scenarios


def _slice_scenarios(service: Service, slo: SLO, gauge: str) -> list[Scenario]:
    name = slo_id(service, slo)
    driver = driver_for(service, slo)
    assert isinstance(driver, ThresholdDriver)
    fast: Callable[[float], float] = SliceBurn(driver, 1, 1).value
    scenarios = [
        Scenario(f"{name}-fast-burn", f"{gauge} violates {name} all the time: pages", slices={gauge: fast})
    ]
    design = _slow_burn(service, slo)
    if design is not None:
        variant, burn = design
        assert isinstance(variant, ThresholdDriver)
        bursts = SliceBurn(variant, burn.period, burn.burst)
        scenarios.append(
            Scenario(
                f"{name}-slow-burn",
                f"{gauge} violates {name} in bursts ({float(burn.bad[False]) * 100:.3g}% of slices bad): "
                "tickets, never pages",
                slices={gauge: bursts.value},
            )
        )
    scenarios.append(Scenario(f"{name}-no-data", f"{gauge} is not served", missing=frozenset({gauge})))
    return scenarios


def _slow_burn(service: Service, slo: SLO) -> tuple[SliDriver, SlowBurn] | None:
    """The generated tests' slow-burn design for this SLO, or None when every burn pages or
    no ticket is enabled."""
    windows = enabled_windows(slo)
    page = [w for w in windows if w.severity == "page"]
    ticket = [w for w in windows if w.severity == "ticket"]
    if not ticket:
        return None
    budget = error_budget(slo)
    for driver in driver_for(service, slo).variants():
        design = design_slow_burn(driver, page, ticket, budget)
        if design is not None:
            return driver, design
    return None


def _bad(slo: SLO, plural: bool = False) -> str:
    """What a bad event of the SLI does, e.g. `fails` or `take longer than 0.3s`."""
    if slo.sli.latency is not None:
        verb = "take" if plural else "takes"
        return f"{verb} longer than {slo.sli.latency.below:g}s"
    if slo.sli.ratio is not None and slo.sli.ratio.good is not None:
        return "are not good" if plural else "is not good"
    return "fail" if plural else "fails"


def spec_scenarios(spec: Spec) -> dict[str, Scenario]:
    """Every scenario that means something for this spec: `healthy`, the demo's hand-tuned ones
    whose metrics, canaries, loops or heartbeats it has, then four per SLO."""
    gauges = {
        m.name for s in spec.scraped_services for m in s.metrics if m.type == "gauge" and not m.external
    }
    loops = any(s.loop for s in spec.scraped_services)
    beats = any(s.heartbeats for s in spec.services)

    def applies(scenario: Scenario) -> bool:
        touched = {*scenario.fixed, *scenario.rising}
        if touched:
            return touched <= gauges
        if scenario.canaries:
            return CANARY_METRIC in gauges
        if scenario.tick_delay:
            return loops
        if not scenario.heartbeat:
            return beats
        return True

    found = {name: s for name, s in SCENARIOS.items() if applies(s)}
    found.update((s.name, s) for s in slo_scenarios(spec))
    return found
