"""A v1 SLO's AlertPolicies and their burn-rate AlertConditions → the native `alerting.windows`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.durations import format_duration
from generator.importers.document import OutFile
from generator.importers.openslo.objects import ROUTING, Import
from generator.importers.openslo.service import note
from generator.importers.openslo.slo import Period, disabled_alerting
from generator.importers.openslo.values import duration_seconds, is_number, number, truthy
from generator.importers.source import Cursor, PathKey
from generator.importers.windows import SLOTH_DEFAULT_PERIOD

PAGE_SEVERITIES = ("page", "critical", "high")
CONDITION_KEYS = ("description", "severity", "condition")
POLICY_FLAGS = (
    ("alertWhenBreaching", True, "obsgen's burn-rate alerts fire while the condition breaches"),
    (
        "alertWhenResolved",
        False,
        "notifications on resolution are Alertmanager's send_resolved, set on the receivers in "
        "spec/alertmanager.yaml",
    ),
    (
        "alertWhenNoData",
        False,
        "obsgen does not alert on a burn rate without data; a time-slice SLI counts a slice "
        "without data as bad (missing_data), and heartbeats alert on absent targets",
    ),
)
"""An AlertPolicy's flags, the one value obsgen's alerts have, and why"""


@dataclass
class Window:
    """One burn-rate window pair of an AlertCondition, and where its parts came from."""

    origin: Cursor
    value: dict[str, Any]
    notes: list[str]
    fields: dict[str, Cursor]


def policy_windows(imp: Import, spec: Cursor) -> list[Window] | None:
    """The window of every burn-rate condition of the SLO's policies; None when it has no policies."""
    policies = spec.get("alertPolicies")
    if policies is None or not policies.items():
        return None
    windows: list[Window] = []
    for item in policies.items():
        policy = _policy(imp, item)
        if policy is None:
            continue
        found = _windows_of_policy(imp, policy)
        if found:
            found[0].notes[:0] = imp.header_once(policy)
        windows += found
    return windows


def set_alerting(
    imp: Import,
    spec: Cursor,
    at: PathKey,
    out: OutFile,
    policies: list[Window] | None,
    period: Period | bool | None,
) -> None:
    """The SLO's `alerting`: the policies' windows, or both tiers disabled when it has no policies."""
    base = (*at, "alerting")
    if policies is None:
        out.set(base, disabled_alerting(), spec.get("alertPolicies") or spec)
        note(
            out,
            base,
            "the source has no alertPolicies, so nothing alerts; remove these lines for obsgen's "
            "default burn-rate alerts (the SRE workbook's windows)",
        )
        seconds = period[0] if isinstance(period, tuple) else SLOTH_DEFAULT_PERIOD
        custom = imp.options.windows.custom.get(seconds)
        if custom:
            out.set((*base, "windows"), custom)
        return
    if not policies:
        return
    policy_cursor = spec.get("alertPolicies")
    assert policy_cursor is not None
    out.mark(base, policy_cursor)
    for index, window in enumerate(policies):
        at_window = (*base, "windows", index)
        out.set(at_window, window.value, window.origin)
        for key, origin in window.fields.items():
            out.mark((*at_window, key), origin)
        for text in window.notes:
            note(out, at_window, text)


def _policy(imp: Import, item: Cursor) -> Cursor | None:
    """The AlertPolicy object: referenced by name (a string or alertPolicyRef) or inline."""
    if isinstance(item.value, str):
        return imp.referenced("AlertPolicy", item)
    return imp.referenced_or_inline(
        item,
        "AlertPolicy",
        "alertPolicyRef",
        "an AlertPolicy name, {alertPolicyRef: name} or an inline AlertPolicy",
    )


def _windows_of_policy(imp: Import, policy: Cursor) -> list[Window]:
    """The windows of the policy's conditions; the policy's own notes go above the first of them."""
    metadata, spec = imp.referred_parts(policy)
    if spec is None or not spec.is_map():
        imp.refuse(policy, "an AlertPolicy needs a `spec` with conditions")
        return []
    targets = spec.get("notificationTargets")
    imp.check_keys(
        spec,
        ("description", "alertWhenBreaching", "alertWhenResolved", "alertWhenNoData", "conditions"),
        refused={"notificationTargets": ROUTING.format(what="notificationTargets")}
        if targets is not None and targets.value
        else {},
    )
    for key, wanted, reason in POLICY_FLAGS:
        flag = spec.get(key)
        if flag is not None and truthy(flag.value) != wanted:
            imp.unsupported(flag, f"{key}: {str(flag.value).lower()} cannot be imported: {reason}")
    notes = _described("AlertPolicy", metadata, spec)
    conditions = spec.get("conditions")
    if conditions is None or not conditions.items():
        imp.refuse(conditions or spec, "an AlertPolicy needs at least one condition")
        return []
    found = []
    for item in conditions.items():
        condition = imp.referenced_or_inline(
            item, "AlertCondition", "conditionRef", "{conditionRef: name} or an inline AlertCondition"
        )
        if condition is not None:
            window = _condition_window(imp, condition)
            if window is not None:
                window.notes[:0] = notes + imp.header_once(condition)
                found.append(window)
                notes = []
    return found


def _condition_window(imp: Import, condition: Cursor) -> Window | None:
    """The window pair of a burn-rate AlertCondition, its severity a page or a ticket."""
    parts = imp.referred_spec(
        condition, CONDITION_KEYS, "an AlertCondition needs a `spec` (severity, condition)"
    )
    if parts is None:
        return None
    metadata, spec = parts
    severity, body = spec.get("severity"), spec.get("condition")
    if severity is None or not str(severity.value):
        imp.refuse(spec, "an AlertCondition needs a severity")
        return None
    if body is None or not body.is_map():
        imp.refuse(spec, "an AlertCondition needs a `condition` (kind: burnrate, …)")
        return None
    burn_rate = _burn_rate(imp, body)
    if burn_rate is None:
        return None
    long, short, notes = burn_rate
    tier = "page" if str(severity.value).lower() in PAGE_SEVERITIES else "ticket"
    notes.append(
        f"OpenSLO severity {severity.value!r} → {tier} (page, critical and high page; any other severity "
        "is a ticket)"
    )
    notes += _described("AlertCondition", metadata, spec)
    threshold = body.get("threshold")
    assert threshold is not None
    window = {
        "severity": tier,
        "long": format_duration(long),
        "short": format_duration(short),
        "factor": number(threshold.value),
    }
    fields = {
        "severity": severity,
        "long": body.get("lookbackWindow"),
        "short": body.get("alertAfter"),
        "factor": threshold,
    }
    return Window(condition, window, notes, {k: v for k, v in fields.items() if v is not None})


def _burn_rate(imp: Import, body: Cursor) -> tuple[int, int, list[str]] | None:
    """(long, short) seconds of a burn-rate condition, and notes on how they were read."""
    imp.check_keys(body, ("kind", "op", "threshold", "lookbackWindow", "alertAfter"))
    kind, op = body.get("kind"), body.get("op")
    if kind is not None and kind.value != "burnrate":
        imp.unsupported(kind, f"condition kind {kind.value!r} cannot be imported: only burnrate")
        return None
    notes: list[str] = []
    if op is not None and op.value not in ("gt", "gte"):
        imp.unsupported(
            op,
            f"op {op.value} cannot be imported: obsgen's burn-rate alerts fire when the burn rate is "
            "above the threshold (op gt or gte)",
        )
        return None
    if op is not None and op.value == "gte":
        notes.append("op gte: obsgen fires when the burn rate is above the factor (>)")
    threshold, lookback, after = body.get("threshold"), body.get("lookbackWindow"), body.get("alertAfter")
    if threshold is None or not is_number(threshold.value) or float(threshold.value) <= 0:
        imp.refuse(threshold or body, "a burn-rate condition needs a threshold above 0")
        return None
    if lookback is None:
        imp.refuse(body, "a burn-rate condition needs a lookbackWindow, e.g. 1h")
        return None
    long = duration_seconds(imp, lookback, "lookbackWindow")
    if long is None:
        return None
    if after is not None:
        short = duration_seconds(imp, after, "alertAfter")
        if short is None:
            return None
        notes.append(f"alertAfter {after.value} → the short window of the pair")
    else:
        short = max(1, round(long / 12))
        notes.append(f"no alertAfter: the short window is lookbackWindow / 12 ({format_duration(short)})")
    return long, short, notes


def _described(kind: str, metadata: Cursor | None, spec: Cursor | None) -> list[str]:
    """Notes for the object's displayName and description, which have no native field."""
    notes = []
    for key, where in (("displayName", metadata), ("description", spec)):
        child = where.get(key) if where is not None else None
        if child is not None:
            notes.append(f"OpenSLO {kind} {key}: {child.value}")
    return notes
