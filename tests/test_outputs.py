"""`settings.outputs`: which targets `obsgen gen` writes, the default, the opt-ins, and errors."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from conftest import SPEC, obsgen, tree_bytes

from generator.model import Spec
from generator.model.settings import DEFAULT_OUTPUTS, OPT_IN_OUTPUTS, OUTPUT_TARGETS, Settings
from generator.pipeline import load, render_outputs

OUTPUTS_LINE = re.compile(r"^  outputs: .*\n", re.MULTILINE)


@pytest.fixture(scope="module")
def bundled() -> Spec:
    return load(SPEC)


def with_outputs(spec: Spec, outputs: list[str]) -> Spec:
    return dataclasses.replace(spec, settings=spec.settings.model_copy(update={"outputs": outputs}))


def top_level(outputs: dict[str, str]) -> set[str]:
    return {path.split("/", 1)[0] for path in outputs}


def set_outputs(spec_dir: Path, line: str | None) -> None:
    """Set the `outputs:` of the spec's settings (None: remove it, for the default). The settings
    mapping is the last thing in spec/obsgen.yaml, so a new line is appended."""
    settings = spec_dir / "obsgen.yaml"
    text = OUTPUTS_LINE.sub("", settings.read_text())
    assert text.rstrip().rsplit("\n", 1)[-1].startswith("  "), "fixture drifted: settings no longer last"
    settings.write_text(text if line is None else f"{text}  outputs: {line}\n")


def test_the_default_is_every_target_but_the_scaled_rulers() -> None:
    default = Settings(runbook_base_url="https://runbooks.example.test").outputs
    assert default == list(DEFAULT_OUTPUTS)
    assert set(default) | set(OPT_IN_OUTPUTS) == set(OUTPUT_TARGETS)
    assert not set(default) & {"kubernetes", "mimir", "thanos"}


def test_the_default_writes_no_copies_of_the_rules(bundled: Spec) -> None:
    outputs = render_outputs(with_outputs(bundled, list(DEFAULT_OUTPUTS))).outputs
    assert top_level(outputs) == {"prometheus", "alertmanager", "grafana", "runbooks", "argo", "schema"}
    assert any(path.startswith("prometheus/tests/") for path in outputs), "the proof is always written"


def test_the_bundled_spec_opts_in_to_kubernetes_mimir_and_thanos(bundled: Spec) -> None:
    outputs = render_outputs(bundled).outputs
    assert {"kubernetes", "mimir", "thanos"} <= top_level(outputs)
    thanos = {
        path.removeprefix("thanos/"): text for path, text in outputs.items() if path.startswith("thanos/")
    }
    plain = {
        path.removeprefix("prometheus/"): text
        for path, text in outputs.items()
        if path.startswith("prometheus/rules/")
    }
    assert thanos == plain


@pytest.mark.parametrize("target", [t for t in OUTPUT_TARGETS if t != "prometheus"])
def test_each_target_is_one_directory(bundled: Spec, target: str) -> None:
    alone = render_outputs(with_outputs(bundled, ["prometheus"])).outputs
    assert top_level(alone) == {"prometheus"}
    both = render_outputs(with_outputs(bundled, ["prometheus", target])).outputs
    assert top_level(both) == {"prometheus", target}
    assert {p: t for p, t in both.items() if p.startswith("prometheus/")} == alone


def test_an_unknown_target_is_a_located_error(spec_copy: Path, tmp_path: Path) -> None:
    set_outputs(spec_copy, "[prometheus, grafana, helm]")
    out = tmp_path / "generated"
    result = obsgen("gen", "--spec", spec_copy, "--out", out)
    assert result.returncode == 2
    assert re.search(r"obsgen\.yaml:\d+: settings\.outputs\[2\]: ", result.stderr), result.stderr
    assert "'kubernetes', 'mimir' or 'thanos' (got 'helm')" in result.stderr
    assert not out.exists()


def test_prometheus_cannot_be_left_out(spec_copy: Path) -> None:
    set_outputs(spec_copy, "[grafana]")
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert re.search(r"obsgen\.yaml:\d+: settings\.outputs: outputs must include prometheus", result.stderr)


def test_a_target_listed_twice_is_refused(spec_copy: Path) -> None:
    set_outputs(spec_copy, "[prometheus, grafana, grafana]")
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert "outputs lists grafana more than once" in result.stderr


def test_gen_and_check_follow_the_selection(spec_copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    set_outputs(spec_copy, None)
    assert obsgen("gen", "--spec", spec_copy, "--out", out).returncode == 0
    assert not {"kubernetes", "mimir", "thanos"} & {p.name for p in out.iterdir()}
    assert obsgen("gen", "--check", "--spec", spec_copy, "--out", out).returncode == 0
    before = tree_bytes(out)

    set_outputs(spec_copy, "[prometheus, alertmanager, grafana, runbooks, argo, schema, mimir]")
    check = obsgen("gen", "--check", "--spec", spec_copy, "--out", out)
    assert check.returncode == 1
    assert "+++ b/generated/mimir/" in check.stdout
    assert "kubernetes/" not in check.stdout and "thanos/" not in check.stdout
    assert tree_bytes(out) == before, "--check writes nothing"

    assert obsgen("gen", "--spec", spec_copy, "--out", out).returncode == 0
    assert {p.name for p in out.iterdir()} >= {"mimir", "prometheus"}
    set_outputs(spec_copy, None)
    check = obsgen("gen", "--check", "--spec", spec_copy, "--out", out)
    assert check.returncode == 1
    assert "+++ /dev/null" in check.stdout  # the mimir files would be removed
    assert obsgen("gen", "--spec", spec_copy, "--out", out).returncode == 0
    assert tree_bytes(out) == before
