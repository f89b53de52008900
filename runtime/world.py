"""The simulated world: the current scenario and the value of every exported gauge now."""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass, field

from generator.model import Spec
from runtime.levels import Level, healthy_level
from runtime.scenarios import SCENARIOS, Scenario


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

    @classmethod
    def from_spec(cls, spec: Spec) -> World:
        levels = {
            metric.name: healthy_level(service, metric.name)
            for service in spec.services
            for metric in service.metrics
            if metric.type == "gauge" and not metric.external
        }
        return cls(levels)

    def switch(self, name: str) -> Scenario:
        scenario = SCENARIOS.get(name)
        if scenario is None:
            raise UnknownScenario(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
        with self.lock:
            self.scenario, self.since = scenario, time.monotonic()
        return scenario

    def target(self, metric: str) -> float:
        """What the world wants the gauge to read now (a loop approaches it tick by tick)."""
        level = self.levels[metric]
        with self.lock:
            scenario, since = self.scenario, self.since
        if metric in scenario.fixed:
            return scenario.fixed[metric]
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
