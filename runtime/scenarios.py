"""Named scenarios: how the simulated world departs from healthy.

The demo's hand-tuned scenarios (phase-drift, canary-regression, …) are listed here; every
spec also gets four per SLO, derived in runtime/slo_scenarios.py. Metrics a spec does not
export are ignored, so a scenario never breaks a spec without the seed's services.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    fixed: dict[str, float] = field(default_factory=dict)
    """metric → value served instead of the healthy one"""
    rising: dict[str, float] = field(default_factory=dict)
    """metric → increase per second from the healthy value, since the scenario began"""
    ready: bool = True
    heartbeat: bool = True
    canaries: tuple[float, ...] = ()
    """unique-answer share of each canary instance (c1, c2, …; the rest healthy)"""
    tick_delay: float = 0.0
    """extra work per tick of the control loop, at most this many seconds (random)"""
    events: dict[str, float] = field(default_factory=dict)
    """event stream (`<slo id>/<group>`) → share of bad events, instead of the healthy one"""
    slices: dict[str, Callable[[float], float]] = field(default_factory=dict)
    """gauge → its value at a time (seconds of the spec's clock since the scenario began)"""
    missing: frozenset[str] = frozenset()
    """event streams and gauges not served at all (no data)"""


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("healthy", "every value inside the spec's thresholds"),
        Scenario(
            "phase-drift",
            "the bridge phase difference above its 0.03 ceiling",
            fixed={"bridge_phase_diff": 0.04},
        ),
        Scenario("entropy-spike", "the bridge entropy ratio above 0.15", fixed={"bridge_entropy_ratio": 0.3}),
        Scenario("jitter", "the bridge loop's work overruns a 50 ms tick by up to 60 ms", tick_delay=0.11),
        Scenario("not-ready", "every /readyz answers 503", ready=False),
        Scenario("heartbeat-stall", "the heartbeat writer stops beating", heartbeat=False),
        Scenario(
            "canary-regression",
            "two of three canaries answer only 80 % unique (quorum missed) and DuRi leaves GREEN",
            fixed={"duri_green": 0.0},
            canaries=(0.97, 0.8, 0.8),
        ),
        Scenario(
            "canary-one-bad",
            "one of three canaries answers only 80 % unique (a quorum of two still passes)",
            canaries=(0.97, 0.97, 0.8),
        ),
        Scenario(
            "lyapunov-rising", "Lyapunov V rises by 0.001 per second", rising={"duri_lyapunov_v": 0.001}
        ),
    )
}
