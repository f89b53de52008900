"""`obsgen gen` in several processes writes, and refuses, exactly what one process does
(generator/forked.py, generator/pipeline.render_outputs)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, SPEC, obsgen, tree_bytes

from generator import pipeline
from generator.compile_commands import PARALLEL_FROM_SLOS, jobs_for
from generator.errors import Location, SpecError, SpecIssue
from generator.forked import map_forked, usable_cpus
from generator.pipeline import load, render_outputs

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
GATE_NO_INPUT_SATISFIES = """\
service: beta
scrape: {port: 9102}
metrics:
  - {name: beta_level, type: gauge, help: Level.}
gates:
  - name: beta-canary
    conditions:
      - {name: low, series: beta_level, op: "<=", value: 0.1}
      - {name: high, series: beta_level, op: ">=", value: 0.5}
    promote: {after: 5m}
    rollback: {violations: 2, for: 1m}
"""


def synthetic_spec(directory: Path, services: int) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from gen_bench import write_synthetic
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    write_synthetic(directory, services)
    return directory


def bundled_without_gathering_targets(tmp_path: Path) -> Path:
    """The bundled spec without Kubernetes and Mimir, whose files gather every service's rules
    (with them, render_outputs keeps to one process)."""
    spec = tmp_path / "bundled"
    shutil.copytree(SPEC, spec)
    settings = spec / "obsgen.yaml"
    text = settings.read_text()
    assert ", kubernetes, mimir, thanos]" in text
    settings.write_text(text.replace(", kubernetes, mimir, thanos]", ", thanos]"))
    return spec


@pytest.mark.parametrize("name", ["extras", "bundled"])
def test_every_split_of_the_services_renders_the_same_files(name: str, tmp_path: Path) -> None:
    spec_dir = bundled_without_gathering_targets(tmp_path) if name == "bundled" else FIXTURES / name
    spec = load(spec_dir)
    assert len(spec.services) == 3
    one = render_outputs(spec, 1)
    for workers in (2, 3):
        split = render_outputs(spec, workers)
        assert split.outputs == one.outputs
        assert split.notes == one.notes


def test_a_spec_with_gathering_targets_renders_the_same_files_with_any_jobs() -> None:
    spec = load(SPEC)
    assert spec.settings.writes("kubernetes") and spec.settings.writes("mimir")
    assert render_outputs(spec, 3).outputs == render_outputs(spec, 1).outputs


def test_gen_of_a_large_spec_is_split_by_default_and_writes_what_one_process_writes(tmp_path: Path) -> None:
    spec_dir = synthetic_spec(tmp_path / "spec", services=PARALLEL_FROM_SLOS // 10 + 2)
    one, auto = tmp_path / "one", tmp_path / "auto"
    for out, extra in ((one, ["-j", "1"]), (auto, [])):
        result = obsgen("gen", "--spec", spec_dir, "--out", out, *extra)
        assert result.returncode == 0, result.stderr
    assert len(tree_bytes(one)) > 400
    assert tree_bytes(auto) == tree_bytes(one)


def test_jobs_default_to_one_per_core_from_the_threshold() -> None:
    def spec_with(slos: int) -> SimpleNamespace:
        return SimpleNamespace(services=[SimpleNamespace(slos=[None] * slos)])

    cores = min(usable_cpus(), 8)
    assert jobs_for(spec_with(PARALLEL_FROM_SLOS - 1), None) == 1  # type: ignore[arg-type]
    assert jobs_for(spec_with(PARALLEL_FROM_SLOS), None) == cores  # type: ignore[arg-type]
    assert jobs_for(spec_with(1), 3) == 3  # type: ignore[arg-type]


def test_a_refusal_in_another_process_is_reported_as_validate_reports_it(tmp_path: Path) -> None:
    spec_dir = tmp_path / "spec"
    shutil.copytree(FIXTURES / "http", spec_dir)
    (spec_dir / "zz-beta.yaml").write_text(GATE_NO_INPUT_SATISFIES)
    validate = obsgen("validate", "--spec", spec_dir)
    out = tmp_path / "out"
    gen = obsgen("gen", "--spec", spec_dir, "--out", out, "-j", "2")
    assert validate.returncode == gen.returncode == 2
    assert "zz-beta.yaml:6: gates[0]: cannot generate tests that prove this" in validate.stderr
    assert gen.stderr == validate.stderr
    assert not out.exists()


def test_refusals_of_every_part_are_gathered_in_service_order(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load(FIXTURES / "extras")
    designed = pipeline.design_service_tests

    def refusing(spec_: object, services: list) -> object:
        tests = designed(spec_, services)
        issues = [SpecIssue(Location(f"{s.service}.yaml"), f"refused in {os.getpid()}") for s in services]
        return type(tests)(tests.files, tests.notes, issues)

    monkeypatch.setattr(pipeline, "design_service_tests", refusing)
    with pytest.raises(SpecError) as refused:
        render_outputs(spec, 2)
    files = [issue.location.file for issue in refused.value.issues]
    assert files == [f"{s.service}.yaml" for s in spec.services]
    pids = {issue.message for issue in refused.value.issues}
    assert len(pids) == 2, "the second part was designed in a process of its own"


def test_map_forked_runs_the_items_in_other_processes_in_order() -> None:
    parent = os.getpid()
    results = map_forked(lambda item: (item, os.getpid()), [0, 1, 2, 3])
    assert [item for item, _ in results] == [0, 1, 2, 3]
    pids = [pid for _, pid in results]
    assert pids[0] == parent and parent not in pids[1:] and len(set(pids)) == 4


def test_a_child_that_dies_has_its_item_redone_here() -> None:
    parent = os.getpid()

    def work(item: int) -> tuple[int, bool]:
        if item == 2 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return item * 10, os.getpid() == parent

    assert map_forked(work, [0, 1, 2]) == [(0, True), (10, False), (20, True)]


def test_an_error_in_a_child_surfaces_here_with_its_own_exception() -> None:
    def work(item: int) -> int:
        if item == 1:
            raise ValueError(f"item {item} is bad")
        return item

    with pytest.raises(ValueError, match="item 1 is bad"):
        map_forked(work, [0, 1, 2])


def test_runs_are_consecutive_cover_every_service_and_weigh_about_the_same() -> None:
    services = [SimpleNamespace(slos=[None] * n, gates=[]) for n in (10, 0, 3, 7, 1, 12, 5, 5, 0, 9)]
    for count in (1, 2, 3, 4, 10, 20):
        runs = pipeline._runs(services, count)  # type: ignore[arg-type]
        assert [s for run in runs for s in run] == services
        assert 1 <= len(runs) <= min(count, len(services)) and all(runs)
        weights = [sum(1 + 4 * len(s.slos) for s in run) for run in runs]
        heaviest = max(1 + 4 * len(s.slos) for s in services)
        assert max(weights) <= sum(weights) / count + heaviest
