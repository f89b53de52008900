"""The generated promtool tests run on the real promtool, and they can fail.

The bundled spec's tests also run in `make promql-unit`; here they run for the extras spec
(events SLIs, custom windows, a disabled tier, missing data good/ignore, raw PromQL), and
against deliberately broken rules, to show each kind of generated case catches a defect.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import EXTRAS, GENERATED, obsgen, promtool_test


def test_extras_spec_rules_are_clean_and_its_tests_pass(promtool: str, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    result = obsgen("gen", "--spec", EXTRAS, "--out", out)
    assert result.returncode == 0, result.stderr
    rules = sorted((out / "prometheus/rules").glob("*.yml"))
    check = subprocess.run(
        [promtool, "check", "rules", "--lint-fatal", *map(str, rules)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests = sorted((out / "prometheus/tests").glob("*.yml"))
    slos = {
        "api.availability",
        "api.success",
        "api.queue",
        "api.cache",
        "plain.latency",
        "plain.fast-requests",
    }
    assert {t.stem for t in tests} == {"api", "plain", "same.ok", "same.err", "_watchdog", *slos}
    run = promtool_test(promtool, *tests)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy)
    return copy


ENTROPY = 'bridge_entropy_ratio{job="bridge", metric_realm="prod"}'
LYAPUNOV_V = 'canary:gate_condition:value{condition="lyapunov-v", gate="duri-l4", metric_realm="prod"}'

# case: (rule file, text, replacement, test file that must now fail)
MUTATIONS = {
    # A page threshold three times too high: the page comes late.
    "late page": ("bridge.phase-diff.yml", "> 0.144", "> 0.432", "bridge.phase-diff.yml"),
    # A page threshold far too low: the page fires before the theoretical time.
    "early page": ("bridge.phase-diff.yml", "> 0.144", "> 0.0144", "bridge.phase-diff.yml"),
    # The realm filter dropped: stray series of other realms join the recorded signal.
    "no realm filter": (
        "ure.yml",
        'ure_residual{job="ure", metric_realm="prod"}',
        'ure_residual{job="ure"}',
        "ure.yml",
    ),
    # The scrape job dropped under a `min` aggregate: another job's low series wins.
    "no job filter (min)": (
        "duri.yml",
        'duri_green{job="duri", metric_realm="prod"}',
        'duri_green{metric_realm="prod"}',
        "duri.yml",
    ),
    # The scrape job dropped: another job's series of the same name leak in.
    "no job filter": (
        "ure.yml",
        'ure_residual{job="ure", metric_realm="prod"}',
        'ure_residual{metric_realm="prod"}',
        "ure.yml",
    ),
    # Missing data counted as good instead of bad.
    "missing data good": (
        "bridge.sync-quality.yml",
        "or on () vector(1)",
        "or on () vector(0)",
        "bridge.sync-quality.yml",
    ),
    # The signal's quantile changed: its value test must notice.
    "wrong quantile": ("bridge.yml", "quantile_over_time(0.95,", "quantile_over_time(0.5,", "bridge.yml"),
    # A threshold alert one notch off: the at-threshold case now fires.
    "threshold off": ("bridge.yml", f"{ENTROPY} > 0.15", f"{ENTROPY} >= 0.15", "bridge.yml"),
    # The clamp of a share loosened: a misbehaving source pushes it past 1.
    "loose clamp": ("bridge.yml", "[10m])), 0, 1)", "[10m])), 0, 5)", "bridge.yml"),
    # A ticket threshold ten times too low: the ticket fires during the page check.
    "ticket too eager": ("ure.residual-stddev.yml", "> 0.045", "> 0.0045", "ure.residual-stddev.yml"),
    # The seed's literal freshness guard: a healthy heartbeat flaps.
    "heartbeat freshness 75s": ("duri.yml", "< bool 151", "< bool 75", "duri.yml"),
    # The seed's bug: heartbeats of every realm aggregated together, so strays keep it alive.
    "heartbeat of every realm": (
        "duri.yml",
        'max by (metric_realm) (max_over_time(duri_heartbeat_timestamp_seconds{metric_realm="prod"}[2m31s]))',
        "max(max_over_time(duri_heartbeat_timestamp_seconds[2m31s]))",
        "duri.yml",
    ),
    # The newest beat read at the instant: one failed scrape (a stale marker) drops the heartbeat.
    "heartbeat read at the instant": (
        "duri.yml",
        'max_over_time(duri_heartbeat_timestamp_seconds{metric_realm="prod"}[2m31s])',
        'duri_heartbeat_timestamp_seconds{metric_realm="prod"}',
        "duri.yml",
    ),
    # changes() left out: a writer stuck on one future timestamp looks alive for ever.
    "heartbeat without changes": (
        "duri.yml",
        '(duri_heartbeat_changes_6m{metric_realm="prod"} > bool 0) * on (metric_realm) ',
        "",
        "duri.yml",
    ),
    # The companion alert blind to a heartbeat series that is gone while node_exporter is up.
    "missing blind to the series": (
        "duri.yml",
        " or on () (count by () (duri_heartbeat_timestamp_seconds"
        '{metric_realm="prod"}) or on () vector(0)) == 0',
        "",
        "duri.yml",
    ),
    # A freshness threshold a minute laxer than the spec's.
    "heartbeat freshness lax": ("duri.yml", "< bool 151", "< bool 205", "duri.yml"),
    # A vanished heartbeat read as absent instead of 0.
    "heartbeat absent, not 0": ("duri.yml", "< bool 151) or on () vector(0)", "< bool 151)", "duri.yml"),
    # Promotion one evaluation early (15 samples instead of the 16 of 15 minutes).
    "promote early": ("bridge.gate.bridge-v19.yml", ">= bool 16", ">= bool 15", "bridge.gate.bridge-v19.yml"),
    # Rollback after 2 minutes instead of 3.
    "rollback early": ("duri.gate.duri-l4.yml", ">= bool 4", ">= bool 3", "duri.gate.duri-l4.yml"),
    # One violated condition is enough to roll back.
    "rollback on one": ("duri.gate.duri-l4.yml", ") >= bool 2)", ") >= bool 1)", "duri.gate.duri-l4.yml"),
    # A condition without data counted as holding.
    "no data holds": (
        "duri.gate.duri-l4.yml",
        "or on () vector(1)",
        "or on () vector(0)",
        "duri.gate.duri-l4.yml",
    ),
    # "Violated" as a comparison: a NaN reading (a share of zero samples) would count as holding.
    "NaN holds": (
        "duri.gate.duri-l4.yml",
        f"1 - ({LYAPUNOV_V} <= bool 0.1)",
        f"{LYAPUNOV_V} > bool 0.1",
        "duri.gate.duri-l4.yml",
    ),
    # A rising Lyapunov V no longer rolls back at once.
    "trend ignored": (
        "duri.gate.duri-l4.yml",
        'condition="lyapunov-v-rising", gate="duri-l4", metric_realm="prod"} > bool 0.0001) or',
        'condition="lyapunov-v-rising", gate="duri-l4", metric_realm="prod"} > bool 1) or',
        "duri.gate.duri-l4.yml",
    ),
    # Legacy series of other realms join a gate condition.
    "gate without realm": (
        "duri.gate.duri-l4.yml",
        'last_over_time(duri_canary_unique_ratio{job="duri", metric_realm="prod"}[30s])',
        'last_over_time(duri_canary_unique_ratio{job="duri"}[30s])',
        "duri.gate.duri-l4.yml",
    ),
    # The best instance decides instead of the worst.
    "gate best instance": (
        "duri.gate.duri-l4.yml",
        "max by () (last_over_time(duri_lyapunov_v",
        "min by () (last_over_time(duri_lyapunov_v",
        "duri.gate.duri-l4.yml",
    ),
    # A threshold off by a little: the at-the-bound test notices.
    "gate threshold off": (
        "duri.gate.duri-l4.yml",
        ">= bool 0.999)",
        ">= bool 0.998)",
        "duri.gate.duri-l4.yml",
    ),
    # An exclusive bound made inclusive.
    "gate bound inclusive": (
        "bridge.gate.bridge-v19.yml",
        "< bool 0.025)",
        "<= bool 0.025)",
        "bridge.gate.bridge-v19.yml",
    ),
    # A raw metric read at the instant: one failed scrape restarts promotion.
    "gate reads the instant": (
        "duri.gate.duri-l4.yml",
        'last_over_time(duri_lyapunov_v{job="duri", metric_realm="prod"}[30s])',
        'duri_lyapunov_v{job="duri", metric_realm="prod"}',
        "duri.gate.duri-l4.yml",
    ),
    # A quorum of one canary instead of two.
    "quorum too lenient": (
        "duri.gate.duri-l4.yml",
        'gate="duri-l4", metric_realm="prod"} >= bool 2)',
        'gate="duri-l4", metric_realm="prod"} >= bool 1)',
        "duri.gate.duri-l4.yml",
    ),
    # Canary instances not told apart: one good instance would carry them all.
    "quorum without instances": (
        "duri.gate.duri-l4.yml",
        "min by (canary) (clamp(",
        "min by () (clamp(",
        "duri.gate.duri-l4.yml",
    ),
    # The Watchdog silenced.
    "watchdog silent": ("_watchdog.yml", "vector(1)", "vector(1) == 0", "_watchdog.yml"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_generated_tests_catch_a_broken_rule(case: str, broken: Path, promtool: str) -> None:
    rule_file, old, new, test_file = MUTATIONS[case]
    path = broken / "prometheus/rules" / rule_file
    text = path.read_text()
    assert old in text, f"mutation no longer applies: {old!r}"
    path.write_text(text.replace(old, new))
    result = promtool_test(promtool, broken / "prometheus/tests" / test_file)
    assert result.returncode != 0, (
        f"{case}: the generated tests did not notice\n{result.stdout}{result.stderr}"
    )
    assert "FAILED" in result.stdout + result.stderr
