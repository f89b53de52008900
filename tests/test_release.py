"""Releasing (tools/release.py): `obsgen --version`, the VERSION format, the release build end to
end on a copy of this tree (the repo's own pyproject.toml, CHANGELOG.md and dist/ untouched), and
`release.tag`'s refusals."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from conftest import ROOT, obsgen

import obsgen.cli as obsgen_cli

RELEASE = ROOT / "tools" / "release.py"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def load_release() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release", RELEASE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release = load_release()


def run_release(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, RELEASE, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def working_copy(into: Path) -> Path:
    """A clone of this repository with its working tree on top (uncommitted work included)."""
    subprocess.run(["git", "clone", "-q", ROOT, into], check=True)
    files = git(ROOT, "ls-files", "-co", "--exclude-standard", "-z").split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, into / name)
    return into


def tiny_repo(root: Path, version: str = "0.1.0") -> Path:
    """A git repo with a pyproject.toml, a tagged first commit and two commits after it."""
    root.mkdir()
    git(root, "init", "-q")
    (root / "pyproject.toml").write_text(f'[project]\nname = "obsgen"\nversion = "{version}"\n')
    for subject in ("first", "second", "third"):
        (root / "log.txt").write_text(subject)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", subject)
        if subject == "first":
            git(root, "tag", "-a", "v0.1.0", "-m", "0.1.0")
    return root


@pytest.fixture(autouse=True)
def git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)


def test_version_prints_the_package_version() -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = obsgen("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"obsgen {expected}\n"


def test_version_falls_back_to_pyproject_without_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_metadata(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", no_metadata)  # obsgen.cli imports it when asked
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert obsgen_cli.package_version() == expected


@pytest.mark.parametrize(
    ("given", "pep440"),
    [("1.9.5", "1.9.5"), ("1.9.5-rc1", "1.9.5rc1"), ("0.10.0-rc12", "0.10.0rc12"), ("10.0.1", "10.0.1")],
)
def test_version_format_maps_rc_to_pep440(given: str, pep440: str) -> None:
    assert release.pep440(given) == pep440


@pytest.mark.parametrize(
    "given", ["", "1.9", "v1.9.5", "1.9.5rc1", "1.9.5-rc", "1.9.5-beta1", "1.9.5 ", "x.y.z"]
)
def test_version_format_refuses_the_rest(given: str) -> None:
    with pytest.raises(release.ReleaseError, match=re.escape("is not x.y.z or x.y.z-rcN")):
        release.pep440(given)


def test_bad_version_is_refused_before_anything_changes(tmp_path: Path) -> None:
    repo = tiny_repo(tmp_path / "repo")
    before = (repo / "pyproject.toml").read_bytes()
    result = run_release("build", "1.9.5.rc1", "--source", repo, cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stderr.startswith("release: VERSION '1.9.5.rc1' is not") and "Traceback" not in result.stderr
    )
    assert (repo / "pyproject.toml").read_bytes() == before and not (repo / "dist").exists()


def test_release_builds_a_wheel_that_works_from_a_fresh_venv(tmp_path: Path) -> None:
    """The whole `make release VERSION=1.9.5-rc1`, on a copy: the wheel from the sdist, installed
    in a new venv, runs --version, init, gen and the promtool tests; the changelog is written."""
    repo_files = {name: (ROOT / name).read_bytes() for name in ("pyproject.toml",)}
    repo_had = {name: (ROOT / name).exists() for name in ("CHANGELOG.md", "dist")}
    source, dist, work = working_copy(tmp_path / "src"), tmp_path / "dist", tmp_path / "work"
    result = run_release(
        "build",
        "1.9.5-rc1",
        "--source",
        source,
        "--dist",
        dist,
        "--date",
        "2026-12-03",
        "--work",
        work,
        cwd=source,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in dist.iterdir()) == [
        "obsgen-1.9.5rc1-py3-none-any.whl",
        "obsgen-1.9.5rc1.tar.gz",
    ]
    assert release.project_version(source) == "1.9.5rc1"
    assert sorted(p.name for p in (work / "p/generated/prometheus/tests").glob("*.yml"))
    changelog = (source / "CHANGELOG.md").read_text()
    head = git(ROOT, "log", "-1", "--format=%s").strip()
    assert changelog.startswith(f"# Changelog\n\n## 1.9.5rc1 — 2026-12-03\n\n- {head}\n")
    assert {name: (ROOT / name).read_bytes() for name in repo_files} == repo_files
    assert {name: (ROOT / name).exists() for name in repo_had} == repo_had


def test_changelog_lists_the_commits_since_the_previous_tag_and_reruns_the_same(tmp_path: Path) -> None:
    repo = tiny_repo(tmp_path / "repo")
    path = release.write_changelog(repo, "0.2.0", "2026-12-03")
    first = path.read_text()
    assert first == "# Changelog\n\n## 0.2.0 — 2026-12-03\n\n- third\n- second\n"
    assert release.write_changelog(repo, "0.2.0", "2026-12-03").read_text() == first
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 0.2.0")
    git(repo, "tag", "-a", "v0.2.0", "-m", "0.2.0")
    (repo / "log.txt").write_text("fourth")
    git(repo, "commit", "-qam", "fourth")
    text = release.write_changelog(repo, "0.3.0", "2026-12-04").read_text()
    assert text == "# Changelog\n\n## 0.3.0 — 2026-12-04\n\n- fourth\n\n" + first.split("\n\n", 1)[1]


def test_changelog_without_a_tag_starts_after_the_last_entry(tmp_path: Path) -> None:
    repo = tiny_repo(tmp_path / "repo")
    git(repo, "tag", "-d", "v0.1.0")
    release.write_changelog(repo, "0.2.0", "2026-12-03")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 0.2.0")
    (repo / "log.txt").write_text("after")
    git(repo, "commit", "-qam", "after")
    entry = release.changelog_entry(repo, "0.3.0", "2026-12-04")
    assert entry == "## 0.3.0 — 2026-12-04\n\n- after\n"


def test_tag_refuses_a_dirty_tree_a_version_mismatch_and_a_missing_entry(tmp_path: Path) -> None:
    repo = tiny_repo(tmp_path / "repo", version="1.9.5rc1")
    refused = run_release("tag", "1.9.5-rc1", "--source", repo, cwd=repo)
    assert refused.returncode == 2 and "CHANGELOG.md has no entry for 1.9.5rc1" in refused.stderr
    release.write_changelog(repo, "1.9.5rc1", "2026-12-03")
    dirty = run_release("tag", "1.9.5-rc1", "--source", repo, cwd=repo)
    assert dirty.returncode == 2 and "uncommitted changes" in dirty.stderr and "CHANGELOG.md" in dirty.stderr
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release 1.9.5rc1")
    mismatch = run_release("tag", "1.9.6", "--source", repo, cwd=repo)
    assert mismatch.returncode == 2 and "pyproject.toml says version 1.9.5rc1, not 1.9.6" in mismatch.stderr
    assert not re.search(r"v1\.9", git(repo, "tag", "--list"))
    tagged = run_release("tag", "1.9.5-rc1", "--source", repo, cwd=repo)
    assert tagged.returncode == 0, tagged.stderr
    assert git(repo, "cat-file", "-t", "v1.9.5rc1").strip() == "tag"  # annotated
    again = run_release("tag", "1.9.5-rc1", "--source", repo, cwd=repo)
    assert again.returncode == 2 and "exists already" in again.stderr
