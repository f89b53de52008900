"""The runtime's state in SQLite (WAL mode): the bridge loop's tuned parameters, the URE sync
steps, the heartbeat sequence and the canary samples `duri_canary_unique_ratio` is computed from.

One connection, shared by the runtime's threads under a lock; WAL with `synchronous=NORMAL`, so
a commit appends to the log without an fsync and readers (the online backup) never block the
writers. A lock file next to the database (an flock, dropped by the kernel even on SIGKILL)
tells `obsgen dr restore` that a runtime is using it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import re
import sqlite3
import sys
import threading
import time
import urllib.parse
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
LAST_VACUUM = "obsgen_runtime_last_vacuum_timestamp_seconds"
BACKUP_INTERVAL = "obsgen_runtime_backup_interval_seconds"
VACUUM_INTERVAL = "obsgen_runtime_vacuum_interval_seconds"
RUNTIME_METRICS = {
    LAST_BACKUP: "Unix time of the newest snapshot of the runtime's state database (0: none).",
    WAL_SIZE: "Size of the runtime state database's write-ahead log, in bytes.",
    REHEARSAL: "Unix time of the last passing DR rehearsal (obsgen dr rehearse; 0: none).",
    LAST_VACUUM: "Unix time of the last VACUUM of the runtime's state database.",
    BACKUP_INTERVAL: "Seconds between two snapshots the runtime takes of its state database.",
    VACUUM_INTERVAL: "Seconds between two VACUUMs of the runtime's state database.",
}
"""gauges the runtime serves from disk, never simulated (the catalog may declare them)"""

SNAPSHOT_FORMAT = "%Y%m%dT%H%M%S"
SNAPSHOT_RE = re.compile(r"^\d{8}T\d{6}\.sqlite$")
LAST_VACUUM_KEY = "last_vacuum_at"


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
    """a wall-clock cadence: due this long after the last VACUUM recorded in the database"""
    backup_every: float = 6 * 3600.0
    """an online snapshot into the backup directory this long after the newest one there (0: never)"""
    backup_keep: int = 28
    """snapshots kept in the backup directory (a week at the default cadence)"""
    retain: float = 7 * 86400.0
    """loop states, sync steps and beats older than this are pruned (seconds)"""
    canary_keep: int = 10_000
    """canary samples kept (only the last window counts)"""

    def scaled(self, time_scale: float) -> StateSchedule:
        """The schedule of a world running `time_scale` times faster: checkpoints, VACUUMs and
        snapshots come that many times more often."""
        return dataclasses.replace(
            self,
            checkpoint_every=self.checkpoint_every / time_scale,
            vacuum_every=self.vacuum_every / time_scale,
            backup_every=self.backup_every / time_scale,
        )


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
    """An flock on `<db>.lock`, held while a runtime (or a restore) uses the database.

    A runtime serving every service, and a restore, hold it exclusively; runtime components
    (`obsgen component start ure`) share it, each holding `<db>.<service>.lock` exclusively
    for the services it serves, so two processes never serve (and record) the same service.
    The kernel releases a lock when its holder exits, SIGKILL included, so a crash never leaves
    a stale lock; the file's content (the last holder's pid) only serves to name it in messages.
    """

    def __init__(self, db: Path, service: str | None = None, shared: bool = False) -> None:
        self.db, self.shared = db, shared
        self.path = lock_path(db) if service is None else db.with_name(f"{db.name}.{service}.lock")
        self.fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
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


def acquire_locks(db: Path, services: tuple[str, ...] | None) -> list[StateLock]:
    """The locks a runtime serving `services` (None: all) holds on `db`, acquired, or
    StateUnavailable with none held."""
    locks = [StateLock(db, shared=services is not None)]
    locks += [StateLock(db, service) for service in services or ()]
    held: list[StateLock] = []
    try:
        for lock in locks:
            lock.acquire()
            held.append(lock)
    except (StateUnavailable, OSError):
        for lock in held:
            lock.release()
        raise
    return held


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
        # A database that never recorded a VACUUM counts from its first open: a new one is compact.
        conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (LAST_VACUUM_KEY, repr(time.time())))
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def meta_time(conn: sqlite3.Connection, key: str) -> float:
    """A time recorded in the meta table, 0 when absent or unreadable."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    try:
        return float(row[0]) if row else 0.0
    except ValueError:
        return 0.0


def read_last_vacuum(db: Path) -> float:
    """The last VACUUM recorded in `db`, read through a read-only connection (0: none, or no db)."""
    uri = f"file:{urllib.parse.quote(str(db.resolve()))}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=1.0)
        try:
            return meta_time(conn, LAST_VACUUM_KEY)
        finally:
            conn.close()
    except (sqlite3.Error, OSError):
        return 0.0


def row_counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in KEYS}


def max_keys(conn: sqlite3.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT COALESCE(MAX({k}), 0) FROM {t}").fetchone()[0] for t, k in KEYS.items()}


class StateStore:
    """The runtime's handle on its database: a lock, one connection, a method per kind of row."""

    def __init__(self, path: Path, conn: sqlite3.Connection, locks: list[StateLock]) -> None:
        self.path, self.conn, self.file_locks = path, conn, locks
        self.lock = threading.RLock()
        self.closed = False
        self.warned = False

    @classmethod
    def open(cls, path: Path, services: tuple[str, ...] | None = None) -> StateStore:
        """The database at `path` for a runtime serving `services` (None: every service)."""
        try:
            locks = acquire_locks(path, services)
        except OSError as exc:
            raise StateUnavailable(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            conn = connect(path)
        except (sqlite3.Error, OSError) as exc:
            for lock in locks:
                lock.release()
            raise StateUnavailable(
                f"cannot open the state database {path}: {exc} (restore a snapshot: obsgen dr restore)"
            ) from None
        return cls(path, conn, locks)

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()
                for lock in self.file_locks:
                    lock.release()

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
        """VACUUM (never inside a transaction: SQLite refuses it there), then record when."""
        with self.lock:
            if self.closed:
                return
            if self.conn.in_transaction:
                raise sqlite3.OperationalError("cannot VACUUM inside a transaction")
            self.conn.execute("VACUUM")
            self.conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (LAST_VACUUM_KEY, repr(time.time()))
            )

    def last_vacuum(self) -> float:
        """Unix time of the last VACUUM recorded (or of the database's first open), 0: unknown."""
        with self.lock:
            if self.closed:
                return 0.0
            try:
                return meta_time(self.conn, LAST_VACUUM_KEY)
            except sqlite3.Error:  # the VACUUM job then reports the error when it runs
                return 0.0

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


@dataclass(frozen=True)
class Job:
    """Work of the state thread: `run`, then again `delay()` seconds later."""

    run: Callable[[], None]
    delay: Callable[[], float]
    at_start: bool = False
    """first run at once rather than after one delay"""


def every(seconds: float) -> Callable[[], float]:
    return lambda: seconds


class StateThread(threading.Thread):
    """Canary samples and URE sync steps on their periods, checkpoints and pruning on theirs,
    VACUUM and snapshots on wall-clock cadences that survive restarts (the loop and the heartbeat
    writer record their own rows)."""

    def __init__(
        self,
        store: StateStore,
        world: World,
        schedule: StateSchedule,
        canaries: tuple[str, ...] = (CANARY_INSTANCE,),
        served: frozenset[str] | None = None,
        backup_dir: Path | None = None,
    ) -> None:
        super().__init__(name="state", daemon=True)
        self.store, self.world, self.schedule = store, world, schedule
        self.backup_dir = backup_dir
        """where the thread takes its snapshots (None: it takes none)"""
        self.vacuum_tried = self.backup_tried = 0.0
        """wall-clock times of the last attempts: a failing job waits a cadence before retrying"""
        self.backup_failing = False
        self.upkeep_lock: StateLock | None = None
        self.canaries = canaries
        """canary instances, each sampled on its own (c1, c2, … for a quorum gate)"""
        self.samplers = {canary: CanarySampler() for canary in canaries}
        self.served = served
        """the metrics this process's exporters serve (None: all): canary samples and sync steps
        are recorded only by the process serving their metric"""
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

    def vacuum_due(self) -> float:
        """Wall-clock time of the next VACUUM: a cadence after the last one the database recorded."""
        return max(self.store.last_vacuum(), self.vacuum_tried) + self.schedule.vacuum_every

    def vacuum_if_due(self) -> None:
        if time.time() >= self.vacuum_due():
            self.vacuum_tried = time.time()
            self.store.vacuum()

    def backup_due(self) -> float:
        """Wall-clock time of the next snapshot: a cadence after the newest one in the backup
        directory, whoever took it, so a restarted runtime keeps the cadence (and one without a
        snapshot takes one at once); never within the newest one's second, which its name holds."""
        assert self.backup_dir is not None
        cadence = self.schedule.backup_every
        newest = latest_snapshot_time(self.backup_dir)
        return max(newest + max(cadence, 1.0), self.backup_tried + cadence)

    def snapshot_if_due(self) -> None:
        if time.time() >= self.backup_due():
            self.backup_tried = time.time()
            self.take_snapshot()

    def keeps_database(self) -> bool:
        """Whether this process looks after the database — checkpoints, pruning, VACUUM,
        snapshots — and serves its DR gauges: of the runtimes sharing it (components), the one
        holding `<db>.upkeep.lock`, so two never VACUUM at once or race for a snapshot's name.
        The others try again at each checkpoint, so one takes over when the keeper stops."""
        if self.upkeep_lock is None:
            lock = StateLock(self.store.path, "upkeep")
            try:
                lock.acquire()
            except (StateUnavailable, OSError):
                return False
            self.upkeep_lock = lock
            self.store.file_locks.append(lock)  # released when the store closes
        return True

    def kept(self, job: Callable[[], None]) -> Callable[[], None]:
        """`job`, run only while this process keeps the database."""

        def run() -> None:
            if self.keeps_database():
                job()

        return run

    def take_snapshot(self) -> None:
        """An online snapshot, pruned to `backup_keep`; a failure is reported once (until a
        snapshot succeeds again) and never stops the thread."""
        from runtime import dr  # runtime.dr builds on this module

        assert self.backup_dir is not None
        try:
            dr.backup(self.store.path, self.backup_dir, self.schedule.backup_keep)
        except (dr.DRError, sqlite3.Error, OSError) as exc:
            if not self.backup_failing:
                print(
                    f"obsgen run: snapshot of {self.store.path} into {self.backup_dir} failed: {exc}",
                    file=sys.stderr,
                )
            self.backup_failing = True
        else:
            self.backup_failing = False

    def jobs(self) -> list[Job]:
        schedule, guarded = self.schedule, self.store.guarded
        jobs = []
        if self._serves(CANARY_METRIC):
            self.serve_ratio()  # a restarted runtime serves the stored samples' ratio at once
            jobs.append(Job(guarded(self.sample_canary), every(schedule.canary_period), at_start=True))
        if self._serves(URE_METRIC):
            jobs.append(Job(guarded(self.sync_step), every(schedule.sync_period), at_start=True))
        jobs.append(Job(guarded(self.kept(self.upkeep)), every(schedule.checkpoint_every)))
        jobs.append(Job(guarded(self.kept(self.vacuum_if_due)), lambda: self.vacuum_due() - time.time()))
        if self.backup_dir is not None and schedule.backup_every > 0:
            jobs.append(Job(self.kept(self.snapshot_if_due), lambda: self.backup_due() - time.time()))
        return jobs

    def run(self) -> None:
        self.keeps_database()  # at once, so the keeper serves the DR gauges from the start
        jobs, now = self.jobs(), time.monotonic()
        due = [now if job.at_start else now + job.delay() for job in jobs]
        while not self.stopping.is_set():
            for index, job in enumerate(jobs):
                if time.monotonic() >= due[index]:
                    job.run()
                    due[index] = time.monotonic() + job.delay()  # never burst through missed runs
            if self.stopping.wait(max(0.0, min(due) - time.monotonic())):
                break

    def _serves(self, metric: str) -> bool:
        return metric in self.world.levels and (self.served is None or metric in self.served)

    def stop(self) -> None:
        self.stopping.set()


class StateGauges:
    """The runtime's DR gauges, read from disk at scrape time, and the cadences it keeps."""

    def __init__(
        self,
        db: Path,
        backup_dir: Path,
        schedule: StateSchedule | None = None,
        keeper: Callable[[], bool] = lambda: True,
    ) -> None:
        self.db, self.backup_dir = db, backup_dir
        self.schedule = schedule
        """the (time-scaled) schedule the runtime keeps, for the interval gauges (None: not served)"""
        self.keeper = keeper
        """whether this process keeps the database: only the keeper serves the gauges, so
        components sharing one database export them once"""

    def collect(self) -> Iterator[Metric]:
        if not self.keeper():
            return
        try:
            wal = wal_path(self.db).stat().st_size
        except OSError:
            wal = 0
        values = {
            LAST_BACKUP: latest_snapshot_time(self.backup_dir),
            WAL_SIZE: float(wal),
            REHEARSAL: rehearsal_last_success(self.db),
            LAST_VACUUM: read_last_vacuum(self.db),
            **self.intervals(),
        }
        for name, value in values.items():
            family = GaugeMetricFamily(name, RUNTIME_METRICS[name])
            family.add_metric([], value)
            yield family

    def intervals(self) -> dict[str, float]:
        """The cadences the runtime keeps, in real seconds (no backup one when backups are off)."""
        if self.schedule is None:
            return {}
        intervals = {VACUUM_INTERVAL: self.schedule.vacuum_every}
        if self.schedule.backup_every > 0:
            intervals[BACKUP_INTERVAL] = self.schedule.backup_every
        return intervals
