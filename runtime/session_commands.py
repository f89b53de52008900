"""`obsgen restore check`, `obsgen component start|stop|status`, `obsgen smoke`: the seed's
session restore (§1) — sanity check, `make ure.sync`, `make bridge.adaptive.start`, smoke."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli_options import session_env_option, spec_dir_option
from generator.exit_codes import ExitCode
from runtime.cli import STATE_OPTION

if TYPE_CHECKING:
    from generator.live.session_env import SessionEnv
    from generator.model import Spec
    from runtime.components import Plan
    from runtime.smoke import Endpoints

SANDBOX_OPTION = STATE_OPTION
"""--dir: the sandbox, used without --env (its state.json, components/ and database)"""
WAIT_OPTION = click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long each smoke check may take to pass (a component just started needs its first scrapes).",
)


def _spec(session: SessionEnv | None, spec_dir: Path) -> Spec:
    from generator.loader import load_spec

    return load_spec(session.spec_dir if session else spec_dir)


@click.group()
def restore() -> None:
    """The session restore's sanity check (the seed's `make restore.sanity`)."""


@restore.command("check")
@session_env_option(required=True)
def restore_check(session: SessionEnv) -> None:
    """Check that a session can be restored, before anything starts.

    \b
    env        the components are scraped services of OBSGEN_SPEC_DIR, in METRIC_REALM
    ports      each component's port is free, or held by that very component
    generated  OBSGEN_GENERATED_DIR (generated/) is what the spec compiles to
    snapshot   the newest snapshot in OBSGEN_SNAPSHOT_DIR passes integrity_check
    tools      promtool and amtool are installed
    secrets    every receiver's secret file (OBSGEN_SECRETS_DIR, else the spec's secrets_dir)
               and GRAFANA_TOKEN_FILE exist, are not empty, with mode 0600

    Every check runs, one line each; the session env file itself is checked first (each
    problem with its line).

    \b
    Exit codes: 0 every check passed, 1 a check failed, 2 the env file or the spec is invalid.
    """
    from runtime.session import render_checks, restore_checks

    spec = _spec(session, Path())
    checks = restore_checks(session, spec, session.generated_dir)
    for line in render_checks(f"restore check: {session.file}", checks):
        click.echo(line)
    if not all(c.ok for c in checks):
        sys.exit(ExitCode.CHECK_FAILED)


@click.group()
def component() -> None:
    """Runtime components: one service each, in the background with a pid file."""


@component.command("start")
@click.argument("name", required=False)
@click.option(
    "--all", "start_all", is_flag=True, help="Start each of OBSGEN_COMPONENTS, in order (needs --env)."
)
@session_env_option()
@spec_dir_option()
@SANDBOX_OPTION
def component_start(
    name: str | None, start_all: bool, session: SessionEnv | None, spec_dir: Path, state_dir: Path
) -> None:
    """Serve service NAME (or, with --all, each of OBSGEN_COMPONENTS) from its own runtime
    process, in the background.

    `make ure.sync` is `obsgen component start ure` (the URE sync daemon), `make
    bridge.adaptive.start` is `obsgen component start bridge` (the bridge's adaptive loop, with
    configs/bridge.yaml beside the spec directory). With --env, the port is <NAME>_PORT, the
    state database OBSGEN_STATE_DB, the pid file <OBSGEN_RUN_DIR>/<NAME>.pid. Without, it runs
    beside the sandbox in --dir (start it with `obsgen up --without NAME`): the port and speed-up
    `up` recorded, the sandbox's database, --dir/components/. Components share the database;
    each service is served by one process at most. Returns once the exporter answers; a
    component already running is left as it is. `obsgen down` (or `component stop`) stops it.

    \b
    Exit codes: 0 running, 2 unknown service or invalid env/spec, 14 it could not start
    (most often a port taken; the log's last lines are shown).
    """
    from runtime.components import ComponentError, start
    from runtime.session import session_plan

    if start_all == (name is not None) or (start_all and session is None):
        raise click.UsageError("name one component, or pass --all with --env")
    spec = _spec(session, spec_dir)
    names = session.components if start_all and session else (name,)
    for one in names:
        assert one is not None
        if session is not None and one not in session.components:
            known = ", ".join(session.components)
            click.echo(f"error: {one} is not in OBSGEN_COMPONENTS of {session.file} ({known})", err=True)
            sys.exit(ExitCode.USAGE)
        try:
            plan = session_plan(session, one) if session else _sandbox_plan(spec, spec_dir, state_dir, one)
            start(spec, one, plan, click.echo)
        except ComponentError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.code)


def _sandbox_plan(spec: Spec, spec_dir: Path, state_dir: Path, name: str) -> Plan:
    from runtime.components import ComponentError
    from runtime.session import sandbox_plan

    if name not in {s.service for s in spec.scraped_services}:
        known = ", ".join(s.service for s in spec.scraped_services)
        raise ComponentError(f"no scraped service {name!r} in the spec (known: {known})", ExitCode.USAGE)
    return sandbox_plan(spec, spec_dir, state_dir.resolve(), name)


def _run_dir(session: SessionEnv | None, state_dir: Path) -> Path:
    return session.run_dir if session else state_dir / "components"


@component.command("stop")
@click.argument("names", nargs=-1, metavar="[NAME]...")
@session_env_option()
@SANDBOX_OPTION
def component_stop(names: tuple[str, ...], session: SessionEnv | None, state_dir: Path) -> None:
    """Stop the named components (all without a NAME): SIGTERM, SIGKILL after 10 s.

    \b
    Exit codes: 0 stopped, 1 none of them was running.
    """
    from runtime.components import stop

    if not stop(_run_dir(session, state_dir), names, click.echo):
        click.echo("no such component running", err=True)
        sys.exit(ExitCode.CHECK_FAILED)


@component.command("status")
@session_env_option()
@SANDBOX_OPTION
def component_status(session: SessionEnv | None, state_dir: Path) -> None:
    """List the running components: name, pid, address, /readyz.

    \b
    Exit codes: 0 listed (none running is not an error).
    """
    from generator.live.http_client import status_of
    from runtime.components import running

    run_dir = _run_dir(session, state_dir)
    found = running(run_dir)
    if not found:
        click.echo(f"no component running in {run_dir}")
    for c in found:
        ready = status_of(f"{c.base_url}/readyz", timeout=2) or "no answer"
        click.echo(f"{c.name:<12} pid {c.pid:<7} {c.base_url}{c.path}  /readyz {ready}  log {c.log}")


@click.command()
@session_env_option()
@spec_dir_option()
@SANDBOX_OPTION
@WAIT_OPTION
def smoke(session: SessionEnv | None, spec_dir: Path, state_dir: Path, wait: float) -> None:
    """The smoke test of a running deployment (--env) or of the sandbox in --dir.

    \b
    prometheus    /-/ready answers 200
    alertmanager  /-/ready answers 200
    component X   each running component (and each of OBSGEN_COMPONENTS) answers /readyz 200
                  and its metrics path
    targets       every scrape job of the spec has its targets up, exposing the declared
                  series (as `obsgen targets verify`)

    \b
    Exit codes: 0 every check passed, 1 a check failed, 2 invalid env/spec or no sandbox.
    """
    from runtime.session import render_checks
    from runtime.smoke import smoke_checks

    spec = _spec(session, spec_dir)
    endpoints = _endpoints(session, state_dir)
    checks, table = smoke_checks(spec, endpoints, wait)
    for line in [*render_checks(f"smoke: Prometheus {endpoints.prometheus}", checks), *table]:
        click.echo(line)
    if not all(c.ok for c in checks):
        sys.exit(ExitCode.CHECK_FAILED)


def _endpoints(session: SessionEnv | None, state_dir: Path) -> Endpoints:
    import json

    from runtime.smoke import Endpoints
    from runtime.stack import STATE

    if session is not None:
        return Endpoints(
            session.prometheus_url, session.alertmanager_url, session.run_dir, session.components
        )
    state = state_dir / STATE
    try:
        ports = json.loads(state.read_text())["ports"]
    except (OSError, ValueError, KeyError) as exc:
        click.echo(f"error: no sandbox recorded in {state} ({exc}); `obsgen up`, or pass --env", err=True)
        sys.exit(ExitCode.USAGE)
    local = "http://127.0.0.1"
    return Endpoints(
        f"{local}:{ports['prometheus']}", f"{local}:{ports['alertmanager']}", state_dir / "components"
    )
