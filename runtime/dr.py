"""Backups and restores of the runtime's state database.

A backup is an online snapshot through SQLite's backup API: one read transaction copies a
consistent view while the runtime keeps committing to its WAL. The copy is written under a
temp name, switched to a self-contained file (journal_mode=DELETE: no -wal beside it), checked
(integrity_check, the runtime's tables), fsynced and only then renamed to its snapshot name,
`YYYYMMDDThhmmss.sqlite` (UTC) — so every file with a snapshot name is a good backup.

A restore refuses a missing, truncated or corrupt snapshot, and a database a runtime holds,
before touching anything; then it copies the snapshot next to the database, fsyncs it, removes
the old database's -wal/-shm (their frames would otherwise be replayed onto the restored file)
and renames the copy over the database.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sqlite3
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from generator.atomic import fsync_path, replace_durably
from generator.exit_codes import ExitCode
from runtime.state import (
    KEYS,
    SNAPSHOT_FORMAT,
    SNAPSHOT_RE,
    TABLES,
    StateLock,
    StateUnavailable,
    row_counts,
    snapshot_time,
)

SQLITE_MAGIC = b"SQLite format 3\x00"


class DRError(Exception):
    """An expected failure, with the exit code the command ends with: USAGE when refused before
    anything changed, CHECK_FAILED when a snapshot or the database failed its check."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Snapshot:
    path: Path
    rows: dict[str, int]
    size: int
    taken_at: float | None
    """unix time the snapshot was taken (recorded in its meta table, else read from its name)"""


@dataclass(frozen=True)
class Restored:
    snapshot: Snapshot
    db: Path
    seconds: float


def snapshot_name(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(SNAPSHOT_FORMAT) + ".sqlite"


def snapshots(directory: Path) -> list[Path]:
    """The snapshots in `directory`, oldest first (their names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if SNAPSHOT_RE.match(p.name) and p.is_file())


def read_only(path: Path) -> sqlite3.Connection:
    """A connection that never writes next to `path` (no -wal, -shm or journal is created)."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


def _check_header(path: Path) -> None:
    """Catch a truncated copy by the size its header promises: integrity_check alone may not
    notice missing trailing pages it never reaches."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        header = handle.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise DRError(f"{path} is not an SQLite database ({size} bytes, no SQLite header)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_count_valid = header[24:28] == header[92:96]
    if header_count_valid and size < pages * page_size:
        raise DRError(
            f"{path} is truncated: {size} bytes, but its header says {pages} pages of {page_size} bytes "
            f"({pages * page_size} bytes)"
        )


def check_snapshot(path: Path) -> Snapshot:
    """Header, `PRAGMA integrity_check` and the runtime's tables, or DRError naming what is wrong."""
    if not path.is_file():
        raise DRError(f"no snapshot at {path}")
    _check_header(path)
    try:
        conn = read_only(path)
        try:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check(5)")]
            if problems != ["ok"]:
                raise DRError(f"{path} is corrupt: integrity_check says {'; '.join(problems)}")
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [table for table in TABLES if table not in names]
            if missing:
                raise DRError(f"{path} is not a runtime state snapshot: no table {', '.join(missing)}")
            rows = row_counts(conn)
            taken = conn.execute("SELECT value FROM meta WHERE key = 'snapshot_at'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DRError(f"{path} is corrupt: {exc}") from None
    taken_at = float(taken[0]) if taken else snapshot_time(path.name)
    return Snapshot(path, rows, path.stat().st_size, taken_at)


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` snapshots; return what was removed."""
    removed = snapshots(directory)[:-keep] if keep > 0 else []
    for path in removed:
        path.unlink()
    return removed


def backup(
    db: Path, directory: Path, keep: int = 7, now: datetime | None = None
) -> tuple[Snapshot, list[Path]]:
    """Snapshot `db` into `directory` online, check it, prune to `keep`: (snapshot, pruned)."""
    if not db.is_file():
        raise DRError(f"no database at {db} (is the runtime's state database elsewhere? use --db)")
    moment = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / snapshot_name(moment)
    if final.exists():
        raise DRError(f"{final} already exists; not overwriting a snapshot (wait a second and retry)")
    temp = directory / f".{final.name}.tmp"
    temp.unlink(missing_ok=True)
    try:
        _copy_online(db, temp, moment.timestamp())
        try:
            checked = check_snapshot(temp)
        except DRError as exc:
            raise DRError(
                f"the snapshot failed its check, nothing kept: {exc}", ExitCode.CHECK_FAILED
            ) from None
        replace_durably(temp, final)
    finally:
        temp.unlink(missing_ok=True)
    return dataclasses.replace(checked, path=final), prune(directory, keep)


def _copy_online(db: Path, target: Path, taken_at: float) -> None:
    try:
        source = sqlite3.connect(db, timeout=10)  # read-write: read-only WAL access needs the -shm
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)  # all pages in one step: a single consistent read transaction
                copy.execute("PRAGMA journal_mode=DELETE")  # the snapshot is one self-contained file
                if "meta" in {r[0] for r in copy.execute("SELECT name FROM sqlite_master")}:
                    copy.execute("INSERT OR REPLACE INTO meta VALUES ('snapshot_at', ?)", (repr(taken_at),))
                    copy.commit()
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.DatabaseError as exc:
        raise DRError(f"cannot read {db}: {exc}", ExitCode.CHECK_FAILED) from None


def resolve_snapshot(snapshot: str, directory: Path) -> Path:
    """SNAP is a snapshot's name in `directory`, or a path."""
    given = Path(snapshot)
    in_directory = directory / given
    path = in_directory if given.parent == Path(".") and in_directory.is_file() else given
    if not path.is_file():
        where = f"in {directory}" if given.parent == Path(".") else f"at {given}"
        known = [p.name for p in snapshots(directory)[-3:]]
        hint = f"; newest in {directory}: {', '.join(known)}" if known else f"; {directory} holds none"
        raise DRError(f"no snapshot {snapshot!r} {where}{hint}")
    return path


def restore(snapshot: str, db: Path, directory: Path) -> Restored:
    """Replace `db` by a checked snapshot, atomically; DRError (db untouched) when refused."""
    started = time.monotonic()
    checked = check_snapshot(resolve_snapshot(snapshot, directory))
    lock = StateLock(db)
    try:
        lock.acquire()  # held until done: no runtime can open the database half-way
    except StateUnavailable as exc:
        holder = f"a runtime (pid {exc.pid})" if exc.pid else "a runtime"
        raise DRError(
            f"{holder} is using {db}; stop it first (`make down`, or Ctrl-C on `obsgen run`), "
            "then restore; nothing was changed"
        ) from None
    temp = db.with_name(f".{db.name}.restore.tmp")
    try:
        shutil.copyfile(checked.path, temp)
        fsync_path(temp)
        check_snapshot(temp)
        _retire_wal(db)
        replace_durably(temp, db)
    finally:
        temp.unlink(missing_ok=True)
        lock.release()
    return Restored(checked, db, time.monotonic() - started)


def _retire_wal(db: Path) -> None:
    """Remove the old database's -wal, -shm and -journal before the rename.

    Left beside the restored file, a WAL's frames (or a hot journal) would be applied to it. The
    old database is checkpointed first when it can be, so that until the rename it stays whole
    on its own, should the restore be interrupted right here.
    """
    if db.exists():
        with contextlib.suppress(sqlite3.Error):
            conn = sqlite3.connect(db, timeout=1)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
    for suffix in ("-wal", "-shm", "-journal"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)


def describe_rows(rows: dict[str, int]) -> str:
    return ", ".join(f"{table} {rows[table]}" for table in KEYS)
