"""The local half of `obsgen reload`: promtool check config and check rules on this machine,
and the rule groups the checked files hold. Nothing here talks to Prometheus."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

from generator.exit_codes import ExitCode

Groups = dict[str, list[tuple[str, ...]]]
"""group name → the rule names (record or alert) of each group of that name, in file order"""


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


def describe(groups: Groups) -> str:
    rules = sum(len(names) for every in groups.values() for names in every)
    return f"{sum(len(every) for every in groups.values())} groups, {rules} rules"


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
