"""The one place that writes to disk: all of `generated/` at once, or nothing.

A generation first renders every file in memory; only then does the writer replace the
output directory, through a temporary sibling and a rename, so a failure at any point leaves
the previous `generated/` exactly as it was. It only ever replaces a directory it wrote
itself (one holding its marker file), so `--out` pointed at the wrong place cannot delete it.
The new tree is made durable as a whole (one syncfs, not an fsync per file) before the rename,
and the parent directory after it; files that did not change are hard links to the old ones.
"""

from __future__ import annotations

import difflib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from generator.atomic import fsync_path, new_directory, recover_swap, sync_tree, write_file_atomically
from generator.atomic import swap_directory as _swap  # by this name tests/test_generation.py fails it

MARKER = "README.md"
MARKER_TEXT = (
    "# generated/\n\n"
    "Everything here is written by obsgen from `spec/`; do not edit it. `make gen` replaces\n"
    "this directory as a whole, and CI fails when it differs from what the spec produces.\n"
)


class NotOurDirectory(OSError):
    """The output directory holds files obsgen did not write."""


def with_marker(outputs: dict[str, str]) -> dict[str, str]:
    return {**outputs, MARKER: MARKER_TEXT}


def read_tree(root: Path) -> dict[str, bytes]:
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def _encoded(outputs: dict[str, str]) -> dict[str, bytes]:
    return {name: text.encode("utf-8") for name, text in outputs.items()}


def diff_tree(root: Path, outputs: dict[str, str]) -> str:
    """A unified diff from what is on disk to what the spec produces; empty when equal."""
    current, wanted = read_tree(root), _encoded(outputs)
    chunks: list[str] = []
    for name in sorted(set(current) | set(wanted)):
        old, new = current.get(name), wanted.get(name)
        if old == new:
            continue
        old_text = (old or b"").decode("utf-8", errors="replace")
        if old is not None and new is not None and old.replace(b"\r\n", b"\n") == new:
            chunks.append(f"Line endings differ in {root.name}/{name} (CRLF on disk, LF generated)\n")
            continue
        chunks.extend(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                (new or b"").decode().splitlines(keepends=True),
                fromfile=f"a/{root.name}/{name}" if old is not None else "/dev/null",
                tofile=f"b/{root.name}/{name}" if new is not None else "/dev/null",
            )
        )
    return "".join(chunks)


def write_tree(root: Path, outputs: dict[str, str]) -> bool:
    """Replace `root` with exactly `outputs`; returns False when nothing needed to change."""
    recover_swap(root)
    wanted = _encoded(outputs)
    current = read_tree(root)
    if current == wanted:
        return False
    _refuse_foreign(root)
    unchanged = {name for name, data in wanted.items() if current.get(name) == data}
    staging = new_directory(root.parent, f".{root.name}.new-")
    try:
        _fill(staging, wanted, _Reuse(root, unchanged))
        _swap(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


@dataclass(frozen=True)
class _Reuse:
    """Files of the tree being replaced that already hold what is wanted."""

    root: Path
    names: set[str]

    def link(self, name: str, target: Path) -> bool:
        """Hard-link the old file as the new one: creating a file costs far more than a link
        (0.5 ms against 0.02 ms here), and a spec change rewrites few of thousands of files.
        The old tree is removed after the swap and left alone on failure; a symlink, or a
        filesystem without hard links, gets a written file instead."""
        source = self.root / name
        if name not in self.names or source.is_symlink():
            return False
        try:
            os.link(source, target)
        except OSError:
            return False
        return True


def _fill(staging: Path, files: dict[str, bytes], reuse: _Reuse | None = None) -> None:
    """Write `files` into the fresh staging directory, then make all of it durable at once.

    Nothing reads the staging directory until it is renamed into place, so each file is written
    directly (no temporary file of its own); sync_tree runs before that rename, so a crash
    cannot leave a renamed tree holding files whose data never reached the disk."""
    for directory in sorted({(staging / name).parent for name in files}):
        directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = staging / name
        if reuse is not None and reuse.link(name, target):
            continue
        _write_new(target, data)
    sync_tree(staging)


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _write_new(path: Path, data: bytes) -> None:
    """open(path, "xb").write(data) without a buffered file object (a fifth of the writer's time
    for thousands of small files)."""
    fd = os.open(path, _NEW_FILE, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _refuse_foreign(root: Path) -> None:
    if not root.exists():
        return
    if not root.is_dir():
        raise NotOurDirectory(f"{root} exists and is not a directory")
    marker = root / MARKER
    ours = marker.is_file() and marker.read_bytes().startswith(MARKER_TEXT.split("\n", 1)[0].encode())
    if any(root.iterdir()) and not ours:
        raise NotOurDirectory(
            f"{root} holds files obsgen did not write (no {MARKER} of obsgen's); "
            "refusing to replace it: point --out at an empty or obsgen-written directory"
        )


class WouldOverwrite(OSError):
    """A file to write exists with other content, and overwriting was not asked for."""


def write_files(root: Path, files: dict[str, str], overwrite: bool = False) -> list[str]:
    """Write each file atomically (temp file + rename) into `root`, leaving other files alone.

    Every conflict is found before anything is written, so a refusal writes nothing. Returns
    the names that changed.
    """
    wanted = _encoded(files)
    changed = [n for n, data in wanted.items() if not (root / n).is_file() or (root / n).read_bytes() != data]
    clashes = [n for n in changed if (root / n).exists()]
    if clashes and not overwrite:
        shown = ", ".join(str(root / n) for n in clashes)
        raise WouldOverwrite(f"{shown} already exist(s) with other content")
    root.mkdir(parents=True, exist_ok=True)
    for name in changed:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(target, wanted[name])
    return changed


class NotEmpty(OSError):
    """The directory to create a tree in already holds something."""


def create_tree(root: Path, files: dict[str, str]) -> None:
    """Write `files` as a new tree into `root`, which must be absent or an empty directory.

    Everything is written into a hidden staging directory inside `root` first, then each
    top-level entry is renamed into place; a failure removes what was moved, so `root` is left
    as it was found (an empty directory stays, as its owner and mode do; a new one goes)."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise NotEmpty(f"{root} exists and is not an empty directory")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    staging = new_directory(root, ".obsgen-new-")
    moved: list[Path] = []
    try:
        _fill(staging, _encoded(files))
        for entry in sorted(staging.iterdir()):
            destination = root / entry.name
            if destination.exists():
                raise NotEmpty(f"{destination} appeared while the new tree was being written")
            entry.rename(destination)
            moved.append(destination)
        fsync_path(root)
    except BaseException:
        for path in moved:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        if created:
            shutil.rmtree(root, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
