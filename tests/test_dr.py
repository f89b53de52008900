"""The runtime's state in SQLite and its disaster recovery: what the runtime writes while it runs,
`obsgen dr backup` / `restore` (online, checked, atomic, refusing what is unsafe) and the
dr-rehearsal-24h-pass rehearsal as a real subprocess."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import ROOT, SPEC
from test_runtime import free_port, get, runtime_running, switch

from generator import atomic
from generator.pipeline import load
from runtime import dr
from runtime.app import Options, PortInUse, Runtime
from runtime.dr_commands import dr as dr_group
from runtime.state import (
    CANARY_INSTANCE,
    CanarySampler,
    StateGauges,
    StateSchedule,
    StateStore,
    StateThread,
    rehearsal_path,
)
from runtime.world import World

FAST = StateSchedule(loop_every=5, canary_period=0.01, canary_window=40, sync_period=0.05, backup_every=0)
"""backups by hand only: the runtime's own snapshots are tested in test_state_upkeep.py"""
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def counts(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        tables = ("loop_state", "ure_sync", "heartbeat", "canary_sample")
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    finally:
        conn.close()


def files(db: Path) -> dict[str, bytes]:
    """The database and its -wal/-shm, byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(db.parent.glob(db.name + "*")) if p.is_file()}


def filled(db: Path, beats: int = 50) -> Path:
    store = StateStore.open(db)
    sampler = CanarySampler()
    for n in range(beats):
        with store.transaction():
            store.record_beat(1000.0 + n)
            store.record_sample(1000.0 + n, CANARY_INSTANCE, sampler.next(0.9))
            store.record_loop("bridge_phase_diff", 0.35, 0.005, n * 100, 0.01, 0.0099, 1000.0 + n)
            store.record_sync(1000.0 + n, 0.001, "healthy")
    store.close()
    return db


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(dr_group, [str(a) for a in args])


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of `name` (with exactly these labels, e.g. `{canary="c2"}`) in an exposition."""
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.M)
    assert match, f"{name}{labels} not served"
    return float(match.group(1))


@pytest.fixture
def runtime_on(tmp_path: Path) -> Iterator[tuple[Runtime, Options]]:
    with runtime_running(tmp_path, 0.1, tmp_path / "state" / "runtime.sqlite", state=FAST) as started:
        yield started


def test_the_runtime_writes_its_state_while_it_runs(runtime_on: tuple[Runtime, Options]) -> None:
    runtime, options = runtime_on
    time.sleep(1.5)
    rows = counts(options.state_db)
    assert rows["heartbeat"] >= 5 and rows["canary_sample"] >= 30 and rows["ure_sync"] >= 5
    (loop,) = runtime.loops
    assert 3 <= rows["loop_state"] <= loop.ticks // 5 + 1  # every 5 ticks of 50 ms, not every tick
    conn = sqlite3.connect(options.state_db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    metric_name, gain, guard = conn.execute("SELECT metric, gain, guard FROM loop_state LIMIT 1").fetchone()
    assert (metric_name, gain, guard) == ("bridge_phase_diff", 0.35, 0.005)
    seqs = [row[0] for row in conn.execute("SELECT seq FROM heartbeat ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    conn.close()


def test_the_canary_ratio_comes_from_samples_and_drops_in_canary_regression(
    runtime_on: tuple[Runtime, Options],
) -> None:
    _runtime, options = runtime_on
    duri = f"http://127.0.0.1:{options.ports['duri']}/metrics_duri"

    def stored_ratio(canary: str) -> float:
        conn = sqlite3.connect(options.state_db)
        rows = conn.execute(
            "SELECT value FROM canary_sample WHERE instance = ? ORDER BY id DESC LIMIT 40", (canary,)
        )
        values = [r[0] for r in rows]
        conn.close()
        return len(set(values)) / len(values)

    # The bundled gate wants 2 of 3 canaries: each is sampled and served on its own.
    time.sleep(0.6)
    for canary in ("c1", "c2", "c3"):
        healthy = metric(get(duri)[1], "duri_canary_unique_ratio", f'{{canary="{canary}"}}')
        assert 0.92 <= healthy <= 1.0 and stored_ratio(canary) >= 0.92
    assert switch(options, "canary-regression")[0] == 200
    time.sleep(0.8)  # the 40-sample window (0.4 s) has turned over
    for canary, low, high in (("c1", 0.92, 1.0), ("c2", 0.75, 0.85), ("c3", 0.75, 0.85)):
        served = metric(get(duri)[1], "duri_canary_unique_ratio", f'{{canary="{canary}"}}')
        assert low <= served <= high and low <= stored_ratio(canary) <= high, canary


def test_a_restarted_runtime_serves_the_ratio_of_the_stored_samples(tmp_path: Path) -> None:
    db = tmp_path / "runtime.sqlite"
    store = StateStore.open(db)
    for n in range(100):
        store.record_sample(float(n), "c1", "the same answer")
    store.close()
    spec = load(SPEC)
    slow = StateSchedule(canary_period=60, canary_window=40)  # one fresh sample at start, then none
    options = Options(
        ports={s.service: free_port() for s in spec.services},
        control_port=free_port(),
        textfile_dir=tmp_path / "textfile",
        state_db=db,
        state=slow,
    )
    runtime = Runtime(spec, options)
    runtime.start()
    try:
        time.sleep(0.2)
        served = metric(
            get(f"http://127.0.0.1:{options.ports['duri']}/metrics_duri")[1],
            "duri_canary_unique_ratio",
            '{canary="c1"}',
        )
    finally:
        runtime.stop()
    assert served == pytest.approx(2 / 40)  # 39 repeats of one answer and one fresh one


def test_the_runtime_exports_its_dr_gauges_on_duri(
    runtime_on: tuple[Runtime, Options], tmp_path: Path
) -> None:
    _runtime, options = runtime_on
    duri = f"http://127.0.0.1:{options.ports['duri']}/metrics_duri"
    time.sleep(0.3)
    text = get(duri)[1]
    assert metric(text, "obsgen_runtime_last_backup_timestamp_seconds") == 0
    assert metric(text, "obsgen_runtime_wal_size_bytes") > 0
    assert metric(text, "obsgen_runtime_dr_rehearsal_last_success_timestamp_seconds") == 0
    assert time.time() - 5 < metric(text, "obsgen_runtime_last_vacuum_timestamp_seconds") <= time.time()
    assert metric(text, "obsgen_runtime_vacuum_interval_seconds") == 86400
    assert "obsgen_runtime_backup_interval_seconds" not in text  # backups disabled
    snapshot, _ = dr.backup(options.state_db, options.state_db.parent / "backups", now=T0)
    assert snapshot.rows["heartbeat"] >= 1
    assert metric(get(duri)[1], "obsgen_runtime_last_backup_timestamp_seconds") == T0.timestamp()
    bridge = get(f"http://127.0.0.1:{options.ports['bridge']}/metrics_bridge")[1]
    assert "obsgen_runtime_" not in bridge


def test_checkpoint_vacuum_and_pruning_run_on_their_schedule(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path / "runtime.sqlite")
    calls = {"checkpoint": 0, "vacuum": 0}
    checkpoint, vacuum = store.checkpoint, store.vacuum

    def counting_checkpoint() -> tuple[int, int, int]:
        calls["checkpoint"] += 1
        return checkpoint()

    def counting_vacuum() -> None:
        calls["vacuum"] += 1
        vacuum()

    store.checkpoint, store.vacuum = counting_checkpoint, counting_vacuum  # type: ignore[method-assign]
    schedule = StateSchedule(canary_period=0.005, checkpoint_every=0.1, vacuum_every=0.25, canary_keep=20)
    thread = StateThread(store, World.from_spec(load(SPEC)), schedule)
    thread.start()
    time.sleep(0.8)
    thread.stop()
    thread.join()
    assert calls["checkpoint"] >= 4 and calls["vacuum"] >= 2
    assert store.counts()["canary_sample"] <= 20 + 30  # pruned to 20 at each upkeep
    assert store.checkpoint()[0] == 0 and (tmp_path / "runtime.sqlite-wal").stat().st_size == 0
    store.close()


def test_pruning_keeps_keys_growing(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path / "runtime.sqlite")
    for n in range(100):
        store.record_sample(float(n), CANARY_INSTANCE, str(n))
        store.record_beat(float(n))
    assert store.prune(before=50.0, canary_keep=20) == 80 + 50
    assert store.counts()["canary_sample"] == 20 and store.counts()["heartbeat"] == 50
    assert store.record_beat(200.0) == 101  # the heartbeat sequence never restarts
    store.close()


@pytest.mark.parametrize("target", [0.97, 0.96, 0.8, 0.5])
def test_canary_samples_hold_their_ratio_in_every_window(target: float) -> None:
    sampler = CanarySampler()
    values = [sampler.next(target) for _ in range(2000)]
    window = 50
    for start in range(0, len(values) - window, 7):
        ratio = len(set(values[start : start + window])) / window
        assert abs(ratio - target) <= 1.5 / window, (start, ratio)


def test_backup_then_restore_round_trips(tmp_path: Path) -> None:
    db, backups = filled(tmp_path / "live" / "runtime.sqlite"), tmp_path / "backups"
    before = counts(db)
    result = cli("backup", "--db", db, "--dir", backups)
    assert result.exit_code == 0, result.output
    (snapshot,) = dr.snapshots(backups)
    assert re.fullmatch(r"\d{8}T\d{6}\.sqlite", snapshot.name)
    assert str(snapshot) in result.output and "integrity ok" in result.output
    assert "heartbeat 50" in result.output and "KiB" in result.output
    assert sorted(p.name for p in backups.iterdir()) == [snapshot.name]  # no temp, no -wal
    filled(db, beats=30)  # the database moves on after the snapshot
    inode = db.stat().st_ino
    result = cli("restore", snapshot.name, "--db", db, "--dir", backups)
    assert result.exit_code == 0, result.output
    assert counts(db) == before
    assert "heartbeat 50" in result.output and "taken 20" in result.output
    assert db.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert sorted(p.name for p in db.parent.iterdir()) == ["runtime.sqlite", "runtime.sqlite.lock"]
    assert StateStore.open(db).counts() == before  # and the runtime opens it


def test_restore_is_atomic_when_the_rename_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = filled(tmp_path / "runtime.sqlite")
    snapshot, _ = dr.backup(db, tmp_path / "backups", now=T0)
    filled(db, beats=5)
    before = files(db)

    def failing_replace(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError):
        dr.restore(str(snapshot.path), db, tmp_path / "backups")
    assert counts(db) == {"loop_state": 55, "ure_sync": 55, "heartbeat": 55, "canary_sample": 55}
    assert not list(tmp_path.glob(".*.tmp"))
    assert set(files(db)) <= set(before)


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def scribble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096 * 2 : 4096 * 5] = b"\xab" * (4096 * 3)
    path.write_bytes(bytes(data))


def not_runtime_state(path: Path) -> None:
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (truncate, r"is truncated: \d+ bytes, but its header says \d+ pages"),
        (scribble, r"is corrupt"),
        (lambda p: p.write_bytes(os.urandom(8192)), r"is not an SQLite database"),
        (lambda p: p.write_bytes(b""), r"is not an SQLite database"),
        (not_runtime_state, r"is not a runtime state snapshot: no table meta, loop_state"),
    ],
    ids=["truncated", "corrupt", "random-bytes", "empty", "other-database"],
)
def test_a_damaged_snapshot_is_refused_and_the_live_database_untouched(
    tmp_path: Path, damage: object, message: str
) -> None:
    db, backups = filled(tmp_path / "runtime.sqlite", beats=200), tmp_path / "backups"
    snapshot, _ = dr.backup(db, backups, now=T0)
    store = StateStore.open(db)  # the live database has a WAL with committed rows in it
    store.record_beat(5000.0)
    for lock in store.file_locks:
        lock.release()
    rows = counts(db)
    before = files(db)
    damage(snapshot.path)  # type: ignore[operator]
    result = cli("restore", snapshot.path.name, "--db", db, "--dir", backups)
    assert result.exit_code == 2
    assert re.search(message, result.output) and "Traceback" not in result.output
    assert files(db) == before and counts(db) == rows
    store.close()


def test_a_missing_snapshot_is_refused(tmp_path: Path) -> None:
    db, backups = filled(tmp_path / "runtime.sqlite"), tmp_path / "backups"
    dr.backup(db, backups, now=T0)
    before = files(db)
    result = cli("restore", "20990101T000000.sqlite", "--db", db, "--dir", backups)
    assert result.exit_code == 2
    assert "no snapshot '20990101T000000.sqlite'" in result.output
    assert "20250301T120000.sqlite" in result.output  # what there is instead
    assert files(db) == before
    assert cli("restore", tmp_path / "nowhere.sqlite", "--db", db).exit_code == 2


def test_backup_refuses_a_missing_database_and_an_existing_name(tmp_path: Path) -> None:
    result = cli("backup", "--db", tmp_path / "none.sqlite", "--dir", tmp_path / "b")
    assert result.exit_code == 2 and "no database at" in result.output
    assert not (tmp_path / "none.sqlite").exists()
    db = filled(tmp_path / "runtime.sqlite")
    dr.backup(db, tmp_path / "b", now=T0)
    with pytest.raises(dr.DRError, match="already exists"):
        dr.backup(db, tmp_path / "b", now=T0)


def test_retention_keeps_the_newest_n(tmp_path: Path) -> None:
    db, backups = filled(tmp_path / "runtime.sqlite", beats=3), tmp_path / "backups"
    backups.mkdir()
    (backups / "notes.txt").write_text("not a snapshot\n")
    names = []
    for hour in range(10):
        snapshot, pruned = dr.backup(db, backups, keep=3, now=T0 + timedelta(hours=hour))
        names.append(snapshot.path.name)
        assert len(pruned) == (1 if hour >= 3 else 0)
    assert [p.name for p in dr.snapshots(backups)] == names[-3:]
    assert (backups / "notes.txt").exists()
    result = cli("backup", "--db", db, "--dir", backups, "--keep", "2")
    assert result.exit_code == 0, result.output
    assert result.output.count("pruned ") == 2 and len(dr.snapshots(backups)) == 2


def test_backup_during_concurrent_writes_is_consistent(tmp_path: Path) -> None:
    """Every transaction writes one beat and one sample: a torn snapshot would show unequal counts."""
    db, backups = tmp_path / "runtime.sqlite", tmp_path / "backups"
    store = StateStore.open(db)
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with store.transaction():
                for _ in range(20):
                    store.record_beat(float(n))
                    store.record_sample(float(n), CANARY_INSTANCE, str(n))
            if n % 50 == 0:
                store.checkpoint()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        taken = []
        for second in range(6):
            time.sleep(0.05)
            snapshot, _ = dr.backup(db, backups, keep=10, now=T0 + timedelta(seconds=second))
            taken.append(snapshot)
    finally:
        stop.set()
        writer.join()
        store.close()
    beats = [s.rows["heartbeat"] for s in taken]
    assert all(s.rows["heartbeat"] == s.rows["canary_sample"] for s in taken)
    assert beats == sorted(beats) and len(set(beats)) == len(beats)  # the writer kept going
    for snapshot in taken:
        assert dr.check_snapshot(snapshot.path).rows == snapshot.rows  # integrity ok


def test_restore_refuses_while_a_runtime_holds_the_database(runtime_on: tuple[Runtime, Options]) -> None:
    runtime, options = runtime_on
    db, backups = options.state_db, options.state_db.parent / "backups"
    time.sleep(0.2)
    snapshot, _ = dr.backup(db, backups, now=T0)
    inode = db.stat().st_ino
    result = cli("restore", snapshot.path.name, "--db", db, "--dir", backups)
    assert result.exit_code == 2
    assert f"a runtime (pid {os.getpid()}) is using {db}" in result.output
    assert "nothing was changed" in result.output and db.stat().st_ino == inode
    second = Runtime(runtime.spec, Options(ports={s.service: free_port() for s in runtime.spec.services},
                                           control_port=free_port(), state_db=db,
                                           textfile_dir=options.textfile_dir))  # fmt: skip
    with pytest.raises(PortInUse, match=r"is in use by process \d+"):
        second.start()
    runtime.stop()
    result = cli("restore", snapshot.path.name, "--db", db, "--dir", backups)
    assert result.exit_code == 0, result.output
    assert counts(db) == snapshot.rows


def test_dr_rehearse_passes(tmp_path: Path) -> None:
    live = tmp_path / "live" / "runtime.sqlite"
    started = time.time()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "obsgen",
            "dr",
            "rehearse",
            "--db",
            str(live),
            "--dir",
            str(tmp_path / "work"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"replay: 24 h of runtime state in [\d.]+ s \(30240 rows at the last snapshot\)", out)
    assert "SIGKILL inside transaction" in out and "the interrupted transaction rolled back" in out
    assert "snapshots: 8 taken every 3 h of replayed time, 7 kept" in out
    assert re.search(r"restore: \d{8}T\d{6}\.sqlite in [\d.]+ ms, integrity ok", out)
    assert re.search(r"restart: /readyz 200 on bridge, duri, ure after \d+ ms; heartbeat seq 1441", out)
    record = json.loads(rehearsal_path(live).read_text())
    assert record["last_success"] >= started and record["restored_rows"]["heartbeat"] == 1440
    gauges = {m.name: m.samples[0].value for m in StateGauges(live, live.parent / "backups").collect()}
    assert gauges["obsgen_runtime_dr_rehearsal_last_success_timestamp_seconds"] == record["last_success"]


def test_a_rehearsal_whose_restore_loses_a_row_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rehearsal's checks are not vacuous: a restore that drops one committed row fails it."""
    from runtime import rehearsal

    real_restore = dr.restore

    def lossy_restore(snapshot: str, db: Path, directory: Path) -> dr.Restored:
        restored = real_restore(snapshot, db, directory)
        conn = sqlite3.connect(db)
        conn.execute("DELETE FROM heartbeat WHERE seq = 7")
        conn.commit()
        conn.close()
        return restored

    monkeypatch.setattr(rehearsal, "REPLAY_SECONDS", 0.5)
    monkeypatch.setattr(dr, "restore", lossy_restore)
    live = tmp_path / "live" / "runtime.sqlite"
    result = cli("rehearse", "--hours", "1", "--db", live, "--dir", tmp_path / "work", "--spec", SPEC)
    assert result.exit_code == 1, result.output
    assert "FAIL: the restored database lacks rows: heartbeat holds 59 of the 60 rows" in result.output
    assert "scratch kept in" in result.output and not rehearsal_path(live).exists()
