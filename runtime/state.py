"""The runtime's state in SQLite (WAL mode): the bridge loop's tuned parameters, the URE sync
steps, the heartbeat sequence and the canary samples `duri_canary_unique_ratio` is computed from.

One connection, shared by the runtime's threads under a lock; WAL with `synchronous=NORMAL`, so
a commit appends to the log without an fsync and readers (the online backup) never block the
writers. A lock file next to the database (an flock, dropped by the kernel even on SIGKILL)
tells `obsgen dr restore` that a runtime is using it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.core import GaugeMetricFamily, Metric

from runtime.world import World

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS loop_state (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, metric TEXT NOT NULL,
    tick INTEGER NOT NULL, gain REAL NOT NULL, guard REAL NOT NULL, target REAL NOT NULL, phase REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ure_sync (
    step INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, residual REAL NOT NULL, scenario TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS heartbeat (seq INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS canary_sample (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, instance TEXT NOT NULL, value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS canary_sample_instance ON canary_sample (instance, id);
"""
KEYS = {"loop_state": "id", "ure_sync": "step", "heartbeat": "seq", "canary_sample": "id"}
"""every history table → its key, which only grows (AUTOINCREMENT: never reused, even after pruning)"""
TABLES = ("meta", *KEYS)

CANARY_METRIC = "duri_canary_unique_ratio"
CANARY_INSTANCE = "duri-canary"
HEALTHY_UNIQUE = 0.97
"""share of fresh answers of a healthy canary; a scenario fixing the metric sets it instead
(canary-regression: 0.8)"""
URE_METRIC = "ure_residual"

LAST_BACKUP = "obsgen_runtime_last_backup_timestamp_seconds"
WAL_SIZE = "obsgen_runtime_wal_size_bytes"
REHEARSAL = "obsgen_runtime_dr_rehearsal_last_success_timestamp_seconds"
RUNTIME_METRICS = {
    LAST_BACKUP: "Unix time of the newest snapshot of the runtime's state database (0: none).",
    WAL_SIZE: "Size of the runtime state database's write-ahead log, in bytes.",
    REHEARSAL: "Unix time of the last passing DR rehearsal (obsgen dr rehearse; 0: none).",
}
"""gauges the runtime serves from disk, never simulated (the catalog may declare them)"""

SNAPSHOT_FORMAT = "%Y%m%dT%H%M%S"
SNAPSHOT_RE = re.compile(r"^\d{8}T\d{6}\.sqlite$")


class StateUnavailable(RuntimeError):
    """The state database is held by another process, or cannot be opened."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


@dataclass(frozen=True)
class StateSchedule:
    """How often each part of the state is written and the database is looked after."""

    loop_every: int = 100
    """control-loop ticks between two loop_state rows (5 s at the bridge's 50 ms)"""
    canary_period: float = 0.5
    canary_window: int = 50
    """duri_canary_unique_ratio = unique values / samples over the last this many samples"""
    sync_period: float = 5.0
    checkpoint_every: float = 600.0
    """PRAGMA wal_checkpoint(TRUNCATE), and pruning of old rows"""
    vacuum_every: float = 86400.0
    retain: float = 7 * 86400.0
    """loop states, sync steps and beats older than this are pruned (seconds)"""
    canary_keep: int = 10_000
    """canary samples kept (only the last window counts)"""


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + "-wal")


def rehearsal_path(db: Path) -> Path:
    """Where `obsgen dr rehearse` records its last success, next to the live database."""
    return db.with_name(db.name + ".dr-rehearsal.json")


def snapshot_time(name: str) -> float | None:
    """The UTC time a snapshot's name says it was taken, or None for any other file."""
    if not SNAPSHOT_RE.match(name):
        return None
    try:
        moment = datetime.strptime(name.removesuffix(".sqlite"), SNAPSHOT_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC).timestamp()


def latest_snapshot_time(directory: Path) -> float:
    """Unix time of the newest snapshot in `directory`, 0 when there is none.

    Only checked snapshots ever carry a snapshot name (a backup is written under a temp name and
    renamed once its integrity check passed), so the newest name is the last good backup.
    """
    try:
        names = [entry.name for entry in os.scandir(directory) if entry.is_file()]
    except OSError:
        return 0.0
    times = [t for t in map(snapshot_time, names) if t is not None]
    return max(times, default=0.0)


def rehearsal_last_success(db: Path) -> float:
    try:
        return float(json.loads(rehearsal_path(db).read_text())["last_success"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0.0


class StateLock:
    """An exclusive flock on `<db>.lock`, held while a runtime (or a restore) uses the database.

    The kernel releases it when its holder exits, SIGKILL included, so a crash never leaves a
    stale lock; the file's content (the holder's pid) only serves to name it in messages.
    """

    def __init__(self, db: Path) -> None:
        self.db, self.path = db, lock_path(db)
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            pid = int(text) if text.isdigit() else None
            holder = f"process {pid}" if pid else "another process"
            raise StateUnavailable(f"{self.db} is in use by {holder} (lock {self.path})", pid) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def connect(db: Path) -> sqlite3.Connection:
    """Open (or create) a state database in WAL mode with the schema in place."""
    conn = sqlite3.connect(db, timeout=5.0, isolation_level=None, check_same_thread=False)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            raise sqlite3.OperationalError(f"journal_mode is {mode}, not wal")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(SCHEMA)
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in KEYS}


def max_keys(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT COALESCE(MAX({k}), 0) FROM {t}").fetchone()[0] for t, k in KEYS.items()}


class StateStore:
    """The runtime's handle on its database: a lock, one connection, a method per kind of row."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock: StateLock) -> None:
        self.path, self.conn, self.file_lock = path, conn, lock
        self.lock = threading.RLock()
        self.closed = False
        self.warned = False

    @classmethod
    def open(cls, path: Path) -> StateStore:
        lock = StateLock(path)
        try:
            lock.acquire()
        except OSError as exc:
            raise StateUnavailable(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            conn = connect(path)
        except (sqlite3.Error, OSError) as exc:
            lock.release()
            raise StateUnavailable(
                f"cannot open the state database {path}: {exc} (restore a snapshot: obsgen dr restore)"
            ) from None
        return cls(path, conn, lock)

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()
                self.file_lock.release()

    def guarded(self, call: Callable[..., object]) -> Callable[..., None]:
        """`call`, with a database error reported once on stderr instead of raised: the loop, the
        heartbeat and the exporters keep running on a full disk."""

        def guarded_call(*args: object) -> None:
            try:
                call(*args)
            except sqlite3.Error as exc:
                if not self.warned:
                    self.warned = True
                    print(f"obsgen run: state database {self.path}: {exc}", file=sys.stderr)

        return guarded_call

    def _insert(self, sql: str, values: tuple[object, ...]) -> int | None:
        with self.lock:
            if self.closed:  # a thread finishing its last write while the runtime stops
                return None
            return self.conn.execute(sql, values).lastrowid

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one commit (the replay writes a simulated minute at a time)."""
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def record_beat(self, at: float) -> int | None:
        return self._insert("INSERT INTO heartbeat (at) VALUES (?)", (at,))

    def record_loop(
        self, metric: str, gain: float, guard: float, tick: int, target: float, phase: float, at: float
    ) -> int | None:
        return self._insert(
            "INSERT INTO loop_state (at, metric, tick, gain, guard, target, phase)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, metric, tick, gain, guard, target, phase),
        )

    def record_sync(self, at: float, residual: float, scenario: str) -> int | None:
        return self._insert(
            "INSERT INTO ure_sync (at, residual, scenario) VALUES (?, ?, ?)", (at, residual, scenario)
        )

    def record_sample(self, at: float, instance: str, value: str) -> int | None:
        return self._insert(
            "INSERT INTO canary_sample (at, instance, value) VALUES (?, ?, ?)", (at, instance, value)
        )

    def unique_ratio(self, instance: str, window: int) -> float | None:
        """Unique values / samples over the instance's last `window` samples (None: no sample)."""
        with self.lock:
            if self.closed:
                return None
            unique, total = self.conn.execute(
                "SELECT COUNT(DISTINCT value), COUNT(*) FROM "
                "(SELECT value FROM canary_sample WHERE instance = ? ORDER BY id DESC LIMIT ?)",
                (instance, window),
            ).fetchone()
        return unique / total if total else None

    def last_phase(self, metric: str) -> float | None:
        """The loop's last recorded phase, so a restarted (or restored) runtime resumes from it."""
        with self.lock:
            row = self.conn.execute(
                "SELECT phase FROM loop_state WHERE metric = ? ORDER BY id DESC LIMIT 1", (metric,)
            ).fetchone()
        return row[0] if row else None

    def counts(self) -> dict[str, int]:
        with self.lock:
            return row_counts(self.conn)

    def checkpoint(self) -> tuple[int, int, int]:
        """(busy, WAL frames, frames checkpointed); truncates the WAL to zero bytes when not busy."""
        with self.lock:
            busy, log, done = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return busy, log, done

    def vacuum(self) -> None:
        with self.lock:
            self.conn.execute("VACUUM")

    def prune(self, before: float, canary_keep: int) -> int:
        """Drop history older than `before` (unix time) and all but the newest canary samples."""
        with self.lock:
            removed = 0
            for table in ("loop_state", "ure_sync", "heartbeat"):
                removed += self.conn.execute(f"DELETE FROM {table} WHERE at < ?", (before,)).rowcount
            removed += self.conn.execute(
                "DELETE FROM canary_sample WHERE id <= (SELECT MAX(id) FROM canary_sample) - ?",
                (canary_keep,),
            ).rowcount
        return removed


class CanarySampler:
    """The canary's answers: a fresh value, or a repeat of the previous one, so that the share of
    fresh values follows the target ratio the scenario asks for.

    Repeats are placed by error diffusion (one whenever the accumulated shortfall reaches 1), not
    drawn at random: the unique ratio of any N consecutive samples is then within 1/N of the
    target, so a healthy canary (0.96) never dips under the gate's 0.92 by chance.
    """

    def __init__(self) -> None:
        self.debt = 0.0
        self.last: str | None = None

    def next(self, ratio: float) -> str:
        self.debt += 1.0 - min(1.0, max(0.0, ratio))
        if self.last is not None and self.debt >= 1.0:
            self.debt -= 1.0
            return self.last
        self.last = os.urandom(8).hex()
        return self.last


class StateThread(threading.Thread):
    """Canary samples and URE sync steps on their periods, checkpoints, pruning and VACUUM on
    theirs (the loop and the heartbeat writer record their own rows)."""

    def __init__(
        self,
        store: StateStore,
        world: World,
        schedule: StateSchedule,
        canaries: tuple[str, ...] = (CANARY_INSTANCE,),
    ) -> None:
        super().__init__(name="state", daemon=True)
        self.store, self.world, self.schedule = store, world, schedule
        self.canaries = canaries
        """canary instances, each sampled on its own (c1, c2, … for a quorum gate)"""
        self.samplers = {canary: CanarySampler() for canary in canaries}
        self.stopping = threading.Event()

    def _share(self, index: int) -> float:
        with self.world.lock:
            scenario = self.world.scenario
        if index < len(scenario.canaries):
            return scenario.canaries[index]
        return scenario.fixed.get(CANARY_METRIC, HEALTHY_UNIQUE)

    def sample_canary(self) -> None:
        for index, canary in enumerate(self.canaries):
            value = self.samplers[canary].next(self._share(index))
            self.store.record_sample(time.time(), canary, value)
        self.serve_ratio()

    def serve_ratio(self) -> None:
        ratios = {c: self.store.unique_ratio(c, self.schedule.canary_window) for c in self.canaries}
        known = {c: r for c, r in ratios.items() if r is not None}
        if not known:
            return
        with self.world.lock:
            if len(self.canaries) > 1:
                self.world.instances[CANARY_METRIC] = known
            else:
                self.world.driven[CANARY_METRIC] = next(iter(known.values()))

    def sync_step(self) -> None:
        with self.world.lock:
            scenario = self.world.scenario.name
        self.store.record_sync(time.time(), self.world.value(URE_METRIC), scenario)

    def upkeep(self) -> None:
        self.store.prune(time.time() - self.schedule.retain, self.schedule.canary_keep)
        self.store.checkpoint()

    def run(self) -> None:
        schedule, now = self.schedule, time.monotonic()
        jobs = [(schedule.checkpoint_every, self.upkeep), (schedule.vacuum_every, self.store.vacuum)]
        due = [now + schedule.checkpoint_every, now + schedule.vacuum_every]
        if CANARY_METRIC in self.world.levels:
            self.serve_ratio()  # a restarted runtime serves the stored samples' ratio at once
            jobs.append((schedule.canary_period, self.sample_canary))
            due.append(now)
        if URE_METRIC in self.world.levels:
            jobs.append((schedule.sync_period, self.sync_step))
            due.append(now)
        while not self.stopping.is_set():
            for index, (every, job) in enumerate(jobs):
                if time.monotonic() >= due[index]:
                    self.store.guarded(job)()
                    due[index] = time.monotonic() + every  # never burst through missed runs
            if self.stopping.wait(max(0.0, min(due) - time.monotonic())):
                break

    def stop(self) -> None:
        self.stopping.set()


class StateGauges:
    """The runtime's DR gauges, read from disk at scrape time."""

    def __init__(self, db: Path, backup_dir: Path) -> None:
        self.db, self.backup_dir = db, backup_dir

    def collect(self) -> Iterator[Metric]:
        try:
            wal = wal_path(self.db).stat().st_size
        except OSError:
            wal = 0
        values = {
            LAST_BACKUP: latest_snapshot_time(self.backup_dir),
            WAL_SIZE: float(wal),
            REHEARSAL: rehearsal_last_success(self.db),
        }
        for name, value in values.items():
            family = GaugeMetricFamily(name, RUNTIME_METRICS[name])
            family.add_metric([], value)
            yield family
