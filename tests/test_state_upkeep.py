"""The runtime's own upkeep of its state database: snapshots and VACUUM on wall-clock cadences that
survive restarts, the gauges that show them, failures that never stop the thread, and the sandbox's
time scale."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import SPEC
from test_dr import metric
from test_runtime import get, runtime_running

from generator.pipeline import load
from runtime import dr
from runtime.state import (
    BACKUP_INTERVAL,
    LAST_BACKUP,
    LAST_VACUUM,
    LAST_VACUUM_KEY,
    VACUUM_INTERVAL,
    StateGauges,
    StateSchedule,
    StateStore,
    StateThread,
    latest_snapshot_time,
)
from runtime.world import World

WORLD = World.from_spec(load(SPEC))
QUIET = dict(checkpoint_every=60.0, vacuum_every=600.0, backup_every=600.0)
"""nothing due for a while unless a test says so"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    opened = StateStore.open(tmp_path / "runtime.sqlite")
    yield opened
    opened.close()


def running(store: StateStore, backups: Path | None, seconds: float, **schedule: float) -> StateThread:
    """A state thread (no canary, no sync steps) run for `seconds`, then stopped."""
    thread = StateThread(
        store, WORLD, StateSchedule(**(QUIET | schedule)), served=frozenset(), backup_dir=backups
    )
    thread.start()
    time.sleep(seconds)
    thread.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    return thread


def counting_backups(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The backup directories of every dr.backup call the thread makes, in order."""
    calls: list[Path] = []
    real = dr.backup

    def counted(db: Path, directory: Path, keep: int = 7, now: datetime | None = None) -> object:
        calls.append(directory)
        return real(db, directory, keep, now)

    monkeypatch.setattr(dr, "backup", counted)
    return calls


def recorded_vacuum(store: StateStore, at: float) -> None:
    with store.lock:
        store.conn.execute("UPDATE meta SET value = ? WHERE key = ?", (repr(at), LAST_VACUUM_KEY))


def gauges(db: Path, backups: Path, schedule: StateSchedule | None = None) -> dict[str, float]:
    return {m.name: m.samples[0].value for m in StateGauges(db, backups, schedule).collect()}


def test_snapshots_follow_their_cadence_and_are_pruned_to_keep(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = tmp_path / "backups"
    calls = counting_backups(monkeypatch)
    store.record_beat(1.0)
    running(store, backups, 2.6, backup_every=0.3, backup_keep=2)
    kept = dr.snapshots(backups)
    # One at once (no snapshot yet), then one a second: names hold seconds, so never two in one.
    assert 2 <= len(calls) <= 4  # (a loaded machine may delay one, never add one)
    assert len(kept) == 2
    times = [dr.check_snapshot(path).taken_at or 0.0 for path in kept]
    assert times[1] - times[0] == pytest.approx(1.0, abs=0.2)
    assert time.time() - latest_snapshot_time(backups) < 2.0
    assert dr.check_snapshot(kept[-1]).rows["heartbeat"] == 1


def test_a_restarted_thread_keeps_the_cadence_of_the_newest_snapshot(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = tmp_path / "backups"
    recent = datetime.fromtimestamp(int(time.time()) - 30, UTC)
    dr.backup(store.path, backups, now=recent)
    calls = counting_backups(monkeypatch)
    thread = running(store, backups, 0.5, backup_every=60.0)
    assert calls == [] and len(dr.snapshots(backups)) == 1
    assert thread.backup_due() == pytest.approx(recent.timestamp() + 60.0)


def test_a_restarted_thread_whose_newest_snapshot_is_old_takes_one_at_once(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backups = tmp_path / "backups"
    dr.backup(store.path, backups, now=datetime.fromtimestamp(int(time.time()) - 90, UTC))
    calls = counting_backups(monkeypatch)
    running(store, backups, 0.5, backup_every=60.0)
    assert calls == [backups] and len(dr.snapshots(backups)) == 2
    assert time.time() - gauges(store.path, backups)[LAST_BACKUP] < 2.0


def test_vacuum_runs_on_its_cadence_and_the_gauge_reports_it(store: StateStore, tmp_path: Path) -> None:
    with store.transaction():
        for n in range(3000):
            store.record_sample(float(n), "c1", "x" * 200)
    store.prune(before=0.0, canary_keep=0)  # free pages that only a VACUUM gives back
    assert store.conn.execute("PRAGMA freelist_count").fetchone()[0] > 0
    opened = store.last_vacuum()
    running(store, None, 1.0, vacuum_every=0.3)
    assert store.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
    last = store.last_vacuum()
    assert opened + 0.5 < last <= time.time()  # vacuumed more than once, the latest recorded
    assert gauges(store.path, tmp_path / "backups")[LAST_VACUUM] == last


def test_an_overdue_vacuum_runs_at_once_and_a_recent_one_waits(store: StateStore) -> None:
    recorded_vacuum(store, time.time() - 700)
    running(store, None, 0.3, vacuum_every=600.0)
    assert time.time() - store.last_vacuum() < 1.0
    recorded_vacuum(store, before := time.time() - 500)
    running(store, None, 0.3, vacuum_every=600.0)
    assert store.last_vacuum() == before


def test_a_fresh_database_is_not_overdue_and_a_reopened_one_keeps_its_record(tmp_path: Path) -> None:
    db, backups = tmp_path / "runtime.sqlite", tmp_path / "backups"
    store = StateStore.open(db)
    schedule = StateSchedule()
    served = gauges(db, backups, schedule)
    assert time.time() - 5 < served[LAST_VACUUM] <= time.time()
    assert served[VACUUM_INTERVAL] == 86400 and served[BACKUP_INTERVAL] == 21600
    recorded_vacuum(store, 1000.0)
    store.close()
    store = StateStore.open(db)
    assert store.last_vacuum() == 1000.0  # not reset to the reopening time
    store.close()
    assert gauges(tmp_path / "none.sqlite", backups)[LAST_VACUUM] == 0  # and never created
    assert not (tmp_path / "none.sqlite").exists()


def test_a_failing_backup_is_reported_once_and_the_thread_keeps_vacuuming(
    store: StateStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    backups = tmp_path / "backups"
    backups.write_text("a file where the backup directory should be\n")
    calls = counting_backups(monkeypatch)
    opened = store.last_vacuum()
    running(store, backups, 1.3, backup_every=0.3, vacuum_every=0.3)
    assert 2 <= len(calls) <= 6  # retried a cadence after each failure, never in a tight loop
    reports = [line for line in capsys.readouterr().err.splitlines() if "snapshot of" in line]
    assert len(reports) == 1 and str(backups) in reports[0] and "failed" in reports[0]
    assert store.last_vacuum() > opened + 0.6
    assert store.record_beat(2.0) is not None  # the store is still usable


def test_disabled_backups_take_none_and_export_no_interval(store: StateStore, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    running(store, backups, 0.3, backup_every=0.0)
    assert not backups.exists()
    schedule = StateSchedule(backup_every=0.0)
    assert BACKUP_INTERVAL not in gauges(store.path, backups, schedule)


def test_the_time_scale_divides_the_cadences(tmp_path: Path) -> None:
    db = tmp_path / "state" / "runtime.sqlite"
    with runtime_running(tmp_path, 0.1, db, time_scale=60.0) as (runtime, options):
        duri = f"http://127.0.0.1:{options.ports['duri']}/metrics_duri"
        deadline = time.monotonic() + 5
        while not dr.snapshots(db.parent / "backups") and time.monotonic() < deadline:
            time.sleep(0.05)
        text = get(duri)[1]
        assert runtime.keeper is not None
        assert runtime.keeper.schedule.checkpoint_every == 10.0
    assert metric(text, BACKUP_INTERVAL) == 360.0 and metric(text, VACUUM_INTERVAL) == 1440.0
    # a runtime without any snapshot takes one at start, so RuntimeBackupStale stays quiet
    assert time.time() - metric(text, LAST_BACKUP) < 5.0
    assert time.time() - 10 < metric(text, LAST_VACUUM) <= time.time()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE key = ?", (LAST_VACUUM_KEY,)).fetchone()
    conn.close()
