"""Runtime components: one service of the spec served by its own `obsgen run --service NAME`
process in the background (the seed's `make ure.sync` and `make bridge.adaptive.start`).

Each is tracked by `<run dir>/<name>.pid` (the pid, for `kill $(cat …)`) and `<name>.json` (its
ports and log), and logs to `<name>.log`. A component runs in its own session, so stopping it
(SIGTERM to its process group, SIGKILL after a grace period) stops all of it. A record whose
process is gone, or whose pid now belongs to another program, is stale and is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from generator.atomic import write_file_atomically
from generator.exit_codes import ExitCode
from generator.live.http_client import status_of
from generator.model import Spec
from runtime.ports import free_port, port_free
from runtime.stack import Child, stop_children

READY_WITHIN = 20.0
"""seconds a new component has to answer on its port"""


class ComponentError(RuntimeError):
    def __init__(self, message: str, code: ExitCode = ExitCode.CHECK_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Plan:
    """Where and how a component runs."""

    spec_dir: Path
    port: int
    state_db: Path
    snapshot_dir: Path
    run_dir: Path
    time_scale: float = 1.0
    listen: str = "127.0.0.1"


@dataclass(frozen=True)
class Component:
    name: str
    pid: int
    listen: str
    port: int
    path: str
    """the exporter's metrics path"""
    control_port: int
    log: str

    @property
    def base_url(self) -> str:
        return f"http://{self.listen}:{self.port}"


def pid_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.pid"


def record_file(run_dir: Path, name: str) -> Path:
    return run_dir / f"{name}.json"


def argv(spec_dir: Path, name: str, plan: Plan, control_port: int) -> list[str]:
    """The `obsgen run` command line serving only `name`."""
    command = [sys.executable, "-m", "generator", "run", "--spec", str(spec_dir), "--service", name]
    command += ["--listen", plan.listen, "--port", f"{name}={plan.port}", "--control-port", str(control_port)]
    command += ["--state-db", str(plan.state_db), "--snapshot-dir", str(plan.snapshot_dir)]
    command += ["--time-scale", f"{plan.time_scale:g}", "--textfile-dir", str(plan.run_dir / "textfile")]
    return command


def is_component(pid: int, name: str) -> bool:
    """Whether `pid` is alive and is the `obsgen run --service name` we started (not a reused pid)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"run" in words and any(
        a == b"--service" and b == name.encode() for a, b in itertools.pairwise(words)
    )


def read_record(run_dir: Path, name: str) -> Component | None:
    try:
        return Component(**json.loads(record_file(run_dir, name).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def forget(run_dir: Path, name: str) -> None:
    pid_file(run_dir, name).unlink(missing_ok=True)
    record_file(run_dir, name).unlink(missing_ok=True)


def running(run_dir: Path) -> list[Component]:
    """The components recorded in `run_dir` that are alive; stale records are removed."""
    alive = []
    for path in sorted(run_dir.glob("*.json")) if run_dir.is_dir() else []:
        component = read_record(run_dir, path.stem)
        if component is not None and is_component(component.pid, component.name):
            alive.append(component)
        else:
            forget(run_dir, path.stem)
    return alive


def start(spec: Spec, name: str, plan: Plan, report: Callable[[str], None]) -> Component:
    """Start component `name` (or find it running) and wait until its exporter answers."""
    service = next((s for s in spec.scraped_services if s.service == name), None)
    if service is None or service.scrape is None:
        known = ", ".join(s.service for s in spec.scraped_services)
        raise ComponentError(f"no scraped service {name!r} in the spec (known: {known})", ExitCode.USAGE)
    plan.run_dir.mkdir(parents=True, exist_ok=True)
    with starting(plan.run_dir, name):
        current = next((c for c in running(plan.run_dir) if c.name == name), None)
        if current is not None:
            report(f"{name} is already running (pid {current.pid}) on {current.base_url}{current.path}")
            return current
        if not port_free(plan.listen, plan.port):
            raise ComponentError(
                f"port {plan.port} ({name}) on {plan.listen} is taken by another process; nothing started",
                ExitCode.PORT_IN_USE,
            )
        component = _spawn(name, plan, service.scrape.path)
    report(
        f"{name} started (pid {component.pid}) on {component.base_url}{component.path}; log {component.log}"
    )
    return component


@contextlib.contextmanager
def starting(run_dir: Path, name: str) -> Iterator[None]:
    """Held while `name` is checked, started and recorded: two `start`s at once never both spawn."""
    with open(run_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _spawn(name: str, plan: Plan, path: str) -> Component:
    log = plan.run_dir / f"{name}.log"
    control = free_port()
    with open(log, "ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} obsgen component start {name}\n".encode())
        out.flush()
        process = subprocess.Popen(
            argv(plan.spec_dir, name, plan, control),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    component = Component(name, process.pid, plan.listen, plan.port, path, control, str(log))
    write_file_atomically(pid_file(plan.run_dir, name), f"{process.pid}\n")
    write_file_atomically(record_file(plan.run_dir, name), json.dumps(asdict(component), indent=2) + "\n")
    _wait_serving(component, process)
    return component


def _wait_serving(component: Component, process: subprocess.Popen[bytes]) -> None:
    """Until /readyz answers (200, or 503 in a not-ready state): the exporter is serving."""
    deadline = time.monotonic() + READY_WITHIN
    while status_of(f"{component.base_url}/readyz", timeout=1) == 0 or process.poll() is not None:
        if process.poll() is not None:
            forget(Path(component.log).parent, component.name)
            raise ComponentError(
                f"{component.name} exited with code {process.returncode} while starting:\n"
                + _tail(Path(component.log)),
                ExitCode.PORT_IN_USE,
            )
        if time.monotonic() > deadline:
            stop_children([_child(component)], lambda _: None)
            forget(Path(component.log).parent, component.name)
            raise ComponentError(
                f"{component.name} did not answer on port {component.port} within {READY_WITHIN:g} s; "
                f"stopped (log {component.log})",
                ExitCode.PORT_IN_USE,
            )
        time.sleep(0.1)


def _tail(log: Path, lines: int = 8) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "  (no log)"
    return "\n".join(f"  {line}" for line in text.splitlines()[-lines:])


def _child(component: Component) -> Child:
    return Child(component.name, component.pid, f"{component.base_url}/readyz")


def stop(run_dir: Path, names: tuple[str, ...], report: Callable[[str], None]) -> list[str]:
    """Stop the named running components (all when `names` is empty); their names, stopped."""
    chosen = [c for c in running(run_dir) if not names or c.name in names]
    stop_children([_child(c) for c in chosen], report)
    for component in chosen:
        forget(run_dir, component.name)
    return [c.name for c in chosen]


def holder(run_dir: Path, port: int) -> Component | None:
    """The running component listening on `port`, if one is."""
    return next((c for c in running(run_dir) if c.port == port), None)
