#!/usr/bin/env python3
"""Runtime benchmarks: exporter scrape latency and control-loop jitter under scrape load.

Run with `make bench`. Starts the bundled spec's runtime in-process on free loopback ports,
scrapes the bridge exporter (a new HTTP connection per scrape, as a cold scraper would) with 1
and with 8 concurrent scrapers, and reads the bridge loop's tick lateness while the 8 scrape.
Seed budgets: scrape p95 ≤ 150 ms, tick jitter p95 ≤ 25 ms. Prints a table and writes
benchmarks/out/runtime.json.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runtime.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.pipeline import load  # noqa: E402
from runtime.app import Options, Runtime  # noqa: E402
from runtime.loop import ControlLoop  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
T = TypeVar("T")
SCRAPES = 400
LOADED_SCRAPES = 3200
WARM_UP = 2.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def scrape_latencies(url: str, scrapers: int, per_scraper: int) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()

    def scrape() -> None:
        mine = []
        for _ in range(per_scraper):
            started = time.perf_counter()
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=scrape) for _ in range(scrapers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def measured_ticks(loop: ControlLoop, during: Callable[[], T]) -> tuple[T, list[float]]:
    """What `during` returns, and the lateness of every tick the loop made meanwhile."""
    first = loop.ticks
    result = during()
    return result, loop.lateness_since(first)


def main() -> None:
    spec = load(ROOT / "spec")
    bridge = spec.service("bridge")
    with tempfile.TemporaryDirectory() as tmp:
        options = Options(
            ports={s.service: free_port() for s in spec.services},
            control_port=free_port(),
            textfile_dir=Path(tmp) / "textfile",
            state_db=Path(tmp) / "runtime.sqlite",
        )
        runtime = Runtime(spec, options)
        runtime.start()
        try:
            time.sleep(WARM_UP)
            url = f"http://127.0.0.1:{options.ports['bridge']}{bridge.scrape.path}"
            (loop,) = runtime.loops
            single = scrape_latencies(url, 1, SCRAPES)
            loaded, jitter = measured_ticks(loop, lambda: scrape_latencies(url, 8, LOADED_SCRAPES // 8))
            _, idle = measured_ticks(loop, lambda: time.sleep(2))
        finally:
            runtime.stop()
    ms = 1000
    rows = {
        "scrape 1 scraper p50 (ms)": percentile(single, 0.50) * ms,
        "scrape 1 scraper p95 (ms)": percentile(single, 0.95) * ms,
        "scrape 1 scraper p99 (ms)": percentile(single, 0.99) * ms,
        "scrape 8 scrapers p50 (ms)": percentile(loaded, 0.50) * ms,
        "scrape 8 scrapers p95 (ms)": percentile(loaded, 0.95) * ms,
        "scrape 8 scrapers p99 (ms)": percentile(loaded, 0.99) * ms,
        "tick jitter p95, 8 scrapers (ms)": percentile(jitter, 0.95) * ms if jitter else float("nan"),
        "tick jitter p95, idle (ms)": percentile(idle, 0.95) * ms if idle else float("nan"),
        "ticks measured under load": float(len(jitter)),
        "tick (ms)": float(bridge.loop.tick if bridge.loop else 0),
    }
    width = max(len(k) for k in rows)
    print(f"{'runtime benchmark':<{width}}  value")
    for key, value in rows.items():
        print(f"{key:<{width}}  {value:8.3f}")
    budgets = {"scrape p95 ≤ 150 ms": rows["scrape 8 scrapers p95 (ms)"] <= 150}
    budgets["tick jitter p95 ≤ 25 ms"] = rows["tick jitter p95, 8 scrapers (ms)"] <= 25
    for name, met in budgets.items():
        print(f"seed budget {name}: {'met' if met else 'MISSED'}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runtime.json").write_text(json.dumps({"results": rows, "budgets_met": budgets}, indent=2) + "\n")
    print(f"written {OUT / 'runtime.json'}")


if __name__ == "__main__":
    main()
