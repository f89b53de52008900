"""No input ever crashes (issue 14, item 3): any bytes given to a loader are a document or a located
error with exit code 2, never a traceback, a hang or memory exhausted.

Every loader reads through generator/loader.py (`read_text`, `check_structure`, `value_problem`,
`number_problem`): spec YAML and Jsonnet (`validate`, `gen`) and, through importers/source.py,
Sloth and OpenSLO sources (`import sloth|openslo`). Tested here: the inputs that crashed (files in
tests/fixtures/crash/), each hostile kind of input against each loader, and a fixed-seed fuzz of
the real example inputs, in process for speed plus a few runs of the real command line.
"""

from __future__ import annotations

import os
import random
import shutil
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, SPEC, obsgen

from generator.errors import SpecError
from generator.importers import openslo, pyrra, sloth
from generator.importers.run import import_files
from generator.loader import MAX_ALIAS_VALUES, MAX_DEPTH
from generator.pipeline import load

CRASH = ROOT / "tests" / "fixtures" / "crash"
SLOTH_EXAMPLES = sorted((ROOT / "tests" / "fixtures" / "sloth").glob("*.in.yml")) + sorted(
    (ROOT / "tests" / "fixtures" / "sloth" / "validate").rglob("*.yaml")
)
OPENSLO_EXAMPLES = sorted((ROOT / "tests" / "fixtures" / "openslo").rglob("*.yaml"))
PYRRA_EXAMPLES = sorted((ROOT / "tests" / "fixtures" / "pyrra").rglob("*.yaml"))
OPENSLO_EXAMPLES = [p for p in OPENSLO_EXAMPLES if "native" not in p.parts]  # those are native specs
SPEC_FILES = sorted(SPEC.glob("*.yaml"))

SEED = int(os.environ.get("OBSGEN_FUZZ_SEED", "1234"))
RUNS = int(os.environ.get("OBSGEN_FUZZ_RUNS", "250"))
"""mutated inputs per loader; raise it (and vary the seed) to fuzz longer by hand"""

SLOTH_SPEC = """\
version: "prometheus/v1"
service: "myservice"
slos:
  - name: "requests-availability"
    objective: {objective}
    sli:
      events:
        error_query: sum(rate(http_requests_total{{code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(http_requests_total[{{{{.window}}}}]))
    alerting:
      name: MyServiceHighErrorRate
      page_alert:
        labels:
          severity: page
"""
"""A Sloth spec whose objective (line 5) is what a case needs."""


# --- the inputs that crashed, through the real command line ---------------------------------------


def _five_thousand_digits(tmp_path: Path) -> Path:
    # built at run time: a 5,000-digit line is not a readable fixture
    path = tmp_path / "sloth-5000-digits.yml"
    path.write_text(SLOTH_SPEC.format(objective="9" * 5000))
    return path


def _deep(tmp_path: Path) -> Path:
    # built at run time: 100,000 lists deep is 200 KB of brackets
    path = tmp_path / "sloth-deep.yml"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    return path


CRASHES: dict[str, tuple[str, Callable[[Path], Path], str, str]] = {
    # case: (importer, the input, where the message must point, words it must hold)
    "!!int 1e400": ("sloth", lambda _: CRASH / "sloth-int-1e400.yml", ":6: ", "expected an integer"),
    "!!float abc": ("sloth", lambda _: CRASH / "sloth-float-abc.yml", ":6: ", "expected a number"),
    "NUL byte": ("sloth", lambda _: CRASH / "sloth-nul.yml", ":6:20: ", "NUL byte U+0000"),
    "5,000 digits": ("sloth", _five_thousand_digits, ":5: ", "is too large"),
    "100,000 deep": ("sloth", _deep, ":1: ", f"nested more than {MAX_DEPTH} deep"),
    "OpenSLO !!int 1e400": ("openslo", lambda _: CRASH / "openslo-int-1e400.yaml", ":19: ", "an integer"),
}


@pytest.mark.parametrize("case", sorted(CRASHES))
def test_input_that_crashed_an_import_is_a_located_error(case: str, tmp_path: Path) -> None:
    importer, make, where, words = CRASHES[case]
    source = make(tmp_path)
    result = obsgen("import", importer, source, "--out", tmp_path / "out")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: {source}{where}" in result.stderr and words in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "gen"])
def test_nul_byte_in_a_spec_is_located_at_file_line_column(command: str, tmp_path: Path) -> None:
    spec = CRASH / "spec-nul"
    extra = ["--out", str(tmp_path / "generated")] if command == "gen" else []
    result = obsgen(command, "--spec", spec, *extra)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "position" not in result.stderr
    shown = (spec / "obsgen.yaml").relative_to(ROOT)  # named relative to the working directory
    assert f"error: {shown}:4:23: NUL byte U+0000 is not allowed" in result.stderr, result.stderr


# --- each hostile input against each loader, in process ------------------------------------------


def _alias_bomb() -> str:
    """Billion laughs: nine aliases of nine aliases, nine levels deep (9**9 values expanded)."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


HOSTILE: dict[str, tuple[bytes, int | None, str]] = {
    # case: (file content, line the error names (None: the file only), words of the message)
    "NUL byte": (SLOTH_SPEC.format(objective="99.9\0").encode(), 5, "NUL byte U+0000"),
    "bell": (SLOTH_SPEC.format(objective="99.9\a").encode(), 5, "control character U+0007"),
    "escape": (b"service: \x1b[31mred\n", 1, "escape (ESC) U+001B"),
    "DEL": (b"a: 1\nb: \x7f\n", 2, "DEL U+007F"),
    "U+FFFE": ("a: \ufffe\n".encode(), 1, "non-character U+FFFE"),
    "0xFF byte": (b"a: 1\nb: \xff\n", 2, "not UTF-8 text (byte 0xFF at column 4)"),
    "cut UTF-8": (b"a: caf\xc3", 1, "not UTF-8"),
    "!!int 1e400": (
        SLOTH_SPEC.format(objective="!!int 1e400").encode(),
        5,
        "!!int '1e400': expected an integer",
    ),
    "!!int abc": (SLOTH_SPEC.format(objective="!!int abc").encode(), 5, "expected an integer"),
    "!!float abc": (SLOTH_SPEC.format(objective="!!float abc").encode(), 5, "expected a number"),
    "!!float 1e400": (SLOTH_SPEC.format(objective="!!float 1e400").encode(), 5, "is too large"),
    "1.0e+400": (SLOTH_SPEC.format(objective="1.0e+400").encode(), 5, "number 1.0e+400 is too large"),
    "5,000 digits": (SLOTH_SPEC.format(objective="9" * 5000).encode(), 5, "(5000 characters) is too large"),
    "400 digits": (SLOTH_SPEC.format(objective="9" * 400).encode(), 5, "is too large"),
    "!!bool maybe": (b"a: !!bool maybe\n", 1, "!!bool 'maybe': expected true or false"),
    "!!timestamp bad": (b"a:\n  b: !!timestamp 2024-13-45\n", 2, "expected a date"),
    "nested 101 deep": (b"a: " + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"\n", 1, "at most 100 levels"),
    "nested 5,000 deep": (b"[" * 5000 + b"]" * 5000, 1, f"nested more than {MAX_DEPTH} deep"),
    "block nested 200 deep": (
        "".join(" " * i + f"k{i}:\n" for i in range(200)).encode(),
        MAX_DEPTH + 1,
        f"nested more than {MAX_DEPTH} deep",
    ),
    "alias bomb": (_alias_bomb().encode(), 6, f"aliases expand this document beyond {MAX_ALIAS_VALUES}"),
    "alias in itself": (b"a: &x [1, *x]\n", 1, "alias *x inside its own anchor"),
    "empty": (b"", None, ""),
    "only a comment": (b"# nothing\n", None, ""),
    "a scalar": (b"just text\n", 1, "mapping"),
    "a list": (b"- a\n- b\n", 1, "mapping"),
}


def _spec(path: Path) -> None:
    # read, typed and cross-checked, not rendered: a valid spec with a window of 99999999d renders
    # promtool tests of window/interval samples each and exhausts memory (see the report of issue 14)
    load(path.parent)


def _sloth(path: Path) -> None:
    import_files([path], path.parent / "out", lambda roots: sloth.convert(roots, sloth.SlothOptions()), False)


def _openslo(path: Path) -> None:
    import_files(
        [path], path.parent / "out", lambda roots: openslo.convert(roots, openslo.OpenSLOOptions()), False
    )


def _pyrra(path: Path) -> None:
    import_files([path], path.parent / "out", lambda roots: pyrra.convert(roots, pyrra.PyrraOptions()), False)


LOADERS: dict[str, Callable[[Path], None]] = {
    "spec": _spec,
    "sloth": _sloth,
    "openslo": _openslo,
    "pyrra": _pyrra,
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_input_is_a_located_spec_error(case: str, loader: str, tmp_path: Path) -> None:
    content, line, words = HOSTILE[case]
    path = tmp_path / "input.yaml"
    path.write_bytes(content)
    with pytest.raises(SpecError) as refused:
        LOADERS[loader](path)
    issues = refused.value.issues
    assert any(issue.location.file.endswith("input.yaml") for issue in issues), issues
    if line is not None:
        assert any(issue.location.line == line and words in issue.message for issue in issues), issues


def test_nesting_up_to_the_limit_loads(tmp_path: Path) -> None:
    path = tmp_path / "input.yaml"
    path.write_text("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n")  # the mapping is one
    with pytest.raises(SpecError) as refused:
        _spec(path)
    assert "nested" not in str(refused.value)  # refused by the model, not for its depth


def test_aliases_that_do_not_explode_load(tmp_path: Path) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(
        "x-base: &base {a: 1, b: [1, 2, 3]}\n"
        + "".join(f"k{i}: [*base, *base, {i}]\n" for i in range(200))
        + "y: .inf\n"
    )
    with pytest.raises(SpecError) as refused:
        _spec(path)
    assert "aliases expand" not in str(refused.value) and "too large" not in str(refused.value)
    assert "unknown field" in str(refused.value)  # refused by the model: the loader read it all


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"{a: 'x\0'}\n", 1, "NUL byte U+0000"),
        (b"{a: '\xff'}\n", 1, "not UTF-8"),
        (b"local f(n) = if n == 0 then 1 else [f(n - 1)];\n{a: f(150)}\n", None, "nested more than"),
    ],
)
def test_hostile_jsonnet_is_a_located_spec_error(
    content: bytes, line: int | None, words: str, tmp_path: Path
) -> None:
    path = tmp_path / "input.jsonnet"
    path.write_bytes(content)
    with pytest.raises(SpecError) as refused:
        load(tmp_path)
    issue = refused.value.issues[0]
    assert "input.jsonnet" in issue.location.file and words in issue.message, refused.value.issues
    assert line is None or issue.location.line == line


# --- fuzz: the real example inputs, mutated ---------------------------------------------------------

SNIPPETS = [
    *(b"!!int ", b"!!float ", b"!!bool ", b"!!timestamp ", b"!!binary ", b"!!str ", b"!!map ", b"!!set "),
    *(b"!!int 1e400", b"!!float 1e400", b"!!int abc", b"1e400", b"1.0e+400", b"-1.0e+400", b".nan", b".inf"),
    *(
        b"9" * 400,
        b"9" * 5000,
        b"0x" + b"f" * 300,
        b"1_000",
        b"1:30",
        b"0o17",
        b"-1",
        b"0",
        b"101",
        b"1e-400",
    ),
    *(b"\0", b"\a", b"\x1b", b"\x7f", b"\xff", b"\xc3", b"\xef\xbb\xbf", b"\xc2\x85", b"\xe2\x80\xa8"),
    *(b"[" * 150, b"]" * 3, b"{", b"}", b"&a ", b"*a", b"<<: *a\n", b"&b [*a, *a, *a, *a]", b"*b"),
    *(b"\t", b"\r", b"\n", b"---\n", b"...\n", b"- ", b": ", b"? ", b"#", b"'", b'"', b"|", b">"),
    *(b"%YAML 1.2\n", b"~", b"null", b"yes", b"true", b"{{.window}}", b"30d", b"0s", b"1M"),
]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four edits: flip a bit, insert a control byte, truncate, duplicate a line, insert a
    snippet (tags, huge numbers, deep brackets, aliases, bad bytes) or make it a field's value."""
    for _ in range(rng.randint(1, 4)):
        edit = rng.randrange(7)
        at = rng.randint(0, len(data))
        if edit == 0 and data:
            i = rng.randrange(len(data))
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1 :]
        elif edit == 1:
            data = data[:at] + bytes([rng.randrange(32)]) + data[at:]
        elif edit == 2:
            data = data[:at]
        elif edit == 3:
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            data = b"\n".join([*lines[:i], lines[i], *lines[i:]])
        elif edit == 4:
            values = [i + 2 for i in range(len(data)) if data.startswith(b": ", i)]
            if values:
                start = rng.choice(values)
                end = data.find(b"\n", start)
                data = data[:start] + rng.choice(SNIPPETS) + (data[end:] if end >= 0 else b"")
        elif edit == 5:
            depth = rng.choice([3, 60, 200, 2000])
            data = data[:at] + b"[" * depth + b"]" * depth + data[at:]
        else:
            data = data[:at] + rng.choice(SNIPPETS) + data[at:]
    return data


def _fuzz(family: str, runs: int) -> list[tuple[str, bytes]]:
    """Inputs of `family` as the fuzz feeds them, `runs` of them, each with what it was made from."""
    rng = random.Random(SEED)
    corpus = {
        "spec": SPEC_FILES,
        "sloth": SLOTH_EXAMPLES,
        "openslo": OPENSLO_EXAMPLES,
        "pyrra": PYRRA_EXAMPLES,
    }[family]
    return [(source.name, mutate(rng, source.read_bytes())) for source in rng.choices(corpus, k=runs)]


@pytest.mark.parametrize("family", ["spec", "sloth", "openslo", "pyrra"])
def test_fuzzed_inputs_load_or_are_spec_errors(family: str, tmp_path: Path) -> None:
    """Only SpecError may leave a loader, whatever the bytes; a spec file is fuzzed among the real
    spec's other files, so what survives the reader meets the model and its cross-checks, and an
    import that survives is converted, checked and rendered as `obsgen import` does."""
    work = tmp_path / "in"
    if family == "spec":
        shutil.copytree(SPEC, work)
    else:
        work.mkdir()
    crashes = []
    for i, (name, data) in enumerate(_fuzz(family, RUNS)):
        path = work / name
        original = path.read_bytes() if path.exists() else None
        path.write_bytes(data)
        try:
            LOADERS[family](path)
        except SpecError:
            pass
        except Exception:  # every other exception is the bug this test looks for
            keep = tmp_path / f"crash-{i}-{name}"
            keep.write_bytes(data)
            crashes.append(f"{keep} (from {name}, seed {SEED} run {i}):\n{traceback.format_exc(limit=-4)}")
        if original is None:
            path.unlink()
        else:
            path.write_bytes(original)
    assert not crashes, "\n".join(crashes[:5])


@pytest.mark.parametrize("family", ["spec", "sloth", "openslo", "pyrra"])
def test_fuzzed_inputs_through_the_command_line(family: str, tmp_path: Path) -> None:
    """A few fuzzed inputs through the real CLI: exit 0 or 2, never a traceback."""
    for i, (name, data) in enumerate(_fuzz(family, RUNS + 3)[-3:]):
        run = tmp_path / str(i)
        if family == "spec":
            shutil.copytree(SPEC, run)
            (run / name).write_bytes(data)
            result = obsgen("validate", "--spec", run)
        else:
            run.mkdir()
            (run / name).write_bytes(data)
            result = obsgen("import", family, run / name, "--out", run / "out")
        assert result.returncode in (0, 2), result.stderr
        assert "Traceback" not in result.stderr, result.stderr
