"""The command layer: obsgen/ above runtime/ above generator/, one loader that raises, one set of
exit codes (documented in the README), and what the `obsgen` group does with errors."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, obsgen

from generator import loader
from generator.errors import Location, SpecError, SpecIssue
from generator.exit_codes import ExitCode
from generator.loader import load_spec


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at top level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def reaches(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(f"{package}.") for m in modules)


def test_the_generator_imports_neither_the_runtime_nor_the_command_layer() -> None:
    for path in sorted((ROOT / "generator").rglob("*.py")):
        modules = imported_modules(path)
        assert not reaches(modules, "runtime"), path
        if path != ROOT / "generator/__main__.py":  # the program entry runs the command layer
            assert not reaches(modules, "obsgen"), path


def test_the_runtime_uses_the_public_loader_not_the_command_line() -> None:
    for path in sorted((ROOT / "runtime").rglob("*.py")):
        modules = imported_modules(path)
        assert not reaches(modules, "obsgen"), path
        assert not reaches(modules, "generator.cli"), path
        assert "generator.cli._load" not in path.read_text(), path


@pytest.mark.parametrize(
    ("module", "absent"),
    [
        ("generator", ("runtime", "obsgen", "generator.cli")),
        ("generator.cli", ("runtime", "obsgen")),
        ("runtime", ("obsgen", "generator.cli")),
        ("runtime.cli", ("obsgen", "generator.cli")),
        ("obsgen.cli", ()),
    ],
)
def test_each_layer_imports_alone(module: str, absent: tuple[str, ...]) -> None:
    code = f"import sys, {module}; print(' '.join(m for m in {absent!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_load_spec_raises_instead_of_exiting(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="spec directory does not exist"):
        load_spec(tmp_path / "nowhere")
    (tmp_path / "bad.yaml").write_text("service: [unclosed\n")
    with pytest.raises(SpecError, match=r"bad\.yaml:\d+: invalid YAML"):
        load_spec(tmp_path)


def test_load_spec_turns_an_unreadable_spec_into_a_spec_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreadable(spec_dir: Path, scenarios: bool = True) -> None:
        raise PermissionError(13, "Permission denied", str(spec_dir / "a.yaml"))

    monkeypatch.setattr("generator.pipeline.load", unreadable)
    with pytest.raises(SpecError, match=r"a\.yaml: Permission denied"):
        load_spec(tmp_path)


def test_every_exit_code_has_one_value_and_one_name() -> None:
    aliases = set(ExitCode.__members__) - {code.name for code in ExitCode}
    assert aliases == {"GO"} and ExitCode.GO is ExitCode.OK
    assert len({int(code) for code in ExitCode}) == len(ExitCode)


def test_the_readme_table_lists_every_exit_code_once() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)`", section, re.MULTILINE)
    assert [(int(value), name) for value, name in rows] == [(int(c), c.name) for c in ExitCode]


def test_the_help_lists_every_exit_code() -> None:
    result = obsgen("--help")
    assert result.returncode == 0
    listed = [int(value) for value in re.findall(r"^ +(\d+)  ", result.stdout, re.MULTILINE)]
    assert listed == [int(code) for code in ExitCode]


def test_python_m_obsgen_and_python_m_generator_are_the_same_command_line() -> None:
    direct = subprocess.run(
        [sys.executable, "-m", "obsgen", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert direct.returncode == 0 and direct.stdout == obsgen("--help").stdout


@pytest.mark.parametrize(
    "command", [("validate",), ("gen", "--check"), ("run",), ("up",), ("dr", "rehearse"), ("budget", "check")]
)
def test_a_spec_error_from_any_command_exits_with_usage(tmp_path: Path, command: tuple[str, ...]) -> None:
    result = obsgen(*command, "--spec", tmp_path / "nowhere", cwd=tmp_path, timeout=30)
    assert result.returncode == ExitCode.USAGE, result.stdout + result.stderr
    assert "spec directory does not exist" in result.stderr
    assert "problem(s) in the spec" in result.stderr and "Traceback" not in result.stderr


def test_up_refuses_a_recorded_stack_before_starting_anything(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{}")
    result = obsgen("up", "--dir", tmp_path, timeout=30)
    assert result.returncode == ExitCode.USAGE, result.stdout + result.stderr
    assert "already recorded" in result.stderr and sorted(p.name for p in tmp_path.iterdir()) == [
        "state.json"
    ]


def test_the_group_prints_a_spec_error_and_exits_usage(monkeypatch: pytest.MonkeyPatch) -> None:
    from obsgen.cli import main

    def invalid(spec_dir: Path) -> None:
        raise SpecError([SpecIssue(Location("spec/a.yaml", 3, "slos[0]"), "wrong")])

    monkeypatch.setattr(loader, "load_spec", invalid)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == ExitCode.USAGE
    assert "error: spec/a.yaml:3: slos[0]: wrong" in result.output


def test_ctrl_c_in_any_command_exits_interrupted(monkeypatch: pytest.MonkeyPatch) -> None:
    from obsgen.cli import main

    def interrupted(spec_dir: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(loader, "load_spec", interrupted)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == ExitCode.INTERRUPTED and "interrupted" in result.output
