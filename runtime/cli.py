"""`obsgen run`, `obsgen up`, `obsgen down`, `obsgen scenario`: the runtime and the sandbox stack.

A SpecError they raise is printed by the `obsgen` group (obsgen/cli.py) and ends the command
with ExitCode.USAGE; nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from pathlib import Path

import click

from generator.cli_options import spec_dir_option
from generator.exit_codes import ExitCode


def _port_map(values: tuple[str, ...]) -> dict[str, int]:
    ports = {}
    for value in values:
        name, _, port = value.partition("=")
        if not port.isdigit():
            raise click.BadParameter(f"expected SERVICE=PORT, got {value!r}", param_hint="--port")
        ports[name] = int(port)
    return ports


@click.command()
@spec_dir_option()
@click.option("--listen", default="127.0.0.1", show_default=True, help="Address every server binds.")
@click.option("--port", "ports", multiple=True, metavar="SERVICE=PORT", help="Override a service's port.")
@click.option(
    "--control-port", default=9399, show_default=True, help="Port of the scenario control endpoint."
)
@click.option(
    "--textfile-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".sandbox/textfile"),
    show_default=True,
    help="node_exporter's textfile-collector directory, where heartbeats are written.",
)
@click.option(
    "--heartbeat-period", type=float, default=None, help="Seconds between beats (default: the spec's)."
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=1.0),
    default=1.0,
    show_default=True,
    help="Run N times faster than the spec's durations (the sandbox's speed-up): heartbeats beat "
    "every period ÷ N, scenario phases shrink alike.",
)
@click.option("--sink-port", type=int, default=None, help="Also run the notification sink on this port.")
@click.option(
    "--sink-log",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".sandbox/notifications.jsonl"),
)
@click.option("--scenario", default="healthy", show_default=True, help="The scenario to start in.")
@click.option(
    "--state-db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path(".sandbox/runtime.sqlite"),
    show_default=True,
    help="The runtime's state (SQLite, WAL); backups go to backups/ beside it.",
)
def run(
    spec_dir: Path,
    listen: str,
    ports: tuple[str, ...],
    control_port: int,
    textfile_dir: Path,
    heartbeat_period: float | None,
    time_scale: float,
    sink_port: int | None,
    sink_log: Path,
    scenario: str,
    state_db: Path,
) -> None:
    """Serve every service's metrics from the scenario simulator until Ctrl-C or SIGTERM.

    One exporter per service on its declared port and path, with /readyz (503 in the
    not-ready scenario) and /healthz; the services' control loops (the bridge tick) run for
    real; heartbeats are written into --textfile-dir atomically. Switch scenarios while it
    runs: `curl -d entropy-spike http://127.0.0.1:9399/scenario`. Every declared counter,
    histogram and gauge is served; `obsgen scenario --list` names the spec's scenarios.

    \b
    Exit codes: 0 stopped by a signal, 2 invalid spec or option, 14 a port is in use.
    """
    from generator.loader import load_spec
    from runtime.app import Options, PortInUse, Runtime
    from runtime.slo_scenarios import spec_scenarios

    spec = load_spec(spec_dir)
    known = spec_scenarios(spec)
    if scenario not in known:
        raise click.BadParameter(f"unknown scenario; known: {', '.join(known)}", param_hint="--scenario")
    options = Options(
        listen=listen,
        ports=_port_map(ports),
        control_port=control_port,
        textfile_dir=textfile_dir,
        heartbeat_period=heartbeat_period,
        time_scale=time_scale,
        sink_port=sink_port,
        sink_log=sink_log,
        scenario=scenario,
        state_db=state_db,
    )
    runtime = Runtime(spec, options)
    try:
        runtime.start()
    except PortInUse as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.PORT_IN_USE)
    for exporter in runtime.exporters:
        click.echo(
            f"serving {exporter.service.service} on http://{exporter.address}{exporter.service.scrape.path}"
        )
    click.echo(f"scenario control on http://{listen}:{control_port}/scenario (now: {scenario})")
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    stopped.wait()
    runtime.stop()
    click.echo("runtime stopped")


STATE_OPTION = click.option(
    "--dir",
    "state_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".sandbox"),
    show_default=True,
    help="The stack's state: configs, data, logs, state.json.",
)


def _refusal(state: Path) -> str | None:
    """Why `up` cannot start in `state` before it tries (a usage error), else None."""
    from runtime.stack import BINARIES, STATE, StackError, binary

    if (state / STATE).exists():
        return f"a stack is already recorded in {state / STATE}; run `obsgen down --dir {state}` first"
    try:
        for name in BINARIES:
            binary(name)
    except StackError as exc:
        return str(exc)
    return None


def _finite(_: click.Context, __: click.Parameter, value: float | None) -> float | None:
    """FloatRange lets `nan` and `inf` through."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter("expected a finite number, at least 1")
    return value


@click.command()
@spec_dir_option()
@STATE_OPTION
@click.option("--free-ports", is_flag=True, help="Pick free loopback ports instead of the spec's (tests).")
@click.option(
    "--speed-up",
    type=click.FloatRange(min=1.0),
    default=None,
    callback=_finite,
    metavar="N",
    help="Run N times faster than the spec: every duration is divided by N "
    "(default: the evaluation interval in seconds, so rules are evaluated each second).",
)
def up(spec_dir: Path, state_dir: Path, free_ports: bool, speed_up: float | None) -> None:
    """Start the sandbox: runtime, Prometheus, Alertmanager, node_exporter, blackbox_exporter.

    Everything binds 127.0.0.1. Prometheus and Alertmanager run the spec's rules and routing,
    compiled for the sandbox's ports by the same compilers with every duration divided by the
    speed-up S (--speed-up; default the evaluation interval in seconds, 60 for a 1m interval):
    scrape and evaluation intervals, alert `for`, every PromQL range, subquery step and offset
    (those in the spec's raw PromQL too), gate and heartbeat windows, the heartbeat freshness,
    Alertmanager's waits, intervals and timeouts, Prometheus's resend delay and lookback delta.
    Names stay nominal (`slo:sli_error:ratio_rate5m`, `slo_window="5m"`), so dashboards and
    `obsgen budget check` read the same series. Plain numbers of seconds in raw PromQL
    (`time() - x > 86400`) and rates per second (a trend's epsilon) are not scaled. The
    runtime runs with `--time-scale S` (heartbeats beat every period ÷ S) and serves every
    metric the spec declares; `obsgen scenario --list` names what it simulates (per SLO: a
    fast burn, a slow burn, no data). Receivers deliver
    to a local sink (<dir>/notifications.jsonl). Returns once every part answers; stop it all
    with `obsgen down`. A failure or Ctrl-C while starting stops what started.

    \b
    Exit codes: 0 up; 2 invalid spec, a stack already recorded in --dir, or Prometheus,
    Alertmanager or an exporter not installed (nothing started); 14 a part could not start,
    most often for a port taken (see <dir>/logs/); 130 Ctrl-C.
    """
    from generator.loader import load_spec
    from runtime.stack import StackError
    from runtime.stack import up as start

    spec = load_spec(spec_dir)
    refusal = _refusal(state_dir.resolve())
    if refusal is not None:
        click.echo(f"error: {refusal}", err=True)
        sys.exit(ExitCode.USAGE)
    try:
        record = start(spec, spec_dir, state_dir.resolve(), free_ports, click.echo, speed_up)
    except StackError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.PORT_IN_USE)
    except KeyboardInterrupt:
        click.echo("obsgen: interrupted; everything started was stopped", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    ports = record["ports"]
    assert isinstance(ports, dict)
    click.echo(f"prometheus     http://127.0.0.1:{ports['prometheus']}")
    click.echo(f"alertmanager   http://127.0.0.1:{ports['alertmanager']}")
    click.echo(f"scenarios      http://127.0.0.1:{ports['control']}/scenario  (obsgen scenario NAME)")
    click.echo(f"obsgen: sandbox up; `obsgen down --dir {state_dir}` stops it.")


@click.command()
@STATE_OPTION
def down(state_dir: Path) -> None:
    """Stop every process `obsgen up` started (SIGTERM, then SIGKILL after 10 s).

    \b
    Exit codes: 0 stopped, 1 no stack recorded in --dir.
    """
    from runtime.stack import down as stop

    if not stop(state_dir.resolve(), click.echo):
        sys.exit(ExitCode.CHECK_FAILED)
    click.echo("obsgen: sandbox down.")


@click.command()
@STATE_OPTION
@spec_dir_option()
@click.option("--list", "listing", is_flag=True, help="List the scenarios of the spec and what each does.")
@click.argument("name", required=False)
def scenario(state_dir: Path, spec_dir: Path, listing: bool, name: str | None) -> None:
    """Switch the running sandbox's simulator to scenario NAME, or --list them.

    Every spec gets `healthy` and, per SLO whose inputs the runtime serves,
    `<slo id>-fast-burn` (every event bad: pages), `<slo id>-slow-burn` (the generated tests'
    slow burn: tickets, never pages) and `<slo id>-no-data` (its series are not served); a
    grouped SLO burns in one group only. The bundled spec keeps its hand-tuned ones
    (phase-drift, canary-regression, …). `obsgen explain <slo id>` says how fast each burn fires.

    \b
    Exit codes: 0 switched (or listed), 1 no stack recorded in --dir, 2 unknown scenario or
    invalid spec, 13 the runtime does not answer.
    """
    if listing:
        _list_scenarios(spec_dir)
        return
    if name is None:
        raise click.UsageError("name a scenario, or pass --list")
    _switch_scenario(state_dir, name)


def _list_scenarios(spec_dir: Path) -> None:
    from generator.loader import load_spec
    from runtime.slo_scenarios import spec_scenarios, unsimulated_slos

    spec = load_spec(spec_dir)
    scenarios = spec_scenarios(spec)
    width = max(len(name) for name in scenarios)
    for name, found in scenarios.items():
        click.echo(f"{name:<{width}}  {found.description}")
    for slo, why in unsimulated_slos(spec):
        click.echo(f"(no scenarios for {slo}: {why})")


def _switch_scenario(state_dir: Path, name: str) -> None:
    import json
    import urllib.error
    import urllib.request

    state = state_dir / "state.json"
    if not state.exists():
        click.echo(f"error: no stack recorded in {state}; run `obsgen up` first", err=True)
        sys.exit(ExitCode.CHECK_FAILED)
    port = json.loads(state.read_text())["ports"]["control"]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/scenario", data=name.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            click.echo(json.loads(response.read())["description"])
    except urllib.error.HTTPError as exc:
        click.echo(f"error: {json.loads(exc.read()).get('error', exc.reason)}", err=True)
        sys.exit(ExitCode.USAGE)
    except OSError as exc:
        click.echo(f"error: the runtime does not answer on port {port}: {exc}", err=True)
        sys.exit(ExitCode.UNREACHABLE)
