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
from typing import TYPE_CHECKING, NoReturn

import click

from generator.cli_options import session_env_option, spec_dir_option
from generator.errors import SpecError
from generator.exit_codes import ExitCode

if TYPE_CHECKING:
    from generator.live.session_env import SessionEnv
    from generator.model import Spec
    from runtime.bench import BenchLog
    from runtime.bridge_config import LoopSettings


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
@click.option(
    "--snapshot-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Where the state's snapshots are (default: backups/ beside --state-db).",
)
@click.option(
    "--bridge-config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="gain / tick / guard of the bridge loop (default: configs/bridge.yaml beside the spec "
    "directory when it exists, else the spec's `loop:`).",
)
@click.option(
    "--service",
    "services",
    multiple=True,
    metavar="NAME",
    help="Serve only this service (repeatable): a runtime component, as `obsgen component start` "
    "runs it. Components share --state-db; each service is served by one process at most.",
)
@click.option(
    "--without",
    multiple=True,
    metavar="NAME",
    help="Serve every service but this one (repeatable): it runs as a component of its own.",
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
    snapshot_dir: Path | None,
    bridge_config: Path | None,
    services: tuple[str, ...],
    without: tuple[str, ...],
) -> None:
    """Serve every service's metrics from the scenario simulator until Ctrl-C or SIGTERM.

    One exporter per service on its declared port and path, with /readyz (503 in the
    not-ready scenario) and /healthz; the services' control loops (the bridge tick) run for
    real; heartbeats are written into --textfile-dir atomically. Switch scenarios while it
    runs: `curl -d entropy-spike http://127.0.0.1:9399/scenario`. Every declared counter,
    histogram and gauge is served; `obsgen scenario --list` names the spec's scenarios.

    The bridge loop runs with --bridge-config's gain / tick / guard, else with those of
    configs/bridge.yaml beside the spec directory (so `obsgen up` uses the project's), else
    with the spec's `loop:`; it exports them as bridge_loop_gain, bridge_loop_tick_seconds and
    bridge_loop_guard.

    \b
    Exit codes: 0 stopped by a signal, 2 invalid spec, bridge config or option, 14 a port is in
    use.
    """
    from generator.loader import load_spec
    from runtime.app import Options, PortInUse, Runtime
    from runtime.slo_scenarios import spec_scenarios

    spec = load_spec(spec_dir)
    known = spec_scenarios(spec)
    if scenario not in known:
        raise click.BadParameter(f"unknown scenario; known: {', '.join(known)}", param_hint="--scenario")
    served = _served(spec, services, without)
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
        backup_dir=snapshot_dir,
        loops=_loop_settings(spec, bridge_config, spec_dir),
        services=served,
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


def _served(spec: Spec, services: tuple[str, ...], without: tuple[str, ...]) -> tuple[str, ...] | None:
    """The services `--service`/`--without` leave this process to serve; None: all of them."""
    scraped = [s.service for s in spec.scraped_services]
    for name, flag in [*((n, "--service") for n in services), *((n, "--without") for n in without)]:
        if name not in scraped:
            raise click.BadParameter(
                f"no scraped service {name!r}; known: {', '.join(scraped)}", param_hint=flag
            )
    if not services and not without:
        return None
    return tuple(name for name in scraped if (not services or name in services) and name not in without)


def _config_refused(exc: SpecError, what: str) -> NoReturn:
    """Print each located problem of a bridge config or bench log and exit 2."""
    for issue in exc.issues:
        click.echo(f"error: {issue}", err=True)
    click.echo(f"obsgen: {len(exc.issues)} problem(s) in the {what}; nothing was changed.", err=True)
    sys.exit(ExitCode.USAGE)


def _bridge_settings(spec: Spec, config: Path | None) -> LoopSettings:
    """The bridge loop's settings: those of `config` (each missing key from the spec's `loop:`),
    or the spec's; a bad config ends the command with exit 2."""
    from runtime.bridge_config import LoopSettings, read_loop_settings

    if not _has_bridge_loop(spec):
        click.echo("error: the spec has no `bridge` service with a `loop:`", err=True)
        sys.exit(ExitCode.USAGE)
    loop = spec.service("bridge").loop
    assert loop is not None
    if config is None:
        return LoopSettings.of(loop)
    try:
        return read_loop_settings(config, LoopSettings.of(loop))
    except SpecError as exc:
        _config_refused(exc, "bridge config")


def _has_bridge_loop(spec: Spec) -> bool:
    return any(s.service == "bridge" and s.loop is not None for s in spec.services)


def _loop_settings(spec: Spec, given: Path | None, spec_dir: Path) -> dict[str, LoopSettings]:
    """`Options.loops` for `obsgen run`: the bridge's from --bridge-config, else from
    configs/bridge.yaml beside the spec directory when the spec has a bridge loop and the file
    exists, else none (the spec's `loop:`)."""
    from runtime.bridge_config import config_beside

    config = given or (config_beside(spec_dir) if _has_bridge_loop(spec) else None)
    return {} if config is None else {"bridge": _bridge_settings(spec, config)}


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
@click.option(
    "--without",
    multiple=True,
    metavar="SERVICE",
    help="Leave SERVICE out of the sandbox's runtime (repeatable): it runs as a component of its "
    "own (`obsgen component start SERVICE`, e.g. `make ure.sync`); Prometheus still scrapes its port.",
)
def up(
    spec_dir: Path, state_dir: Path, free_ports: bool, speed_up: float | None, without: tuple[str, ...]
) -> None:
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
    The runtime runs the bridge loop with configs/bridge.yaml beside the spec directory when
    it exists (see `obsgen run`).

    \b
    Exit codes: 0 up; 2 invalid spec or bridge config, a stack already recorded in --dir,
    or Prometheus, Alertmanager or an exporter not installed (nothing started); 14 a part could not start,
    most often for a port taken (see <dir>/logs/); 130 Ctrl-C.
    """
    from generator.loader import load_spec
    from runtime.stack import StackError
    from runtime.stack import up as start

    spec = load_spec(spec_dir)
    _loop_settings(spec, None, spec_dir)  # a bad configs/bridge.yaml: exit 2 before anything starts
    _served(spec, (), without)  # an unknown service: exit 2 before anything starts
    left_out = tuple(dict.fromkeys(without))
    refusal = _refusal(state_dir.resolve())
    if refusal is not None:
        click.echo(f"error: {refusal}", err=True)
        sys.exit(ExitCode.USAGE)
    try:
        record = start(spec, spec_dir, state_dir.resolve(), free_ports, click.echo, speed_up, left_out)
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
    services = ports["services"]
    assert isinstance(services, dict)
    for name in left_out:
        click.echo(f"left out      {name} (port {services[name]}): `obsgen component start {name}` serves it")
    click.echo(f"obsgen: sandbox up; `obsgen down --dir {state_dir}` stops it.")


@click.command()
@STATE_OPTION
@session_env_option()
def down(state_dir: Path, session: SessionEnv | None) -> None:
    """Stop every process `obsgen up` started, and every runtime component (`obsgen component
    start`) recorded in <dir>/components/ (with --env: in its OBSGEN_RUN_DIR): SIGTERM, then
    SIGKILL after 10 s.

    \b
    Exit codes: 0 stopped, 1 neither a stack nor a component recorded.
    """
    from runtime.components import stop as stop_components
    from runtime.stack import STATE
    from runtime.stack import down as stop

    state = state_dir.resolve()
    run_dir = session.run_dir if session else state / "components"
    stopped = stop_components(run_dir, (), click.echo)
    if (state / STATE).exists():
        stop(state, click.echo)
        click.echo("obsgen: sandbox down.")
    elif stopped:
        click.echo(f"obsgen: {len(stopped)} component(s) stopped; no stack recorded in {state / STATE}.")
    else:
        click.echo(f"no stack recorded in {state / STATE}, and no component running in {run_dir}")
        sys.exit(ExitCode.CHECK_FAILED)


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


BENCH_OUT = Path("out/bench_bridge.log")
BRIDGE_CONFIG = Path("configs/bridge.yaml")


@click.group()
def bench() -> None:
    """Benchmarks of the runtime under load (the seed's bench before autotune)."""


@bench.command("bridge")
@spec_dir_option()
@click.option(
    "--seconds", type=click.IntRange(min=1), default=900, show_default=True, help="How long to measure."
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=BRIDGE_CONFIG,
    show_default=True,
    help="The bridge loop's gain / tick / guard (the spec's `loop:` when the file does not exist).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=BENCH_OUT,
    show_default=True,
    help="The log to write (`key: value` lines; `obsgen autotune bridge` reads it).",
)
def bench_bridge(spec_dir: Path, seconds: int, config: Path, out: Path) -> None:
    """Measure the bridge loop's tick jitter while 8 scrapers scrape its exporter.

    Starts the spec's runtime in-process on free loopback ports with --config's settings, waits
    1 s, then scrapes the bridge exporter with 8 concurrent cold scrapers for --seconds while
    recording every tick's lateness. Writes tick jitter p50/p95/p99 (and max), scrape p95,
    ticks measured, the largest correction the loop asked for and the config used to --out,
    and prints it. Seed budgets: tick jitter p95 <= 25 ms, scrape p95 <= 150 ms.

    \b
    Exit codes: 0 written (whether or not the budgets were met), 2 invalid spec or config,
    3 the log could not be written, 14 the runtime could not bind its ports.
    """
    from generator.loader import load_spec
    from runtime.app import PortInUse
    from runtime.bench import bench_bridge as measure

    spec = load_spec(spec_dir)
    settings = _bridge_settings(spec, config if config.is_file() else None)
    source = str(config) if config.is_file() else f"the spec's loop: ({spec_dir})"
    click.echo(f"bench: {_settings_text(settings)} ({source}); {seconds} s")
    try:
        log = measure(spec, settings, seconds)
    except PortInUse as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.PORT_IN_USE)
    text = log.text(source)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {out}: {exc.strerror or exc}", err=True)
        sys.exit(ExitCode.WRITE_FAILED)
    click.echo(text, nl=False)
    click.echo(f"written {out}")


@click.group()
def autotune() -> None:
    """Tune the runtime's loops from a bench (the seed's `make autotune.bridge`)."""


@autotune.command("bridge")
@spec_dir_option()
@click.option(
    "--bench",
    "bench_log",
    type=click.Path(path_type=Path, dir_okay=False),
    default=BENCH_OUT,
    show_default=True,
    help="The log of the last `obsgen bench bridge`.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=BRIDGE_CONFIG,
    show_default=True,
    help="The bridge config to rewrite (comments and order are kept).",
)
@click.option("--dry-run", is_flag=True, help="Print the decision; do not write the config.")
def autotune_bridge(spec_dir: Path, bench_log: Path, config: Path, dry_run: bool) -> None:
    """Choose gain / tick / guard that bring tick jitter p95 under the 25 ms budget with margin.

    \b
    The rule, from the bench's p95 tick jitter and the config the bench ran with:
    - p95 >= 80% of the budget (20 ms): lengthen the tick so that p95 is at most
      20% of it (rounded up to 5 ms, at most 1s);
    - p95 < 40% of the budget (10 ms) and the tick longer than the spec's `loop:`
      tick: step back toward the spec's tick, no shorter than p95 / 20%;
    - otherwise keep the tick.
    A tick changed by a factor k takes gain x k (the same time constant, tick / gain;
    gain stays <= 1) and guard x k (the same largest slew rate, guard / tick); guard
    never drops below the largest correction the loop asked for during the bench.

    Writes the values into --config in place, keeping its comments and order, and prints
    before and after. The flow: `make bench.bridge`, `make autotune.bridge`, then
    `make bench.bridge` again to confirm.

    \b
    Exit codes: 0 decided (and written), 2 invalid spec, config, or a bench log missing or
    unparsable, 3 the config could not be written.
    """
    from generator.loader import load_spec
    from runtime.autotune import tuned, write_settings
    from runtime.bench import BenchLog

    spec = load_spec(spec_dir)
    if not config.is_file():
        click.echo(f"error: {config}: no such file; create it (see configs/bridge.yaml)", err=True)
        sys.exit(ExitCode.USAGE)
    current = _bridge_settings(spec, config)
    try:
        log = BenchLog.read(bench_log)
    except SpecError as exc:
        _config_refused(exc, "bench log")
    design = _bridge_settings(spec, None)
    tuning = tuned(log, design.tick_ms)
    _print_tuning(log, current, tuning.after, tuning.reason, tuning.notes)
    if tuning.after == current:
        click.echo(f"{config} already holds these values; nothing written")
        return
    if dry_run:
        return
    try:
        write_settings(config, tuning.after)
    except OSError as exc:
        click.echo(f"error: cannot write {config}: {exc.strerror or exc}", err=True)
        sys.exit(ExitCode.WRITE_FAILED)
    except SpecError as exc:
        _config_refused(exc, "bridge config")
    click.echo(f"written {config}")


def _settings_text(settings: LoopSettings) -> str:
    return f"gain {settings.gain:g}, tick {settings.tick}, guard {settings.guard:g}"


def _print_tuning(
    log: BenchLog, current: LoopSettings, after: LoopSettings, reason: str, notes: list[str]
) -> None:
    click.echo(
        f"bench: tick jitter p95 {log.jitter_p95_ms:.2f} ms over {log.ticks} ticks "
        f"(budget 25 ms), run with {_settings_text(log.settings)}"
    )
    if current != log.settings:
        click.echo("note: the config changed since that bench; the rule starts from the bench's settings")
    click.echo(f"rule: {reason}")
    for note in notes:
        click.echo(f"note: {note}")
    click.echo(f"{'':6}{'before':>10}{'after':>10}")
    click.echo(f"{'gain':6}{current.gain:>10g}{after.gain:>10g}")
    click.echo(f"{'tick':6}{current.tick:>10}{after.tick:>10}")
    click.echo(f"{'guard':6}{current.guard:>10g}{after.guard:>10g}")
