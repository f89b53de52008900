"""Writing files so that a reader sees the old content or the new one, never a part of either.

The one way obsgen replaces a file (generated trees, receiver secrets, the runtime's heartbeats
and records, the sandbox's configuration): a temporary file in the same directory, written and
fsynced, then renamed over the target. Also the pieces of a directory swap (the generator's
`generated/`) and of a durable rename (a snapshot moved into place). Standard library only, and
cheap to import.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

_ATTEMPTS = 100


def write_file_atomically(path: Path | str, data: str | bytes, mode: int | None = None) -> None:
    """Replace `path` by a file holding `data` (text is written as UTF-8).

    The temporary file's name starts with a dot and ends with `.tmp`, so no reader globbing for
    the target's suffix (node_exporter's `*.prom`) collects it; it is removed on any failure.
    `mode` gives the new file's permission bits exactly; None gives what open() would, 0o666
    less the umask. The directory is not synced: fsync_path(directory) makes the rename durable.
    """
    path = Path(path)
    content = data.encode("utf-8") if isinstance(data, str) else data
    fd, temp = _create_temp(path, 0o666 if mode is None else mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)  # exactly `mode`, whatever the umask
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def fsync_path(path: Path | str) -> None:
    """fsync a file or a directory by its path (a directory, to make a rename in it durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(root: Path) -> None:
    """Make every file and directory under `root` durable before it is renamed into sight.

    One syncfs(2) of the filesystem holding `root` where the C library has it: thousands of
    fsyncs, one a file, each wait for their own journal commit, one syncfs for a single one.
    Elsewhere every file and directory is fsynced in turn.
    """
    if not _syncfs(root):
        for path in sorted(root.rglob("*")):
            fsync_path(path)
        fsync_path(root)


def _syncfs(path: Path) -> bool:
    try:
        import ctypes  # only here: a generation pays for it once, other users of this module never

        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError, ImportError):
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        return syncfs(fd) == 0
    finally:
        os.close(fd)


def replace_durably(temp: Path | str, target: Path | str) -> None:
    """Move a finished file into place for good: fsync `temp`, rename it over `target`, fsync
    the directory. For a file written by other means (an SQLite backup, a copy)."""
    fsync_path(temp)
    os.replace(temp, target)
    fsync_path(Path(target).parent)


def _create_temp(path: Path, mode: int) -> tuple[int, Path]:
    """A new file `.<name>.<random>.tmp` next to `path`, open for writing."""
    for _ in range(_ATTEMPTS):
        temp = path.with_name(f".{path.name}.{os.urandom(4).hex()}.tmp")
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


# ---------------------------------------------------------------- a directory swapped as a whole


def new_directory(parent: Path, prefix: str) -> Path:
    """A new, empty directory in `parent`, `<prefix><random>`, with the mode mkdir gives (0o777
    less the umask; tempfile.mkdtemp's would be 0o700)."""
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        candidate = parent / f"{prefix}{os.urandom(4).hex()}"
        try:
            candidate.mkdir(0o777)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free directory name {prefix}* in {parent}")


def _retired(root: Path) -> list[Path]:
    return sorted(root.parent.glob(f".{root.name}.old-*")) if root.parent.is_dir() else []


def swap_directory(staging: Path, root: Path) -> None:
    """Put the directory `staging` in the place of `root` by two renames: `root` aside (as a
    hidden `.<name>.old-*` sibling), `staging` in. Should the second fail, `root` is put back;
    should the process die between them, recover_swap puts things right. `staging` must be
    durable already (sync_tree); the parent is synced after the renames."""
    if not root.exists():
        staging.rename(root)
        fsync_path(root.parent)
        return
    retired = new_directory(root.parent, f".{root.name}.old-")
    retired.rmdir()  # a free name, taken by the rename below
    root.rename(retired)
    try:
        staging.rename(root)
    except OSError:
        retired.rename(root)
        raise
    fsync_path(root.parent)
    _remove_tree(retired)


def recover_swap(root: Path) -> None:
    """Finish a swap_directory interrupted between its two renames; remove leftovers."""
    retired = _retired(root)
    if retired and not root.exists():
        retired[-1].rename(root)
        retired = retired[:-1]
    for leftover in retired:
        _remove_tree(leftover)


def _remove_tree(path: Path) -> None:
    import shutil  # only here: it costs more to import than the rest of this module

    shutil.rmtree(path, ignore_errors=True)
