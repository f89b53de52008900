"""Bad input: exit 2, file:line, field path and what was expected; generated/ untouched."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from conftest import obsgen, tree_bytes

UNFILTERED_PROMQL_ALERT = """
  - name: BridgePowerSpike
    expr: max_over_time(bridge_power_w[5m]) > 400
    severity: info
    summary: Power spiked.
    description: The bridge drew more than 400 W.
    examples: [{eval_time: 1m, fires: true, input_series: [{series: bridge_power_w, values: "500 500"}]}]
"""

BROKEN_PROMQL_ALERT = """
  - name: BridgeBroken
    expr: sum(rate(bridge_power_w[5m])
    severity: info
    summary: Broken on purpose.
    description: This expression misses a parenthesis.
    examples: [{eval_time: 1m, fires: true, input_series: [{series: up, values: "1"}]}]
"""


def replace_first(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text, f"fixture drifted: {old!r} not in spec"
        return text.replace(old, new, 1)

    return edit


# case: (spec file, edit, text on the offending line, field path, words of the message)
CASES = {
    "objective 101": (
        "bridge.yaml",
        replace_first("objective: 99.0", "objective: 101"),
        "objective: 101",
        "slos[0].objective",
        "less than 100",
    ),
    "unknown field": (
        "bridge.yaml",
        replace_first("    type: gauge\n", "    type: gauge\n    colour: blue\n"),
        "colour: blue",
        "metrics[0].colour",
        "unknown field",
    ),
    "undeclared metric": (
        "bridge.yaml",
        replace_first("metric: bridge_entropy_ratio", "metric: bridge_entropy"),
        "metric: bridge_entropy\n",
        "alerts[1].metric",
        "not declared",
    ),
    "PromQL that does not parse": (
        "bridge.yaml",
        lambda text: text + BROKEN_PROMQL_ALERT,
        "expr: sum(rate(",
        "alerts[8].expr",
        "does not parse",
    ),
    "raw PromQL without the realm filter": (
        "bridge.yaml",
        lambda text: text + UNFILTERED_PROMQL_ALERT,
        "expr: max_over_time(bridge_power_w",
        "alerts[8].expr",
        'bridge_power_w is selected without {metric_realm="prod"}',
    ),
    "burn rate that can never fire": (
        "ure.yaml",
        replace_first("objective: 98.5", "objective: 90"),
        "objective: 90",
        "slos[0].objective",
        "can never fire",
    ),
    "duplicate key": (
        "ure.yaml",
        replace_first("  port: 9305\n", "  port: 9305\n  port: 9306\n"),
        "port: 9306",
        "scrape.port",
        "duplicate key",
    ),
    "slo_id shared by two services": (
        "ure.yaml",
        lambda text: text.replace("service: ure", "service: bridge-phase").replace(
            "name: residual-stddev", "name: diff"
        ),
        "name: diff",
        "slos[0].name",
        "also the id of an SLO",
    ),
    "reserved label": (
        "ure.yaml",
        replace_first("  team: lumen", "  team: lumen\n  slo_id: mine"),
        "slo_id: mine",
        "labels.slo_id",
        "set by obsgen",
    ),
    "zero time slice": (
        "ure.yaml",
        replace_first("time_slice: 1m", "time_slice: 0s"),
        "time_slice: 0s",
        "slos[0].time_slice",
        "longer than zero",
    ),
    "time slice longer than the lookback allows": (
        "ure.yaml",
        replace_first("time_slice: 1m", "time_slice: 5m"),
        "time_slice: 5m",
        "slos[0].time_slice",
        "drops a series 5m after",
    ),
    "period shorter than an alert window": (
        "ure.yaml",
        replace_first("period: 30d", "period: 2d"),
        "period: 2d",
        "slos[0].period",
        "longer than the longest alerting window (3d)",
    ),
    "stddev SLI where spread is good": (
        "ure.yaml",
        replace_first('op: "<="', 'op: ">="'),
        'op: ">="',
        "slos[0].sli.threshold.op",
        "stddev SLI must count low spread as good",
    ),
    "signal alert matching a label the signal drops": (
        "bridge.yaml",
        replace_first(
            "    signal: bridge:phase_diff_mean_5m\n    op:",
            "    signal: bridge:phase_diff_mean_5m\n    matchers: {zone: a}\n    op:",
        ),
        "matchers: {zone: a}",
        "alerts[0].matchers.zone",
        "can never match",
    ),
    "port conflict": (
        "ure.yaml",
        replace_first("port: 9305", "port: 9306"),
        "port: 9306",
        "scrape.port",
        "already the port of service 'bridge'",
    ),
    "heartbeat freshness of the seed (75s) flaps": (
        "duri.yaml",
        replace_first("freshness: 151s", "freshness: 75s"),
        "freshness: 75s",
        "heartbeats[0].freshness",
        "period 1m + scrape interval 30s + evaluation interval 1m = 2m30s old",
    ),
    "heartbeat freshness exactly at the largest healthy age": (
        "duri.yaml",
        replace_first("freshness: 151s", "freshness: 150s"),
        "freshness: 150s",
        "heartbeats[0].freshness",
        "the smallest safe value is 2m31s",
    ),
    "heartbeat window without room for two scrapes": (
        "duri.yaml",
        replace_first("window: 6m\n", "window: 2m\n"),
        "window: 2m\n",
        "heartbeats[0].window",
        "period 1m + 2 × scrape interval 30s + ε",
    ),
    "gate condition on an unknown series": (
        "duri.yaml",
        replace_first("series: duri_green_uptime_ratio", "series: duri_green_uptime"),
        "series: duri_green_uptime\n",
        "gates[0].conditions[2].series",
        "is not a gauge in this service's `metrics`",
    ),
    "gate that can never roll back": (
        "bridge.yaml",
        replace_first("violations: 1 ", "violations: 2 "),
        "- name: bridge-v19",
        "gates[0]",
        "could never roll back",
    ),
    "gate trend window shorter than two samples": (
        "duri.yaml",
        replace_first("window: 5m", "window: 20s"),
        "window: 20s",
        "gates[0].conditions[4].window",
        "must be longer than two sample intervals",
    ),
    "gate promote time that is not whole evaluations": (
        "duri.yaml",
        replace_first("after: 15m", "after: 15m30s"),
        "after: 15m30s",
        "gates[0].promote.after",
        "whole number of evaluation intervals",
    ),
    "duplicate gate name": (
        "duri.yaml",
        replace_first("- name: duri-l4", "- name: bridge-v19"),
        "- name: bridge-v19",
        "gates[0].name",
        "gate 'bridge-v19' is already defined by service 'bridge'",
    ),
    "recorded series without colons": (
        "duri.yaml",
        replace_first(
            "    contract: true        # the seed's name; dashboards and scripts already use it\n", ""
        ),
        "- record: duri_green_uptime_ratio",
        "signals[0]",
        "set `contract: true`",
    ),
    "route to an undefined receiver": (
        "alertmanager.yaml",
        replace_first(
            "receivers: [slack-duri]\n      repeat_interval", "receivers: [slack-dury]\n      repeat_interval"
        ),
        "receivers: [slack-dury]",
        "alertmanager.routes[3].receivers[0]",
        "receiver 'slack-dury' is not one of `receivers`; did you mean 'slack-duri'?",
    ),
    "duplicate receiver name": (
        "alertmanager.yaml",
        replace_first("- name: slack-duri", "- name: slack-lumen"),
        '- name: slack-lumen\n      slack:\n        channel: "#duri-alerts"',
        "alertmanager.receivers[2].name",
        "duplicate receiver 'slack-lumen'",
    ),
    "route no alert reaches": (
        "alertmanager.yaml",
        replace_first("match: {severity: info}", "match: {severity: info, team: nobody}"),
        "match: {severity: info, team: nobody}",
        "alertmanager.routes[4]",
        "no alert the rules can emit reaches this route",
    ),
    "Watchdog to a person": (
        "alertmanager.yaml",
        replace_first("watchdog_receiver: deadman", "watchdog_receiver: slack-lumen"),
        "watchdog_receiver: slack-lumen",
        "alertmanager.watchdog_receiver",
        "never Slack or PagerDuty",
    ),
    "page route without a pager": (
        "alertmanager.yaml",
        replace_first("receivers: [pagerduty-oncall, slack-duri]", "receivers: [slack-duri]"),
        "- match: {severity: page, team: duri}",
        "alertmanager.routes[1]",
        "pages end at this route (severity=page, team=duri) and reach only slack-duri, no pager: "
        "DuriHeartbeatStale (service=duri, team=duri)",
    ),
    "default_pager that does not page": (
        "alertmanager.yaml",
        replace_first("default_pager: pagerduty-oncall", "default_pager: slack-lumen"),
        "default_pager: slack-lumen",
        "alertmanager.default_pager",
        "receiver 'slack-lumen' does not page (pagers: pagerduty-oncall)",
    ),
    "Slack said to page": (
        "alertmanager.yaml",
        replace_first("    - name: slack-duri\n", "    - name: slack-duri\n      pager: true\n"),
        "- name: slack-duri",
        "alertmanager.receivers[2]",
        "`pager: true` needs `pagerduty` or a `webhook` into a paging system",
    ),
    "dashboard threshold of an unknown SLO": (
        "bridge.yaml",
        replace_first("threshold: {slo: sync-quality}", "threshold: {slo: sync-qualty}"),
        "threshold: {slo: sync-qualty}",
        "dashboards[0].panels[1].threshold.slo",
        "SLO 'sync-qualty' is not one of this service's `slos`",
    ),
    "dashboard of an unknown series": (
        "bridge.yaml",
        replace_first("- series: bridge_entropy_ratio", "- series: bridge_entropy"),
        "- series: bridge_entropy\n",
        "dashboards[0].panels[2].series",
        "is not a series this spec records or declares",
    ),
    "dashboard uid taken by a gate": (
        "bridge.yaml",
        replace_first("- uid: lumen-min", "- uid: bridge-v19"),
        "- uid: bridge-v19",
        "dashboards[0].uid",
        "dashboard uid 'bridge-v19' is already taken",
    ),
}


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_exits_2_with_location_and_leaves_output(case: str, spec_copy: Path, tmp_path: Path) -> None:
    filename, edit, needle, field, expected = CASES[case]
    out = tmp_path / "generated"
    assert obsgen("gen", "--spec", spec_copy, "--out", out).returncode == 0
    before = tree_bytes(out)

    path = spec_copy / filename
    text = edit(path.read_text())
    path.write_text(text)
    result = obsgen("gen", "--spec", spec_copy, "--out", out)

    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    location = f"{path}:{line_of(text, needle)}: {field}: "
    assert location in result.stderr, result.stderr
    assert expected in result.stderr
    assert tree_bytes(out) == before
    assert not list(tmp_path.glob(".generated*")), "no staging directory may be left behind"


@pytest.mark.parametrize(
    ("content", "line", "expected"),
    [
        (b"service: x\n? [a, b]\n: 1\n", 2, "mapping keys must be plain scalars"),
        (b"service: !!python/object:os.system x\n", 1, "invalid YAML value"),
        (b"service: x\n# caf\xe9\n", 2, "not UTF-8"),
    ],
)
def test_unreadable_yaml_is_a_located_error(
    spec_copy: Path, content: bytes, line: int, expected: str
) -> None:
    path = spec_copy / "odd.yaml"
    path.write_bytes(content)
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2, result.stderr
    assert f"{path}:{line}: " in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_evaluation_interval_beyond_the_lookback_is_refused(spec_copy: Path) -> None:
    path = spec_copy / "obsgen.yaml"
    path.write_text(path.read_text().replace("evaluation_interval: 1m", "evaluation_interval: 10m"))
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert f"{path}:3: settings.evaluation_interval: " in result.stderr


def test_slo_where_every_incident_pages_gets_a_note_not_an_error(spec_copy: Path, tmp_path: Path) -> None:
    path = spec_copy / "ure.yaml"
    path.write_text(path.read_text().replace("objective: 98.5", "objective: 99.9"))
    out = tmp_path / "out"
    result = obsgen("gen", "--spec", spec_copy, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "note: " in result.stderr and "every incident pages" in result.stderr
    names = [
        t["name"]
        for t in yaml.safe_load((out / "prometheus/tests/ure.residual-stddev.yml").read_text())["tests"]
    ]
    assert not any("slow burn" in name for name in names)
    assert any("full violation" in name for name in names)


def test_invalid_yaml_names_its_line(spec_copy: Path) -> None:
    path = spec_copy / "ure.yaml"
    path.write_text(path.read_text().replace("realm: prod", "realm: [prod"))
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert re.search(rf"{re.escape(str(path))}:\d+: invalid YAML", result.stderr), result.stderr


def test_missing_spec_directory_is_a_clear_error(tmp_path: Path) -> None:
    result = obsgen("validate", "--spec", tmp_path / "nowhere")
    assert result.returncode == 2
    assert "spec directory does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_every_problem_is_reported_at_once(spec_copy: Path) -> None:
    bridge, ure = spec_copy / "bridge.yaml", spec_copy / "ure.yaml"
    bridge.write_text(bridge.read_text().replace("objective: 99.0", "objective: 101", 1))
    ure.write_text(ure.read_text().replace("function: stddev", "function: median"))
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert "bridge.yaml" in result.stderr and "ure.yaml" in result.stderr
    assert "2 problem(s)" in result.stderr


def test_an_alert_that_reaches_no_one_is_located_at_the_alert(spec_copy: Path) -> None:
    """Info alerts lose their route and the default receiver notifies no one."""
    routing = spec_copy / "alertmanager.yaml"
    text = routing.read_text()
    text = replace_first("default_receiver: slack-lumen", "default_receiver: quiet")(text)
    text = replace_first("    - match: {severity: info}\n      receivers: [quiet]\n", "")(text)
    routing.write_text(text)
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2, result.stderr
    bridge = spec_copy / "bridge.yaml"
    line = line_of(bridge.read_text(), "- name: BridgeEntropyElevated")
    assert (
        f"{bridge}:{line}: alerts[2]: alert BridgeEntropyElevated (severity=info, service=bridge)"
        in result.stderr
    )
    assert "matches no route, and the default receiver 'quiet' notifies no one" in result.stderr
    assert "Traceback" not in result.stderr
