"""The generated alertmanager.yml with the real amtool: valid, and every alert the rules can
emit routed to the receivers the spec says — which the generated routing tests must notice
when the config is broken."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import EXTRAS, GENERATED, generate, obsgen


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
    return generate(tmp_path_factory, EXTRAS, "extras")


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


# --- no page goes quietly to chat -------------------------------------------------------------


def strip_pagerduty(text: str) -> str:
    """The pager keeps its name but loses PagerDuty: amtool's answer does not change."""
    config = yaml.safe_load(text)
    (pager,) = [r for r in config["receivers"] if r["name"] == "pagerduty-oncall"]
    del pager["pagerduty_configs"]
    return yaml.safe_dump(config, sort_keys=False)


PAGE_TO_CHAT = {
    # The lumen pages lose their PagerDuty route and stop at slack-lumen.
    "page route to chat": lambda text: text.replace(
        '  - receiver: pagerduty-oncall\n    matchers:\n    - severity="page"\n    - team="lumen"\n'
        "    continue: true\n",
        "",
        1,
    ),
    "pager without PagerDuty": strip_pagerduty,
}


def test_every_page_must_reach_a_pager_in_the_routing_tests() -> None:
    tests = yaml.safe_load((GENERATED / "alertmanager/routing-tests.yml").read_text())
    assert tests["pagers"] == ["pagerduty-oncall"]
    for case in tests["tests"]:
        assert case.get("needs_pager", False) == (case["labels"]["severity"] == "page"), case
    config = yaml.safe_load((GENERATED / "alertmanager/alertmanager.yml").read_text())
    # default_pager: the last route, behind every route a page could stop at
    assert config["route"]["routes"][-1] == {"receiver": "pagerduty-oncall", "matchers": ['severity="page"']}


@pytest.mark.parametrize("case", sorted(PAGE_TO_CHAT))
def test_routes_test_fails_when_a_page_reaches_only_chat(case: str, tmp_path: Path, amtool: str) -> None:
    tree = tmp_path / "generated"
    shutil.copytree(GENERATED, tree)
    path = tree / "alertmanager/alertmanager.yml"
    text = path.read_text()
    edited = PAGE_TO_CHAT[case](text)
    assert edited != text, "breakage no longer applies"
    path.write_text(edited)
    assert check_config(amtool, tree).returncode == 0
    result = obsgen("alert", "routes-test", "--dir", tree)
    assert result.returncode == 1, result.stdout
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed and all(line.endswith("a page that reaches no pager, only chat)") for line in failed)
    assert any(line.startswith("FAIL BridgeNotReady {severity=page") for line in failed)
    names = sorted({line.split()[1] for line in failed})
    summary = f"obsgen: {len(names)} page alert(s) reach no pager, only chat: {', '.join(names)}"
    assert result.stdout.splitlines()[-1] == summary
    if case == "pager without PagerDuty":
        assert not any("amtool:" in line for line in failed)  # the receivers are the expected ones
        assert (
            "note: receiver pagerduty-oncall is a pager in the spec but not in alertmanager.yml "
            "(no integration)" in result.stdout
        )


def move_ure_to_a_new_team(spec: Path) -> None:
    """ure's alerts carry a team no route names."""
    path = spec / "ure.yaml"
    text = path.read_text()
    assert "\n  team: lumen\n" in text
    path.write_text(text.replace("\n  team: lumen\n", "\n  team: ure-core\n", 1))


def test_a_page_of_a_team_without_a_route_falling_to_chat_is_refused(spec_copy: Path, tmp_path: Path) -> None:
    move_ure_to_a_new_team(spec_copy)
    routing = spec_copy / "alertmanager.yaml"
    lines = routing.read_text().splitlines(keepends=True)
    lines = [line for line in lines if not line.startswith("  default_pager:")]
    routing.write_text("".join(lines))
    line = next(i for i, text in enumerate(lines, 1) if text.startswith("  default_receiver: slack-lumen"))
    out = tmp_path / "generated"
    for args in (("validate",), ("gen", "--out", out)):
        result = obsgen(*args, "--spec", spec_copy)
        assert result.returncode == 2, result.stderr
        assert (
            f"{routing}:{line}: alertmanager.default_receiver: pages that match no route go to "
            "'slack-lumen', which pages no one: UreResidualStddevErrorBudgetBurn (service=ure, "
            "team=ure-core). Route them to a pager, or set `default_pager`"
        ) in result.stderr, result.stderr
        assert "(pagers: pagerduty-oncall)" in result.stderr
        assert "Traceback" not in result.stderr
    assert not out.exists()


def test_default_pager_pages_for_a_team_without_a_route(spec_copy: Path, tmp_path: Path, amtool: str) -> None:
    move_ure_to_a_new_team(spec_copy)
    out = tmp_path / "generated"
    result = obsgen("gen", "--spec", spec_copy, "--out", out)
    assert result.returncode == 0, result.stderr
    cases = yaml.safe_load((out / "alertmanager/routing-tests.yml").read_text())["tests"]
    ure: dict[str, list[dict]] = {}
    for case in cases:
        if case["labels"].get("service") == "ure":
            ure.setdefault(case["labels"]["severity"], []).append(case)
    assert ure["page"] and all(
        c["receivers"] == ["pagerduty-oncall"] and c["needs_pager"] for c in ure["page"]
    )
    # the default receiver, for everything else
    assert ure["ticket"] and all(c["receivers"] == ["slack-lumen"] for c in ure["ticket"])
    routed = obsgen("alert", "routes-test", "--dir", out)
    assert routed.returncode == 0, routed.stdout + routed.stderr


def test_a_webhook_pages_only_when_the_spec_says_so(spec_copy: Path, tmp_path: Path, amtool: str) -> None:
    """A webhook into a paging system (Opsgenie, Grafana OnCall…) is a pager with `pager: true`."""
    routing = spec_copy / "alertmanager.yaml"
    pagerduty = "      pagerduty:\n        routing_key_env: ALERT_PAGERDUTY_ROUTING_KEY\n"
    text = routing.read_text()
    assert pagerduty in text
    webhook = '      webhook: {url: "https://oncall.example.test/alertmanager"}\n'
    routing.write_text(text.replace(pagerduty, webhook, 1))
    refused = obsgen("validate", "--spec", spec_copy)
    assert refused.returncode == 2
    assert "alertmanager.default_pager: receiver 'pagerduty-oncall' does not page" in refused.stderr
    assert "no receiver pages: give one `pagerduty`, or `pager: true` on a webhook" in refused.stderr
    routing.write_text(text.replace(pagerduty, webhook + "      pager: true\n", 1))
    out = tmp_path / "generated"
    result = obsgen("gen", "--spec", spec_copy, "--out", out)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load((out / "alertmanager/routing-tests.yml").read_text())["pagers"] == [
        "pagerduty-oncall"
    ]
    routed = obsgen("alert", "routes-test", "--dir", out)
    assert routed.returncode == 0, routed.stdout + routed.stderr
