"""Errors that say the fix: did-you-mean for unknown names, percent objectives, each input quoted
once, and durations in the JSON Schema as a spec writes them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, obsgen

from generator.durations import DURATION_PATTERN
from generator.errors import did_you_mean


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the spec file; the line of the change."""
    text = path.read_text()
    assert old in text, f"fixture drifted: {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))
    return text[: text.index(old)].count("\n") + 1


def refused(spec: Path) -> str:
    result = obsgen("validate", "--spec", spec)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_did_you_mean_lists_few_names_and_suggests_the_closest() -> None:
    assert did_you_mean("slack-dury", ["slack-lumen", "slack-duri", "quiet"]) == (
        "did you mean 'slack-duri'? known: quiet, slack-duri, slack-lumen"
    )
    many = [f"metric_{i}" for i in range(9)]
    assert did_you_mean("metric_x", [*many, "metric_xs"]) == "did you mean 'metric_xs'?"
    assert did_you_mean("zzz", many) == ""
    assert did_you_mean("anything", []) == "known: none"


UNKNOWN_NAMES = {
    "metric of a signal": (
        "    metric: bridge_phase_diff\n    function: mean",
        "    metric: bridge_phase_dif\n    function: mean",
        "signals[0].metric: metric 'bridge_phase_dif' is not declared in this service's "
        "`metrics` catalog (declare it, with `external: true` if something else exports it); "
        "did you mean 'bridge_phase_diff'?",
    ),
    "signal of an alert": (
        "    signal: bridge:phase_diff_mean_5m\n    op:",
        "    signal: bridge:phase_diff_mean5m\n    op:",
        "alerts[0].signal: signal 'bridge:phase_diff_mean5m' is not one of this service's "
        "`signals`; did you mean 'bridge:phase_diff_mean_5m'? known: bridge:phase_diff_mean_5m, "
        "bridge:sync_quality_p95_10m, bridge:tick_jitter_seconds_p95_5m",
    ),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_NAMES))
def test_unknown_name_suggests_the_close_one(case: str, spec_copy: Path) -> None:
    old, new, message = UNKNOWN_NAMES[case]
    path = spec_copy / "bridge.yaml"
    line = edit(path, old, new)
    assert f"{path}:{line}: {message}" in refused(spec_copy)


def test_unknown_receiver_suggests_the_close_one_and_lists_the_few(spec_copy: Path) -> None:
    path = spec_copy / "alertmanager.yaml"
    line = edit(
        path,
        "receivers: [slack-duri]\n      repeat_interval",
        "receivers: [slack-dury]\n      repeat_interval",
    )
    stderr = refused(spec_copy)
    match = re.search(
        rf"{re.escape(str(path))}:{line}: alertmanager\.routes\[\d+\]\.receivers\[0\]: "
        r"receiver 'slack-dury' is not one of `receivers`; did you mean 'slack-duri'\? known: (.*)",
        stderr,
    )
    assert match, stderr
    assert "slack-duri" in match.group(1).split(", ") and "deadman" in match.group(1).split(", ")


def test_route_on_a_label_value_no_alert_carries_suggests_one(spec_copy: Path) -> None:
    path = spec_copy / "alertmanager.yaml"
    edit(path, "match: {severity: info}", "match: {severity: infoo}")
    stderr = refused(spec_copy)
    assert "no alert has severity='infoo': did you mean 'info'?" in stderr


def test_misspelt_field_suggests_the_field(spec_copy: Path) -> None:
    path = spec_copy / "ure.yaml"
    line = edit(path, "time_slice: 1m", "timeslice: 1m")
    stderr = refused(spec_copy)
    assert (
        f"{path}:{line}: slos[0].timeslice: unknown field 'timeslice'; did you mean 'time_slice'?" in stderr
    )


@pytest.mark.parametrize(
    ("written", "hint"),
    [
        ("0.99", "did you mean objective: 99? (got 0.99)"),
        ("0.985", "did you mean objective: 98.5? (got 0.985)"),
        ("1", "1 means 1 %; e.g. objective: 99.9 (got 1)"),
    ],
)
def test_objective_written_as_a_ratio_is_refused_with_the_percent(
    spec_copy: Path, written: str, hint: str
) -> None:
    path = spec_copy / "ure.yaml"
    line = edit(path, "objective: 98.5", f"objective: {written}")
    stderr = refused(spec_copy)
    assert f"{path}:{line}: slos[0].objective: objectives are percent, not ratios: {hint}\n" in stderr


def test_objective_above_one_percent_is_still_allowed(spec_copy: Path) -> None:
    edit(spec_copy / "ure.yaml", "objective: 98.5", "objective: 1.5")
    result = obsgen("validate", "--spec", spec_copy)
    assert "objectives are percent" not in result.stderr


def test_each_input_is_quoted_once(spec_copy: Path) -> None:
    ure, bridge = spec_copy / "ure.yaml", spec_copy / "bridge.yaml"
    edit(ure, "period: 30d", "period: 30x")
    edit(ure, "time_slice: 1m", "time_slice: 0s")
    edit(bridge, "objective: 99.0", "objective: 101")
    stderr = refused(spec_copy)
    assert "period: expected a Prometheus duration such as 30s, 5m, 1h or 30d, got '30x'\n" in stderr
    assert "time_slice: expected a duration longer than zero, got '0s'\n" in stderr
    assert "slos[0].objective: Input should be less than 100 (got 101)\n" in stderr  # pydantic's own
    for line in stderr.splitlines():
        quoted = re.findall(r"got ('[^']*'|[\d.]+)", line)
        assert len(quoted) == len(set(quoted)), line


def test_unknown_slo_id_of_explain_suggests_one() -> None:
    result = obsgen("explain", "bridge-phase-dif")
    assert result.returncode == 2
    assert (
        "error: no SLO with id 'bridge-phase-dif'; did you mean 'bridge-phase-diff'? known: " in result.stderr
    )


def duration_properties(schema: dict) -> dict[str, dict]:
    """`Model.field` → its schema, for every Prometheus-duration property (optional ones too)."""
    found = {}
    for model, body in schema["$defs"].items():
        for name, prop in body.get("properties", {}).items():
            branches = [prop, *prop.get("anyOf", [])]
            if any(b.get("pattern") == DURATION_PATTERN for b in branches):
                found[f"{model}.{name}"] = prop
    return found


@pytest.mark.parametrize("source", ["cli", "generated"])
def test_schema_shows_durations_as_written(source: str) -> None:
    if source == "cli":
        result = obsgen("schema")
        assert result.returncode == 0, result.stderr
        schema = json.loads(result.stdout)
    else:
        schema = json.loads((ROOT / "generated/schema/spec.schema.json").read_text())
    durations = duration_properties(schema)
    assert durations["SLO.period"]["default"] == "30d"
    assert durations["SLO.time_slice"]["default"] == "1m"
    assert durations["Settings.scrape_interval"]["default"] == "15s"
    assert durations["AlertmanagerSpec.repeat_interval"]["default"] == "4h"
    assert durations["ThresholdAlert.for"]["default"] == "0s"
    pattern = re.compile(DURATION_PATTERN)
    for name, prop in durations.items():
        shown = [prop["default"]] if prop.get("default") is not None else []
        for value in [*shown, *prop.get("examples", [])]:
            assert isinstance(value, str) and pattern.match(value), (name, value)
