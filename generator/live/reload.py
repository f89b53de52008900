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

import glob
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml

from generator.exit_codes import ExitCode
from generator.live.http_client import Unreachable
from generator.live.prom import Prometheus

RELOAD_TIMEOUT = 30.0
"""Prometheus answers POST /-/reload only once the reload is done, which takes longer than a query."""

SUCCESSFUL = "prometheus_config_last_reload_successful"
SUCCESS_TIMESTAMP = "prometheus_config_last_reload_success_timestamp_seconds"

Echo = Callable[[str], None]
Groups = dict[str, list[tuple[str, ...]]]
"""group name → the rule names (record or alert) of each group of that name, in file order"""
T = TypeVar("T")

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)")


class PromtoolMissing(RuntimeError):
    """promtool is not installed (Debian package prometheus)."""


class StepFailed(Exception):
    """A step failed: the exit code, why (one line) and details to print below it.

    CHECK_FAILED: promtool found a problem, or a file could not be read; nothing was sent to
    Prometheus. RELOAD_FAILED: Prometheus refused or failed the reload, or what it serves
    afterwards is not what was checked."""

    def __init__(self, code: ExitCode, reason: str, details: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.details = list(details)


class Refused(Exception):
    """Prometheus answered POST /-/reload with an HTTP error."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}" + (f": {body}" if body else ""))
        self.status = status
        self.body = body


@dataclass(frozen=True)
class ReloadState:
    successful: bool
    timestamp: float
    """of the last successful reload (or of the start), in Unix seconds"""


# ---------------------------------------------------------------- local files


def promtool_path() -> str:
    path = shutil.which("promtool")
    if path is None:
        raise PromtoolMissing("promtool not found: install the Debian package prometheus")
    return path


def run_promtool(promtool: str, *args: str | Path) -> tuple[int, str]:
    """promtool's exit code and its output, stdout and stderr interleaved as it printed them."""
    try:
        run = subprocess.run(
            [promtool, *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StepFailed(ExitCode.CHECK_FAILED, f"promtool could not run: {exc}") from None
    return run.returncode, run.stdout


def problems(output: str) -> list[str]:
    """promtool's output without its progress lines (`Checking …`, `SUCCESS: …`, blank)."""
    kept = []
    for line in output.splitlines():
        text = line.strip()
        if text and not text.startswith(("Checking ", "SUCCESS:")):
            kept.append(text)
    return kept or [line.strip() for line in output.splitlines() if line.strip()][-5:]


def listed_rule_files(config: Path) -> list[Path]:
    """The rule files `rule_files:` names, its globs resolved against the config's directory as
    Prometheus resolves them (Go's filepath.Glob also matches names that begin with a dot)."""
    try:
        loaded = yaml.safe_load(config.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise StepFailed(ExitCode.CHECK_FAILED, f"cannot read the rule files of {config}: {exc}") from None
    patterns = (loaded.get("rule_files") or []) if isinstance(loaded, dict) else []
    found: set[Path] = set()
    for pattern in patterns:
        found.update(Path(p) for p in glob.glob(str(config.parent / str(pattern)), include_hidden=True))
    return sorted(found)


def dir_rule_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())


def groups_in_files(files: Iterable[Path]) -> Groups:
    groups: Groups = {}
    for path in files:
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
            for group in loaded.get("groups") or []:
                names = tuple(
                    str(rule.get("record") or rule.get("alert")) for rule in group.get("rules") or []
                )
                groups.setdefault(str(group["name"]), []).append(names)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, KeyError, TypeError) as exc:
            raise StepFailed(ExitCode.CHECK_FAILED, f"cannot read the rule groups of {path}: {exc}") from None
    return {name: sorted(rules) for name, rules in groups.items()}


def groups_in_answer(answer: Any) -> Groups:
    """The groups of a /api/v1/rules answer; raises ValueError when it holds none."""
    if not isinstance(answer, dict) or answer.get("status") != "success":
        raise ValueError("the answer has no status success")
    groups: Groups = {}
    try:
        for group in answer["data"]["groups"]:
            names = tuple(str(rule["name"]) for rule in group.get("rules") or [])
            groups.setdefault(str(group["name"]), []).append(names)
    except (KeyError, TypeError, AttributeError):
        raise ValueError("the answer holds a malformed group") from None
    return {name: sorted(rules) for name, rules in groups.items()}


def describe(groups: Groups) -> str:
    rules = sum(len(names) for every in groups.values() for names in every)
    return f"{sum(len(every) for every in groups.values())} groups, {rules} rules"


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


def parse_reload_state(exposition: str) -> ReloadState | None:
    """The two reload metrics from Prometheus's own /metrics; None when either is missing."""
    values: dict[str, float] = {}
    for line in exposition.splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(1) in (SUCCESSFUL, SUCCESS_TIMESTAMP):
            try:
                values[match.group(1)] = float(match.group(2))
            except ValueError:
                return None
    if SUCCESSFUL not in values or SUCCESS_TIMESTAMP not in values:
        return None
    return ReloadState(values[SUCCESSFUL] == 1, values[SUCCESS_TIMESTAMP])


def utc(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------- the running Prometheus


class Lifecycle(Prometheus):
    """The client of prom.py, plus what a reload needs: /metrics, /-/reload and /api/v1/rules."""

    def reload_state(self) -> ReloadState:
        body = self.call("GET", "/metrics", accept="text/plain")
        state = parse_reload_state(body.decode("utf-8", errors="replace"))
        if state is None:
            raise self.fail(f"its /metrics has no {SUCCESSFUL}; is this a Prometheus server?")
        return state

    def config_file(self) -> str | None:
        """--config.file as Prometheus was started with it; None when it does not say."""
        try:
            answer = json.loads(self.call("GET", "/api/v1/status/flags"))
            return str(answer["data"]["config.file"])
        except (Unreachable, ValueError, KeyError, TypeError):
            return None

    def rule_groups(self) -> Groups:
        body = self.call("GET", "/api/v1/rules")
        try:
            return groups_in_answer(json.loads(body))
        except ValueError as exc:
            raise self.fail(f"/api/v1/rules: {exc}") from None

    def reload(self) -> None:
        """POST /-/reload; raises Refused on an HTTP error, Unreachable when there is no answer."""
        timeout = max(self.timeout, RELOAD_TIMEOUT)
        try:
            response = self.request("POST", "/-/reload", b"", accept="*/*", timeout=timeout)
        except Unreachable as exc:
            if exc.timed_out:
                raise self.fail(
                    f"no answer within {timeout:g}s (the reload may still be under way)"
                ) from None
            raise
        if not response.ok:
            body = response.body.decode("utf-8", errors="replace").strip()
            raise Refused(response.status, " ".join(body.split())[:500])


# ---------------------------------------------------------------- the steps


def check_config(promtool: str, config: Path) -> tuple[None, str]:
    code, output = run_promtool(promtool, "check", "config", config)
    if code != 0:
        raise StepFailed(ExitCode.CHECK_FAILED, f"promtool check config exited {code}", problems(output))
    found = re.search(r"SUCCESS: (\d+) rule files found", output)
    return None, f"{config} is valid" + (f", with {found.group(1)} rule files" if found else "")


def check_rules(promtool: str, config: Path, rules_dir: Path | None) -> tuple[Groups, str]:
    """promtool check rules on the rule files (those of --rules-dir, else those the config lists),
    with lint errors fatal; then the groups they hold, for step 5 to compare."""
    files = dir_rule_files(rules_dir) if rules_dir is not None else listed_rule_files(config)
    if not files:
        return {}, "no rule files"
    code, output = run_promtool(promtool, "check", "rules", "--lint-fatal", *files)
    if code != 0:
        raise StepFailed(ExitCode.CHECK_FAILED, f"promtool check rules exited {code}", problems(output))
    groups = groups_in_files(files)
    return groups, f"{len(files)} files, {describe(groups)}"


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
