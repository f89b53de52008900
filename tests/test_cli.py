"""The command line a person meets: help, validate, explain, schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import EXTRAS, GENERATED, SPEC, obsgen


def test_help_explains_every_command_and_exit_codes() -> None:
    result = obsgen("--help")
    assert result.returncode == 0
    for command in ("gen", "validate", "explain", "schema"):
        assert command in result.stdout
    assert "2  the spec is invalid" in result.stdout
    gen_help = obsgen("gen", "--help").stdout
    assert "--check" in gen_help and "--spec" in gen_help and "--out" in gen_help


def test_validate_counts_what_it_read() -> None:
    result = obsgen("validate")
    assert result.returncode == 0
    assert "3 services, 3 SLOs" in result.stdout


def test_explain_shows_factors_thresholds_and_detection_times() -> None:
    result = obsgen("explain", "bridge-phase-diff")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "99% over 30d" in out and "error budget 1%" in out
    assert "bridge:phase_diff_mean_5m <= 0.02" in out
    assert "slo:sli_error:ratio_rate1h" in out and "slo:time_slice_error:bool" in out
    rows = {
        line.split()[1]: line.split()
        for line in out.splitlines()
        if line.startswith("  page") or line.startswith("  ticket")
    }
    assert rows["1h/5m"][2:5] == ["14.4", "0.144", "8m38s"]
    assert rows["6h/30m"][2:5] == ["6", "0.06", "21m36s"]
    assert rows["1d/2h"][2:5] == ["3", "0.03", "43m12s"]
    assert rows["3d/6h"][2:5] == ["1", "0.01", "43m12s"]


def test_explain_unknown_slo_lists_the_known_ones() -> None:
    result = obsgen("explain", "bridge-nope")
    assert result.returncode == 2
    assert "bridge-phase-diff" in result.stderr and "ure-residual-stddev" in result.stderr


@pytest.mark.parametrize("spec_dir", [SPEC, EXTRAS], ids=["lumen", "extras"])
def test_every_spec_file_validates_against_the_generated_schema(spec_dir: Path) -> None:
    schema = json.loads((GENERATED / "schema/spec.schema.json").read_text())
    assert json.loads(obsgen("schema").stdout) == schema
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted(spec_dir.glob("*.yaml")):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads((GENERATED / "schema/spec.schema.json").read_text())
    bad = yaml.safe_load((SPEC / "ure.yaml").read_text())
    bad["scrape"]["colour"] = "blue"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the output's parent should be\n")
    result = obsgen("gen", "--out", blocker / "generated")
    assert result.returncode == 3
    assert "cannot write" in result.stderr and "Traceback" not in result.stderr
    assert blocker.read_text().startswith("a file")
