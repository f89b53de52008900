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
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from generator.alert_inventory import alert_inventory
from generator.alertmanager import Leaf, expected_receivers, leaves, slo_inhibitions
from generator.live import EXIT_OK, EXIT_UNREACHABLE, prom
from generator.live.prom import USER_AGENT
from generator.live.prom import Unreachable as _Unreachable
from generator.model import Spec
from generator.model.alertmanager import AlertmanagerSpec, Inhibition
from generator.rule_parts import runbook_url
from generator.rules import WATCHDOG
from generator.slo_math import OBSGEN_LABELS, SLOTH_LABELS

EXIT_MISMATCH = 1
AUDIT_LABEL = "obsgen_audit"
TWIN_LABEL = "instance"
"""The label telling the two instances of the grouping check apart."""
TWIN_VALUES = ("obsgen-audit-1", "obsgen-audit-2")
LIFETIME = 300.0
"""Seconds the synthetic alerts stay firing after the deadline (endsAt)."""
POLL_INTERVAL = 0.25
MARKER = re.compile(r"obsgen routing audit (?P<run>[0-9A-Za-z-]+) case (?P<case>\d+)\b")
"""How a notification body names the synthetic alerts it carries (in their description)."""

Echo = Callable[[str], None]


class Unreachable(_Unreachable):
    """Alertmanager gave no usable answer; the message says which URL and why."""


# --- the plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One synthetic alert and what the spec says Alertmanager must do with it."""

    labels: dict[str, str]
    """as the rules emit them (alertname included), without the audit label"""
    receivers: list[str]
    inhibited: bool = False
    role: str = "route"
    """route, page or ticket (the SLO pair), or twin (grouped with `twin_of`)"""
    twin_of: int | None = None
    grouped: bool = True
    """whether the twin must share each receiver's group with `twin_of`"""
    runbook_url: str = ""


def inhibition_rules(spec: Spec, routing: AlertmanagerSpec) -> list[Inhibition]:
    """The rules compile_alertmanager renders, in its order."""
    return [*slo_inhibitions(spec), *routing.inhibitions]


def _side_matches(labels: dict[str, str], equal: dict[str, str], rule: Inhibition) -> bool:
    present = all(labels.get(name, "") != "" for name in rule.equal)
    return present and all(labels.get(k, "") == v for k, v in equal.items())


def is_source(rule: Inhibition, labels: dict[str, str]) -> bool:
    return _side_matches(labels, rule.source, rule)


def is_target(rule: Inhibition, labels: dict[str, str]) -> bool:
    unequal = all(labels.get(k, "") != v for k, v in rule.target_not.items())
    return unequal and _side_matches(labels, rule.target, rule)


def inhibits(rule: Inhibition, source: dict[str, str], target: dict[str, str]) -> bool:
    """Alertmanager's decision for one rule, including its exception: an alert matching both
    sides is not muted by another alert matching both sides (they would mute each other)."""
    if source == target or not (is_source(rule, source) and is_target(rule, target)):
        return False
    if all(source.get(name, "") == target.get(name, "") for name in rule.compared()):
        return not (is_source(rule, target) and is_target(rule, source))
    return False


def _muted(rules: Sequence[Inhibition], labels: dict[str, str], others: Iterable[dict[str, str]]) -> bool:
    return any(inhibits(rule, other, labels) for rule in rules for other in others)


def _reached(tree: Sequence[Leaf], labels: dict[str, str]) -> list[int]:
    """The leaves Alertmanager routes `labels` to, in order; -1 stands for the root (default)."""
    found = []
    for index, leaf in enumerate(tree):
        if leaf.matches(labels):
            found.append(index)
            if not leaf.continue_:
                break
    return found or [-1]


def _slo_pair(alerts: Sequence[dict[str, str]]) -> tuple[dict[str, str], dict[str, str]] | None:
    for page in alerts:
        for names in (OBSGEN_LABELS, SLOTH_LABELS):
            if page.get(names.severity) != "page" or not page.get(names.id):
                continue
            for ticket in alerts:
                if ticket.get(names.severity) == "ticket" and ticket.get(names.id) == page[names.id]:
                    return page, ticket
    return None


def plan(spec: Spec) -> list[Probe]:
    """The synthetic alerts of one audit, with their expected receivers and inhibition.

    Every route some alert of the rules reaches gets one that is not inhibited (the root too, if
    an alert falls through to it); the SLO pair's ticket does not count, since it must be muted.
    Besides the pair, an alert is chosen only if it neither inhibits nor is inhibited by those
    chosen before where possible (posting BridgeNotReady, say, would mute every other alert of
    the bridge), and alerts that are no inhibition's source come first.
    """
    routing = spec.alertmanager
    if routing is None:
        raise ValueError("the spec has no alertmanager")
    tree = leaves(spec, routing)
    rules = inhibition_rules(spec, routing)
    inventory = list({tuple(sorted(a.labels.items())): a.labels for a in alert_inventory(spec)}.values())
    pair = _slo_pair(inventory)
    chosen: list[dict[str, str]] = list(pair or ())
    covered = set(_reached(tree, pair[0])) if pair else set()
    wanted = sorted({index for labels in inventory for index in _reached(tree, labels)})
    ordered = sorted(inventory, key=lambda labels: any(is_source(rule, labels) for rule in rules))
    for index in wanted:
        if index in covered:
            continue
        candidates = [
            labels for labels in ordered if index in _reached(tree, labels) and labels not in chosen
        ]
        if not candidates:
            continue
        fits = [
            labels
            for labels in candidates
            if not _muted(rules, labels, chosen) and not any(_muted(rules, c, [labels]) for c in chosen)
        ]
        pick = (fits or candidates)[0]
        chosen.append(pick)
        covered.update(_reached(tree, pick))
    probes = [
        Probe(
            dict(labels),
            expected_receivers(tree, routing.default_receiver, labels),
            runbook_url=runbook_url(spec, labels.get("alertname", "")),
        )
        for labels in chosen
    ]
    if pair:
        probes[0], probes[1] = replace(probes[0], role="page"), replace(probes[1], role="ticket")
    probes = _add_twin(routing, tree, probes)
    everyone = [p.labels for p in probes]
    return [
        replace(p, inhibited=_muted(rules, p.labels, [o for o in everyone if o != p.labels])) for p in probes
    ]


def _add_twin(routing: AlertmanagerSpec, tree: list[Leaf], probes: list[Probe]) -> list[Probe]:
    """A second instance of the first routed alert that reaches people, for the grouping check."""
    for index, probe in enumerate(probes):
        loud = all(not (r := routing.receiver(name)) or not r.quiet for name in probe.receivers)
        if probe.role != "route" or probe.labels.get("alertname") == WATCHDOG or not loud:
            continue
        if TWIN_LABEL in probe.labels:  # the rules set it: telling the two apart would change it
            continue
        first = {**probe.labels, TWIN_LABEL: TWIN_VALUES[0]}
        second = {**probe.labels, TWIN_LABEL: TWIN_VALUES[1]}
        grouped = all(
            TWIN_LABEL not in ((tree[i].timing.get("group_by") if i >= 0 else None) or routing.group_by)
            for i in _reached(tree, first)
        )
        twin = Probe(
            second,
            expected_receivers(tree, routing.default_receiver, second),
            role="twin",
            twin_of=index,
            grouped=grouped,
            runbook_url=probe.runbook_url,
        )
        return [*probes[:index], replace(probe, labels=first), *probes[index + 1 :], twin]
    return probes


# --- the synthetic alerts ----------------------------------------------------------------------------


def new_run_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def marker(run_id: str, case: int) -> str:
    return f"obsgen routing audit {run_id} case {case}"


def cases_in(text: str, run_id: str) -> set[int]:
    """The cases of `run_id` whose marker appears in a notification body."""
    return {int(m["case"]) for m in MARKER.finditer(text) if m["run"] == run_id}


def synthetic_alerts(probes: Sequence[Probe], run_id: str, start: datetime, end: datetime) -> list[dict]:
    """The body of POST /api/v2/alerts."""
    return [_synthetic(probe, case, run_id, start, end) for case, probe in enumerate(probes)]


def _synthetic(probe: Probe, case: int, run_id: str, start: datetime, end: datetime) -> dict[str, Any]:
    name = probe.labels.get("alertname", "alert")
    annotations = {
        # One summary for all alerts of a group, as the rules give: the templates read
        # .CommonAnnotations.summary, and PagerDuty refuses an event without one.
        "summary": f"Routing audit {run_id}: synthetic {name}, safe to ignore",
        "description": (
            f"{marker(run_id, case)}: posted by `obsgen alert test` to check that Alertmanager routes "
            f"this alert to the receivers the spec says. Nothing is wrong; it resolves by itself at "
            f"{end.strftime('%H:%M:%S UTC')}."
        ),
    }
    if probe.runbook_url:  # PagerDuty links need an href: the runbook of the alert it imitates
        annotations["runbook_url"] = probe.runbook_url
    return {
        "labels": {**probe.labels, AUDIT_LABEL: run_id},
        "annotations": annotations,
        "startsAt": _rfc3339(start),
        "endsAt": _rfc3339(end),
    }


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- the API client ------------------------------------------------------------------------------------


def check_url(url: str) -> str:
    """The base URL without a trailing slash; raises ValueError when it cannot be one."""
    return prom.check_url(url, "Alertmanager", "http://127.0.0.1:9093")


class Alertmanager:
    """API v2 over urllib: status, post alerts, read alerts and groups back."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = check_url(url)
        self.timeout = timeout

    def status(self) -> dict[str, Any]:
        answer = self._call("GET", "/api/v2/status")
        if not isinstance(answer, dict) or "config" not in answer:
            raise self._fail("GET /api/v2/status gave no status; is this the Alertmanager base URL?")
        return answer

    def post_alerts(self, alerts: list[dict]) -> None:
        self._call("POST", "/api/v2/alerts", alerts)

    def alerts(self, matchers: Sequence[str]) -> list[dict[str, Any]]:
        return self._list("/api/v2/alerts", matchers)

    def groups(self, matchers: Sequence[str]) -> list[dict[str, Any]]:
        return self._list("/api/v2/alerts/groups", matchers)

    def _list(self, path: str, matchers: Sequence[str]) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode([("filter", m) for m in matchers])
        answer = self._call("GET", f"{path}?{query}")
        if not isinstance(answer, list) or not all(isinstance(item, dict) for item in answer):
            raise self._fail(f"GET {path} did not answer a list of objects")
        return answer

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = ""
            with contextlib.suppress(OSError, ValueError):
                detail = f": {str(json.loads(exc.read()))[:300]}"
            hint = " (is this the Alertmanager base URL?)" if exc.code == 404 else ""
            raise self._fail(
                f"{method} {path.split('?')[0]}: HTTP {exc.code} {exc.reason}{detail}{hint}"
            ) from None
        except urllib.error.URLError as exc:
            raise self._fail(self._reason(exc.reason)) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._fail(self._reason(exc)) from None
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise self._fail(f"{method} {path.split('?')[0]}: the answer is not JSON") from None

    def _reason(self, reason: Any) -> str:
        return prom.network_reason(reason, self.timeout)

    def _fail(self, why: str) -> Unreachable:
        return Unreachable(f"cannot reach Alertmanager at {self.url}: {why}")


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
) -> int:
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
        return EXIT_UNREACHABLE
    for outcome in outcomes:
        echo(render_outcome(outcome, wait))
    failed = [o for o in outcomes if not o.ok]
    if failed:
        echo(f"[FAIL] {len(failed)} of {len(outcomes)} synthetic alerts not handled as the spec says")
        return EXIT_MISMATCH
    echo(f"[OK] all {len(outcomes)} synthetic alerts routed, inhibited and grouped as the spec says")
    return EXIT_OK


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
