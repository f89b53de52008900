"""Property: a spec `obsgen validate` accepts is one `obsgen gen` compiles, into rules promtool
accepts and tests promtool passes. Specs are the bundled ones with one number or duration
changed (hypothesis picks which and to what); a refusal must be a located SpecError.

`make test` runs a small fixed sample; `make fuzz` runs many more (OBSGEN_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, obsgen
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.errors import SpecError
from generator.pipeline import load, render_outputs

SPECS = {"bundled": ROOT / "spec", "http": ROOT / "tests/fixtures/specs/http"}
EXAMPLES = int(os.environ.get("OBSGEN_FUZZ_EXAMPLES", "6"))
DURATION = re.compile(r"^\d+(ms|s|m|h|d|w)$")
NUMBERS = st.one_of(
    st.sampled_from([0, 1, -1, 0.5, 0.9, 0.999, 1.5, 2, 99, 99.9, 100, 101, 1e-9, 1e9, 1e15, 1e300]),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(min_value=-1e16, max_value=1e16, allow_nan=False),
)
DURATIONS = st.sampled_from(
    ["0s", "1s", "10s", "15s", "30s", "1m", "90s", "5m", "10m", "1h", "6h", "1d", "3d"]
)

Path_ = tuple[Any, ...]


def leaves(node: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every number and duration in a spec document, with its path."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, (*path, i))
    elif (isinstance(node, int | float) and not isinstance(node, bool)) or (
        isinstance(node, str) and DURATION.match(node)
    ):
        yield path, node


@cache
def documents(spec: str) -> dict[str, Any]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(SPECS[spec].glob("*.yaml"))}


@cache
def mutable(spec: str) -> list[tuple[str, Path_, Any]]:
    """Every number and duration but those inside a raw-PromQL alert's `examples`: those are the
    author's own claims about their PromQL, which promtool judges as written."""
    return [
        (name, path, value)
        for name, doc in documents(spec).items()
        for path, value in leaves(doc)
        if "examples" not in path
    ]


@cache
def baseline(spec: str) -> dict[str, str]:
    return render_outputs(load(SPECS[spec])).outputs


def with_value(document: Any, path: Path_, value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(document, list):
        return [with_value(v, rest, value) if i == head else v for i, v in enumerate(document)]
    return {k: with_value(v, rest, value) if k == head else v for k, v in document.items()}


def write_spec(spec: str, file: str, path: Path_, value: Any, root: Path) -> Path:
    assert path in dict(leaves(documents(spec)[file])), f"{file} has no number or duration at {path}"
    target = root / "spec"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, doc in documents(spec).items():
        text = yaml.safe_dump(with_value(doc, path, value) if name == file else doc, sort_keys=False)
        (target / name).write_text(text)
    return target


def promtool(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *map(str, argv)], cwd=cwd, capture_output=True, text=True, timeout=300)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str, Path_, Any]:
    spec = draw(st.sampled_from(sorted(SPECS)))
    file, path, old = draw(st.sampled_from(mutable(spec)))
    new = draw(DURATIONS if isinstance(old, str) else NUMBERS)
    return spec, file, path, new


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 6,  # the `make test` sample is the same every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=mutations())
# Found by this test, kept as regressions: a 15s mean was accepted and its generated test failed;
# a 15s spread (one sample, always 0) never fired and crashed the design; a quorum of 190,107
# canaries made its generated test run for minutes.
@example(mutation=("bundled", "bridge.yaml", ("signals", 0, "window"), "15s"))
@example(mutation=("bundled", "ure.yaml", ("signals", 0, "window"), "15s"))
@example(mutation=("bundled", "duri.yaml", ("gates", 0, "conditions", 1, "of"), 190107))
# A raw-PromQL alert's example claiming it fires before its `for` has passed.
@example(mutation=("bundled", "duri.yaml", ("alerts", 0, "examples", 0, "eval_time"), "0s"))
def test_what_validate_accepts_gen_compiles_and_promtool_proves(
    mutation: tuple[str, str, Path_, Any], tmp_path: Path
) -> None:
    spec, file, path, value = mutation
    spec_dir = write_spec(spec, file, path, value, tmp_path)
    try:
        model = load(spec_dir)
    except SpecError as refused:
        assert refused.issues and all(issue.location.file for issue in refused.issues)
        return
    outputs = render_outputs(model).outputs
    out = tmp_path / "generated"
    shutil.rmtree(out, ignore_errors=True)
    for name, text in outputs.items():
        if name.startswith("prometheus/"):
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text)
    rules = sorted((out / "prometheus/rules").glob("*.yml"))
    checked = promtool("check", "rules", *rules, cwd=out)
    assert checked.returncode == 0, f"{file} {path} = {value!r}:\n{checked.stdout}{checked.stderr}"
    changed = [
        out / name
        for name, text in outputs.items()
        if name.startswith("prometheus/tests/") and baseline(spec).get(name) != text
    ]
    if changed:
        tested = promtool("test", "rules", *changed, cwd=out / "prometheus/tests")
        assert tested.returncode == 0, f"{file} {path} = {value!r}:\n{tested.stdout[-3000:]}"


@pytest.mark.parametrize(
    ("file", "line", "old", "new"),
    [
        # A gate threshold near 1e15 leaves no room in float64 for the trend condition's slope.
        ("duri.yaml", 74, "value: 0.1", "value: 1e15"),
        # A ratio can never reach 1e15: no healthy input satisfies the gate.
        ("duri.yaml", 84, "value: 0.999", "value: 1e15"),
    ],
)
def test_unprovable_values_are_refused_with_the_reason(
    file: str, line: int, old: str, new: str, tmp_path: Path
) -> None:
    spec_dir = tmp_path / "spec"
    shutil.copytree(SPECS["bundled"], spec_dir)
    lines = (spec_dir / file).read_text().splitlines(keepends=True)
    assert old in lines[line - 1], f"the fixture moved: line {line} of {file} is {lines[line - 1]!r}"
    lines[line - 1] = lines[line - 1].replace(old, new)
    (spec_dir / file).write_text("".join(lines))
    out = tmp_path / "out"
    for result in (obsgen("validate", "--spec", spec_dir), obsgen("gen", "--spec", spec_dir, "--out", out)):
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert f"{file}:" in result.stderr and "gates" in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
