"""A Jsonnet spec is the same model as its YAML twin, and its errors are located too."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, obsgen, tree_bytes

JSONNET = ROOT / "tests" / "fixtures" / "jsonnet"


def test_jsonnet_twin_renders_the_same_output(spec_copy: Path, tmp_path: Path) -> None:
    from_yaml, from_jsonnet = tmp_path / "yaml", tmp_path / "jsonnet"
    assert obsgen("gen", "--spec", spec_copy, "--out", from_yaml).returncode == 0
    (spec_copy / "ure.yaml").unlink()
    shutil.copy(JSONNET / "ure.jsonnet", spec_copy / "ure.jsonnet")
    result = obsgen("gen", "--spec", spec_copy, "--out", from_jsonnet)
    assert result.returncode == 0, result.stderr
    assert tree_bytes(from_jsonnet) == tree_bytes(from_yaml)


def test_jsonnet_syntax_error_is_a_spec_error(spec_copy: Path) -> None:
    shutil.copy(JSONNET / "broken.jsonnet", spec_copy / "broken.jsonnet")
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert "broken.jsonnet" in result.stderr and "Jsonnet error" in result.stderr
    assert "broken.jsonnet:4: Jsonnet error" in result.stderr  # the line Jsonnet reports
    assert "Traceback" not in result.stderr


def test_jsonnet_model_error_names_the_field(spec_copy: Path) -> None:
    twin = (JSONNET / "ure.jsonnet").read_text().replace("objective: 98.5", "objective: 101")
    (spec_copy / "ure.yaml").unlink()
    (spec_copy / "ure.jsonnet").write_text(twin)
    result = obsgen("validate", "--spec", spec_copy)
    assert result.returncode == 2
    assert "ure.jsonnet (rendered):" in result.stderr
    assert "slos[0].objective" in result.stderr
