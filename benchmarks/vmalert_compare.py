#!/usr/bin/env python3
"""The vmalert comparison: generated SLO rules replayed by vmalert over VictoriaMetrics vs promtool.

For every SLO test file of the bundled spec (generated/prometheus/tests) and of the HTTP fixture
(tests/fixtures/specs/http, generated into a temporary directory), this script runs
tests/vm_replay.py's comparison on its own loopback-only VictoriaMetrics and prints one row:

  cases          the test file's alert_rule_test and promql_expr_test cases, and how many hold
                 on vmalert (alerts at the same eval time or within one evaluation interval)
  case Δ         the largest |VictoriaMetrics − expected| of an expected sample
  fire Δ         the largest firing-time difference of a case / of the whole firing timelines
                 against promtool over left-open windows / over the rules as written (s; "-":
                 not the same number of start/stop edges)
  series         recorded-series probes equal to promtool's (1e-6), left-open / as written
  series Δ       the largest |VictoriaMetrics − promtool| of a probe, left-open / as written
  replay         wall time of the vmalert replays (all tests of the file at once)

Needs victoria-metrics, vmalert (Debian package victoria-metrics) and promtool (prometheus).
Run with `.venv/bin/python benchmarks/vmalert_compare.py [test files…]`.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from vm_replay import Comparison, compare  # noqa: E402

BUNDLED = ROOT / "generated" / "prometheus" / "tests"
HTTP_SPEC = ROOT / "tests" / "fixtures" / "specs" / "http"
HEADER = (
    "test file",
    "cases",
    "case Δ",
    "fire Δ case/open/written",
    "series open/written",
    "series Δ open/written",
)


def slo_test_files(tests: Path) -> list[Path]:
    """The per-SLO test files (`<service>.<slo>.yml`), gates excluded."""
    return sorted(p for p in tests.glob("*.*.yml") if ".gate." not in p.name)


def generate_http(out: Path) -> Path:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "gen", "--spec", str(HTTP_SPEC), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"obsgen gen {HTTP_SPEC} failed:\n{result.stderr}")
    return out / "prometheus" / "tests"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"{name} is not installed; `make debs` installs it")
    return path


def shift(seconds: int | None) -> str:
    return "-" if seconds is None else f"{seconds}"


def row(c: Comparison) -> tuple[str, ...]:
    shifts = "/".join(
        shift(s) for s in (c.max_case_shift, c.max_timeline_shift(True), c.max_timeline_shift(False))
    )
    open_ok, probes = c.series_agreeing(True)
    written_ok, _ = c.series_agreeing(False)
    return (
        c.test_file,
        f"{c.agreeing}/{len(c.cases)}",
        f"{c.max_case_diff:.2g}",
        shifts,
        f"{open_ok}/{written_ok} of {probes}",
        f"{c.max_series_diff(True):.3g}/{c.max_series_diff(False):.3g}",
        f"{c.replay_seconds:.1f}s",
    )


def print_table(rows: list[tuple[str, ...]]) -> None:
    table = [(*HEADER, "replay"), *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    for r in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())


def number(value: float | None) -> str:
    return "absent" if value is None else f"{value:.6g}"


def differences(c: Comparison) -> None:
    """The series that differ from promtool over left-open windows: how often, the worst probe."""
    for stat in c.series_open:
        if stat.differences:
            worst = max(stat.differences, key=lambda d: d.diff)
            values = f"promtool {number(worst.promtool)}, vm {number(worst.victoria)}"
            where = f"at {worst.at}s of {worst.test[:48]!r}"
            print(f"  {c.test_file} {stat.name} {len(stat.differences)}/{stat.probes}: {values} {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="promtool test files (default: every SLO's)")
    args = parser.parse_args()
    tools = binary("victoria-metrics"), binary("vmalert"), binary("promtool")
    with tempfile.TemporaryDirectory(prefix="vmalert-bench-") as tmp:
        files = args.files or slo_test_files(BUNDLED) + slo_test_files(generate_http(Path(tmp) / "http"))
        started = time.monotonic()
        results = [compare([f], *tools, as_written=True)[0] for f in files]
    print("the vmalert comparison: vmalert replay over VictoriaMetrics vs promtool")
    print_table([row(c) for c in results])
    print("differences from promtool over left-open windows:")
    for c in results:
        differences(c)
    print(f"total {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
