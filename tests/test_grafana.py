"""Generated dashboards: Grafana's own dashboard schema, the seed's panels, stable uids, the
datasource variable, and queries that read only series the spec produces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import GENERATED, SPEC
from schemas import grafana_dashboard_schema

from generator import promql
from generator.grafana.dashboards import compile_dashboards
from generator.grafana.panels import SCHEMA_VERSION, target_as_sent
from generator.pipeline import load
from generator.validate import known_series

DASHBOARDS = GENERATED / "grafana/dashboards"


def boards() -> list[Path]:
    return sorted(DASHBOARDS.glob("*.json"))


def board(uid: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / f"{uid}.json").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(grafana_dashboard_schema())


def test_the_expected_dashboards_exist() -> None:
    assert [p.stem for p in boards()] == ["bridge-slos", "bridge-v19", "duri-l4", "lumen-min", "ure-slos"]


@pytest.mark.parametrize("path", boards(), ids=lambda p: p.stem)
def test_dashboard_validates_against_grafanas_schema(
    path: Path, validator: jsonschema.Draft7Validator
) -> None:
    document = json.loads(path.read_text())
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]
    assert errors == []
    assert document["schemaVersion"] >= 39
    assert document["uid"] == path.stem
    variables = {v["name"]: v for v in document["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in document["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])


def test_legacy_dashboard_fields_would_not_validate(validator: jsonschema.Draft7Validator) -> None:
    """The schema check has teeth: the fields and nulls old Grafana versions wrote (and grafanalib
    0.7, which built these dashboards before, still emitted) are rejected."""
    legacy = {**board("lumen-min"), "rows": [], "style": "dark", "hideControls": False, "gnetId": None}
    messages = " ".join(e.message for e in validator.iter_errors(legacy))
    assert "rows" in messages and "style" in messages


def _steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def test_lumen_min_has_the_three_seed_panels_with_their_thresholds() -> None:
    panels = board("lumen-min")["panels"]
    shape = [(p["type"], p["targets"][0]["expr"]) for p in panels]
    assert shape == [
        ("timeseries", 'bridge:phase_diff_mean_5m{metric_realm="prod"}'),
        ("stat", 'bridge:sync_quality_p95_10m{metric_realm="prod"}'),
        # a raw series of the service, scoped like the rules (job and realm)
        ("timeseries", 'bridge_entropy_ratio{job="bridge", metric_realm="prod"}'),
    ]
    assert _steps(panels[0]) == [("green", None), ("red", 0.02)]  # the SLO's ≤ 0.02
    assert _steps(panels[1]) == [("red", None), ("green", 0.85)]  # the SLO's ≥ 0.85
    assert _steps(panels[2]) == [("green", None), ("red", 0.15)]  # BridgeEntropySpike's > 0.15
    assert panels[0]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"


def test_slo_dashboard_draws_budget_and_burn_rate_factors() -> None:
    panels = board("bridge-slos")["panels"]
    titles = [p["title"] for p in panels]
    assert sum("error budget left" in t for t in titles) == 2
    assert sum("share of good 1m slices" in t for t in titles) == 2
    burn = next(p for p in panels if p["title"].startswith("bridge-phase-diff: burn rate"))
    assert {value for _, value in _steps(burn)} == {None, 1.0, 3.0, 6.0, 14.4}
    assert [t["legendFormat"] for t in burn["targets"]] == [
        "burn rate 1h",
        "burn rate 6h",
        "burn rate 1d",
        "burn rate 3d",
    ]
    alerts = next(p for p in panels if p["title"] == "bridge-phase-diff: firing alerts")
    assert alerts["type"] == "table"
    assert alerts["targets"][0]["expr"] == 'ALERTS{alertstate="firing", slo_id="bridge-phase-diff"}'


def test_gate_dashboard_shows_conditions_trend_and_verdict() -> None:
    exprs = [t["expr"] for p in board("duri-l4")["panels"] for t in p["targets"]]
    for needle in (
        "duri_heartbeat_ok{",
        "duri_lyapunov_v{",
        "deriv(duri_lyapunov_v{",
        "duri_canary_unique_ratio{",
        "duri_green_uptime_ratio{",
        'canary:promote:bool{gate="duri-l4"',
        'canary:rollback:bool{gate="duri-l4"',
        'canary:gate_violations:count{gate="duri-l4"',
    ):
        assert any(needle in e for e in exprs), needle


def test_every_query_reads_only_series_the_spec_produces() -> None:
    known = known_series(load(SPEC))
    for path in boards():
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                names = {name for name, _ in promql.selectors(target_as_sent(target))}
                assert names and names <= known, (path.name, target["expr"], names - known)


def test_dashboards_are_deterministic_and_uids_stable() -> None:
    first = compile_dashboards(load(SPEC))
    assert first == compile_dashboards(load(SPEC))
    assert sorted(first) == [p.stem for p in boards()]
    assert all(d["schemaVersion"] == SCHEMA_VERSION for d in first.values())


def test_provisioning_points_a_file_provider_at_the_dashboards() -> None:
    provisioning = yaml.safe_load((GENERATED / "grafana/provisioning/dashboards.yaml").read_text())
    (provider,) = provisioning["providers"]
    assert provisioning["apiVersion"] == 1
    assert provider["type"] == "file" and provider["options"]["path"]
