#!/usr/bin/env python3
"""Runtime benchmarks: exporter scrape latency and control-loop jitter under scrape load.

Run with `make bench`. Starts the bundled spec's runtime in-process on free loopback ports,
scrapes the bridge exporter (a new HTTP connection per scrape, as a cold scraper would) with 1
and with 8 concurrent scrapers, and reads the bridge loop's tick lateness while the 8 scrape.
Seed budgets: scrape p95 ≤ 150 ms, tick jitter p95 ≤ 25 ms. Then the same 8 scrapers on the
largest service a user spec might give the simulator (LARGE_APIS counters and histograms, an
availability and a latency SLO each, grouped by handler). Prints a table and writes
benchmarks/out/runtime.json. The measuring functions live in runtime/bench.py, shared with
`obsgen bench bridge`.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from runtime.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator.pipeline import load  # noqa: E402
from runtime.app import Options, Runtime  # noqa: E402
from runtime.bench import measured_ticks, percentile, scrape_latencies  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
SCRAPES = 400
LOADED_SCRAPES = 3200
WARM_UP = 2.0
LARGE_APIS = 20


def large_service_spec(directory: Path) -> Path:
    """An `obsgen init` project whose one service has LARGE_APIS request counters and latency
    histograms (10 buckets), each read by a grouped availability and a latency SLO."""
    import subprocess

    project = directory / "large"
    subprocess.run(
        [sys.executable, "-m", "generator", "init", str(project), "--service", "large"],
        check=True,
        capture_output=True,
    )
    metrics, slos = [], []
    for i in range(LARGE_APIS):
        metrics += [
            f"  - {{name: api{i}_requests_total, type: counter, help: requests, labels: [code, handler]}}",
            f"  - {{name: api{i}_duration_seconds, type: histogram, help: latency, labels: [handler],"
            " buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]}",
        ]
        slos += [
            f"  - {{name: api{i}-availability, objective: 99.9, by: [handler], sli: {{ratio: "
            f"{{errors: 'api{i}_requests_total{{code=~\"5..\"}}', total: api{i}_requests_total}}}}}}",
            f"  - {{name: api{i}-latency, objective: 99, by: [handler], sli: {{latency: "
            f"{{histogram: api{i}_duration_seconds, below: 250ms}}}}}}",
        ]
    (project / "spec" / "large.yaml").write_text(
        "service: large\nscrape: {host: 127.0.0.1, port: 8080, path: /metrics}\nmetrics:\n"
        + "\n".join(metrics)
        + "\nslos:\n"
        + "\n".join(slos)
        + "\n"
    )
    return project / "spec"


def large_service_scrapes(directory: Path) -> tuple[list[float], int]:
    """8 scrapers' latencies on the large service, and the size of its exposition (bytes)."""
    spec = load(large_service_spec(directory))
    options = Options(
        ports={"large": free_port()},
        control_port=free_port(),
        textfile_dir=directory / "large-textfile",
        state_db=directory / "large.sqlite",
    )
    runtime = Runtime(spec, options)
    runtime.start()
    try:
        time.sleep(WARM_UP)
        url = f"http://127.0.0.1:{options.ports['large']}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            size = len(response.read())
        return scrape_latencies(url, 8, LOADED_SCRAPES // 8), size
    finally:
        runtime.stop()


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
        large, large_size = large_service_scrapes(Path(tmp))
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
        f"large service ({LARGE_APIS} APIs) exposition (KiB)": large_size / 1024,
        "large service scrape 8 scrapers p50 (ms)": percentile(large, 0.50) * ms,
        "large service scrape 8 scrapers p95 (ms)": percentile(large, 0.95) * ms,
        "tick (ms)": float(bridge.loop.tick if bridge.loop else 0),
    }
    width = max(len(k) for k in rows)
    print(f"{'runtime benchmark':<{width}}  value")
    for key, value in rows.items():
        print(f"{key:<{width}}  {value:8.3f}")
    budgets = {"scrape p95 ≤ 150 ms": rows["scrape 8 scrapers p95 (ms)"] <= 150}
    budgets["tick jitter p95 ≤ 25 ms"] = rows["tick jitter p95, 8 scrapers (ms)"] <= 25
    budgets["large service scrape p95 ≤ 150 ms"] = rows["large service scrape 8 scrapers p95 (ms)"] <= 150
    for name, met in budgets.items():
        print(f"seed budget {name}: {'met' if met else 'MISSED'}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runtime.json").write_text(json.dumps({"results": rows, "budgets_met": budgets}, indent=2) + "\n")
    print(f"written {OUT / 'runtime.json'}")


if __name__ == "__main__":
    main()
