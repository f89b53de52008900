"""What `obsgen gen` writes: deterministic, atomic, and shaped by the contracts of DESIGN.md."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import GENERATED, ROOT, SPEC, obsgen, tree_bytes, vector_selectors

from generator import writer


def rule_files() -> dict[str, dict]:
    return {p.stem: yaml.safe_load(p.read_text()) for p in (GENERATED / "prometheus/rules").glob("*.yml")}


def all_rules() -> list[dict]:
    return [rule for doc in rule_files().values() for group in doc["groups"] for rule in group["rules"]]


def test_two_runs_give_identical_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    for out, seed in ((first, "1"), (second, "12345")):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-m", "generator", "gen", "--out", str(out)], cwd=ROOT, env=env, check=True
        )
    assert tree_bytes(first) == tree_bytes(second)
    assert tree_bytes(first) == tree_bytes(GENERATED), "generated/ is stale: run `make gen`"


def test_check_reports_a_diff_and_exit_1(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert obsgen("gen", "--out", out).returncode == 0
    assert obsgen("gen", "--check", "--out", out).returncode == 0
    rules = out / "prometheus/rules/ure.residual-stddev.yml"
    rules.write_text(rules.read_text().replace("0.03", "0.3"))
    (out / "stray.txt").write_text("left over\n")
    result = obsgen("gen", "--check", "--out", out)
    assert result.returncode == 1
    assert "--- a/generated/prometheus/rules/ure.residual-stddev.yml" in result.stdout
    assert "+++ /dev/null" in result.stdout  # the stray file would be removed
    assert "out of date" in result.stderr


def test_a_failed_write_leaves_the_old_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "generated"
    writer.write_tree(out, writer.with_marker({"a.txt": "old\n"}))
    before = tree_bytes(out)

    def refuse(staging: Path, root: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writer, "_swap", refuse)
    with pytest.raises(OSError, match="disk full"):
        writer.write_tree(out, writer.with_marker({"a.txt": "new\n", "b.txt": "more\n"}))
    assert tree_bytes(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]


def test_an_interrupted_swap_is_finished_by_the_next_run(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    writer.write_tree(out, writer.with_marker({"a.txt": "old\n"}))
    out.rename(tmp_path / ".generated.old-x1")  # killed between the two renames
    assert writer.write_tree(out, writer.with_marker({"a.txt": "new\n"}))
    assert (out / "a.txt").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]


def test_output_is_world_readable_and_only_our_directory_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert obsgen("gen", "--out", out).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o777 & ~_umask()
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.md").write_text("mine\n")
    result = obsgen("gen", "--out", foreign)
    assert result.returncode == 3
    assert "refusing to replace it" in result.stderr
    assert (foreign / "notes.md").read_text() == "mine\n"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_check_sees_line_ending_damage(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert obsgen("gen", "--out", out).returncode == 0
    rules = out / "prometheus/rules/ure.yml"
    rules.write_bytes(rules.read_bytes().replace(b"\n", b"\r\n"))
    assert obsgen("gen", "--check", "--out", out).returncode == 1
    assert "files written" in obsgen("gen", "--out", out).stdout
    assert b"\r\n" not in rules.read_bytes()


def test_seed_rule_names_and_sloth_names_are_recorded() -> None:
    records = {rule["record"] for rule in all_rules() if "record" in rule}
    seeds = {"bridge:phase_diff_mean_5m", "bridge:sync_quality_p95_10m", "ure:residual_stddev_10m"}
    sloth = {f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")}
    sloth |= {
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
    }
    assert seeds <= records
    assert sloth <= records


def test_slo_series_carry_identity_labels() -> None:
    slo_ids = set()
    for rule in all_rules():
        if rule.get("record", "").startswith("slo:"):
            labels = rule["labels"]
            assert labels["slo_id"] == f"{labels['slo_service']}-{labels['slo_name']}"
            slo_ids.add(labels["slo_id"])
            assert ("slo_window" in labels) == rule["record"].startswith("slo:sli_error:ratio_rate")
    assert slo_ids == {"bridge-phase-diff", "bridge-sync-quality", "ure-residual-stddev"}


def test_every_alert_has_severity_summary_description_runbook() -> None:
    alerts = [rule for rule in all_rules() if "alert" in rule]
    assert len(alerts) >= 10
    for alert in alerts:
        if alert["alert"] == "Watchdog":  # for the dead-man's switch, never a person
            assert alert["labels"]["severity"] == "none"
            continue
        assert alert["labels"]["severity"] in {"page", "ticket", "info"}
        assert {"summary", "description", "runbook_url"} <= set(alert["annotations"]), alert["alert"]


def test_burn_rate_alerts_have_no_for_and_the_workbook_thresholds() -> None:
    burn = [rule for rule in all_rules() if rule.get("alert", "").endswith("BudgetBurn")]
    assert {rule["labels"]["severity"] for rule in burn} == {"page", "ticket"}
    for rule in burn:
        assert "for" not in rule
        assert "slo_id=" in rule["expr"]
    phase_page = next(
        r for r in burn if r["alert"] == "BridgePhaseDriftBudgetBurn" and r["labels"]["severity"] == "page"
    )
    assert "ratio_rate1h{" in phase_page["expr"] and "> 0.144" in phase_page["expr"]
    assert "ratio_rate6h{" in phase_page["expr"] and "> 0.06" in phase_page["expr"]


def test_every_selector_of_a_realm_service_filters_its_realm() -> None:
    """Prometheus's own `up` of a job is the one exception: it is per target, not per realm."""
    for name, doc in rule_files().items():
        if name == "_watchdog":
            continue
        realm = yaml.safe_load((SPEC / f"{name.split('.')[0]}.yaml").read_text())["realm"]
        for group in doc["groups"]:
            for rule in group["rules"]:
                for selector in vector_selectors(rule["expr"]):
                    matchers = {m.name: m.value for m in selector.matchers.matchers}
                    if selector.name == "up" and "job" in matchers:
                        continue
                    assert matchers.get("metric_realm") == realm, (rule, str(selector))


def test_every_alert_is_exercised_by_a_firing_test() -> None:
    alerts = {rule["alert"] for rule in all_rules() if "alert" in rule}
    fired: set[str] = set()
    for path in (GENERATED / "prometheus/tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text())["tests"]:
            for case in test.get("alert_rule_test", []):
                if case["exp_alerts"]:
                    fired.add(case["alertname"])
    assert alerts - fired == set()


def test_prometheus_config_scrapes_the_seed_ports_and_passes_promtool(promtool: str) -> None:
    path = GENERATED / "prometheus/prometheus.yml"
    config = yaml.safe_load(path.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["bridge"]["metrics_path"] == "/metrics_bridge"
    assert jobs["bridge"]["static_configs"][0]["targets"] == ["127.0.0.1:9306"]
    assert jobs["ure"]["metrics_path"] == "/metrics_ure"
    assert jobs["ure"]["static_configs"][0]["targets"] == ["127.0.0.1:9305"]
    assert jobs["bridge-readyz"]["static_configs"][0]["targets"] == ["http://127.0.0.1:9306/readyz"]
    heartbeat = jobs.pop("duri-heartbeat")
    assert heartbeat["scrape_interval"] == "30s"
    assert heartbeat["static_configs"] == [{"targets": ["127.0.0.1:9100"]}]  # the writer labels its series
    assert heartbeat["metric_relabel_configs"][0]["regex"] == "duri_heartbeat_timestamp_seconds"
    assert all(job["static_configs"][0]["labels"] == {"metric_realm": "prod"} for job in jobs.values())
    assert config["rule_files"] == ["rules/*.yml"]
    result = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_regeneration_reuses_unchanged_files_and_leaves_no_links(tmp_path: Path) -> None:
    out = tmp_path / "generated"
    writer.write_tree(out, writer.with_marker({"a.txt": "old\n", "d/same.txt": "same\n"}))
    assert writer.write_tree(out, writer.with_marker({"a.txt": "new\n", "d/same.txt": "same\n"}))
    assert (out / "a.txt").read_text() == "new\n" and (out / "d/same.txt").read_text() == "same\n"
    assert all(p.stat().st_nlink == 1 for p in out.rglob("*") if p.is_file()), "the old tree is gone"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated"]


def test_a_symlink_in_the_old_tree_becomes_a_file(tmp_path: Path) -> None:
    out, elsewhere = tmp_path / "generated", tmp_path / "elsewhere.txt"
    writer.write_tree(out, writer.with_marker({"a.txt": "same\n", "b.txt": "old\n"}))
    elsewhere.write_text("same\n")
    (out / "a.txt").unlink()
    (out / "a.txt").symlink_to(elsewhere)
    assert writer.write_tree(out, writer.with_marker({"a.txt": "same\n", "b.txt": "new\n"}))
    assert not (out / "a.txt").is_symlink() and (out / "a.txt").read_text() == "same\n"
    assert elsewhere.stat().st_nlink == 1
