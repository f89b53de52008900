"""The runtime as one process: an exporter per service, the control loop, heartbeat writers,
the scenario control endpoint, its state in SQLite and (for the sandbox) the notification sink."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from pathlib import Path

from generator.model import Spec
from generator.model.gates import QuorumCondition
from generator.model.service import Loop, Service
from runtime.bridge_config import LoopSettings
from runtime.control import Control
from runtime.exporter import Exporter, PortInUse
from runtime.heartbeat import HeartbeatWriter
from runtime.loop import ControlLoop
from runtime.sink import Sink
from runtime.state import (
    CANARY_INSTANCE,
    CANARY_METRIC,
    RUNTIME_METRICS,
    StateGauges,
    StateSchedule,
    StateStore,
    StateThread,
    StateUnavailable,
)
from runtime.world import World

__all__ = ["Options", "PortInUse", "Runtime"]


@dataclass(frozen=True)
class Options:
    listen: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)
    """service → port, overriding the spec's (the sandbox picks free ones in tests)"""
    control_port: int = 9399
    textfile_dir: Path = Path(".sandbox/textfile")
    heartbeat_period: float | None = None
    """seconds between beats instead of the spec's period ÷ time_scale"""
    time_scale: float = 1.0
    """how many times faster than the spec's durations the world runs (the sandbox's speed-up):
    heartbeat periods and scenario phases are divided by it"""
    sink_port: int | None = None
    sink_log: Path = Path(".sandbox/notifications.jsonl")
    scenario: str = "healthy"
    state_db: Path = Path(".sandbox/runtime.sqlite")
    """the runtime's state (SQLite, WAL); `<state_db>.lock` tells `obsgen dr restore` it is in use"""
    backup_dir: Path | None = None
    """where the runtime (on its cadence) and `obsgen dr backup` write snapshots, and the
    backup-age gauge reads them (default: backups/ next to state_db)"""
    state: StateSchedule = field(default_factory=StateSchedule)
    loops: dict[str, LoopSettings] = field(default_factory=dict)
    """service → the gain / tick / guard its loop runs with instead of the spec's (configs/bridge.yaml)"""
    services: tuple[str, ...] | None = None
    """the services this process serves (a runtime component: `obsgen component start ure`);
    None: every scraped service of the spec"""


def canary_instances(spec: Spec) -> tuple[str, ...]:
    """c1 … cN for the N canaries a quorum gate expects of the canary metric, else one."""
    for service in spec.services:
        for gate in service.gates:
            for condition in gate.conditions:
                if isinstance(condition, QuorumCondition) and any(
                    check.series == CANARY_METRIC for check in condition.checks
                ):
                    return tuple(f"c{i + 1}" for i in range(condition.of))
    return (CANARY_INSTANCE,)


def settings_gauges(service: str, loop: Loop) -> dict[str, float]:
    """The gauges a loop's settings are exported as, by name."""
    return {
        f"{service}_loop_gain": loop.gain,
        f"{service}_loop_tick_seconds": loop.tick / 1000,
        f"{service}_loop_guard": loop.guard,
    }


class Runtime:
    def __init__(self, spec: Spec, options: Options) -> None:
        self.spec, self.options = spec, options
        self.world = World.from_spec(spec, options.time_scale)
        self.world.switch(options.scenario)
        self.exporters: list[Exporter] = []
        self.loops: list[ControlLoop] = []
        self.writers: list[HeartbeatWriter] = []
        self.control: Control | None = None
        self.sink: Sink | None = None
        self.store: StateStore | None = None
        self.keeper: StateThread | None = None

    def start(self) -> None:
        """Bind everything first (a taken port fails before anything runs), then start."""
        try:
            for service in self.served_services():
                assert service.scrape is not None
                port = self.options.ports.get(service.service, service.scrape.port)
                self.exporters.append(Exporter(service, self.world, self.options.listen, port))
            self.control = Control(self.world, self.options.listen, self.options.control_port)
            if self.options.sink_port is not None:
                self.options.sink_log.parent.mkdir(parents=True, exist_ok=True)
                self.sink = Sink(self.options.listen, self.options.sink_port, self.options.sink_log)
        except OSError as exc:
            self.stop()
            raise PortInUse(f"cannot bind the control endpoint or sink: {exc.strerror or exc}") from None
        except PortInUse:
            self.stop()
            raise
        try:
            self.store = store = StateStore.open(self.options.state_db, self.options.services)
        except StateUnavailable as exc:
            self.stop()
            # runtime/cli.py reports PortInUse as `error: …`, exit 3: the same kind of failure, a
            # resource the runtime needs is held by someone else (or unusable).
            raise PortInUse(str(exc)) from None
        schedule = self.options.state
        for exporter in self.exporters:
            service = exporter.service
            if service.loop is not None:
                loop, phase = self._loop_of(service), store.last_phase(service.loop.metric)
                self._export_settings(service, loop)
                jitter = exporter.histograms[loop.jitter_metric]
                hook = store.guarded(functools.partial(self._record_loop, loop))
                self.loops.append(ControlLoop(loop, self.world, jitter, hook, schedule.loop_every, phase))
            if service.heartbeats:
                self.options.textfile_dir.mkdir(parents=True, exist_ok=True)
            for heartbeat in service.heartbeats:
                writer = HeartbeatWriter(
                    service,
                    heartbeat,
                    self.options.textfile_dir,
                    self.world,
                    self.options.heartbeat_period or heartbeat.period / self.options.time_scale,
                    store.guarded(store.record_beat),
                )
                self.writers.append(writer)
        backup_dir = self.options.backup_dir or self.options.state_db.parent / "backups"
        upkeep = self.options.state.scaled(self.options.time_scale)
        served = frozenset(m.name for e in self.exporters for m in e.service.metrics)
        self.keeper = keeper = StateThread(
            store, self.world, upkeep, canary_instances(self.spec), served, backup_dir=backup_dir
        )
        exporter = self._state_exporter()
        if exporter is not None:
            gauges = StateGauges(
                self.options.state_db, backup_dir, upkeep, lambda: keeper.upkeep_lock is not None
            )
            exporter.registry.register(gauges)  # type: ignore[arg-type]
        for part in [*self.exporters, *self.loops, *self.writers, self.keeper, self.control, self.sink]:
            if part is not None:
                part.start()

    def served_services(self) -> list[Service]:
        wanted = self.options.services
        return [s for s in self.spec.scraped_services if wanted is None or s.service in wanted]

    def _loop_of(self, service: Service) -> Loop:
        """The service's loop with the settings the options give it, else the spec's."""
        assert service.loop is not None
        settings = self.options.loops.get(service.service)
        return service.loop if settings is None else settings.applied_to(service.loop)

    def _export_settings(self, service: Service, loop: Loop) -> None:
        """Serve the values the loop runs with as `<service>_loop_gain`, `…_tick_seconds` and
        `…_guard`, when the service's catalog declares them."""
        values = settings_gauges(service.service, loop)
        declared = {m.name for m in service.metrics}
        with self.world.lock:
            self.world.driven.update({name: v for name, v in values.items() if name in declared})

    def _record_loop(self, loop: Loop, tick: int, target: float, phase: float) -> None:
        assert self.store is not None
        self.store.record_loop(loop.metric, loop.gain, loop.guard, tick, target, phase, time.time())

    def _state_exporter(self) -> Exporter | None:
        """The exporter serving the runtime's own DR gauges (while this process keeps the
        database): the first whose service's catalog declares them; in a component whose services
        do not, its first exporter, so a host running components (ure, bridge) still exports the
        state it keeps when the spec declares the gauges elsewhere. A spec that declares them
        nowhere (no DR alerts) gets no undeclared series."""
        declares = [e for e in self.exporters if any(m.name in RUNTIME_METRICS for m in e.service.metrics)]
        if declares:
            return declares[0]
        declared_anywhere = any(m.name in RUNTIME_METRICS for s in self.spec.services for m in s.metrics)
        component = self.options.services is not None
        return self.exporters[0] if component and declared_anywhere and self.exporters else None

    def stop(self) -> None:
        threads = [*self.loops, *self.writers, *([self.keeper] if self.keeper else [])]
        for part in threads:
            part.stop()
        for thread in threads:  # their last writes land before the database closes
            if thread.is_alive():
                thread.join(timeout=2)
        for server in [*self.exporters, self.control, self.sink]:
            if server is not None:
                server.stop()
        if self.store is not None:
            self.store.close()
