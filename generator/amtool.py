"""Run the generated routing tests with the real amtool: `amtool config routes test
--verify.receivers=…` per alert, against generated/alertmanager/alertmanager.yml."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class RouteCheck:
    labels: dict[str, str]
    expected: list[str]
    got: list[str]

    @property
    def ok(self) -> bool:
        return self.got == self.expected


class AmtoolMissing(RuntimeError):
    """amtool is not installed (Debian package prometheus-alertmanager)."""


def amtool_path() -> str:
    path = shutil.which("amtool")
    if path is None:
        raise AmtoolMissing("amtool not found: install the Debian package prometheus-alertmanager")
    return path


def check_routes(config: Path, tests: Path, report: Callable[[str], None]) -> list[RouteCheck]:
    """Every case of the routing tests; each line reported as it is checked."""
    amtool = amtool_path()
    cases = yaml.safe_load(tests.read_text())["tests"]
    checks = []
    for case in cases:
        labels = {str(k): str(v) for k, v in case["labels"].items()}
        expected = [str(r) for r in case["receivers"]]
        args = [f"{k}={v}" for k, v in sorted(labels.items())]
        run = subprocess.run(
            [amtool, "config", "routes", "test", f"--config.file={config}", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        got = run.stdout.strip().split(",") if run.returncode == 0 and run.stdout.strip() else []
        check = RouteCheck(labels, expected, got)
        checks.append(check)
        state = "ok  " if check.ok else "FAIL"
        detail = "" if check.ok else f"  (amtool: {','.join(got) or run.stderr.strip()})"
        report(f"{state} {labels.get('alertname', '?')} {_brief(labels)} → {','.join(expected)}{detail}")
    return checks


def _brief(labels: dict[str, str]) -> str:
    shown = [f"{k}={labels[k]}" for k in ("severity", "service", "team", "slo_id") if k in labels]
    return "{" + ", ".join(shown) + "}"
