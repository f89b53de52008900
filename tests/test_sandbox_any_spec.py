"""End to end on a service obsgen has never seen: the `obsgen init` project in the sandbox.

`obsgen up` serves the project's HTTP metrics from the simulator and runs its compiled rules
and routing on a real Prometheus and Alertmanager, every duration divided by the speed-up.
Healthy, the budget check and the content check of the targets pass; the latency SLO's slow
burn tickets and never pages; the availability SLO's fast burn pages through Alertmanager
within the time `obsgen explain` predicts (÷ the speed-up, ± two evaluation intervals) while
its ticket is inhibited; no data makes `targets verify` name the missing metric; `down`
leaves no process and no port behind.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import obsgen, poll, prometheus_query

from generator.durations import parse_duration
from generator.exit_codes import ExitCode
from runtime.sink import notifications

PAGE_ALERT = "CheckoutAvailabilityErrorBudgetBurn"
TICKET_ALERT = "CheckoutLatencyErrorBudgetBurn"
WARM_UP = 60.0
"""sandbox seconds of healthy history before the fast burn: the page pair's 1h window ÷ 60"""


class Stack:
    def __init__(self, spec: Path, state: Path, record: dict[str, Any], up_seconds: float) -> None:
        self.spec, self.state, self.record, self.up_seconds = spec, state, record, up_seconds
        self.started = time.monotonic() - up_seconds
        self.prometheus = f"http://127.0.0.1:{record['ports']['prometheus']}"
        self.alertmanager = f"http://127.0.0.1:{record['ports']['alertmanager']}"

    def obsgen(self, *args: object) -> Any:
        return obsgen(*args, "--spec", self.spec)

    def live(self, command: str, sub: str) -> Any:
        return obsgen(command, sub, "--spec", self.spec, "--prometheus", self.prometheus)

    def switch(self, name: str) -> float:
        result = obsgen("scenario", "--dir", self.state, name)
        assert result.returncode == 0, result.stderr
        return time.monotonic()

    def delivered(self) -> list[dict[str, Any]]:
        return notifications(self.state / "notifications.jsonl")  # type: ignore[return-value]

    def firing(self, alertname: str) -> list[dict[str, Any]]:
        return query(self.prometheus, f'ALERTS{{alertname="{alertname}", alertstate="firing"}}')

    def alertmanager_alerts(self, alertname: str) -> list[dict[str, Any]]:
        filter_ = urllib.parse.urlencode({"filter": f'alertname="{alertname}"'})
        with urllib.request.urlopen(f"{self.alertmanager}/api/v2/alerts?{filter_}", timeout=5) as response:
            return json.loads(response.read())


def query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    return prometheus_query(prometheus, expr)


def wait_for(what: str, check: Callable[[], Any], seconds: float, every: float = 0.1) -> Any:
    return poll(what, check, time.monotonic() + seconds, every)


def paged(notification: dict[str, Any], alertname: str) -> bool:
    """A PagerDuty event (only pages reach the pager) naming the alert."""
    return str(notification["path"]).startswith("/pagerduty") and alertname in json.dumps(
        notification["body"]
    )


def chatted(notification: dict[str, Any], alertname: str, severity: str) -> bool:
    """A firing chat message of the alert's `severity` tier (its description names the tier)."""
    body = json.dumps(notification["body"])
    chat = str(notification["path"]).startswith("/slack") and "FIRING" in body
    return chat and alertname in body and f"than the {severity} burn rates" in body


def page_prediction(spec: Path) -> float:
    """Seconds until the page fires at 100 % bad, as `obsgen explain` prints it (spec time)."""
    explained = obsgen("explain", "--spec", spec, "checkout-availability")
    assert explained.returncode == 0, explained.stderr
    rows = re.findall(r"^  page\s+\S+\s+\S+\s+\S+\s+(\S+)", explained.stdout, re.MULTILINE)
    assert rows, explained.stdout
    return min(parse_duration(row) for row in rows)


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("any-spec")
    created = obsgen("init", root / "shop", "--service", "checkout")
    assert created.returncode == 0, created.stderr
    spec, state = root / "shop" / "spec", root / "sandbox"
    began = time.monotonic()
    result = obsgen("up", "--spec", spec, "--dir", state, "--free-ports")
    up_seconds = time.monotonic() - began
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads((state / "state.json").read_text())
        yield Stack(spec, state, record, up_seconds)
    finally:
        if (state / "state.json").exists():
            obsgen("down", "--dir", state)


def test_the_init_project_runs_in_the_sandbox_and_its_alerts_keep_their_promises(stack: Stack) -> None:
    print(f"obsgen up: {stack.up_seconds:.1f} s")
    speed_up = float(stack.record["speed_up"])
    interval = 60 / speed_up  # the project's 1m evaluation interval, sped up

    wait_for("budget check passes healthy", lambda: stack.live("budget", "check").returncode == 0, 30, 0.5)
    verified = stack.live("targets", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # Slow burn of the latency SLO: a ticket arrives, the page never fires.
    stack.switch("checkout-latency-slow-burn")

    def ticket_delivered() -> bool:
        pages = [a for a in stack.firing(TICKET_ALERT) if a["metric"].get("severity") == "page"]
        assert not pages, f"the slow burn paged: {pages}"
        return any(chatted(n, TICKET_ALERT, "ticket") for n in stack.delivered())

    wait_for("the latency ticket at the chat sink", ticket_delivered, 120, 0.5)
    tickets = [a for a in stack.firing(TICKET_ALERT) if a["metric"].get("severity") == "ticket"]
    assert tickets, "the chat message came from the ticket"
    while time.monotonic() - stack.started < WARM_UP:  # keep watching for a page until warm
        ticket_delivered()
        time.sleep(0.5)
    assert not [n for n in stack.delivered() if paged(n, TICKET_ALERT)], "the slow burn reached the pager"

    # Fast burn of the availability SLO: the page within explain's prediction, the ticket inhibited.
    predicted = page_prediction(stack.spec) / speed_up
    switched = stack.switch("checkout-availability-fast-burn")
    wait_for(
        "the page at the pager sink", lambda: any(paged(n, PAGE_ALERT) for n in stack.delivered()), 60, 0.05
    )
    took = time.monotonic() - switched
    print(f"page delivered after {took:.2f} s; explain predicts {predicted:.2f} s (±{2 * interval:g} s)")
    assert abs(took - predicted) <= 2 * interval, (took, predicted)

    def ticket_inhibited() -> bool:
        alerts = stack.alertmanager_alerts(PAGE_ALERT)
        ticket = [a for a in alerts if a["labels"].get("severity") == "ticket"]
        return bool(ticket) and all(
            a["status"]["state"] == "suppressed" and a["status"]["inhibitedBy"] for a in ticket
        )

    wait_for("the availability ticket inhibited by its page", ticket_inhibited, 10)
    seen = len(stack.delivered())
    time.sleep(3 * interval)
    late = [n for n in stack.delivered()[seen:] if chatted(n, PAGE_ALERT, "ticket")]
    assert not late, "an inhibited ticket was delivered"

    # No data: the content check names what is missing.
    stack.switch("checkout-availability-no-data")

    def verify_fails() -> Any:
        result = stack.live("targets", "verify")
        return result if result.returncode == ExitCode.CHECK_FAILED else None

    failed = wait_for("targets verify fails without the counter", verify_fails, 15, 0.5)
    assert "http_requests_total" in failed.stdout and "checkout" in failed.stdout, failed.stdout


def test_down_leaves_no_process_and_no_port_behind(stack: Stack) -> None:
    children = stack.record["children"]
    ports = [p for p in stack.record["ports"].values() if isinstance(p, int)]
    ports += list(stack.record["ports"]["services"].values())
    result = obsgen("down", "--dir", stack.state)
    assert result.returncode == 0, result.stderr
    for child in children:
        with pytest.raises(ProcessLookupError):
            os.kill(child["pid"], 0)
    assert not [port for port in ports if listening(port)]
