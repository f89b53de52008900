"""Pyrra's alerting: its burn-rate windows (derived from the SLO window) and `spec.alerting`.

Pyrra scales four window pairs to the SLO window (slo/rules.go `Windows`): for 28d they are
1h/5m ×14 and 6h/30m ×7 (severity critical), 1d/2h ×2 and 4d/6h ×1 (warning); each long and
short window is the SLO window over a fixed divisor, rounded to the minute. An alert fires when
both windows' error ratios exceed factor × (1 − target), as obsgen's `alerting.windows` do.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, NamedTuple

from generator.durations import format_duration
from generator.importers.document import OutFile
from generator.importers.pyrra.context import Import
from generator.importers.source import Cursor, PathKey

ALERTING_KEYS = ("disabled", "burnrates", "absent", "name", "absentName", "severities")
SEVERITY_KEYS = ("fastBurn", "mediumBurn", "slowBurn", "longTermBurn", "absent")
TIER_SEVERITIES = {
    "page": ("fastBurn", "mediumBurn", "critical"),
    "ticket": ("slowBurn", "longTermBurn", "warning"),
}
"""obsgen tier → Pyrra's two severities it covers, and Pyrra's default severity for them"""
ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
NANOSECONDS = 10**9
MINUTE = 60 * NANOSECONDS


class PyrraWindow(NamedTuple):
    severity: str
    """obsgen's tier: page for Pyrra's critical windows, ticket for its warning ones"""
    long: int
    short: int
    factor: int


PYRRA_WINDOWS = (("page", 28 * 24, 28 * 24 * 12, 14), ("page", 28 * 4, 28 * 24 * 2, 7))
PYRRA_WINDOWS += (("ticket", 28, 28 * 12, 2), ("ticket", 7, 28 * 4, 1))
"""(tier, divisor of the long window, divisor of the short one, factor), as Pyrra's `Windows`"""


def pyrra_windows(period: int) -> list[PyrraWindow]:
    """Pyrra's window pairs for an SLO window of `period` seconds, in seconds."""
    return [
        PyrraWindow(tier, _go_minutes(period, long), _go_minutes(period, short), factor)
        for tier, long, short, factor in PYRRA_WINDOWS
    ]


def _go_minutes(period: int, divisor: int) -> int:
    """Seconds of Go's `(time.Duration(period) / divisor).Round(time.Minute)`: integer nanoseconds,
    halves rounded away from zero."""
    share = period * NANOSECONDS // divisor
    minutes, rest = divmod(share, MINUTE)
    return (minutes + (2 * rest >= MINUTE)) * 60


def set_windows(
    imp: Import, out: OutFile, at: PathKey, period: int, window: Cursor, target: Fraction | None
) -> None:
    """`alerting.windows` as Pyrra's; a pair whose threshold is 100 % or more (it can never fire,
    in Pyrra either) is left out, with a note."""
    windows = pyrra_windows(period)
    if any(w.short == 0 for w in windows):
        imp.refuse(
            window,
            f"Pyrra derives its alert windows from the SLO window, and for {window.value} the shortest "
            "rounds to 0s (the window / 8064, to the minute), which no alert can read; give a window "
            "of 3d or longer",
        )
        return
    kept: list[dict[str, Any]] = []
    for w in windows:
        pair = f"{format_duration(w.long)}/{format_duration(w.short)}"
        if target is not None and w.factor * (1 - target / 100) >= 1:
            budget = float(1 - target / 100)
            out.note(
                (*at, "windows"),
                f"Pyrra's {pair} pair (factor {w.factor}) is left out: {w.factor} × the error budget "
                f"{budget:g} = {w.factor * budget:g}, an error ratio above 100 %, so it can never fire",
            )
            continue
        kept.append(
            {
                "severity": w.severity,
                "long": format_duration(w.long),
                "short": format_duration(w.short),
                "factor": w.factor,
            }
        )
    out.set((*at, "windows"), kept, window)


def set_alerting(
    imp: Import, out: OutFile, at: PathKey, alerting: Cursor | None, annotations: dict[str, str]
) -> None:
    """`spec.alerting` and the propagated annotations → the SLO's `alerting` (its windows come after)."""
    base = (*at, "alerting")
    out.set(base, {}, alerting)
    if alerting is not None:
        _alert_name(imp, out, base, alerting.get("name"))
    if annotations:
        out.set((*base, "annotations"), annotations)
    if alerting is None:
        return
    imp.check_keys(alerting, ALERTING_KEYS)
    flags = {key: _flag(imp, alerting, key) for key in ("disabled", "burnrates", "absent")}
    severities = _tier_severities(imp, alerting.get("severities"))
    off = "disabled" if flags["disabled"] is True else "burnrates" if flags["burnrates"] is False else None
    for tier in ("page", "ticket"):
        if off is not None:
            out.set((*base, tier, "disabled"), True, alerting.get(off))
        if tier in severities:
            out.set((*base, tier, "labels"), {"severity": severities[tier]}, alerting.get("severities"))


def _flag(imp: Import, alerting: Cursor, key: str) -> bool | None:
    node = alerting.get(key)
    if node is None:
        return None
    if not isinstance(node.value, bool):
        imp.refuse(node, f"expected true or false, got {node.text()!r}")
        return None
    return node.value


def _alert_name(imp: Import, out: OutFile, base: PathKey, name: Cursor | None) -> None:
    """obsgen alert names are CamelCase (kubernetes-mixin); Pyrra's are free. Say when it changes."""
    if name is None:
        return
    if not isinstance(name.value, str) or not name.value:
        imp.refuse(name, "expected an alert name (text)")
        return
    text = name.value
    camel = (
        text
        if ALERT_NAME.match(text)
        else "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", text) if w)
    )
    out.set((*base, "name"), camel, name)
    if camel != text:
        out.note((*base, "name"), f"Pyrra's alert name was {text!r}; obsgen alert names are CamelCase")


def _tier_severities(imp: Import, severities: Cursor | None) -> dict[str, str]:
    """obsgen tier → the `severity` label Pyrra's `severities` give both of its windows."""
    if severities is None:
        return {}
    if not severities.is_map():
        imp.refuse(severities, "expected a mapping of fastBurn, mediumBurn, slowBurn, longTermBurn, absent")
        return {}
    imp.check_keys(severities, SEVERITY_KEYS)
    given = {k: _severity(imp, severities, k) for k in SEVERITY_KEYS}
    found: dict[str, str] = {}
    for tier, (first, second, default) in TIER_SEVERITIES.items():
        if given[first] is None and given[second] is None:
            continue
        values = [given[first] or default, given[second] or default]
        if values[0] != values[1]:
            imp.refuse(
                severities,
                f"{first} is {values[0]!r} and {second} is {values[1]!r}: obsgen's {tier} alert covers both "
                "of these windows with one set of labels; give them the same severity",
            )
            continue
        found[tier] = values[0]
    return found


def _severity(imp: Import, severities: Cursor, key: str) -> str | None:
    """One of Pyrra's `severities` ("" when left empty, which Pyrra reads as its default)."""
    node = severities.get(key)
    if node is None:
        return None
    text = node.text()
    if text is None:
        imp.refuse(node, "expected a severity label value (text)")
    return text
