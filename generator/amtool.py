"""Run the generated routing tests with the real amtool: `amtool config routes test` per alert,
against generated/alertmanager/alertmanager.yml; its answer must be the expected receivers, and
include a pager for every page."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

# The integrations of alertmanager.yml that wake someone up; Slack, e-mail, Teams, Discord,
# Telegram… are chat. A webhook pages only where the spec says so (`pager: true`): a receiver
# counts as a pager when routing-tests.yml lists it in `pagers` and the config gives it one of these.
PAGING_CONFIGS = frozenset(
    {
        "pagerduty_configs",
        "opsgenie_configs",
        "victorops_configs",
        "pushover_configs",
        "incidentio_configs",
        "webhook_configs",
    }
)


@dataclass(frozen=True)
class RouteCheck:
    labels: dict[str, str]
    expected: list[str]
    got: list[str]
    needs_pager: bool = False
    """a page: amtool's answer must include one of `pagers`, whatever the spec expected"""
    pagers: frozenset[str] = frozenset()

    @property
    def paged(self) -> bool:
        return not self.needs_pager or bool(self.pagers & set(self.got))

    @property
    def ok(self) -> bool:
        return self.got == self.expected and self.paged


class AmtoolMissing(RuntimeError):
    """amtool is not installed (Debian package prometheus-alertmanager)."""


def amtool_path() -> str:
    path = shutil.which("amtool")
    if path is None:
        raise AmtoolMissing("amtool not found: install the Debian package prometheus-alertmanager")
    return path


def check_routes(config: Path, tests: Path, report: Callable[[str], None]) -> list[RouteCheck]:
    """Every case of the routing tests; each line reported as it is checked. A page must also
    reach a pager in amtool's answer, so a config that sends it only to chat fails."""
    amtool = amtool_path()
    document = yaml.safe_load(tests.read_text())
    cases = document["tests"]
    pagers = config_pagers(config, [str(p) for p in document.get("pagers") or []], report)
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
        check = RouteCheck(labels, expected, got, bool(case.get("needs_pager")), pagers)
        checks.append(check)
        state = "ok  " if check.ok else "FAIL"
        said = [] if check.got == check.expected else [f"amtool: {','.join(got) or run.stderr.strip()}"]
        said += [] if check.paged else ["a page that reaches no pager, only chat"]
        detail = f"  ({'; '.join(said)})" if said else ""
        report(f"{state} {labels.get('alertname', '?')} {_brief(labels)} → {','.join(expected)}{detail}")
    return checks


def config_pagers(config: Path, declared: list[str], report: Callable[[str], None]) -> frozenset[str]:
    """The receivers of `declared` (the spec's pagers) that page in the config under test: one
    stripped of its paging integration (or missing) no longer counts, and is reported."""
    receivers = {r.get("name"): r for r in (yaml.safe_load(config.read_text()) or {}).get("receivers") or []}
    found = set()
    for name in declared:
        integrations = sorted(
            k for k, v in (receivers.get(name) or {}).items() if k.endswith("_configs") and v
        )
        if PAGING_CONFIGS & set(integrations):
            found.add(name)
        else:
            kept = (", ".join(integrations) or "no integration") if name in receivers else "not defined"
            report(
                f"note: receiver {name} is a pager in the spec but not in {config.name} ({kept}): "
                "a page it hears does not count as paged"
            )
    return frozenset(found)


def _brief(labels: dict[str, str]) -> str:
    shown = [f"{k}={labels[k]}" for k in ("severity", "service", "team", "slo_id") if k in labels]
    return "{" + ", ".join(shown) + "}"
