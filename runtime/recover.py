"""`obsgen dr recover`: the seed's failure flow (§5) as one command — /readyz answering 503
persistently → restore the snapshot → ure.sync + bridge.adaptive.start (the session's runtime
components) → smoke.

Nothing changes until the snapshot passed its check and the failure is confirmed: a deployment
whose components all answer /readyz 200 is left alone (unless forced), since a restore loses
every state row written after the snapshot.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.exit_codes import ExitCode
from generator.live.http_client import status_of
from generator.live.session_env import SessionEnv
from generator.model import Spec
from runtime.components import ComponentError, running, start, stop
from runtime.dr import DRError, check_snapshot, resolve_snapshot, restore, snapshots
from runtime.session import render_checks, session_plan
from runtime.smoke import Endpoints, smoke_checks

Echo = Callable[[str], None]
LATEST = "latest"


@dataclass(frozen=True)
class Confirmation:
    """How the readiness check is confirmed to persist: `polls` answers, `every` seconds apart."""

    polls: int = 3
    every: float = 1.0


def snapshot_path(snap: str, directory: Path) -> Path:
    """SNAP as `obsgen dr restore` takes it, or `latest`: the newest snapshot in `directory`."""
    if snap == LATEST:
        found = snapshots(directory)
        if not found:
            raise DRError(f"no snapshot in {directory}")
        return found[-1]
    return resolve_snapshot(snap, directory)


def readiness(session: SessionEnv, confirm: Confirmation, echo: Echo) -> tuple[list[str], list[str]]:
    """(the running components whose /readyz never answered 200 over the polls, those not
    running), each component's answers printed."""
    components = {c.name: c for c in running(session.run_dir)}
    absent = [name for name in session.components if name not in components]
    answers: dict[str, list[int]] = {name: [] for name in session.components if name in components}
    for poll in range(confirm.polls if answers else 0):
        if poll:
            time.sleep(confirm.every)
        for name in answers:
            answers[name].append(status_of(f"{components[name].base_url}/readyz", timeout=2))
    for name, seen in answers.items():
        echo(f"  {name}: /readyz {', '.join(str(s) if s else 'no answer' for s in seen)}")
    for name in absent:
        echo(f"  {name}: not running")
    return [name for name, seen in answers.items() if 200 not in seen], absent


def confirmed(failing: list[str], absent: list[str], force: bool, echo: Echo) -> bool:
    """Whether the failure is confirmed (or forced); otherwise say why nothing changes."""
    if failing or force:
        return True
    if absent:
        echo(
            f"[NOT RUNNING] {', '.join(absent)}: start them (obsgen component start NAME --env …); "
            "recover when one answers 503, or cannot start on the database (--force)"
        )
    else:
        echo("[HEALTHY] every component answers /readyz 200: nothing to recover (--force restores anyway)")
    return False


def recover(
    session: SessionEnv, spec: Spec, snap: str, confirm: Confirmation, force: bool, wait: float, echo: Echo
) -> ExitCode:
    try:
        checked = check_snapshot(snapshot_path(snap, session.snapshot_dir))
    except DRError as exc:
        echo(f"error: {exc}; nothing was changed")
        return exc.code
    echo(f"1 snapshot   {checked.path.name}: integrity_check ok")
    echo(f"2 readiness  {confirm.polls} polls of /readyz, {confirm.every:g} s apart")
    if not confirmed(*readiness(session, confirm, echo), force, echo):
        return ExitCode.CHECK_FAILED
    echo("3 stop       the session's runtime components")
    stopped = stop(session.run_dir, session.components, lambda line: echo(f"  {line}"))
    try:
        restored = restore(str(checked.path), session.state_db, session.snapshot_dir)
    except DRError as exc:
        echo(f"error: {exc}; restarting what was stopped, on the database as it was")
        try:
            _start_all(session, spec, tuple(stopped), echo)
        except ComponentError as again:
            echo(f"error: {again}")
        return exc.code
    echo(f"4 restore    {session.state_db} from {checked.path.name} in {restored.seconds * 1000:.0f} ms")
    echo(f"5 start      {', '.join(session.components)}")
    restarted = time.time()
    try:
        _start_all(session, spec, session.components, echo)
    except ComponentError as exc:
        echo(f"error: {exc}")
        return exc.code
    endpoints = Endpoints(
        session.prometheus_url, session.alertmanager_url, session.run_dir, session.components
    )
    checks, table = smoke_checks(spec, endpoints, wait, since=restarted)
    for line in [*render_checks("6 smoke", checks), *table]:
        echo(line)
    if not all(c.ok for c in checks):
        return ExitCode.CHECK_FAILED
    echo("recovered; next: `make bench.bridge` to confirm the loop's timing")
    return ExitCode.OK


def _start_all(session: SessionEnv, spec: Spec, names: tuple[str, ...], echo: Echo) -> None:
    for name in names:
        start(spec, name, session_plan(session, name), lambda line: echo(f"  {line}"))
