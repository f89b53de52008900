"""`obsgen reload`: the seed's reload_safe.

promtool check config → promtool check rules → read the reload state of the running Prometheus
→ POST /-/reload → verify the reload succeeded and the rule groups it serves are the ones on
disk. The chain stops at the first step that fails, and says which.

promtool checks files on this machine while Prometheus reloads the files on its own, so the
command is meant to run on the Prometheus host, with the configuration file Prometheus was
started with (`--config.file`). Step 3 warns when Prometheus names another file, and step 5
catches rule groups that differ from the ones checked.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TypeVar

from generator.exit_codes import ExitCode
from generator.live.http_client import Unreachable
from generator.live.reload_checks import Groups, StepFailed, check_config, check_rules, describe
from generator.live.reload_client import SUCCESS_TIMESTAMP, SUCCESSFUL, Lifecycle, Refused, ReloadState

Echo = Callable[[str], None]
T = TypeVar("T")


def group_differences(on_disk: Groups, loaded: Groups) -> list[str]:
    """What Prometheus serves that the files do not say, and the other way round; [] when equal."""
    lines = []
    for name in sorted(on_disk.keys() - loaded.keys()):
        lines.append(f"group {name}: on disk, not loaded")
    for name in sorted(loaded.keys() - on_disk.keys()):
        lines.append(f"group {name}: loaded, not on disk")
    for name in sorted(on_disk.keys() & loaded.keys()):
        disk, served = on_disk[name], loaded[name]
        if disk == served:
            continue
        if len(disk) != 1 or len(served) != 1:
            lines.append(f"group {name}: {len(disk)} such group(s) on disk, {len(served)} loaded")
            continue
        missing = Counter(disk[0]) - Counter(served[0])
        extra = Counter(served[0]) - Counter(disk[0])
        parts = [f"not loaded: {', '.join(sorted(missing.elements()))}"] if missing else []
        parts += [f"loaded, not on disk: {', '.join(sorted(extra.elements()))}"] if extra else []
        lines.append(f"group {name}: {'; '.join(parts) or 'the same rules in another order'}")
    return lines


def utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the steps


def read_state(prometheus: Lifecycle, config: Path) -> tuple[ReloadState, str]:
    state = prometheus.reload_state()
    if state.successful:
        detail = f"last reload successful, at {utc(state.timestamp)}"
    else:
        detail = f"the last reload FAILED; the last successful one was at {utc(state.timestamp)}"
    started_with = prometheus.config_file()
    if started_with is not None and not _same_file(started_with, config):
        detail += f"; warning: Prometheus was started with --config.file={started_with}, not {config}"
    return state, detail


def send_reload(prometheus: Lifecycle) -> tuple[None, str]:
    try:
        prometheus.reload()
    except Refused as exc:
        if exc.status in (403, 404):
            raise StepFailed(
                ExitCode.RELOAD_FAILED,
                f"the lifecycle API is off ({exc}): start Prometheus with --web.enable-lifecycle "
                "(or send it SIGHUP on its host)",
            ) from None
        if exc.status >= 500:
            raise StepFailed(
                ExitCode.RELOAD_FAILED,
                f"Prometheus failed the reload ({exc}); it keeps serving the previous configuration, "
                "its log says why",
            ) from None
        raise StepFailed(ExitCode.RELOAD_FAILED, f"Prometheus refused the reload ({exc})") from None
    return None, "POST /-/reload accepted"


def verify(prometheus: Lifecycle, before: ReloadState, on_disk: Groups) -> tuple[None, str]:
    after = prometheus.reload_state()
    if not after.successful:
        raise StepFailed(ExitCode.RELOAD_FAILED, f"{SUCCESSFUL} is 0: the reload failed; its log says why")
    if after.timestamp <= before.timestamp:
        raise StepFailed(
            ExitCode.RELOAD_FAILED,
            f"{SUCCESS_TIMESTAMP} did not advance (still {utc(after.timestamp)}): no reload happened",
        )
    loaded = prometheus.rule_groups()
    differences = group_differences(on_disk, loaded)
    if differences:
        raise StepFailed(
            ExitCode.RELOAD_FAILED,
            f"the rule groups Prometheus serves ({describe(loaded)}) are not those on disk "
            f"({describe(on_disk)}); is --config the file Prometheus reads?",
            differences,
        )
    return None, f"reload successful at {utc(after.timestamp)}; {describe(loaded)} served, as on disk"


def _same_file(started_with: str, config: Path) -> bool:
    """Whether Prometheus's --config.file may be `config`: a relative one (to Prometheus's own
    working directory, unknown here) only has to end with the same name."""
    path = Path(started_with)
    if not path.is_absolute():
        return path.name == config.name
    try:
        return path.resolve() == config.resolve()
    except OSError:
        return False


# ---------------------------------------------------------------- the chain


class _Stop(Exception):
    def __init__(self, code: ExitCode) -> None:
        super().__init__(code)
        self.code = code


class _Steps:
    """Runs the steps in order, one line each; the first failure prints why and stops the chain."""

    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.number = 0

    def __call__(self, name: str, action: Callable[[], tuple[T, str]]) -> T:
        self.number += 1
        label = f"  {self.number} {name.ljust(12)}"
        try:
            value, detail = action()
        except StepFailed as exc:
            self._failed(label, name, exc.code, exc.reason, exc.details)
        except Unreachable as exc:
            self._failed(label, name, ExitCode.UNREACHABLE, str(exc), ())
        self.echo(f"{label}  ok      {detail}")
        return value

    def _failed(self, label: str, name: str, code: ExitCode, reason: str, details: Sequence[str]) -> NoReturn:
        self.echo(f"{label}  FAILED  {reason}")
        for line in details:
            self.echo(f"      {line}")
        if code == ExitCode.CHECK_FAILED:
            self.echo(f"[NOT SENT] {name} failed; Prometheus was not asked to reload")
        elif code == ExitCode.UNREACHABLE:
            self.echo(f"[UNREACHABLE] {name} failed: Prometheus did not answer")
        elif name == "verify":
            self.echo("[FAILED] verify failed: Prometheus reloaded, but not into what was checked")
        else:
            self.echo(f"[FAILED] {name} failed: Prometheus did not reload")
        raise _Stop(code)


def reload_safe(
    prometheus: Lifecycle, promtool: str, config: Path, rules_dir: Path | None, echo: Echo
) -> ExitCode:
    """The five steps; the exit code (0, or that of the step that failed)."""
    echo(f"safe reload of Prometheus at {prometheus.url} with {config}")
    step = _Steps(echo)
    try:
        step("check config", lambda: check_config(promtool, config))
        on_disk = step("check rules", lambda: check_rules(promtool, config, rules_dir))
        before = step("read state", lambda: read_state(prometheus, config))
        step("reload", lambda: send_reload(prometheus))
        step("verify", lambda: verify(prometheus, before, on_disk))
    except _Stop as stop:
        return stop.code
    echo(f"[RELOADED] Prometheus at {prometheus.url} serves the checked configuration and rules")
    return ExitCode.OK
