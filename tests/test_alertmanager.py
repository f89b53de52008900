"""The generated alertmanager.yml with the real amtool: valid, and every alert the rules can
emit routed to the receivers the spec says — which the generated routing tests must notice
when the config is broken."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import EXTRAS, GENERATED, obsgen


@pytest.fixture(scope="module")
def amtool() -> str:
    path = shutil.which("amtool")
    if path is None:
        pytest.fail(
            "amtool is not installed; `make test` installs the Debian package prometheus-alertmanager"
        )
    return path


@pytest.fixture(scope="module")
def extras(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("extras") / "generated"
    result = obsgen("gen", "--spec", EXTRAS, "--out", out)
    assert result.returncode == 0, result.stderr
    return out


def check_config(amtool: str, tree: Path) -> subprocess.CompletedProcess[str]:
    config = tree / "alertmanager/alertmanager.yml"
    return subprocess.run([amtool, "check-config", str(config)], capture_output=True, text=True)


@pytest.mark.parametrize("which", ["lumen", "extras"])
def test_config_is_valid_and_routes_as_the_spec_says(which: str, amtool: str, extras: Path) -> None:
    tree = GENERATED if which == "lumen" else extras
    checked = check_config(amtool, tree)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = obsgen("alert", "routes-test", "--dir", tree)
    assert result.returncode == 0, result.stdout + result.stderr
    cases = yaml.safe_load((tree / "alertmanager/routing-tests.yml").read_text())["tests"]
    assert f"{len(cases)} of {len(cases)} alerts routed" in result.stdout


def test_lumen_routing_follows_the_seed() -> None:
    """page → PagerDuty and the team's Slack, ticket → Slack, info → nowhere loud, the
    Watchdog → the dead-man's switch only."""
    cases = yaml.safe_load((GENERATED / "alertmanager/routing-tests.yml").read_text())["tests"]
    by_severity: dict[str, set[tuple[str, ...]]] = {}
    for case in cases:
        by_severity.setdefault(case["labels"]["severity"], set()).add(tuple(case["receivers"]))
    assert by_severity["page"] == {("pagerduty-oncall", "slack-lumen"), ("pagerduty-oncall", "slack-duri")}
    assert by_severity["ticket"] == {("slack-lumen",), ("slack-duri",)}
    assert by_severity["info"] == {("quiet",)}
    assert by_severity["none"] == {("deadman",)}
    names = {case["labels"]["alertname"] for case in cases}
    assert {"Watchdog", "DuriHeartbeatStale", "CanaryGateDuriL4Rollback", "BridgeNotReady"} <= names


def test_secrets_are_files_not_values() -> None:
    config = yaml.safe_load((GENERATED / "alertmanager/alertmanager.yml").read_text())
    receivers = {r["name"]: r for r in config["receivers"]}
    slack = receivers["slack-lumen"]["slack_configs"][0]
    assert slack["api_url_file"] == "/etc/alertmanager/secrets/ALERT_SLACK_WEBHOOK"
    assert "api_url" not in slack
    pagerduty = receivers["pagerduty-oncall"]["pagerduty_configs"][0]
    assert pagerduty["routing_key_file"] == "/etc/alertmanager/secrets/ALERT_PAGERDUTY_ROUTING_KEY"
    assert "routing_key" not in pagerduty and "service_key" not in pagerduty


def test_inhibitions_require_the_labels_they_compare() -> None:
    """A label missing on both sides counts as equal in Alertmanager, so without `slo_id=~".+"`
    a page without slo_id would silence every ticket without one."""
    config = yaml.safe_load((GENERATED / "alertmanager/alertmanager.yml").read_text())
    page_ticket = config["inhibit_rules"][0]
    assert page_ticket["equal"] == ["slo_id"]
    assert 'slo_id=~".+"' in page_ticket["source_matchers"]
    assert 'slo_id=~".+"' in page_ticket["target_matchers"]


BREAKAGES = {
    # The duri tickets sent to the lumen channel.
    "wrong receiver": (
        'receiver: slack-duri\n    matchers:\n    - severity="ticket"',
        'receiver: slack-lumen\n    matchers:\n    - severity="ticket"',
    ),
    # A page that no longer also goes to Slack.
    "lost continue": ('    - team="lumen"\n    continue: true\n', '    - team="lumen"\n'),
    # The Watchdog's route gone: it would fall through to a person's Slack.
    "watchdog unrouted": ('    - alertname="Watchdog"\n', '    - alertname="Watchdog-gone"\n'),
}


@pytest.mark.parametrize("case", sorted(BREAKAGES))
def test_routing_tests_catch_a_broken_config(case: str, tmp_path: Path) -> None:
    tree = tmp_path / "generated"
    shutil.copytree(GENERATED, tree)
    path = tree / "alertmanager/alertmanager.yml"
    old, new = BREAKAGES[case]
    text = path.read_text()
    assert old in text, f"breakage no longer applies: {old!r}"
    path.write_text(text.replace(old, new, 1))
    result = obsgen("alert", "routes-test", "--dir", tree)
    assert result.returncode == 1, result.stdout
    assert "FAIL" in result.stdout
