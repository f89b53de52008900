"""The one place that writes to disk: all of `generated/` at once, or nothing.

A generation first renders every file in memory; only then does the writer replace the
output directory, through a temporary sibling and a rename, so a failure at any point leaves
the previous `generated/` exactly as it was.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from pathlib import Path


def read_tree(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def diff_tree(root: Path, outputs: dict[str, str]) -> str:
    """A unified diff from what is on disk to what the spec produces; empty when equal."""
    current = read_tree(root)
    chunks: list[str] = []
    for name in sorted(set(current) | set(outputs)):
        old, new = current.get(name), outputs.get(name)
        if old == new:
            continue
        chunks.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                fromfile=f"a/{root.name}/{name}" if old is not None else "/dev/null",
                tofile=f"b/{root.name}/{name}" if new is not None else "/dev/null",
            )
        )
    return "".join(chunks)


def write_tree(root: Path, outputs: dict[str, str]) -> bool:
    """Replace `root` with exactly `outputs`; returns False when nothing needed to change."""
    if read_tree(root) == outputs:
        return False
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.new-", dir=root.parent))
    try:
        for name, text in outputs.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        _swap(staging, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _swap(staging: Path, root: Path) -> None:
    if not root.exists():
        staging.rename(root)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{root.name}.old-", dir=root.parent))
    retired.rmdir()
    root.rename(retired)
    try:
        staging.rename(root)
    except OSError:
        retired.rename(root)
        raise
    shutil.rmtree(retired, ignore_errors=True)
