"""`make alert.test`: the generated alertmanager.yml delivers every route's alerts, for real.

The Debian `prometheus-alertmanager` runs on a free loopback port (gossip off, storage in a
tmp dir) with generated/alertmanager/alertmanager.yml, and a local HTTP sink (a thread on
another free port) records every notification: its path and JSON body. The harness changes
exactly these fields of the generated config, and a test below checks that nothing else
differs:

- `receivers[].slack_configs[].api_url_file`, `receivers[].pagerduty_configs[].routing_key_file`
  (and a webhook's `http_config.authorization.credentials_file`): the same file names in a tmp
  dir instead of `secrets_dir` (/etc/alertmanager/secrets is not ours to write). The files are
  written by `obsgen secrets write --dir`, with each Slack variable set to the sink's
  `/slack/<VARIABLE>` URL, each PagerDuty variable to a 32-character fake key, each bearer
  token to a fake token.
- `global.pagerduty_url` (absent, so Alertmanager's https://events.pagerduty.com/v2/enqueue):
  the sink's `/pagerduty`. The PagerDuty URL is not a secret, so no file can redirect it.
- `receivers[].webhook_configs[].url` (the dead-man's switch, http://127.0.0.1:9095/deadman):
  the sink's `/webhook/<receiver>`, since nothing here listens on that port.

Routes, group_by, group_wait (30s), group_interval, repeat_interval, inhibitions and the
notification templates stay as generated. The sink tells receivers apart by path and body:
Slack by variable and `channel`, PagerDuty by `routing_key`, webhooks by `receiver`; which
synthetic alerts a notification carries, by the case markers in their summaries.

Every alert of the audit plan (generator.live.alertmanager.plan: one per route, the Watchdog
included, the page and ticket of one SLO, a second instance of one alert) is posted at once,
so one group_wait covers them all. Then `obsgen alert test` runs against a fresh Alertmanager
with the same config, and against a broken one and a closed port.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXTRAS, GENERATED, SPEC, free_port, obsgen, serving

from generator.alertmanager import leaves
from generator.exit_codes import ExitCode
from generator.live.alertmanager import observe
from generator.live.alertmanager_plan import Probe, cases_in, plan, synthetic_alerts
from generator.model import Spec
from generator.model.alertmanager import AlertmanagerSpec
from generator.pipeline import load
from generator.secrets import Kind, secret_kinds

CONFIG = GENERATED / "alertmanager/alertmanager.yml"
READY_WITHIN = 20.0
DELIVERED_WITHIN = 30.0 + 20.0
"""group_wait as generated, plus slack for a loaded machine"""
QUIET_AFTER = 2.0
"""How long after the last expected notification the inhibited ticket must still be absent:
its group's timer fired together with the others (all posted at once), so this covers it."""


# ---------------------------------------------------------------- the sink


@dataclass(frozen=True)
class Notification:
    path: str
    body: dict[str, Any]
    raw: str


class Sink:
    """Answers like Slack (200 ok), PagerDuty (202) or a webhook (200), and records every POST."""

    def __init__(self) -> None:
        self.received: list[Notification] = []
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                with sink._lock:
                    sink.received.append(Notification(self.path, body, raw))
                if self.path == "/pagerduty":
                    status, answer = 202, b'{"status":"success","message":"Event processed"}'
                else:
                    status, answer = 200, b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def notifications(self) -> list[Notification]:
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------- the deployment


def fake_key(variable: str) -> str:
    return hashlib.md5(variable.encode()).hexdigest()  # 32 characters [0-9a-f]


def secret_values(routing: AlertmanagerSpec, sink: str) -> dict[str, str]:
    values = {}
    for variable, kinds in secret_kinds(routing).items():
        if Kind.SLACK_WEBHOOK in kinds:
            values[variable] = f"{sink}/slack/{variable}"
        elif Kind.PAGERDUTY_KEY in kinds:
            values[variable] = fake_key(variable)
        else:
            values[variable] = f"harness-token-{variable.lower()}"
    return values


def for_the_harness(config: dict[str, Any], routing: AlertmanagerSpec, secrets_dir: Path, sink: str) -> dict:
    """The generated config with the fields the module docstring lists changed, and no other."""
    out = copy.deepcopy(config)

    def moved(path: str) -> str:
        assert Path(path).parent == Path(routing.secrets_dir), path
        return str(secrets_dir / Path(path).name)

    out["global"]["pagerduty_url"] = f"{sink}/pagerduty"
    for receiver in out["receivers"]:
        for slack in receiver.get("slack_configs", []):
            slack["api_url_file"] = moved(slack["api_url_file"])
        for pagerduty in receiver.get("pagerduty_configs", []):
            pagerduty["routing_key_file"] = moved(pagerduty["routing_key_file"])
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{sink}/webhook/{receiver['name']}"
            authorization = hook.get("http_config", {}).get("authorization")
            if authorization:
                authorization["credentials_file"] = moved(authorization["credentials_file"])
    return out


@dataclass
class Deployment:
    spec: Spec
    routing: AlertmanagerSpec
    sink: Sink
    generated: dict[str, Any]
    config: dict[str, Any]
    config_file: Path
    root: Path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("alert-delivery")
    spec = load(SPEC)
    assert spec.alertmanager is not None
    routing = spec.alertmanager
    sink = Sink()
    try:
        secrets_dir = root / "secrets"
        env = {k: v for k, v in os.environ.items() if k not in secret_kinds(routing)}
        written = obsgen(
            "secrets", "write", "--dir", secrets_dir, env={**env, **secret_values(routing, sink.url)}
        )
        assert written.returncode == 0, written.stdout + written.stderr
        generated = yaml.safe_load(CONFIG.read_text())
        config = for_the_harness(generated, routing, secrets_dir, sink.url)
        config_file = root / "alertmanager.yml"
        config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        yield Deployment(spec, routing, sink, generated, config, config_file, root)
    finally:
        sink.stop()


# ---------------------------------------------------------------- the real Alertmanager


@contextlib.contextmanager
def running_alertmanager(config_file: Path, root: Path) -> Iterator[str]:
    """The real binary on a free loopback port; always stopped (and waited for) on exit."""
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.fail("alertmanager is not installed; `make test` installs the Debian package")
    root.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={root / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        "--cluster.listen-address=",
    ]
    with serving(argv, url, root / "alertmanager.log"):
        yield url


@pytest.fixture
def alertmanager(deployment: Deployment, tmp_path: Path) -> Iterator[str]:
    with running_alertmanager(deployment.config_file, tmp_path / "alertmanager") as url:
        yield url


def post_alerts(url: str, alerts: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def audit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ALERTMANAGER_URL"}
    return obsgen("alert", "test", *args, env=env, timeout=60)


# ---------------------------------------------------------------- reading the notifications


@dataclass
class Delivery:
    receiver: str
    cases: set[int]
    notification: Notification = field(repr=False)


def receiver_of(routing: AlertmanagerSpec, notification: Notification) -> str:
    kind, _, rest = notification.path.strip("/").partition("/")
    body = notification.body
    if kind == "slack":
        names = [
            r.name
            for r in routing.receivers
            if r.slack and r.slack.webhook_env == rest and r.slack.channel == body.get("channel")
        ]
    elif kind == "pagerduty":
        names = [
            r.name
            for r in routing.receivers
            if r.pagerduty and fake_key(r.pagerduty.routing_key_env) == body.get("routing_key")
        ]
    else:
        names = [rest] if kind == "webhook" and body.get("receiver") == rest else []
    assert len(names) == 1, f"cannot tell the receiver of {notification.path}: {notification.raw[:500]}"
    return names[0]


def deliveries(deployment: Deployment, run: str) -> list[Delivery]:
    found = []
    for notification in deployment.sink.notifications():
        cases = cases_in(notification.raw, run)
        if cases:
            found.append(Delivery(receiver_of(deployment.routing, notification), cases, notification))
    return found


def pairs(found: list[Delivery]) -> set[tuple[str, int]]:
    return {(d.receiver, case) for d in found for case in d.cases}


def expected_pairs(routing: AlertmanagerSpec, probes: list[Probe]) -> set[tuple[str, int]]:
    """Every receiver that notifies someone, for every alert not inhibited."""
    loud = {r.name for r in routing.receivers if not r.quiet}
    return {
        (receiver, case)
        for case, probe in enumerate(probes)
        if not probe.inhibited
        for receiver in probe.receivers
        if receiver in loud
    }


def group_key(deployment: Deployment, probe: Probe, receiver: str) -> tuple[Any, ...]:
    """Alertmanager's aggregation group: the route (one per receiver here) and its group_by values."""
    tree = leaves(deployment.spec, deployment.routing)
    index = next(i for i, leaf in enumerate(tree) if leaf.receiver == receiver and leaf.matches(probe.labels))
    group_by = tree[index].timing.get("group_by") or deployment.routing.group_by
    return (index, *(probe.labels.get(name, "") for name in group_by))


# ---------------------------------------------------------------- the tests


def test_the_harness_changes_only_secret_paths_and_endpoints(deployment: Deployment) -> None:
    generated, config = deployment.generated, deployment.config
    for kept in ("route", "inhibit_rules"):
        assert config[kept] == generated[kept]
    assert config["route"]["group_wait"] == "30s"
    assert config["global"] == {**generated["global"], "pagerduty_url": f"{deployment.sink.url}/pagerduty"}
    changed = {"api_url_file", "routing_key_file", "url", "http_config"}

    def rest(receivers: list[dict]) -> list[dict]:
        return [
            {
                key: [{k: v for k, v in c.items() if k not in changed} for c in value]
                if key.endswith("_configs")
                else value
                for key, value in receiver.items()
            }
            for receiver in receivers
        ]

    assert rest(config["receivers"]) == rest(generated["receivers"])
    secret_files = sorted(p.name for p in (deployment.root / "secrets").iterdir())
    assert secret_files == sorted(secret_kinds(deployment.routing))
    assert all((deployment.root / "secrets" / name).stat().st_mode & 0o777 == 0o600 for name in secret_files)


def test_every_route_delivers_to_its_receivers_grouped_and_inhibited_as_configured(
    deployment: Deployment, alertmanager: str, tmp_path: Path
) -> None:
    probes = plan(deployment.spec)
    run = f"delivery-{secrets.token_hex(3)}"
    now = datetime.now(UTC)
    post_alerts(alertmanager, synthetic_alerts(probes, run, now, now + timedelta(minutes=10)))
    expected = expected_pairs(deployment.routing, probes)

    deadline = time.monotonic() + DELIVERED_WITHIN
    while not expected <= pairs(deliveries(deployment, run)):
        if time.monotonic() > deadline:
            missing = sorted(expected - pairs(deliveries(deployment, run)))
            log = (tmp_path / "alertmanager/alertmanager.log").read_text()
            pytest.fail(f"not delivered within {DELIVERED_WITHIN}s: {missing}\n{log}")
        time.sleep(0.2)
    until = time.monotonic() + QUIET_AFTER
    while time.monotonic() < until:
        assert pairs(deliveries(deployment, run)) == expected
        time.sleep(0.2)
    found = deliveries(deployment, run)

    assert {d.receiver for d in found} == {"pagerduty-oncall", "slack-lumen", "slack-duri", "deadman"}
    # The page of the SLO pair arrived, its ticket nowhere; info reached no one.
    (page,) = [i for i, p in enumerate(probes) if p.role == "page"]
    (ticket,) = [i for i, p in enumerate(probes) if p.role == "ticket"]
    assert probes[ticket].inhibited and not probes[page].inhibited
    assert {r for r, case in pairs(found) if case == page} == set(probes[page].receivers)
    assert all(ticket not in d.cases for d in found)
    info = [i for i, p in enumerate(probes) if p.labels["severity"] == "info"]
    assert info and all(not (d.cases & set(info)) for d in found)

    # The Watchdog reached the dead-man's switch and nothing else.
    (watchdog,) = [i for i, p in enumerate(probes) if p.labels["alertname"] == "Watchdog"]
    assert {d.receiver for d in found if watchdog in d.cases} == {deployment.routing.watchdog_receiver}
    hook = next(d.notification for d in found if watchdog in d.cases)
    assert hook.path == f"/webhook/{deployment.routing.watchdog_receiver}"
    assert [a["labels"]["alertname"] for a in hook.body["alerts"]] == ["Watchdog"]

    # Grouped as configured: each notification is one aggregation group, and the first
    # notification of a group carries every alert of it (here: both instances of the twin).
    for delivery in found:
        keys = {group_key(deployment, probes[case], delivery.receiver) for case in delivery.cases}
        assert len(keys) == 1, delivery
    first: dict[tuple[str, tuple[Any, ...]], set[int]] = {}
    for delivery in found:
        key = (delivery.receiver, group_key(deployment, probes[min(delivery.cases)], delivery.receiver))
        first.setdefault(key, delivery.cases)
    for receiver, case in expected:
        key = (receiver, group_key(deployment, probes[case], receiver))
        assert case in first[key], (receiver, probes[case].labels)
    (twin,) = [i for i, p in enumerate(probes) if p.twin_of is not None]
    together = {probes[twin].twin_of, twin}
    assert probes[twin].grouped
    for receiver in probes[twin].receivers:
        assert [d.cases for d in found if d.receiver == receiver and d.cases & together] == [together]

    # What each integration sent.
    for delivery in found:
        body = delivery.notification.body
        if delivery.notification.path.startswith("/slack/"):
            count = len(delivery.cases)
            alertname = probes[min(delivery.cases)].labels["alertname"]
            assert body["attachments"][0]["title"].startswith(f"[FIRING:{count}] {alertname} ("), body
        elif delivery.notification.path == "/pagerduty":
            assert body["event_action"] == "trigger"
            severities = {probes[case].labels["severity"] for case in delivery.cases}
            assert body["payload"]["severity"] == ("critical" if severities == {"page"} else "warning")
            # The Events API v2 refuses an event without a summary, and a link without an href.
            alertname = probes[min(delivery.cases)].labels["alertname"]
            summary = f"Routing audit {run}: synthetic {alertname}, safe to ignore"
            count = len(delivery.cases)
            assert body["payload"]["summary"] == summary + (f" ({count} alerts)" if count > 1 else "")
            assert body["links"] and all(link["href"] for link in body["links"]), body


def test_alert_test_passes_against_the_generated_config(alertmanager: str) -> None:
    started = time.monotonic()
    result = audit("--alertmanager", alertmanager, "--wait", "20")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == ExitCode.OK, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    probes = plan(load(SPEC))
    assert lines[0].startswith("routing audit ") and f"{len(probes)} synthetic alerts" in lines[0]
    rows = lines[1:-1]
    assert len(rows) == len(probes) and all(row.startswith("ok   #") for row in rows), result.stdout
    assert any("slo_id=bridge-phase-diff}" in row and "inhibited as expected" in row for row in rows)
    assert any(
        row.startswith("ok   #2 Watchdog {severity=none}  expected deadman  got deadman") for row in rows
    )
    assert any("grouped with case" in row for row in rows)
    assert (
        lines[-1] == f"[OK] all {len(probes)} synthetic alerts routed, inhibited and grouped as the spec says"
    )
    assert time.monotonic() - started < 15, "the audit should not wait once everything settled"


def test_alert_test_names_what_a_broken_alertmanager_does_differently(
    deployment: Deployment, tmp_path: Path
) -> None:
    """A ticket route to the wrong receiver, and no inhibitions: both are reported."""
    broken = copy.deepcopy(deployment.config)
    broken["inhibit_rules"] = []
    ticket_duri = next(
        r for r in broken["route"]["routes"] if r["matchers"] == ['severity="ticket"', 'team="duri"']
    )
    ticket_duri["receiver"] = "slack-lumen"
    config_file = tmp_path / "broken.yml"
    config_file.write_text(yaml.safe_dump(broken, sort_keys=False))
    with running_alertmanager(config_file, tmp_path / "alertmanager") as url:
        result = audit("--alertmanager", url, "--wait", "2")
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == ExitCode.CHECK_FAILED, result.stdout + result.stderr
    fails = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert len(fails) == 2, result.stdout
    assert any("team=duri" in line and "expected slack-duri  got slack-lumen" in line for line in fails), (
        fails
    )
    assert any("severity=ticket" in line and "expected inhibited, got active" in line for line in fails)
    assert result.stdout.splitlines()[-1] == "[FAIL] 2 of 8 synthetic alerts not handled as the spec says"


def test_alert_test_on_a_closed_port_is_unreachable_without_a_traceback() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = audit("--alertmanager", url)
    assert result.returncode == ExitCode.UNREACHABLE
    assert result.stdout == f"[UNREACHABLE] cannot reach Alertmanager at {url}: Connection refused\n"
    assert result.stderr == ""
    from_env = obsgen("alert", "test", env={**os.environ, "ALERTMANAGER_URL": url})
    assert from_env.returncode == ExitCode.UNREACHABLE
    assert from_env.stdout == result.stdout and from_env.stderr == ""


def test_alert_test_times_out_on_a_silent_port() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        result = audit("--alertmanager", url, "--timeout", "0.5")
    assert result.returncode == ExitCode.UNREACHABLE
    assert result.stdout == f"[UNREACHABLE] cannot reach Alertmanager at {url}: no answer within 0.5s\n"


def test_alert_test_refuses_a_bad_url() -> None:
    result = audit("--alertmanager", "ftp://x")
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith("error: --alertmanager: expected an Alertmanager base URL")


# ---------------------------------------------------------------- the plan, without Alertmanager


@pytest.mark.parametrize("spec_dir", [SPEC, EXTRAS], ids=["lumen", "extras"])
def test_the_plan_reaches_every_route_with_an_alert_that_is_not_muted(spec_dir: Path) -> None:
    spec = load(spec_dir)
    assert spec.alertmanager is not None
    routing = spec.alertmanager
    tree = leaves(spec, routing)
    probes = plan(spec)
    reached = {
        receiver
        for probe in probes
        if not probe.inhibited and probe.role != "ticket"
        for receiver in probe.receivers
    }
    assert {leaf.receiver for leaf in tree} <= reached
    roles = [p.role for p in probes]
    assert roles[:2] == ["page", "ticket"] and roles.count("twin") == 1
    assert [p.inhibited for p in probes].count(True) == 1 and probes[1].inhibited
    assert probes[0].labels["slo_id"] == probes[1].labels["slo_id"]
    assert sum(p.labels["alertname"] == "Watchdog" for p in probes) == 1
    labels = [tuple(sorted(p.labels.items())) for p in probes]
    assert len(set(labels)) == len(labels)


def test_the_lumen_plan_never_posts_an_alert_that_mutes_others() -> None:
    names = [p.labels["alertname"] for p in plan(load(SPEC))]
    assert "BridgeNotReady" not in names and "DuriHeartbeatMissing" not in names


def test_odd_api_answers_are_mismatches_not_crashes() -> None:
    probes = plan(load(SPEC))
    labels = {**probes[0].labels, "obsgen_audit": "r"}
    odd = [{"labels": labels, "receivers": ["pagerduty-oncall"], "status": "active"}, {"labels": 3}]
    outcomes = observe(probes, "r", odd, [{"receiver": None, "alerts": "x"}])
    assert outcomes[0].seen and outcomes[0].receivers == ["None"] and not outcomes[0].ok
    assert not any(o.seen for o in outcomes[1:]) and not any(o.ok for o in outcomes)


def test_synthetic_alerts_say_what_they_are() -> None:
    probes = plan(load(SPEC))
    start = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    alerts = synthetic_alerts(probes, "r1", start, start + timedelta(minutes=5))
    assert [a["labels"]["obsgen_audit"] for a in alerts] == ["r1"] * len(probes)
    assert alerts[0]["startsAt"] == "2026-01-02T03:04:05.000Z"
    assert alerts[0]["endsAt"] == "2026-01-02T03:09:05.000Z"
    for case, alert in enumerate(alerts):
        assert alert["annotations"]["summary"].startswith("Routing audit r1: synthetic ")
        assert alert["annotations"]["summary"].endswith(", safe to ignore")
        assert "Nothing is wrong" in alert["annotations"]["description"]
        assert cases_in(json.dumps(alert), "r1") == {case}
        assert cases_in(json.dumps(alert), "r2") == set()
