"""The seed's session restore (§1): the sanity check before the runtime components start again,
and where a component runs, from the session env or from the sandbox.

`restore_checks` runs every check even after one failed, so one run names everything to fix:
the env against the spec, the components' ports, generated/ up to date, the newest snapshot
whole, promtool and amtool installed, and every secret file present with mode 0600.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from generator.alertmanager import secret_variables
from generator.live.session_env import SessionEnv, port_variable
from generator.model import Spec
from runtime.components import Plan, holder
from runtime.dr import DRError, check_snapshot, snapshots
from runtime.ports import port_free
from runtime.stack import STATE


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def render_checks(title: str, checks: list[Check]) -> list[str]:
    """A title, one line per check, and a last line beginning with [OK] or [FAIL]."""
    width = max((len(c.name) for c in checks), default=0)
    lines = [title]
    lines += [f"  {'ok  ' if c.ok else 'FAIL'}  {c.name:<{width}}  {c.detail}" for c in checks]
    failed = [c.name for c in checks if not c.ok]
    if failed:
        lines.append(
            f"[FAIL] {len(failed)} of {len(checks)} check(s) failed: {', '.join(dict.fromkeys(failed))}"
        )
    else:
        lines.append(f"[OK] all {len(checks)} check(s) passed")
    return lines


def session_plan(session: SessionEnv, name: str) -> Plan:
    return Plan(
        spec_dir=session.spec_dir,
        port=session.ports[name],
        state_db=session.state_db,
        snapshot_dir=session.snapshot_dir,
        run_dir=session.run_dir,
        time_scale=session.time_scale,
        listen=session.listen,
    )


def sandbox_plan(spec: Spec, spec_dir: Path, state: Path, name: str) -> Plan:
    """A component beside the sandbox in `state` (`obsgen up --without NAME`): the port and
    speed-up `up` recorded, the sandbox's state database; the spec's port when no stack runs."""
    record: dict[str, object] = {}
    with contextlib.suppress(OSError, ValueError):
        record = json.loads((state / STATE).read_text())
    ports = record.get("ports", {})
    services = ports.get("services", {}) if isinstance(ports, dict) else {}
    service = next(s for s in spec.scraped_services if s.service == name)
    assert service.scrape is not None
    speed = record.get("speed_up", 1)
    return Plan(
        spec_dir=spec_dir,
        port=int(services.get(name, service.scrape.port)),
        state_db=state / "runtime.sqlite",
        snapshot_dir=state / "backups",
        run_dir=state / "components",
        time_scale=float(speed) if isinstance(speed, int | float) else 1.0,
    )


def restore_checks(session: SessionEnv, spec: Spec, generated: Path) -> list[Check]:
    return [
        env_check(session, spec),
        *port_checks(session),
        generated_check(spec, generated),
        snapshot_check(session),
        tools_check(),
        *secret_checks(session, spec),
    ]


def env_check(session: SessionEnv, spec: Spec) -> Check:
    """Every component a scraped service of the spec, in the realm the env names."""
    scraped = {s.service: s for s in spec.scraped_services}
    problems = []
    for name in session.components:
        service = scraped.get(name)
        if service is None:
            problems.append(f"{name} is not a scraped service of {session.spec_dir}")
        elif service.realm is not None and service.realm != session.realm:
            problems.append(f"{name}'s realm is {service.realm!r}, METRIC_REALM is {session.realm!r}")
    if spec.alertmanager is not None:
        problems += [
            f"{session.where(name)}: holds a receiver's secret; it belongs in its file (obsgen secrets write)"
            for name in secret_variables(spec.alertmanager)
            if name in session.lines
        ]
    if problems:
        return Check("env", False, f"{session.where('OBSGEN_COMPONENTS')}: {'; '.join(problems)}")
    listed = ", ".join(f"{n} ({port_variable(n)}={session.ports[n]})" for n in session.components)
    return Check("env", True, f"{session.file}: realm {session.realm}, components {listed}")


def port_checks(session: SessionEnv) -> list[Check]:
    """Each component's port free, or held by that component itself (restore is idempotent)."""
    checks = []
    for name in session.components:
        port = session.ports[name]
        owner = holder(session.run_dir, port)
        if owner is not None and owner.name == name:
            checks.append(
                Check("ports", True, f"{port} ({name}) is held by our component {name} (pid {owner.pid})")
            )
        elif owner is not None:
            checks.append(Check("ports", False, f"{port} ({name}) is held by our component {owner.name}"))
        elif not port_free(session.listen, port):
            checks.append(
                Check(
                    "ports",
                    False,
                    f"{port} ({name}) is taken by another process ({session.where(port_variable(name))})",
                )
            )
        else:
            checks.append(Check("ports", True, f"{port} ({name}) is free"))
    return checks


def generated_check(spec: Spec, generated: Path) -> Check:
    from generator.pipeline import render_outputs
    from generator.writer import diff_tree, with_marker

    outputs = with_marker(render_outputs(spec).outputs)
    diff = diff_tree(generated, outputs)
    if diff:
        changed = sum(1 for line in diff.splitlines() if line.startswith("+++ "))
        return Check("generated", False, f"{generated}/ is out of date ({changed} file(s)); run `make gen`")
    return Check("generated", True, f"{generated}/ is up to date ({len(outputs)} files)")


def snapshot_check(session: SessionEnv) -> Check:
    try:
        found = snapshots(session.snapshot_dir)
    except OSError as exc:
        return Check("snapshot", False, f"cannot read {session.snapshot_dir}: {exc.strerror or exc}")
    if not found:
        return Check(
            "snapshot",
            False,
            f"no snapshot in {session.snapshot_dir}: take one (obsgen dr backup --db {session.state_db} "
            f"--dir {session.snapshot_dir}); a first session has none: start the components "
            "(make ure.sync, make bridge.adaptive.start), they take one",
        )
    try:
        newest = check_snapshot(found[-1])
    except DRError as exc:
        return Check("snapshot", False, f"{found[-1]} fails its check: {exc}")
    age = f", {_age(time.time() - newest.taken_at)} old" if newest.taken_at is not None else ""
    return Check("snapshot", True, f"{newest.path.name}{age}, integrity_check ok")


def _age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def tools_check() -> Check:
    found = {tool: shutil.which(tool) for tool in ("promtool", "amtool")}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        return Check(
            "tools",
            False,
            f"{', '.join(missing)} not found on PATH (Debian: prometheus, prometheus-alertmanager)",
        )
    return Check("tools", True, ", ".join(f"{tool} {path}" for tool, path in found.items()))


def secret_files(session: SessionEnv, spec: Spec) -> list[Path]:
    """The receivers' secret files (`<secrets_dir>/<VARIABLE>`) and the Grafana token file."""
    files = []
    if spec.alertmanager is not None:
        directory = session.secrets_dir or Path(spec.alertmanager.secrets_dir)
        files += [directory / name for name in secret_variables(spec.alertmanager)]
    return [*files, session.grafana_token_file]


def secret_checks(session: SessionEnv, spec: Spec) -> list[Check]:
    checks = []
    for path in secret_files(session, spec):
        hint = (
            "write the token there" if path == session.grafana_token_file else "obsgen secrets write fills it"
        )
        problem = secret_file_problem(path, hint)
        mode = f"mode {stat.S_IMODE(path.stat().st_mode):04o}" if problem is None else ""
        checks.append(Check("secrets", problem is None, f"{path}: {problem or f'present, {mode}'}"))
    return checks


def secret_file_problem(path: Path, hint: str) -> str | None:
    """Why `path` cannot hold a secret, or None: missing, not a file, empty, or readable by
    group or others."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return f"missing ({hint})"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file"
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"mode {mode:04o}, readable by group or others: chmod 600 {path}"
    if info.st_size == 0:
        return "is empty"
    return None
