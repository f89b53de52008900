"""The bridge loop's config (configs/bridge.yaml), its gauges, `obsgen bench bridge` and
`obsgen autotune bridge` (recorded bench logs in tests/fixtures/bench/)."""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SPEC, free_port

from generator.errors import SpecError
from generator.pipeline import load
from obsgen.cli import main
from runtime.app import Options, Runtime
from runtime.autotune import tuned
from runtime.bench import BenchLog
from runtime.bridge_config import LoopSettings, read_loop_settings
from runtime.cli import _loop_settings

BENCHES = Path(__file__).parent / "fixtures" / "bench"
CONFIG = ROOT / "configs" / "bridge.yaml"
SPEC_LOOP = LoopSettings(gain=0.35, tick_ms=50, guard=0.005)


def test_the_bundled_config_holds_the_spec_loop_values() -> None:
    assert read_loop_settings(CONFIG, LoopSettings(1.0, 1000, 1.0)) == SPEC_LOOP


def test_a_bad_config_is_refused_with_each_problem_located(tmp_path: Path) -> None:
    bad = tmp_path / "bridge.yaml"
    bad.write_text("# comment\ngain: 1.5\ntick: 5ms\nguard: 0\ngian: 0.3\n")
    with pytest.raises(SpecError) as caught:
        read_loop_settings(bad, SPEC_LOOP)
    issues = [str(issue) for issue in caught.value.issues]
    assert issues == [
        f"{bad}:2: gain: expected a gain in (0, 1] (the share of the error corrected per tick), got 1.5",
        f"{bad}:3: tick: expected a tick from 10ms to 1s, got 5ms",
        f"{bad}:4: guard: expected a guard above 0 (the largest correction of one tick), got 0",
        f"{bad}:5: gian: unknown field 'gian'; did you mean 'gain'? known: gain, guard, tick",
    ]
    result = CliRunner().invoke(main, ["run", "--spec", str(SPEC), "--bridge-config", str(bad)])
    assert result.exit_code == 2
    assert f"error: {bad}:3: tick: expected a tick from 10ms to 1s" in result.output
    assert "4 problem(s) in the bridge config" in result.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tick: 2s\n", "expected a tick from 10ms to 1s, got 2s"),
        ("tick: 50\n", "expected a duration such as 50ms or 1s, got 50"),
        ("gain: yes\n", "expected a number, got True"),
        ("- 1\n", "expected a mapping of gain, tick and guard"),
        ("gain: [0.3\n", "invalid YAML"),
    ],
)
def test_config_values_out_of_range_or_shape(tmp_path: Path, text: str, expected: str) -> None:
    bad = tmp_path / "bridge.yaml"
    bad.write_text(text)
    with pytest.raises(SpecError, match=expected.replace("(", r"\(").replace("[", r"\[")):
        read_loop_settings(bad, SPEC_LOOP)


def test_a_partial_config_keeps_the_spec_values_and_run_finds_it_beside_the_spec(tmp_path: Path) -> None:
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "bridge.yaml").write_text("tick: 80ms\n")
    spec = load(SPEC)
    assert _loop_settings(spec, None, tmp_path / "spec") == {"bridge": LoopSettings(0.35, 80, 0.005)}
    assert _loop_settings(spec, None, tmp_path / "elsewhere" / "spec") == {}


def test_the_runtime_runs_and_exports_the_configured_values(tmp_path: Path) -> None:
    spec = load(SPEC)
    options = Options(
        ports={s.service: free_port() for s in spec.services},
        control_port=free_port(),
        textfile_dir=tmp_path / "textfile",
        state_db=tmp_path / "runtime.sqlite",
        loops={"bridge": LoopSettings(gain=0.5, tick_ms=20, guard=0.01)},
    )
    runtime = Runtime(spec, options)
    runtime.start()
    try:
        url = f"http://127.0.0.1:{options.ports['bridge']}/metrics_bridge"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        (loop,) = runtime.loops
        assert (loop.loop.gain, loop.loop.tick, loop.loop.guard) == (0.5, 20, 0.01)
    finally:
        runtime.stop()
    assert "\nbridge_loop_gain 0.5\n" in text
    assert "\nbridge_loop_tick_seconds 0.02\n" in text
    assert "\nbridge_loop_guard 0.01\n" in text


def test_a_short_bench_writes_a_log_that_reads_back(tmp_path: Path) -> None:
    config = tmp_path / "bridge.yaml"
    config.write_text("gain: 0.4\ntick: 40ms\n")
    out = tmp_path / "out" / "bench_bridge.log"
    args = ["bench", "bridge", "--spec", str(SPEC), "--seconds", "3", "--config", str(config)]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    log = BenchLog.read(out)
    assert log.settings == LoopSettings(0.4, 40, 0.005)
    assert log.ticks >= 30 and log.scrapers == 8 and log.scrapes > 0
    assert 0 <= log.jitter_p50_ms <= log.jitter_p95_ms <= log.jitter_p99_ms <= log.jitter_max_ms
    assert "jitter_p95_ms: " in out.read_text() and "tick: 40ms" in out.read_text()


@pytest.mark.parametrize(
    ("bench", "after"),
    [
        ("calm", LoopSettings(gain=0.35, tick_ms=50, guard=0.005)),  # far under budget: unchanged
        ("near", LoopSettings(gain=0.77, tick_ms=110, guard=0.011)),  # 22 ms ≥ 20: p95 ≤ 20 % of 110
        ("over", LoopSettings(gain=1.0, tick_ms=200, guard=0.02)),  # 40 ms: gain capped at 1
        ("relaxed", LoopSettings(gain=0.35, tick_ms=50, guard=0.005)),  # back to the spec's tick
        ("clipped", LoopSettings(gain=0.735, tick_ms=105, guard=0.018)),  # guard ≥ largest step
    ],
)
def test_autotune_decides_from_the_measured_jitter(bench: str, after: LoopSettings) -> None:
    assert tuned(BenchLog.read(BENCHES / f"{bench}.log"), design_tick_ms=50).after == after


def test_autotune_rewrites_the_config_keeping_comments_and_order(tmp_path: Path) -> None:
    config = tmp_path / "bridge.yaml"
    shutil.copy(CONFIG, config)
    args = ["autotune", "bridge", "--spec", str(SPEC), "--config", str(config)]
    result = CliRunner().invoke(main, [*args, "--bench", str(BENCHES / "near.log")])
    assert result.exit_code == 0, result.output
    assert "lengthen the tick" in result.output
    assert "tick        50ms     110ms" in result.output
    before, now = CONFIG.read_text().splitlines(), config.read_text().splitlines()
    changed = {"gain: 0.35": "gain: 0.77", "tick: 50ms": "tick: 110ms", "guard: 0.005": "guard: 0.011"}
    assert now == [changed.get(line, line) for line in before]
    assert read_loop_settings(config, SPEC_LOOP) == LoopSettings(0.77, 110, 0.011)


def test_autotune_refuses_a_missing_or_unparsable_bench(tmp_path: Path) -> None:
    config = tmp_path / "bridge.yaml"
    shutil.copy(CONFIG, config)
    args = ["autotune", "bridge", "--spec", str(SPEC), "--config", str(config), "--bench"]
    missing = CliRunner().invoke(main, [*args, str(tmp_path / "none.log")])
    assert missing.exit_code == 2
    assert "cannot read the bench log: No such file or directory" in missing.output
    broken = BENCHES / "broken.log"
    result = CliRunner().invoke(main, [*args, str(broken)])
    assert result.exit_code == 2
    assert f"{broken}:3: tick: expected a duration such as 50ms or 1s, got 'fifty'" in result.output
    assert f"{broken}:9: jitter_p95_ms: expected a number, got 'a lot'" in result.output
    assert f"{broken}:10: expected `key: value`" in result.output
    assert config.read_text() == CONFIG.read_text()
