"""`obsgen up` / `obsgen down`: the runtime, Prometheus, Alertmanager, node_exporter and
blackbox_exporter on loopback, with all state in one directory and every child tracked.

Each child runs in its own session (so a Ctrl-C meant for `up` does not half-kill the stack)
and is listed in `<dir>/state.json`; `down`, or a failure or Ctrl-C during `up`, stops every
one of them: SIGTERM to its process group, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import yaml

from generator.alertmanager import secret_variables
from generator.atomic import write_file_atomically
from generator.durations import compressed_time, duration_value
from generator.live.http_client import Unreachable, status_of
from generator.live.prom import Prometheus
from generator.model import Spec
from generator.render import to_yaml
from runtime.ports import free_port
from runtime.sandbox_config import Ports, default_speed_up, sandbox_files

STATE = "state.json"
BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "node_exporter": "prometheus-node-exporter",
    "blackbox": "prometheus-blackbox-exporter",
}


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Child:
    name: str
    pid: int
    url: str
    """where it answers when ready"""


def _port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1].split("/")[0])


def choose_ports(spec: Spec, free: bool) -> Ports:
    """The spec's own ports (the seed's 9305/9306/…), or free ones picked now (for tests)."""
    settings = spec.settings
    if free:
        services = {s.service: free_port() for s in spec.scraped_services}
        return Ports(services, *(free_port() for _ in range(6)))
    return Ports(
        {s.service: s.scrape.port for s in spec.scraped_services if s.scrape},
        prometheus=_port_of(settings.prometheus_url),
        alertmanager=_port_of(settings.alertmanagers[0]),
        node_exporter=_port_of(settings.node_exporter),
        blackbox=_port_of(settings.blackbox_exporter),
        control=9399,
        sink=9395,
    )


def binary(name: str) -> str:
    path = shutil.which(BINARIES[name])
    if path is None:
        raise StackError(f"{BINARIES[name]} is not installed (`make test` installs the Debian packages)")
    return path


def scaled_flag(flag: str, nominal_seconds: int, speed_up: float) -> str:
    """`--flag=<duration>`, a nominal default compressed like the compiled files."""
    with compressed_time(Fraction(speed_up)):
        return f"{flag}={duration_value(nominal_seconds)}"


def commands(
    spec_dir: Path, state: Path, ports: Ports, speed_up: float, without: tuple[str, ...] = ()
) -> dict[str, tuple[list[str], str]]:
    """name → (argv, readiness URL)."""
    local = "127.0.0.1"
    runtime = [sys.executable, "-m", "generator", "run", "--spec", str(spec_dir), "--listen", local]
    runtime += [arg for name, port in ports.services.items() for arg in ("--port", f"{name}={port}")]
    runtime += [arg for name in without for arg in ("--without", name)]
    runtime += ["--control-port", str(ports.control), "--textfile-dir", str(state / "textfile")]
    runtime += ["--time-scale", f"{speed_up:g}", "--sink-port", str(ports.sink)]
    runtime += ["--sink-log", str(state / "notifications.jsonl"), "--state-db", str(state / "runtime.sqlite")]
    return {
        "runtime": (runtime, f"http://{local}:{ports.control}/scenario"),
        "node_exporter": (
            [
                binary("node_exporter"),
                f"--web.listen-address={local}:{ports.node_exporter}",
                "--collector.disable-defaults",
                "--collector.textfile",
                f"--collector.textfile.directory={state / 'textfile'}",
            ],
            f"http://{local}:{ports.node_exporter}/metrics",
        ),
        "blackbox": (
            [
                binary("blackbox"),
                f"--web.listen-address={local}:{ports.blackbox}",
                f"--config.file={state / 'generated/blackbox/blackbox.yml'}",
            ],
            f"http://{local}:{ports.blackbox}/metrics",
        ),
        "alertmanager": (
            [
                binary("alertmanager"),
                f"--config.file={state / 'generated/alertmanager/alertmanager.yml'}",
                f"--storage.path={state / 'alertmanager-data'}",
                f"--web.listen-address={local}:{ports.alertmanager}",
                "--cluster.listen-address=",
            ],
            f"http://{local}:{ports.alertmanager}/-/ready",
        ),
        "prometheus": (
            [
                binary("prometheus"),
                f"--config.file={state / 'generated/prometheus/prometheus.yml'}",
                f"--storage.tsdb.path={state / 'prometheus-data'}",
                f"--web.listen-address={local}:{ports.prometheus}",
                "--web.enable-lifecycle",
                # Prometheus's own defaults, compressed like the rules.
                scaled_flag("--rules.alert.resend-delay", 60, speed_up),
                scaled_flag("--rules.alert.for-grace-period", 600, speed_up),
                scaled_flag("--rules.alert.for-outage-tolerance", 3600, speed_up),
                scaled_flag("--query.lookback-delta", 300, speed_up),
            ],
            f"http://{local}:{ports.prometheus}/-/ready",
        ),
    }


def write_sandbox_files(state: Path, files: dict[str, str]) -> None:
    """The sandbox's configuration into `<state>/generated/`, file by file, each atomically;
    files already there and not in `files` stay (`--dir` is the stack's, not a generated tree)."""
    for relative, text in files.items():
        path = state / "generated" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(path, text)


def write_sink_secrets(spec: Spec, secrets: Path, sink_port: int) -> None:
    """Every receiver secret points at the sink: Slack webhooks become sink URLs."""
    if spec.alertmanager is None:
        return
    from generator.secrets import write_secrets

    sink = f"http://127.0.0.1:{sink_port}"
    values = {}
    for variable in secret_variables(spec.alertmanager):
        if "SLACK" in variable:
            values[variable] = f"{sink}/slack/{variable.lower()}"
        elif "PAGERDUTY" in variable:
            values[variable] = "0123456789abcdef0123456789abcdef"
        else:
            values[variable] = "sandbox-token"
    secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_secrets(secrets, values)


PROMETHEUS_YML = "prometheus/prometheus.yml"


def _with_rules(config: str, rule_files: list[str]) -> str:
    document = yaml.safe_load(config)
    document["rule_files"] = rule_files
    return to_yaml(document)


def _signal_files(files: dict[str, str]) -> list[str]:
    """The rule files that read only scraped metrics: one per service (no dot in the stem)."""
    rules = [Path(p) for p in files if p.startswith("prometheus/rules/")]
    return sorted(f"rules/{p.name}" for p in rules if "." not in p.stem)


def _groups(files: dict[str, str], paths: list[str]) -> int:
    return sum(len(yaml.safe_load(files[path])["groups"]) for path in paths)


def _reload(prometheus: Prometheus, deadline: float, groups_expected: int) -> None:
    prometheus.call("POST", "/-/reload", accept="*/*", timeout=30)
    never = "0001-01-01T00:00:00Z"
    while True:
        groups = prometheus.get_json("/api/v1/rules")["data"]["groups"]
        if len(groups) >= groups_expected and all(g.get("lastEvaluation", never) != never for g in groups):
            return
        if time.monotonic() > deadline:
            raise StackError("Prometheus did not load and evaluate the rules in time")
        time.sleep(0.1)


def load_rules_in_stages(
    state: Path, files: dict[str, str], port: int, deadline: float, absent: frozenset[str] = frozenset()
) -> None:
    """Rules go in once every target has been scraped, signals before the SLOs and gates that
    read them, so no first evaluation finds its input missing: time-slice SLOs count missing
    data as bad, and in a sandbox seconds old a single bad slice burns the whole budget. Jobs
    in `absent` (services left to components not started yet) are not waited for."""
    prometheus = Prometheus(f"http://127.0.0.1:{port}", timeout=2)
    try:
        _load_rules_in_stages(state, files, prometheus, deadline, absent)
    except Unreachable as exc:
        raise StackError(str(exc)) from None


def _load_rules_in_stages(
    state: Path, files: dict[str, str], prometheus: Prometheus, deadline: float, absent: frozenset[str]
) -> None:
    while True:
        targets = prometheus.get_json("/api/v1/targets")["data"]["activeTargets"]
        targets = [t for t in targets if t["labels"].get("job") not in absent]
        if targets and all(t["health"] == "up" for t in targets):
            break
        if time.monotonic() > deadline:
            down = ", ".join(sorted({t["labels"]["job"] for t in targets if t["health"] != "up"}))
            raise StackError(f"targets not up in time: {down or 'none discovered'}")
        time.sleep(0.1)
    config_path = state / "generated" / PROMETHEUS_YML
    signal_files = _signal_files(files)
    write_file_atomically(config_path, _with_rules(files[PROMETHEUS_YML], signal_files))
    _reload(
        prometheus,
        deadline,
        sum(len(yaml.safe_load(files[f"prometheus/{f}"])["groups"]) for f in signal_files),
    )
    write_file_atomically(config_path, files[PROMETHEUS_YML])
    every = [f for f in files if f.startswith("prometheus/rules/")]
    _reload(prometheus, deadline, sum(len(yaml.safe_load(files[f])["groups"]) for f in every))


def _ready(url: str) -> bool:
    return 200 <= status_of(url, timeout=1) < 300


def wait_ready(children: list[Child], alive: Callable[[Child], bool], deadline: float) -> None:
    pending = list(children)
    while pending:
        for child in list(pending):
            if not alive(child):
                raise StackError(f"{child.name} exited while starting; see its log")
            if _ready(child.url):
                pending.remove(child)
        if pending and time.monotonic() > deadline:
            raise StackError(f"not ready in time: {', '.join(c.name for c in pending)}")
        time.sleep(0.1)


def up(
    spec: Spec,
    spec_dir: Path,
    state: Path,
    free: bool,
    report: Callable[[str], None],
    speed_up: float | None = None,
    without: tuple[str, ...] = (),
) -> dict[str, object]:
    """Start everything `speed_up` times faster than the spec (default: its evaluation interval
    in seconds), the runtime serving every service but those `without` (run as components); on
    any failure (or Ctrl-C) stop what was started and re-raise."""
    if (state / STATE).exists():
        raise StackError(
            f"a stack is already recorded in {state / STATE}; run `obsgen down --dir {state}` first"
        )
    ports = choose_ports(spec, free)
    speed = _plain(speed_up if speed_up is not None else default_speed_up(spec))
    for sub in ("textfile", "logs", "prometheus-data", "alertmanager-data"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "notifications.jsonl").unlink(missing_ok=True)
    write_sink_secrets(spec, state / "secrets", ports.sink)
    files = sandbox_files(spec, ports, state / "secrets", speed)
    write_sandbox_files(state, {**files, PROMETHEUS_YML: _with_rules(files[PROMETHEUS_YML], [])})
    children: list[Child] = []
    processes: dict[int, subprocess.Popen[bytes]] = {}
    try:
        for name, (argv, url) in commands(spec_dir, state, ports, speed, without).items():
            # Ctrl-C waits until the child is on the list, so it is never started and forgotten.
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            try:
                with open(state / "logs" / f"{name}.log", "wb") as log:
                    process = subprocess.Popen(
                        argv,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                        preexec_fn=_unblock_signals,  # the mask is inherited: SIGTERM must work
                    )
                processes[process.pid] = process
                children.append(Child(name, process.pid, url))
                _record(state, ports, children, speed, without)
            finally:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        wait_ready(children, lambda c: processes[c.pid].poll() is None, time.monotonic() + 30)
        absent = frozenset(s.job for s in spec.scraped_services if s.service in without)
        load_rules_in_stages(state, files, ports.prometheus, time.monotonic() + 30, absent)
    except BaseException:
        stop_children(children, report)
        (state / STATE).unlink(missing_ok=True)
        raise
    for child in children:
        report(f"{child.name:<14} pid {child.pid:<7} {child.url}")
    return _record(state, ports, children, speed, without)


def _unblock_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


def _plain(speed_up: float) -> float:
    """60.0 → 60, so state.json and the runtime's argv read as the user wrote it."""
    return int(speed_up) if speed_up == int(speed_up) else speed_up


def _record(
    state: Path, ports: Ports, children: list[Child], speed_up: float, without: tuple[str, ...]
) -> dict[str, object]:
    record: dict[str, object] = {
        "ports": asdict(ports),
        "speed_up": speed_up,
        "children": [asdict(c) for c in children],
        "without": list(without),
    }
    write_file_atomically(state / STATE, json.dumps(record, indent=2) + "\n")
    return record


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own exited child (a zombie)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_children(children: list[Child], report: Callable[[str], None], grace: float = 10) -> None:
    """SIGTERM every child's process group, newest first; SIGKILL what is left after `grace`."""
    for child in reversed(children):
        try:
            os.killpg(child.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    for child in reversed(children):
        while _alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(child.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            report(f"{child.name} (pid {child.pid}) did not stop in {grace:g}s: killed")
        else:
            report(f"{child.name} stopped")


def down(state: Path, report: Callable[[str], None]) -> bool:
    path = state / STATE
    if not path.exists():
        report(f"no stack recorded in {path}")
        return False
    record = json.loads(path.read_text())
    children = [Child(**c) for c in record["children"]]
    stop_children(children, report)
    path.unlink()
    return True
