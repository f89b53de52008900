"""The runtime as one process: an exporter per service, the control loop, heartbeat writers,
the scenario control endpoint and (for the sandbox) the notification sink."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator.model import Spec
from runtime.control import Control
from runtime.exporter import Exporter, PortInUse
from runtime.heartbeat import HeartbeatWriter
from runtime.loop import ControlLoop
from runtime.sink import Sink
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
    """seconds between beats instead of the spec's period (the sandbox beats faster)"""
    sink_port: int | None = None
    sink_log: Path = Path(".sandbox/notifications.jsonl")
    scenario: str = "healthy"


class Runtime:
    def __init__(self, spec: Spec, options: Options) -> None:
        self.spec, self.options = spec, options
        self.world = World.from_spec(spec)
        self.world.switch(options.scenario)
        self.exporters: list[Exporter] = []
        self.loops: list[ControlLoop] = []
        self.writers: list[HeartbeatWriter] = []
        self.control: Control | None = None
        self.sink: Sink | None = None

    def start(self) -> None:
        """Bind everything first (a taken port fails before anything runs), then start."""
        try:
            for service in self.spec.services:
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
        for exporter in self.exporters:
            service = exporter.service
            if service.loop is not None:
                jitter = exporter.histograms[service.loop.jitter_metric]
                self.loops.append(ControlLoop(service.loop, self.world, jitter))
            if service.heartbeats:
                self.options.textfile_dir.mkdir(parents=True, exist_ok=True)
            for heartbeat in service.heartbeats:
                writer = HeartbeatWriter(
                    service, heartbeat, self.options.textfile_dir, self.world, self.options.heartbeat_period
                )
                self.writers.append(writer)
        for part in [*self.exporters, *self.loops, *self.writers, self.control, self.sink]:
            if part is not None:
                part.start()

    def stop(self) -> None:
        for part in [*self.loops, *self.writers]:
            part.stop()
        for server in [*self.exporters, self.control, self.sink]:
            if server is not None:
                server.stop()
