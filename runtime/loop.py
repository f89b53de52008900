"""A real periodic control loop (the seed's bridge: gain / tick / guard) that measures how
late each tick starts into a histogram."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable

from prometheus_client import Histogram

from generator.model.service import Loop
from runtime.world import World

JITTER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)


StateHook = Callable[[int, float, float], None]
"""called with (tick, target, phase) every `every` ticks: the runtime persists the loop's state"""


class ControlLoop(threading.Thread):
    def __init__(
        self,
        loop: Loop,
        world: World,
        jitter: Histogram,
        on_state: StateHook | None = None,
        every: int = 100,
        phase: float | None = None,
    ) -> None:
        super().__init__(name=f"loop-{loop.metric}", daemon=True)
        self.loop, self.world, self.jitter = loop, world, jitter
        self.on_state, self.every = on_state, every
        self.stopping = threading.Event()
        self.state = world.target(loop.metric) if phase is None else phase
        """the phase; a restarted runtime resumes from the last one it recorded"""
        self.target = self.state
        self.ticks = 0
        self.history: deque[tuple[int, float]] = deque(maxlen=8192)
        """(tick number, lateness) of the last ticks, for benchmarks"""
        self.largest_step = 0.0
        """the largest correction a tick asked for, before the guard (for `obsgen autotune`)"""

    def run(self) -> None:
        period = self.loop.tick / 1000
        start = time.monotonic()
        tick = 0
        while not self.stopping.is_set():
            tick += 1
            scheduled = start + tick * period
            pause = scheduled - time.monotonic()
            if pause > 0 and self.stopping.wait(pause):
                break
            late = max(0.0, time.monotonic() - scheduled)
            self.jitter.observe(late)
            self.ticks += 1
            self.history.append((self.ticks, late))
            self.step()
            if self.on_state is not None and self.ticks % self.every == 0:
                self.on_state(self.ticks, self.target, self.state)
            if late > period:  # skip the ticks already missed instead of bursting through them
                tick += int(late // period)

    def step(self) -> None:
        self.target = target = self.world.target(self.loop.metric)
        wanted = self.loop.gain * (target - self.state)
        self.largest_step = max(self.largest_step, abs(wanted))
        correction = max(-self.loop.guard, min(self.loop.guard, wanted))
        self.state += correction
        with self.world.lock:
            self.world.driven[self.loop.metric] = self.state
            delay = self.world.scenario.tick_delay
        if delay:
            time.sleep(random.uniform(0, delay))

    def lateness_since(self, tick: int) -> list[float]:
        return [late for _, late in self.ticks_since(tick)]

    def ticks_since(self, tick: int) -> list[tuple[int, float]]:
        """(tick number, lateness) of the ticks after `tick` still in the history."""
        return [(number, late) for number, late in list(self.history) if number > tick]

    def stop(self) -> None:
        self.stopping.set()
