"""Sloth's alert windows (`AlertWindows` specs, `--slo-period-windows-path`) → `alerting.windows`.

Sloth knows the SRE workbook's windows for a 30-day period, which are obsgen's defaults too;
for any other period it needs an AlertWindows file, and so does this import — a period without
windows is refused, as Sloth refuses it, rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from generator.durations import format_duration, parse_duration
from generator.errors import SpecError, SpecIssue
from generator.importers.source import Cursor, load_documents

SLOTH_DEFAULT_PERIOD = 30 * 86400
TIERS = (("page", "quick"), ("page", "slow"), ("ticket", "quick"), ("ticket", "slow"))


@dataclass(frozen=True)
class WindowSets:
    custom: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """SLO period → its windows in the native spec's shape"""

    def for_period(self, period: int) -> list[dict[str, Any]] | None:
        """The windows to write ([] for obsgen's defaults), or None when none are known."""
        if period in self.custom:
            return self.custom[period]
        return [] if period == SLOTH_DEFAULT_PERIOD else None

    def missing(self, period: int) -> str:
        known = sorted({SLOTH_DEFAULT_PERIOD, *self.custom})
        return (
            f"no alert windows for a {format_duration(period)} SLO period: Sloth (and this import) know "
            f"windows for {', '.join(format_duration(p) for p in known)}; give this period's windows "
            "in a Sloth AlertWindows file with --windows FILE"
        )


def load_window_files(paths: list[Path]) -> WindowSets:
    custom: dict[int, list[dict[str, Any]]] = {}
    issues: list[SpecIssue] = []
    for path in paths:
        for root in load_documents(path):
            found = _windows(root, issues)
            if found is not None:
                custom[found[0]] = found[1]
    if issues:
        raise SpecError(issues)
    return WindowSets(custom)


def _windows(root: Cursor, issues: list[SpecIssue]) -> tuple[int, list[dict[str, Any]]] | None:
    api, kind, spec = root.get("apiVersion"), root.get("kind"), root.get("spec")
    if api is None or api.value != "sloth.slok.dev/v1" or kind is None or kind.value != "AlertWindows":
        issues.append(root.issue("expected apiVersion: sloth.slok.dev/v1 and kind: AlertWindows"))
        return None
    period_node = spec.get("sloPeriod") if spec else None
    if spec is None or period_node is None:
        issues.append((spec or root).issue("an AlertWindows spec needs spec.sloPeriod"))
        return None
    period = _duration(period_node, issues)
    windows: list[dict[str, Any]] = []
    for severity, speed in TIERS:
        node = spec.get(severity)
        window = node.get(speed) if node else None
        if window is None:
            issues.append((node or spec).issue(f"missing {severity}.{speed} (errorBudgetPercent, windows)"))
            continue
        parts = {key: window.get(key) for key in ("errorBudgetPercent", "shortWindow", "longWindow")}
        if any(v is None for v in parts.values()):
            issues.append(window.issue("needs errorBudgetPercent, shortWindow and longWindow"))
            continue
        assert parts["errorBudgetPercent"] and parts["shortWindow"] and parts["longWindow"]
        long = _duration(parts["longWindow"], issues)
        short = _duration(parts["shortWindow"], issues)
        if period is None or long is None or short is None:
            continue
        percent = _percent(parts["errorBudgetPercent"], issues)
        if percent is None:
            continue
        factor = percent / 100 * period / long
        windows.append(
            {
                "severity": severity,
                "long": format_duration(long),
                "short": format_duration(short),
                "factor": float(factor),
            }
        )
    return (period, windows) if period is not None and len(windows) == len(TIERS) else None


def _percent(node: Cursor, issues: list[SpecIssue]) -> Fraction | None:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        issues.append(
            node.issue(
                f"expected a percentage of the error budget above 0 and up to 100, got {node.text()!r}"
            )
        )
        return None
    return Fraction(str(value))


def _duration(node: Cursor, issues: list[SpecIssue]) -> int | None:
    try:
        return parse_duration(str(node.value))
    except ValueError as exc:
        issues.append(node.issue(str(exc)))
        return None
