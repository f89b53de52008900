"""`obsgen dr rehearse` (dr-rehearsal-24h-pass): the DR procedure end to end, in a scratch
directory, in a few seconds.

1. `python -m runtime.replay` writes `hours` of runtime state at accelerated speed while this
   process takes online snapshots every 3 simulated hours (named by simulated time, pruned to 7);
   each must hold every row the replay's ledger says was committed before it began.
2. Once the replay is done it keeps writing large transactions; it is SIGKILLed inside one.
   A copy of the crashed database must pass integrity_check, hold every committed row and none
   of the interrupted transaction's.
3. The latest snapshot is restored over the crashed database (stale -wal and -shm included);
   it must pass integrity_check and hold every row committed before that snapshot.
4. A runtime starts on the restored database on free ports: every `/readyz` must answer 200 and
   the heartbeat sequence must continue from the restored one.

The last success is recorded next to the live database, where the runtime exports it as
obsgen_runtime_dr_rehearsal_last_success_timestamp_seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.atomic import write_file_atomically
from generator.live.http_client import status_of
from generator.model import Spec
from runtime import dr
from runtime.ports import free_port
from runtime.state import KEYS, max_keys, rehearsal_path, row_counts

SNAPSHOT_EVERY = 3 * 3600
"""simulated seconds between two snapshots"""
KEEP = 7
REPLAY_SECONDS = 3.0
TAIL_COMMITS = 3
"""transactions committed after the last snapshot before the kill (rows the restore must lose)"""
TIMEOUT = 60.0
ROOT = Path(__file__).resolve().parent.parent


class RehearsalFailed(Exception):
    pass


@dataclass
class Ledger:
    """The replay's ledger, read as it grows (a line is taken only once complete)."""

    path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    offset: int = 0

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        self.events += [json.loads(line) for line in complete.splitlines()]

    @property
    def last_commit(self) -> dict[str, Any] | None:
        return next((e for e in reversed(self.events) if e["event"] == "commit"), None)

    def done(self) -> bool:
        return any(e["event"] == "replayed" for e in self.events)


@dataclass(frozen=True)
class Taken:
    snapshot: dr.Snapshot
    before: dict[str, int]
    """each table's highest key committed before the snapshot began (from the ledger)"""
    txn: int
    """the replay's last transaction committed before it"""


def missing_rows(conn: sqlite3.Connection, before: dict[str, int]) -> list[str]:
    """Tables lacking any row of keys 1..before[table] (keys are dense: nothing is deleted)."""
    problems = []
    for table, key in KEYS.items():
        query = f"SELECT COUNT(*) FROM {table} WHERE {key} <= ?"
        (present,) = conn.execute(query, (before[table],)).fetchone()
        if present != before[table]:
            problems.append(f"{table} holds {present} of the {before[table]} rows committed before")
    return problems


def integrity(conn: sqlite3.Connection) -> str:
    return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check(5)"))


class Rehearsal:
    def __init__(self, spec: Spec, hours: float, work: Path, echo: Callable[[str], None]) -> None:
        self.spec, self.hours, self.work, self.echo = spec, hours, work, echo
        self.db, self.backups = work / "runtime.sqlite", work / "backups"
        self.ledger = Ledger(work / "ledger.jsonl")
        self.taken: list[Taken] = []
        self.crashed_rows = 0
        self.start = 0.0
        """unix time the replay begins at (the last `hours` before now, on a minute)"""
        self.measured: dict[str, object] = {}

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            raise RehearsalFailed(message)

    def run(self) -> dict[str, object]:
        started = time.monotonic()
        killed = self.replay_and_kill()
        self.check_crash_copy(killed)
        restored = self.restore_latest()
        self.restart(restored)
        self.measured["seconds"] = round(time.monotonic() - started, 2)
        return self.measured

    def launch(self) -> subprocess.Popen[bytes]:
        """`python -m runtime.replay` of the last `hours` (simulated), its output in replay.log."""
        self.start = float(int(time.time() - self.hours * 3600) // 60 * 60)
        command = [sys.executable, "-m", "runtime.replay", "--db", str(self.db)]
        command += ["--ledger", str(self.ledger.path), "--hours", str(self.hours)]
        command += ["--seconds", str(REPLAY_SECONDS), "--start", str(self.start)]
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        with open(self.work / "replay.log", "wb") as log:
            return subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": path}
            )

    def replay_and_kill(self) -> dict[str, Any]:
        """Run the replay, snapshot it along the way, SIGKILL it inside a transaction; return the
        ledger's last commit."""
        self.work.mkdir(parents=True, exist_ok=True)
        process = self.launch()
        began = time.monotonic()
        try:
            self.drive(process, began)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        self.measured["replay_seconds"] = round(time.monotonic() - began, 2)
        self.check(process.returncode == -signal.SIGKILL, f"the replay ended with {process.returncode}")
        self.ledger.poll()
        last, commit = self.ledger.events[-1], self.ledger.last_commit
        assert commit is not None
        inside = last["event"] == "begin"
        self.measured["killed_in_transaction"] = last["txn"] if inside else None
        self.echo(
            f"replay: {self.hours:g} h of runtime state in {self.measured['replay_seconds']} s "
            f"({sum(self.taken[-1].before.values())} rows at the last snapshot); SIGKILL "
            + (f"inside transaction {last['txn']}" if inside else f"after {last['event']} {last['txn']}")
        )
        self.echo(
            f"snapshots: {len(self.taken)} taken every {SNAPSHOT_EVERY // 3600} h of replayed time, "
            f"{len(dr.snapshots(self.backups))} kept; each held every row committed before it"
        )
        return commit

    def drive(self, process: subprocess.Popen[bytes], began: float) -> None:
        """Follow the ledger: a snapshot at every mark (and at the end), then the kill."""
        mark, end = self.start + SNAPSHOT_EVERY, self.start + self.hours * 3600
        final = False
        while True:
            self.ledger.poll()
            if process.poll() is not None:
                tail = (self.work / "replay.log").read_text(errors="replace").strip().splitlines()[-3:]
                raise RehearsalFailed(f"the replay exited ({process.returncode}) before the kill: {tail}")
            self.check(time.monotonic() - began < TIMEOUT, f"the replay took over {TIMEOUT:g} s")
            commit = self.ledger.last_commit
            if not final and commit and commit["sim"] >= min(mark, end):
                self.snapshot(commit)
                final = commit["sim"] >= end
                while mark <= commit["sim"]:
                    mark += SNAPSHOT_EVERY
            elif final and self.ready_to_kill():
                os.kill(process.pid, signal.SIGKILL)
                return
            time.sleep(0.001)

    def ready_to_kill(self) -> bool:
        """After a few transactions past the last snapshot, and only while one is open."""
        if not self.ledger.events or self.ledger.events[-1]["event"] != "begin":
            return False
        after = self.taken[-1].txn if self.taken else 0
        return self.ledger.events[-1]["txn"] > after + TAIL_COMMITS

    def snapshot(self, commit: dict[str, Any]) -> None:
        moment = datetime.fromtimestamp(commit["sim"], UTC)
        try:
            snapshot, _pruned = dr.backup(self.db, self.backups, KEEP, now=moment)
        except dr.DRError as exc:
            raise RehearsalFailed(f"backup at replayed {moment:%H:%M}: {exc}") from None
        conn = dr.read_only(snapshot.path)
        try:
            problems = missing_rows(conn, commit["ids"])
        finally:
            conn.close()
        self.check(not problems, f"snapshot {snapshot.path.name}: {'; '.join(problems)}")
        self.taken.append(Taken(snapshot, dict(commit["ids"]), commit["txn"]))

    def check_crash_copy(self, commit: dict[str, Any]) -> None:
        """What the SIGKILL left: whole, every committed row, no row of the open transaction."""
        crashed = self.work / "crashed"
        crashed.mkdir()
        for suffix in ("", "-wal", "-shm"):
            source = self.db.with_name(self.db.name + suffix)
            if source.exists():
                shutil.copyfile(source, crashed / source.name)
        conn = sqlite3.connect(crashed / self.db.name)
        try:
            verdict = integrity(conn)
            self.check(verdict == "ok", f"the crashed database fails integrity_check: {verdict}")
            problems = missing_rows(conn, commit["ids"])
            self.check(not problems, f"the crashed database lost committed rows: {'; '.join(problems)}")
            interrupted = self.measured["killed_in_transaction"] is not None
            if interrupted:
                extra = {t: k for t, k in max_keys(conn).items() if k > commit["ids"][t]}
                self.check(not extra, f"the crashed database holds rows of the killed transaction: {extra}")
            rows = sum(row_counts(conn).values())
        finally:
            conn.close()
        self.crashed_rows = rows
        rolled_back = "; the interrupted transaction rolled back" if interrupted else ""
        self.echo(f"crash: integrity ok, all {rows} committed rows present{rolled_back}")

    def restore_latest(self) -> dict[str, int]:
        names = [p.name for p in dr.snapshots(self.backups)]
        latest = self.taken[-1]
        self.check(names[-1] == latest.snapshot.path.name, f"the newest snapshot is {names[-1]}")
        self.check(len(names) == min(KEEP, len(self.taken)), f"{len(names)} snapshots kept, not {KEEP}")
        try:
            restored = dr.restore(names[-1], self.db, self.backups)
        except dr.DRError as exc:
            raise RehearsalFailed(f"restore: {exc}") from None
        conn = sqlite3.connect(self.db)
        try:
            verdict = integrity(conn)
            self.check(verdict == "ok", f"the restored database fails integrity_check: {verdict}")
            problems = missing_rows(conn, latest.before)
            self.check(not problems, f"the restored database lacks rows: {'; '.join(problems)}")
            rows = row_counts(conn)
            keys = max_keys(conn)
        finally:
            conn.close()
        self.check(rows == latest.snapshot.rows, f"restored rows {rows} differ from the snapshot's")
        lost = self.crashed_rows - sum(rows.values())
        self.measured |= {
            "snapshots_taken": len(self.taken),
            "snapshots_kept": len(names),
            "restored_snapshot": names[-1],
            "restored_rows": rows,
            "crashed_rows": self.crashed_rows,
            "rows_after_snapshot_lost": lost,
            "restore_ms": round(restored.seconds * 1000, 1),
        }
        self.echo(
            f"restore: {names[-1]} in {self.measured['restore_ms']} ms, integrity ok, "
            f"{dr.describe_rows(rows)}; {lost} rows written after it lost, as expected"
        )
        return keys

    def restart(self, keys: dict[str, int]) -> None:
        """A runtime on the restored database: ready, and writing where the snapshot left off."""
        from runtime.app import Options, PortInUse, Runtime

        options = Options(
            ports={s.service: free_port() for s in self.spec.scraped_services},
            control_port=free_port(),
            textfile_dir=self.work / "textfile",
            state_db=self.db,
            backup_dir=self.backups,
        )
        runtime = Runtime(self.spec, options)
        began = time.monotonic()
        try:
            runtime.start()
        except PortInUse as exc:
            raise RehearsalFailed(f"the runtime did not start on the restored database: {exc}") from None
        try:
            urls = {e.service.service: f"http://{e.address}/readyz" for e in runtime.exporters}
            pending = dict(urls)
            while pending and time.monotonic() - began < 10:
                pending = {name: url for name, url in pending.items() if status_of(url, timeout=2) != 200}
                time.sleep(0.02 if pending else 0)
            self.check(not pending, f"/readyz did not answer 200 within 10 s: {', '.join(pending)}")
            ready_ms = round((time.monotonic() - began) * 1000)
            seq = 0
            while seq <= keys["heartbeat"] and time.monotonic() - began < 10 and runtime.writers:
                assert runtime.store is not None
                with runtime.store.lock:
                    seq = max_keys(runtime.store.conn)["heartbeat"]
                time.sleep(0.02)
        finally:
            runtime.stop()
        if runtime.writers:
            self.check(seq > keys["heartbeat"], f"no heartbeat after seq {keys['heartbeat']} was recorded")
        self.measured["ready_ms"] = ready_ms
        beat = f"; heartbeat seq {seq} follows the restored {keys['heartbeat']}" if runtime.writers else ""
        self.echo(f"restart: /readyz 200 on {', '.join(urls)} after {ready_ms} ms{beat}")


def record_success(db: Path, measured: dict[str, object]) -> Path:
    """Write the last success next to the live database (the runtime exports it)."""
    path = rehearsal_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_file_atomically(path, json.dumps({"last_success": time.time(), **measured}, indent=2) + "\n")
    return path
