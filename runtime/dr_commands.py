"""`obsgen dr backup | restore | rehearse`: the runtime's state database, backed up online,
restored atomically, and the whole procedure rehearsed (the seed's dr-rehearsal-24h-pass)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli_options import session_env_option, spec_dir_option
from generator.exit_codes import ExitCode
from runtime.session_commands import WAIT_OPTION

if TYPE_CHECKING:
    from generator.live.session_env import SessionEnv

DEFAULT_DB = Path(".sandbox/runtime.sqlite")
DEFAULT_BACKUPS = Path(".sandbox/backups")

DB_OPTION = click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_DB,
    show_default=True,
    help="The runtime's state database (obsgen run's state_db).",
)
DIR_OPTION = click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_BACKUPS,
    show_default=True,
    help="The snapshot directory.",
)


def _size(size: int) -> str:
    return f"{size / 1024:.1f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


@click.group()
def dr() -> None:
    """Backups and restores of the runtime's state database, and the DR rehearsal."""


@dr.command()
@DB_OPTION
@DIR_OPTION
@click.option(
    "--keep",
    type=click.IntRange(min=1),
    default=None,
    help="Snapshots kept (default: as many as the runtime keeps, 28).",
)
@session_env_option()
def backup(db: Path, directory: Path, keep: int | None, session: SessionEnv | None) -> None:
    """Snapshot the state database online into DIR/YYYYMMDDThhmmss.sqlite (UTC).

    SQLite's backup API copies a consistent view while the runtime keeps writing; the copy is
    checked (integrity_check, the runtime's tables) and fsynced before it gets its name, then
    all but the newest --keep snapshots are removed. With --env, the database and directory are
    the session's OBSGEN_STATE_DB and OBSGEN_SNAPSHOT_DIR.

    \b
    Exit codes: 0 written, 1 the snapshot failed its check (nothing kept),
    2 no database, or a snapshot of that name exists.
    """
    from runtime import dr as recovery
    from runtime.state import StateSchedule

    db, directory = _session_paths(session, db, directory)
    keep = keep or StateSchedule.backup_keep
    try:
        snapshot, pruned = recovery.backup(db, directory, keep)
    except recovery.DRError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.code)
    click.echo(f"snapshot {snapshot.path} ({_size(snapshot.size)}), integrity ok")
    click.echo(f"rows: {recovery.describe_rows(snapshot.rows)}")
    for path in pruned:
        click.echo(f"pruned {path.name} (keeping the newest {keep})")


def _session_paths(session: SessionEnv | None, db: Path, directory: Path) -> tuple[Path, Path]:
    """The session's database and snapshot directory with --env, else the options'."""
    return (session.state_db, session.snapshot_dir) if session else (db, directory)


@dr.command()
@click.argument("snap")
@DB_OPTION
@DIR_OPTION
@session_env_option()
def restore(snap: str, db: Path, directory: Path, session: SessionEnv | None) -> None:
    """Replace the state database by snapshot SNAP (a name in DIR, or a path), atomically.

    A missing, truncated or corrupt snapshot is refused, and so is a database a running
    runtime holds; either way the database is left untouched. Otherwise the snapshot is
    copied next to the database, checked, fsynced, the old -wal/-shm removed and the copy
    renamed over the database. Then restart the runtime, and run the smoke.

    \b
    Exit codes: 0 restored, 2 refused (nothing was changed).
    """
    from datetime import UTC, datetime

    from runtime import dr as recovery

    db, directory = _session_paths(session, db, directory)
    try:
        restored = recovery.restore(snap, db, directory)
    except recovery.DRError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.code)
    snapshot = restored.snapshot
    taken = "unknown"
    if snapshot.taken_at is not None:
        taken = datetime.fromtimestamp(snapshot.taken_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    click.echo(f"restored {db} from {snapshot.path} (taken {taken}) in {restored.seconds * 1000:.0f} ms")
    click.echo(f"rows: {recovery.describe_rows(snapshot.rows)}")


@dr.command()
@click.option(
    "--hours",
    type=click.FloatRange(min=0, min_open=True, max=168),
    default=24.0,
    show_default=True,
    help="Hours of runtime state to replay.",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Scratch directory, kept (default: a temp directory, removed on success).",
)
@DB_OPTION
@spec_dir_option()
def rehearse(hours: float, directory: Path | None, db: Path, spec_dir: Path) -> None:
    """Rehearse disaster recovery in a scratch directory (dr-rehearsal-24h-pass).

    Replays HOURS of runtime state at accelerated speed while taking online snapshots, kills
    the writer with SIGKILL inside a transaction, restores the latest snapshot and proves:
    integrity_check passes, every row committed before the snapshot is present, and a
    runtime restarted on it answers /readyz 200. The success is recorded next to --db, where
    the runtime exports it (obsgen_runtime_dr_rehearsal_last_success_timestamp_seconds).

    \b
    Exit codes: 0 passed, 1 failed (the scratch directory is kept), 2 invalid spec or option.
    """
    import shutil
    import tempfile

    from generator.loader import load_spec
    from runtime.rehearsal import Rehearsal, RehearsalFailed, record_success

    spec = load_spec(spec_dir)
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rehearsal-", dir=directory))
    try:
        measured = Rehearsal(spec, hours, work, click.echo).run()
    except RehearsalFailed as exc:
        click.echo(f"FAIL: {exc} (scratch kept in {work})", err=True)
        sys.exit(ExitCode.CHECK_FAILED)
    record = record_success(db, measured)
    click.echo(f"PASS in {measured['seconds']} s; recorded in {record}")
    if directory is None:
        shutil.rmtree(work, ignore_errors=True)


@dr.command()
@click.argument("snap")
@session_env_option(required=True)
@click.option("--force", is_flag=True, help="Restore even when every component answers /readyz 200.")
@click.option(
    "--polls",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="/readyz answers that must all be other than 200 to confirm the failure persists.",
)
@click.option(
    "--every",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between two polls.",
)
@WAIT_OPTION
def recover(snap: str, session: SessionEnv, force: bool, polls: int, every: float, wait: float) -> None:
    """The seed's failure flow: /readyz 503 persisting -> restore SNAP -> restart -> smoke.

    \b
    1 snapshot   SNAP (a name in OBSGEN_SNAPSHOT_DIR, a path, or `latest`) passes its check
    2 readiness  each running component of OBSGEN_COMPONENTS is polled --polls times, --every
                 s apart; one that never answered 200 confirms the failure (components not
                 running do not: start them first, or --force)
    3 stop       the session's components (they hold the state database)
    4 restore    OBSGEN_STATE_DB from the snapshot, atomically (as `obsgen dr restore`)
    5 start      every component of OBSGEN_COMPONENTS, in order (ure.sync, bridge.adaptive.start)
    6 smoke      as `obsgen smoke --env`

    Nothing changes before step 3: a damaged snapshot is refused, and so (without --force) is a
    deployment whose components answer 200 or are not running — a restore loses every row
    written after the snapshot. If the restore is refused at step 4 (another runtime holds the
    database), the stopped components are started again on the database as it was.

    \b
    Exit codes: 0 recovered and smoke passed, 1 nothing recovered (healthy, or not running), or
    the smoke failed,
    2 refused (bad snapshot, env or spec; the database held), 14 a component could not start.
    """
    from generator.loader import load_spec
    from runtime.recover import Confirmation
    from runtime.recover import recover as run_recovery

    spec = load_spec(session.spec_dir)
    code = run_recovery(session, spec, snap, Confirmation(polls, every), force, wait, click.echo)
    sys.exit(code)
