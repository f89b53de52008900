"""Sloth's alert windows (`AlertWindows` specs, `--slo-period-windows-path`) → `alerting.windows`.

Sloth ships windows for two SLO periods, 30d and 28d (`SLOTH_SHIPPED`, its
internal/alert/windows/google-*.yaml); for any other period it needs an AlertWindows file, and
so does this import — a period without windows is refused, as Sloth refuses it, rather than
guessed. Unlike Sloth, whose windows path replaces the shipped ones, `--windows` files add to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from generator.durations import format_duration, parse_duration
from generator.errors import SpecError, SpecIssue
from generator.importers.source import Cursor, load_documents
from generator.slo_math import WORKBOOK_WINDOWS

SLOTH_DEFAULT_PERIOD = 30 * 86400
TIERS = (("page", "quick"), ("page", "slow"), ("ticket", "quick"), ("ticket", "slow"))
HOUR, DAY = 3600, 86400


@dataclass(frozen=True)
class AlertWindow:
    """One tier of a Sloth AlertWindows spec: the share of the period's error budget spent when
    the long window fires, and the two windows."""

    severity: str
    speed: str
    error_budget_percent: Fraction
    short: int
    long: int


GOOGLE_WINDOWS = (
    AlertWindow("page", "quick", Fraction(2), 5 * 60, HOUR),
    AlertWindow("page", "slow", Fraction(5), 30 * 60, 6 * HOUR),
    AlertWindow("ticket", "quick", Fraction(10), 2 * HOUR, DAY),
    AlertWindow("ticket", "slow", Fraction(10), 6 * HOUR, 3 * DAY),
)
"""Sloth's internal/alert/windows/google-30d.yaml and google-28d.yaml (github.com/slok/sloth,
Apache-2.0), which hold the same four tiers ("numbers obtained from
https://sre.google/workbook/alerting-on-slos/") for a 30d and a 28d period;
tests/fixtures/sloth/shipped/ holds verbatim copies."""
SLOTH_SHIPPED: dict[int, tuple[AlertWindow, ...]] = {30 * DAY: GOOGLE_WINDOWS, 28 * DAY: GOOGLE_WINDOWS}
"""SLO period → the windows Sloth uses for it without --slo-period-windows-path."""


def workbook_windows(period: int) -> list[dict[str, Any]]:
    """obsgen's default windows for `period` (the workbook's, scaled to it), spelled out."""
    return [_native(period, *window) for window in WORKBOOK_WINDOWS]


def native_windows(period: int, tiers: tuple[AlertWindow, ...]) -> list[dict[str, Any]]:
    """`alerting.windows` for an AlertWindows spec: factor = budget percent × period / long window,
    as Sloth computes it; [] when they are obsgen's defaults (the workbook's, scaled to the period)."""
    ours = [(severity, long, short, share * 100) for severity, long, short, share in WORKBOOK_WINDOWS]
    if [(t.severity, t.long, t.short, t.error_budget_percent) for t in tiers] == ours:
        return []
    return [_native(period, t.severity, t.long, t.short, t.error_budget_percent / 100) for t in tiers]


def _native(period: int, severity: str, long: int, short: int, budget_share: Fraction) -> dict[str, Any]:
    """One `alerting.windows` entry: factor = share of the budget × period / long window."""
    return {
        "severity": severity,
        "long": format_duration(long),
        "short": format_duration(short),
        "factor": float(budget_share * period / long),
    }


@dataclass(frozen=True)
class WindowSets:
    custom: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """SLO period → its windows in the native spec's shape"""
    shipped: tuple[int, ...] = (SLOTH_DEFAULT_PERIOD,)
    """periods whose windows are known without a file (of `SLOTH_SHIPPED`)"""

    def with_sloth_shipped(self) -> WindowSets:
        """These windows, and every period Sloth ships windows for."""
        return replace(self, shipped=tuple(sorted({*self.shipped, *SLOTH_SHIPPED})))

    def for_period(self, period: int) -> list[dict[str, Any]] | None:
        """The windows to write ([] for obsgen's defaults), or None when none are known."""
        if period in self.custom:
            return self.custom[period]
        if period in self.shipped:
            return native_windows(period, SLOTH_SHIPPED[period])
        return None

    def missing(self, period: int) -> str:
        known = sorted({*self.shipped, *self.custom})
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
            found = alert_windows(root, issues)
            if found is not None:
                custom[found[0]] = native_windows(*found)
    if issues:
        raise SpecError(issues)
    return WindowSets(custom)


def alert_windows(root: Cursor, issues: list[SpecIssue]) -> tuple[int, tuple[AlertWindow, ...]] | None:
    """The period and the four tiers of one AlertWindows document; None (and `issues`) if malformed."""
    api, kind, spec = root.get("apiVersion"), root.get("kind"), root.get("spec")
    if api is None or api.value != "sloth.slok.dev/v1" or kind is None or kind.value != "AlertWindows":
        issues.append(root.issue("expected apiVersion: sloth.slok.dev/v1 and kind: AlertWindows"))
        return None
    period_node = spec.get("sloPeriod") if spec else None
    if spec is None or period_node is None:
        issues.append((spec or root).issue("an AlertWindows spec needs spec.sloPeriod"))
        return None
    period = _duration(period_node, issues)
    tiers = [_tier(spec, severity, speed, issues) for severity, speed in TIERS]
    found = tuple(t for t in tiers if t is not None)
    return (period, found) if period is not None and len(found) == len(TIERS) else None


def _tier(spec: Cursor, severity: str, speed: str, issues: list[SpecIssue]) -> AlertWindow | None:
    node = spec.get(severity)
    window = node.get(speed) if node else None
    if window is None:
        issues.append((node or spec).issue(f"missing {severity}.{speed} (errorBudgetPercent, windows)"))
        return None
    parts = {key: window.get(key) for key in ("errorBudgetPercent", "shortWindow", "longWindow")}
    if any(v is None for v in parts.values()):
        issues.append(window.issue("needs errorBudgetPercent, shortWindow and longWindow"))
        return None
    assert parts["errorBudgetPercent"] and parts["shortWindow"] and parts["longWindow"]
    long = _duration(parts["longWindow"], issues)
    short = _duration(parts["shortWindow"], issues)
    percent = _percent(parts["errorBudgetPercent"], issues)
    if long is None or short is None or percent is None:
        return None
    return AlertWindow(severity, speed, percent, short, long)


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


def fireable(windows: list[dict[str, Any]], objective: float) -> tuple[list[dict[str, Any]], list[str]]:
    """The windows that can fire at `objective` (percent), and what each one left out says: an
    error ratio cannot exceed 1, so factor × error budget ≥ 1 never fires (Sloth writes it anyway,
    obsgen refuses it)."""
    budget = 1 - Fraction(str(objective)) / 100
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    for window in windows:
        threshold = Fraction(str(window["factor"])) * budget
        if threshold < 1:
            kept.append(window)
            continue
        dropped.append(
            f"Sloth's {window['severity']} alert over {window['long']}/{window['short']} can never fire: "
            f"factor {window['factor']:g} × error budget {float(budget):g} = {float(threshold):g} ≥ 1, "
            "and an error ratio cannot exceed 1; obsgen leaves that window out"
        )
    return kept, dropped
