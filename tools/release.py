"""Release obsgen: `make release VERSION=x.y.z[-rcN]`, then `make release.tag VERSION=...`.

    python tools/release.py build 1.9.5-rc1 [--source .] [--dist DIR] [--date YYYY-MM-DD]
    python tools/release.py tag 1.9.5-rc1 [--source .]

`build` sets the version in its one place (pyproject.toml's `version`, as PEP 440: 1.9.5-rc1 is
1.9.5rc1), builds the sdist and the wheel (the wheel from the sdist, so both are proven), installs
the wheel into a fresh venv and runs the installed `obsgen --version`, `init`, `gen` and
`promtool test rules` from it, then writes the CHANGELOG.md entry. `tag` creates the annotated
tag v<version> on a clean tree whose pyproject.toml and CHANGELOG.md carry that version.

Exit codes as obsgen's: 0 done, 1 a check of the built wheel failed, 2 refused (bad VERSION, a
dirty tree, a version mismatch, a tool missing). Only the standard library and `build` are used.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
import zipfile
from collections.abc import Sequence
from pathlib import Path

VERSION_FORMAT = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:-rc(\d+))?")
PROJECT_VERSION_LINE = re.compile(r'^version = "[^"]*"$', re.MULTILINE)
CHANGELOG_TITLE = "# Changelog\n"
SERVICE = "checkout"
PACKAGES = ("generator", "runtime", "obsgen")


class ReleaseError(Exception):
    """A refusal or a failed check: printed as one line, never a traceback."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def pep440(version: str) -> str:
    """`x.y.z` or `x.y.z-rcN` as the PEP 440 version pip and the metadata use (x.y.zrcN)."""
    match = VERSION_FORMAT.fullmatch(version)
    if not match:
        raise ReleaseError(f"VERSION {version!r} is not x.y.z or x.y.z-rcN (e.g. 1.9.5 or 1.9.5-rc1)")
    major, minor, patch, rc = (None if part is None else int(part) for part in match.groups())
    return f"{major}.{minor}.{patch}" + ("" if rc is None else f"rc{rc}")


def run(args: Sequence[str | Path], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """A command whose failure is a ReleaseError carrying its output."""
    try:
        result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, **kwargs)
    except OSError as exc:
        raise ReleaseError(f"cannot run {args[0]} in {cwd}: {exc}") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ReleaseError(f"`{' '.join(map(str, args))}` failed:\n{output}", code=1)
    return result


def git(source: Path, *args: str) -> str:
    return run(["git", *args], cwd=source).stdout


# --- the version, in pyproject.toml only ---


def project_version(source: Path) -> str:
    try:
        return tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, tomllib.TOMLDecodeError, KeyError) as exc:
        raise ReleaseError(f"no [project] version in {source / 'pyproject.toml'}: {exc}") from exc


def set_version(source: Path, version: str) -> None:
    """Rewrite the one `version = "..."` line, keeping the rest of the file byte for byte."""
    path = source / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    if len(PROJECT_VERSION_LINE.findall(text)) != 1:
        raise ReleaseError(f'{path}: expected exactly one `version = "..."` line')
    path.write_text(PROJECT_VERSION_LINE.sub(f'version = "{version}"', text), encoding="utf-8")
    if project_version(source) != version:
        raise ReleaseError(f"{path}: the version line is not [project]'s")


# --- build and smoke-test the wheel ---


def build(source: Path, dist: Path, version: str) -> tuple[Path, Path]:
    """sdist and wheel into `dist`, with this interpreter's setuptools (the dev extras declare it):
    no isolated build env, so it works offline and in seconds."""
    if importlib.util.find_spec("build") is None:
        raise ReleaseError("the `build` package is missing: pip install -e '.[dev]' (make release does)")
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", dist, source], cwd=source)
    sdist, wheel = dist / f"obsgen-{version}.tar.gz", dist / f"obsgen-{version}-py3-none-any.whl"
    for path in (sdist, wheel):
        if not path.is_file():
            raise ReleaseError(f"the build did not write {path}", code=1)
    missing = missing_data(source, wheel)
    if missing:
        raise ReleaseError(f"the wheel lacks {', '.join(missing)}: add them to package-data", code=1)
    return sdist, wheel


def missing_data(source: Path, wheel: Path) -> list[str]:
    """The packages' non-.py files (tracked, or new and not ignored) the wheel lacks: what
    pyproject.toml's package-data must name, since they are read at run time."""
    listed = git(source, "ls-files", "-co", "--exclude-standard", "--", *PACKAGES).splitlines()
    wanted = [f for f in listed if not f.endswith(".py") and (source / f).is_file()]
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    return [f for f in wanted if f not in shipped]


def fresh_venv(root: Path, wheel: Path) -> Path:
    """A new venv with the wheel installed and nothing else of this project; its dependencies
    come from this interpreter's site-packages through a .pth line (offline, and no editable
    install leaks in: that directory's own .pth files are not processed). `pip check` then
    proves the wheel's declared dependencies are met. Returns the venv's bin directory."""
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    python = venv / "bin" / "python"
    purelib = Path(
        run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], root).stdout.strip()
    )
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (purelib / "_release_dependencies.pth").write_text("".join(f"{p}\n" for p in ours), encoding="utf-8")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--no-index", "--no-deps", wheel], cwd=root)
    run([*pip, "check"], cwd=root)
    return venv / "bin"


def promtool() -> str:
    found = shutil.which("promtool")
    if not found:
        raise ReleaseError("promtool not found on PATH (Debian package prometheus; `make debs`)")
    return found


def promtool_tests(project: Path) -> None:
    """Every generated promtool test file, each in its own promtool, side by side; all are
    waited for before a failure is reported, so none is left running."""
    tests = sorted((project / "generated/prometheus/tests").glob("*.yml"))
    if not tests:
        raise ReleaseError(f"obsgen gen wrote no promtool tests under {project}", code=1)
    binary = promtool()
    jobs = {
        test.name: subprocess.Popen(
            [binary, "test", "rules", test.relative_to(project)],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for test in tests
    }
    outputs = {name: job.communicate()[0] for name, job in jobs.items()}
    failed = [name for name, job in jobs.items() if job.returncode != 0]
    if failed:
        shown = "\n".join(f"== {name}\n{outputs[name]}" for name in failed)
        raise ReleaseError(f"promtool test rules failed for {', '.join(failed)}:\n{shown}", code=1)


def smoke(wheel: Path, version: str, work: Path) -> None:
    """The installed wheel, from outside any source tree: --version, init, gen, the tests."""
    bin_dir = fresh_venv(work, wheel)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    obsgen = [bin_dir / "obsgen"]
    shown = run([*obsgen, "--version"], cwd=work, env=env).stdout.strip()
    if shown != f"obsgen {version}":
        raise ReleaseError(f"the installed obsgen --version printed {shown!r}, not 'obsgen {version}'", 1)
    where = run([bin_dir / "python", "-c", "import generator; print(generator.__file__)"], work, env=env)
    if not Path(where.stdout.strip()).is_relative_to(work):
        raise ReleaseError(f"the fresh venv imported generator from {where.stdout.strip()}", code=1)
    project = work / "p"
    run([*obsgen, "init", project, "--service", SERVICE], cwd=work, env=env)
    run([*obsgen, "gen", "--spec", project / "spec", "--out", project / "generated"], cwd=work, env=env)
    promtool_tests(project)


# --- the changelog ---


def previous_release(source: Path) -> str | None:
    """The nearest tag, else the last commit that wrote CHANGELOG.md (the previous entry), else
    None: the whole history."""
    described = subprocess.run(
        ["git", "describe", "--tags", "--abbrev=0", "HEAD"], cwd=source, capture_output=True, text=True
    )
    if described.returncode == 0:
        return described.stdout.strip()
    return git(source, "log", "-1", "--format=%H", "--", "CHANGELOG.md").strip() or None


def changelog_entry(source: Path, version: str, date: str) -> str:
    base = previous_release(source)
    subjects = git(
        source, "log", "--no-merges", "--format=%s", *([f"{base}..HEAD"] if base else [])
    ).splitlines()
    lines = [f"- {subject}\n" for subject in subjects if subject.strip()] or ["- (no changes)\n"]
    return f"## {version} — {date}\n\n{''.join(lines)}"


def write_changelog(source: Path, version: str, date: str) -> Path:
    """Add the entry on top (or replace this version's own, so a rerun gives the same file)."""
    path = source / "CHANGELOG.md"
    text = path.read_text(encoding="utf-8") if path.exists() else CHANGELOG_TITLE
    if not text.startswith(CHANGELOG_TITLE):
        text = CHANGELOG_TITLE + "\n" + text
    body = text[len(CHANGELOG_TITLE) :].strip("\n")
    entries = [e for e in re.split(r"\n(?=## )", body) if e.strip()] if body else []
    entries = [e for e in entries if not e.startswith(f"## {version} ")]
    entry = changelog_entry(source, version, date).rstrip("\n")
    path.write_text(CHANGELOG_TITLE + "\n" + "\n\n".join([entry, *(e.strip("\n") for e in entries)]) + "\n")
    return path


# --- the commands ---


def release(version_arg: str, source: Path, dist: Path, date: str, work: Path | None = None) -> str:
    version = pep440(version_arg)
    promtool()
    project_version(source)  # refuses a source without a readable pyproject.toml
    set_version(source, version)
    sdist, wheel = build(source, dist, version)
    with tempfile.TemporaryDirectory(prefix="obsgen-release-") as tmp:
        if work:
            work.mkdir(parents=True, exist_ok=True)
        smoke(wheel, version, (work or Path(tmp)).resolve())
    changelog = write_changelog(source, version, date)
    kib = wheel.stat().st_size / 1024
    print(f"obsgen {version}: {sdist.name}, {wheel.name} ({kib:.0f} KiB) in {dist}")
    print(f"the wheel installs, and init, gen and the promtool tests pass from it; {changelog.name} updated")
    print(f"next: commit pyproject.toml and CHANGELOG.md, then make release.tag VERSION={version_arg}")
    return version


def tag(version_arg: str, source: Path) -> str:
    version = pep440(version_arg)
    found = project_version(source)
    if found != version:
        raise ReleaseError(f"pyproject.toml says version {found}, not {version}: run make release first")
    changelog = source / "CHANGELOG.md"
    if not changelog.exists() or f"\n## {version} " not in changelog.read_text(encoding="utf-8"):
        raise ReleaseError(f"CHANGELOG.md has no entry for {version}: run make release first")
    dirty = git(source, "status", "--porcelain").splitlines()
    if dirty:
        listed = "; ".join(line.strip() for line in dirty[:5]) + ("; ..." if len(dirty) > 5 else "")
        raise ReleaseError(f"the tree has uncommitted changes ({listed}): commit them first")
    name = f"v{version}"
    if git(source, "tag", "--list", name).strip():
        raise ReleaseError(f"tag {name} exists already")
    git(source, "tag", "-a", name, "-m", f"obsgen {version}")
    print(f"tagged {name}; push it with: git push origin {name}")
    return name


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="tools/release.py", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="set the version, build, smoke-test, write the changelog")
    tag_cmd = commands.add_parser("tag", help="annotated tag v<version> on a clean tree")
    for command in (build_cmd, tag_cmd):
        command.add_argument("version", help="x.y.z or x.y.z-rcN")
        command.add_argument("--source", type=Path, default=Path.cwd(), help="the source tree (default: .)")
    build_cmd.add_argument("--dist", type=Path, help="where the sdist and wheel go (default: SOURCE/dist)")
    build_cmd.add_argument("--date", default=datetime.date.today().isoformat(), help="the changelog date")
    build_cmd.add_argument("--work", type=Path, help="keep the venv and project here (default: a temp dir)")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    source = args.source.resolve()
    try:
        if args.command == "build":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args.date):
                raise ReleaseError(f"--date {args.date!r} is not YYYY-MM-DD")
            release(args.version, source, (args.dist or source / "dist").resolve(), args.date, args.work)
        else:
            tag(args.version, source)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return exc.code
    return 0


if __name__ == "__main__":
    sys.exit(main())
