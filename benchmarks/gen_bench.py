#!/usr/bin/env python3
"""Generation benchmarks: the bundled spec, and 1,000 and 10,000 synthetic SLOs.

Run with `make bench`. Prints a table and writes benchmarks/out/gen.json. Wall times are
medians of several runs of the real CLI in a fresh interpreter (what `make gen` pays); the
synthetic runs also report the peak RSS of the largest process and the bytes and files written
(each run into a fresh directory, with the default outputs), and a rerun on an up-to-date tree.
The 1,000-SLO runs are made with the default jobs (one process per core) and with `-j 1`. Plus
an in-process breakdown of the 1,000-SLO run by stage.

No output tree is deleted until every run is timed: on an ext4 without a journal (this
machine's), creating files within 30 s of deleting thousands is several times slower (the inode
allocator skips recently deleted inodes one by one), which made a run that followed the deletion
of the previous run's 3,300 files take 1.5-2 s longer to write, a cost of the benchmark's own
cleanup, not of `obsgen gen`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
SERVICES, SLOS_PER_SERVICE = 100, 10
SIZES = {1_000: 3, 10_000: 1}
"""synthetic SLOs → runs"""

SETTINGS = "settings:\n  runbook_base_url: https://runbooks.example.test\n"


def synthetic_service(index: int) -> str:
    """A service with five threshold and five events SLOs, objectives varying."""
    name = f"svc{index:03d}"
    lines = [
        f"service: {name}",
        "realm: prod",
        f"scrape: {{port: {20000 + index % 40000}}}",
        "metrics:",
        f"  - {{name: {name}_lag, type: gauge, help: Lag.}}",
        f"  - {{name: {name}_requests_total, type: counter, help: Requests.}}",
        f"  - {{name: {name}_errors_total, type: counter, help: Errors.}}",
        "signals:",
        f"  - {{record: '{name}:lag_mean_5m', metric: {name}_lag, function: mean, window: 5m}}",
        "slos:",
    ]
    objectives = (99.0, 99.5, 98.0, 99.0, 99.5)
    for i in range(SLOS_PER_SERVICE):
        objective = objectives[i % len(objectives)]
        if i % 2 == 0:
            sli = f"{{threshold: {{signal: '{name}:lag_mean_5m', op: '<=', value: {0.01 * (i + 1):g}}}}}"
        else:
            events = f"errors: {{metric: {name}_errors_total}}, total: {{metric: {name}_requests_total}}"
            sli = f"{{ratio: {{{events}}}}}"
        lines.append(f"  - {{name: slo{i}, objective: {objective}, sli: {sli}}}")
    return "\n".join(lines) + "\n"


def write_synthetic(spec_dir: Path, services: int = SERVICES) -> None:
    spec_dir.mkdir(parents=True)
    (spec_dir / "obsgen.yaml").write_text(SETTINGS)
    for index in range(services):
        (spec_dir / f"svc{index:03d}.yaml").write_text(synthetic_service(index))


def synthetic_sloth(services: int = SERVICES) -> str:
    """One multi-document Sloth file: `services` services of SLOS_PER_SERVICE events SLOs each."""
    docs = []
    for index in range(services):
        name = f"svc{index:03d}"
        lines = ["version: prometheus/v1", f"service: {name}", "labels: {team: bench}", "slos:"]
        for i in range(SLOS_PER_SERVICE):
            rate = f"sum(rate({name}_requests_total{{code=~'5..'}}[{{{{.window}}}}]))"
            total = f"sum(rate({name}_requests_total[{{{{.window}}}}]))"
            lines += [
                f"  # SLO {i} of {name}",
                f"  - name: slo{i}",
                "    objective: 99.9",
                f'    sli: {{events: {{error_query: "{rate}", total_query: "{total}"}}}}',
                f"    alerting: {{name: Svc{index:03d}Slo{i}Burn, page_alert: {{labels: {{team: a}}}}}}",
            ]
        docs.append("\n".join(lines) + "\n")
    return "---\n".join(docs)


def cli_wall(args: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "generator", *args], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def cli_run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and the child's peak RSS in MB (its own rusage, from wait4)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "generator", *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=errors
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"obsgen {' '.join(args)} failed: {errors.read().decode()}")
    return wall, usage.ru_maxrss / 1024


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def synthetic(tmp: Path, slos: int, runs: int, jobs: list[str]) -> dict[str, float]:
    """`obsgen gen` of `slos` synthetic SLOs, `runs` times, each into a fresh directory; then
    once more onto the first run's tree, now up to date (read and compare only)."""
    label = "".join(jobs) or "default"
    spec_dir = tmp / f"spec{slos}"
    if not spec_dir.exists():
        write_synthetic(spec_dir, slos // SLOS_PER_SERVICE)
    outs = [tmp / f"out{slos}-{label}-{run}" for run in range(runs)]
    walls, rss = [], []
    for out_dir in outs:
        wall, peak = cli_run(["gen", "--spec", str(spec_dir), "--out", str(out_dir), *jobs])
        walls.append(wall)
        rss.append(peak)
    size, files = tree_size(outs[0])
    rerun, _ = cli_run(["gen", "--spec", str(spec_dir), "--out", str(outs[0]), *jobs])
    return {
        f"wall s (min of {runs})": min(walls),
        f"wall s (median of {runs})": statistics.median(walls),
        "peak RSS MB (largest process)": max(rss),
        "MB written": size / 1e6,
        "files written": files,
        "up-to-date rerun wall s": rerun,
    }


def stages(spec_dir: Path, out_dir: Path) -> dict[str, float]:
    """The 1,000-SLO run in process, by stage of the pipeline, as `obsgen gen` runs it."""
    from generator.compile_commands import jobs_for
    from generator.pipeline import load, render_outputs
    from generator.writer import with_marker, write_tree

    marks: dict[str, float] = {}
    t = time.perf_counter()
    spec = load(spec_dir, scenarios=False)
    marks["load + model + validate (but the test designs)"] = time.perf_counter() - t
    t = time.perf_counter()
    jobs = jobs_for(spec, None)
    rendered = render_outputs(spec, jobs)
    marks[f"design tests + compile + render, {jobs} process(es)"] = time.perf_counter() - t
    t = time.perf_counter()
    write_tree(out_dir, with_marker(rendered.outputs))
    marks["write"] = time.perf_counter() - t
    marks["output MB"] = sum(len(v) for v in rendered.outputs.values()) / 1e6
    marks["output files"] = len(rendered.outputs)
    return marks


def main() -> None:
    sys.path.insert(0, str(ROOT))
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        bundled_out = Path(tmp) / "bundled"
        bundled = cli_wall(["gen", "--out", str(bundled_out)], runs=7)
        check = cli_wall(["gen", "--check"], runs=5)
        results["bundled spec: obsgen gen (s, median of 7)"] = statistics.median(bundled)
        results["bundled spec: obsgen gen (s, min of 7)"] = min(bundled)
        results["bundled spec: obsgen gen --check (s, median of 5)"] = statistics.median(check)
        for slos, runs in SIZES.items():
            results[f"{slos} synthetic SLOs: obsgen gen"] = synthetic(Path(tmp), slos, runs, [])
        results["1000 synthetic SLOs: obsgen gen -j 1"] = synthetic(
            Path(tmp), 1_000, SIZES[1_000], ["-j", "1"]
        )
        spec_dir, out_dir = Path(tmp) / "spec", Path(tmp) / "out"
        write_synthetic(spec_dir)
        breakdown = stages(spec_dir, out_dir)
        sloth_file, imported = Path(tmp) / "sloth.yml", Path(tmp) / "imported"
        sloth_file.write_text(synthetic_sloth())
        importing = []
        for _ in range(3):
            shutil.rmtree(imported, ignore_errors=True)
            importing += cli_wall(["import", "sloth", str(sloth_file), "--out", str(imported)], runs=1)
    results[f"{SERVICES * SLOS_PER_SERVICE} Sloth SLOs: obsgen import sloth (s, median of 3)"] = (
        statistics.median(importing)
    )
    results["1000-SLO stages (s)"] = breakdown
    width = max(len(k) for k in results) + 4
    print(f"{'benchmark':<{width}}  value")
    for key, value in results.items():
        if isinstance(value, dict):
            print(key)
            for stage, seconds in value.items():
                print(f"{'  ' + stage:<{width}}  {seconds:.3f}")
        else:
            print(f"{key:<{width}}  {value:.3f}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "gen.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {OUT / 'gen.json'}")


if __name__ == "__main__":
    main()
