"""The simulated world: the current scenario, the value of every exported gauge now and the
request traffic behind every counter and histogram (runtime/traffic.py)."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field

from generator.model import Spec
from runtime.levels import Level, healthy_level
from runtime.scenarios import SCENARIOS, Scenario
from runtime.traffic import Traffic


class UnknownScenario(ValueError):
    pass


@dataclass
class World:
    levels: dict[str, Level]
    scenario: Scenario = field(default_factory=lambda: SCENARIOS["healthy"])
    since: float = field(default_factory=time.monotonic)
    driven: dict[str, float] = field(default_factory=dict)
    """gauges a control loop sets (its own state), served as they are"""
    instances: dict[str, dict[str, float]] = field(default_factory=dict)
    """metric → instance → value, for gauges served once per instance (the canaries)"""
    lock: threading.Lock = field(default_factory=threading.Lock)
    scenarios: dict[str, Scenario] = field(default_factory=lambda: dict(SCENARIOS))
    traffic: Traffic | None = None
    time_scale: float = 1.0
    """seconds of the spec's clock per real second (the sandbox's speed-up)"""

    @classmethod
    def from_spec(cls, spec: Spec, time_scale: float = 1.0) -> World:
        from runtime.slo_scenarios import healthy_shares, spec_scenarios

        levels = {
            metric.name: healthy_level(service, metric.name)
            for service in spec.services
            for metric in service.metrics
            if metric.type == "gauge" and not metric.external
        }
        traffic = Traffic.from_spec(spec, healthy_shares(spec))
        return cls(levels, scenarios=spec_scenarios(spec), traffic=traffic, time_scale=time_scale)

    def switch(self, name: str) -> Scenario:
        scenario = self.scenarios.get(name)
        if scenario is None:
            raise UnknownScenario(f"unknown scenario {name!r}; known: {', '.join(self.scenarios)}")
        with self.lock:
            self.scenario, self.since = scenario, time.monotonic()
        if self.traffic is not None:
            self.traffic.switch(scenario.events, set(scenario.missing))
        return scenario

    def served(self, metric: str) -> bool:
        """False while the scenario withholds the gauge (no data)."""
        with self.lock:
            return metric not in self.scenario.missing

    def target(self, metric: str) -> float:
        """What the world wants the gauge to read now (a loop approaches it tick by tick)."""
        level = self.levels[metric]
        with self.lock:
            scenario, since = self.scenario, self.since
        if metric in scenario.fixed:
            return scenario.fixed[metric]
        if metric in scenario.slices:
            return scenario.slices[metric]((time.monotonic() - since) * self.time_scale)
        value = level.value + scenario.rising.get(metric, 0.0) * (time.monotonic() - since)
        if level.spread:
            value += (
                level.spread * math.sin(time.monotonic() * 1.7) + random.uniform(-0.1, 0.1) * level.spread
            )
        return value

    def per_instance(self, metric: str) -> dict[str, float]:
        with self.lock:
            return dict(self.instances.get(metric, {}))

    def value(self, metric: str) -> float:
        with self.lock:
            driven = self.driven.get(metric)
        return driven if driven is not None else self.target(metric)
