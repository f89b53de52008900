"""The heartbeat writer: a unix timestamp into node_exporter's textfile directory every period.

Written to a temp file in the same directory and renamed over `<base>.prom`
(generator.atomic), so node_exporter never reads half a file (the temp name ends in .tmp, not
.prom, so it is never collected).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from generator import promql
from generator.atomic import write_file_atomically
from generator.model import Heartbeat, Service
from runtime.world import World


def heartbeat_text(service: Service, heartbeat: Heartbeat, now: float) -> str:
    series = promql.selector(heartbeat.metric, service.realm_matchers())
    return (
        f"# HELP {heartbeat.metric} Unix time of the last {service.service} heartbeat.\n"
        f"# TYPE {heartbeat.metric} gauge\n"
        f"{series} {now:.3f}\n"
    )


class HeartbeatWriter(threading.Thread):
    def __init__(
        self,
        service: Service,
        heartbeat: Heartbeat,
        directory: Path,
        world: World,
        period: float | None,
        on_beat: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(name=f"heartbeat-{heartbeat.metric}", daemon=True)
        self.service, self.heartbeat, self.world = service, heartbeat, world
        self.on_beat = on_beat
        """called with each beat's time once it is written (the runtime records the sequence)"""
        self.path = directory / f"{heartbeat.base}.prom"
        self.period = period or float(heartbeat.period)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            with self.world.lock:
                beating = self.world.scenario.heartbeat
            if beating:
                now = time.time()
                write_file_atomically(self.path, heartbeat_text(self.service, self.heartbeat, now))
                if self.on_beat is not None:
                    self.on_beat(now)
            self.stopping.wait(self.period)

    def stop(self) -> None:
        self.stopping.set()
