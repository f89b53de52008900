"""`obsgen alert test`: audit a running Alertmanager's routing with synthetic alerts, once.

The plan holds one alert per route of the spec (chosen among the alerts the rules can emit,
the Watchdog included), the page and the ticket of one SLO, and a second instance of one
alert. Each is posted through API v2 labelled `obsgen_audit=<run id>`, annotated as a routing
audit that is safe to ignore, and expires a few minutes later. Alertmanager is then asked,
until a deadline, which receivers it routed each to, whether it is inhibited, and how the two
instances were grouped; every answer is compared with what the spec says.

The alerts are real: Alertmanager notifies their receivers after group_wait, which is what
an audit of Slack and PagerDuty delivery wants. They can also inhibit real alerts while they
last (the audit page silences the real ticket of its SLO), as a real page would.

This module runs the audit and words its report; alertmanager_plan.py chooses the alerts and
says what must happen to each, alertmanager_client.py speaks API v2.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from generator.exit_codes import ExitCode
from generator.live.alertmanager_client import Alertmanager
from generator.live.alertmanager_plan import (
    AUDIT_LABEL,
    TWIN_LABEL,
    Probe,
    new_run_id,
    plan,
    synthetic_alerts,
)
from generator.live.alertmanager_plan import inhibits as inhibits  # tests/test_http_slos.py
from generator.live.http_client import Unreachable
from generator.model import Spec

LIFETIME = 300.0
"""Seconds the synthetic alerts stay firing after the deadline (endsAt)."""
POLL_INTERVAL = 0.25

Echo = Callable[[str], None]


# --- checking what Alertmanager did ------------------------------------------------------------------


@dataclass
class Outcome:
    """What Alertmanager answered for one probe, and how it compares with the plan."""

    probe: Probe
    case: int
    seen: bool = False
    receivers: list[str] = field(default_factory=list)
    state: str = ""
    inhibited_by: list[str] = field(default_factory=list)
    silenced_by: list[str] = field(default_factory=list)
    grouped_with_twin: bool | None = None

    @property
    def receivers_ok(self) -> bool:
        return self.seen and self.receivers == self.probe.receivers

    @property
    def inhibition_ok(self) -> bool:
        return self.seen and self.state != "unprocessed" and bool(self.inhibited_by) == self.probe.inhibited

    @property
    def grouping_ok(self) -> bool:
        return self.probe.twin_of is None or self.grouped_with_twin == self.probe.grouped

    @property
    def ok(self) -> bool:
        return self.receivers_ok and self.inhibition_ok and self.grouping_ok

    @property
    def settled(self) -> bool:
        """Nothing left that more time could change: receivers are decided when an alert is
        stored, inhibition and groups follow asynchronously."""
        return self.inhibition_ok and self.grouping_ok


def observe(
    probes: Sequence[Probe], run_id: str, alerts: list[dict[str, Any]], groups: list[dict[str, Any]]
) -> list[Outcome]:
    by_labels = {_key(_dict(a.get("labels"))): a for a in alerts}
    outcomes = []
    for case, probe in enumerate(probes):
        outcome = Outcome(probe, case)
        found = by_labels.get(_key({**probe.labels, AUDIT_LABEL: run_id}))
        if found is not None:
            status = _dict(found.get("status"))
            outcome.seen = True
            outcome.receivers = [str(_dict(r).get("name")) for r in _list(found.get("receivers"))]
            outcome.state = str(status.get("state", ""))
            outcome.inhibited_by = [str(fp) for fp in _list(status.get("inhibitedBy"))]
            outcome.silenced_by = [str(silence) for silence in _list(status.get("silencedBy"))]
        if probe.twin_of is not None:
            outcome.grouped_with_twin = _grouped(probes, run_id, case, probe.twin_of, groups)
        outcomes.append(outcome)
    return outcomes


def _key(labels: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in labels.items()))


def _dict(value: Any) -> dict[str, Any]:
    """`value` if the API answered an object there, else empty: odd answers are mismatches,
    never crashes."""
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _grouped(probes: Sequence[Probe], run_id: str, case: int, other: int, groups: list[dict]) -> bool | None:
    """True when, for every receiver of the pair, one group holds both; False when some
    receiver holds them in different groups; None while some receiver has not grouped both."""
    keys = [_key({**probes[i].labels, AUDIT_LABEL: run_id}) for i in (case, other)]
    together: dict[str, bool] = {}
    placed: dict[str, set[int]] = {}
    for group in groups:
        receiver = str(_dict(group.get("receiver")).get("name"))
        inside = {_key(_dict(_dict(a).get("labels"))) for a in _list(group.get("alerts"))}
        has = [key in inside for key in keys]
        placed.setdefault(receiver, set()).update(i for i, h in enumerate(has) if h)
        if all(has):
            together[receiver] = True
    receivers = probes[case].receivers
    if any(placed.get(r) != {0, 1} for r in receivers):
        return None
    return all(together.get(r, False) for r in receivers)


# --- the audit -----------------------------------------------------------------------------------------


def audit(
    client: Alertmanager,
    spec: Spec,
    wait: float,
    echo: Echo,
    run_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ExitCode:
    """Post the plan, read it back until everything settled or `wait` passed, print a line per
    alert and a summary. Returns the exit code: 0 as the spec says, 1 a mismatch, 13 unreachable."""
    probes = plan(spec)
    now = datetime.now(UTC)
    run = run_id or new_run_id(now)
    ends = now + timedelta(seconds=wait + LIFETIME)
    try:
        version = _dict(client.status().get("versionInfo")).get("version", "?")
        echo(
            f"routing audit {run} at {client.url} (Alertmanager {version}): {len(probes)} synthetic alerts, "
            f'labelled {AUDIT_LABEL}="{run}", resolving at {ends.strftime("%H:%M:%S")} UTC'
        )
        client.post_alerts(synthetic_alerts(probes, run, now, ends))
        outcomes = _poll(client, probes, run, wait, clock, sleep)
    except Unreachable as exc:
        echo(f"[UNREACHABLE] {exc}")
        return ExitCode.UNREACHABLE
    for outcome in outcomes:
        echo(render_outcome(outcome, wait))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        echo(f"[FAIL] {len(failed)} of {len(outcomes)} synthetic alerts not handled as the spec says")
        return ExitCode.CHECK_FAILED
    echo(f"[OK] all {len(outcomes)} synthetic alerts routed, inhibited and grouped as the spec says")
    return ExitCode.OK


def _poll(
    client: Alertmanager,
    probes: Sequence[Probe],
    run: str,
    wait: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> list[Outcome]:
    deadline = clock() + wait
    matchers = [f'{AUDIT_LABEL}="{run}"']
    twins = any(p.twin_of is not None for p in probes)
    while True:
        groups = client.groups(matchers) if twins else []
        outcomes = observe(probes, run, client.alerts(matchers), groups)
        remaining = deadline - clock()
        if all(o.settled for o in outcomes) or remaining <= 0:
            return outcomes
        sleep(min(POLL_INTERVAL, remaining))


def brief(labels: dict[str, str]) -> str:
    shown = [f"{k}={labels[k]}" for k in ("severity", "service", "team", "slo_id", TWIN_LABEL) if k in labels]
    return f"{labels.get('alertname', '?')} {{{', '.join(shown)}}}"


def render_outcome(outcome: Outcome, wait: float) -> str:
    probe = outcome.probe
    head = f"{'ok  ' if outcome.ok else 'FAIL'} #{outcome.case} {brief(probe.labels)}"
    if not outcome.seen:
        return f"{head}  not in Alertmanager after {wait:g}s (expected {','.join(probe.receivers)})"
    parts = [f"expected {','.join(probe.receivers)}", f"got {','.join(outcome.receivers) or 'none'}"]
    if probe.inhibited or outcome.inhibited_by:
        want = "inhibited" if probe.inhibited else "not inhibited"
        got = "inhibited" if outcome.inhibited_by else outcome.state or "not inhibited"
        parts.append(f"{want} as expected" if outcome.inhibition_ok else f"expected {want}, got {got}")
    elif probe.role == "page":
        parts.append("not inhibited as expected")
    if outcome.state == "unprocessed":
        parts.append(f"still unprocessed after {wait:g}s")
    if probe.twin_of is not None:
        want = "grouped with" if probe.grouped else "grouped apart from"
        if outcome.grouping_ok:
            parts.append(f"{want} case {probe.twin_of} as expected")
        else:
            got = {None: "not grouped yet", True: "grouped together", False: "grouped apart"}
            parts.append(f"expected {want} case {probe.twin_of}, got {got[outcome.grouped_with_twin]}")
    if outcome.silenced_by:
        parts.append(f"note: silenced by {', '.join(outcome.silenced_by)}, so it notifies no one")
    return f"{head}  {'  '.join(parts)}"
