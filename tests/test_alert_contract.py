"""The generated promtool tests take an alert's labels and annotations from the spec (the alert
contract), not from the compiled rules: a rule compiler that gets a label or an annotation wrong
is caught by the generated tests instead of copied into them."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, promtool_test

from generator import rule_parts
from generator.pipeline import load, render_outputs

Change = Callable[[dict[str, Any]], None]


def relabel(label: str, value: str) -> Change:
    def change(rule: dict[str, Any]) -> None:
        rule["labels"][label] = value

    return change


def drop_label(label: str) -> Change:
    def change(rule: dict[str, Any]) -> None:
        del rule["labels"][label]

    return change


def reword(annotation: str) -> Change:
    def change(rule: dict[str, Any]) -> None:
        rule["annotations"][annotation] += " (reworded)"

    return change


# (spec, rule file, alert, what the rule compiler gets wrong)
MUTATIONS: dict[str, tuple[Path, str, str, Change]] = {
    "burn alert: severity": (
        ROOT / "spec",
        "bridge.sync-quality",
        "BridgeSyncQualityErrorBudgetBurn",
        relabel("severity", "info"),
    ),
    "burn alert: service label lost": (
        ROOT / "spec",
        "ure.residual-stddev",
        "UreResidualStddevErrorBudgetBurn",
        drop_label("service"),
    ),
    "burn alert of an HTTP SLO: description": (
        ROOT / "tests/fixtures/specs/http",
        "checkout.availability",
        "CheckoutAvailabilityErrorBudgetBurn",
        reword("description"),
    ),
    "threshold alert: team": (ROOT / "spec", "bridge", "BridgeTemperatureHigh", relabel("team", "nobody")),
    "promql alert: summary": (ROOT / "spec", "bridge", "BridgeNotReady", reword("summary")),
    "heartbeat alert: severity": (ROOT / "spec", "duri", "DuriHeartbeatStale", relabel("severity", "ticket")),
    "heartbeat companion: runbook": (ROOT / "spec", "duri", "DuriHeartbeatMissing", reword("runbook_url")),
    "gate alert: gate label": (
        ROOT / "spec",
        "bridge.gate.bridge-v19",
        "CanaryGateBridgeV19Rollback",
        relabel("gate", "bridge-v18"),
    ),
    "watchdog: severity": (ROOT / "spec", "_watchdog", "Watchdog", relabel("severity", "page")),
}


@cache
def rendered(spec: Path) -> dict[str, str]:
    return render_outputs(load(spec)).outputs


def rendered_with(monkeypatch: pytest.MonkeyPatch, spec: Path, alert: str, change: Change) -> dict[str, str]:
    """Everything `obsgen gen` writes, with the rule compilers' `alert` rule for `alert` changed."""
    original = rule_parts.alert

    def mutated(*args: Any) -> dict[str, Any]:
        rule = original(*args)
        if rule["alert"] == alert:
            change(rule)
        return rule

    monkeypatch.setattr(rule_parts, "alert", mutated)
    return render_outputs(load(spec)).outputs


def write_rules_and_test(outputs: dict[str, str], name: str, root: Path) -> Path:
    """Every rule file (a test may load several) and the one test file; returns the test's path."""
    wanted = [path for path in outputs if path.startswith("prometheus/rules/")]
    for path in [*wanted, f"prometheus/tests/{name}.yml"]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(outputs[path])
    return root / "prometheus/tests" / f"{name}.yml"


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_wrong_alert_in_the_rules_fails_its_generated_tests(
    mutation: str, monkeypatch: pytest.MonkeyPatch, promtool: str, tmp_path: Path
) -> None:
    spec, name, alert, change = MUTATIONS[mutation]
    clean = rendered(spec)
    mutated = rendered_with(monkeypatch, spec, alert, change)
    assert mutated[f"prometheus/rules/{name}.yml"] != clean[f"prometheus/rules/{name}.yml"], "no mutation"
    assert mutated[f"prometheus/tests/{name}.yml"] == clean[f"prometheus/tests/{name}.yml"], (
        "the generated tests followed the rules: they must come from the spec alone"
    )
    healthy = promtool_test(promtool, write_rules_and_test(clean, name, tmp_path / "clean"))
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    broken = promtool_test(promtool, write_rules_and_test(mutated, name, tmp_path / "mutated"))
    assert broken.returncode != 0, f"{mutation}: the generated tests did not notice"
    assert alert in broken.stdout + broken.stderr
