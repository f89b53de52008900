"""Deploy-time secrets of the Alertmanager receivers: check each value, write it to a 0600 file.

The generated alertmanager.yml reads webhooks and keys from `<secrets_dir>/<VARIABLE>`
(`api_url_file`, `routing_key_file`, `credentials_file`); `obsgen secrets write` fills those
files from the environment. No message ever contains a value: a leaked Slack webhook posts to
the channel, a leaked routing key pages the on-call.
"""

from __future__ import annotations

import re
import stat
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from generator.alertmanager import secret_variables
from generator.atomic import fsync_path, write_file_atomically
from generator.model.alertmanager import AlertmanagerSpec

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PAGERDUTY_KEY = re.compile(r"[A-Za-z0-9]{32}")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


class Kind(StrEnum):
    SLACK_WEBHOOK = "Slack webhook URL"
    PAGERDUTY_KEY = "PagerDuty routing key"
    BEARER_TOKEN = "bearer token"


def slack_webhook_problem(value: str) -> str | None:
    """Why `value` cannot be a Slack webhook, or None. http is allowed for loopback hosts only
    (a local sink in tests); anything else would send the alert text in clear."""
    if _SPACE_OR_CONTROL.search(value):
        return "contains whitespace or control characters"
    try:
        parsed = urllib.parse.urlsplit(value)
        host = parsed.hostname
        _ = parsed.port
    except ValueError:
        return "is not a valid URL"
    if parsed.scheme == "http" and host in LOOPBACK_HOSTS:
        return None
    if parsed.scheme != "https":
        return "is not an https URL (http is accepted only for 127.0.0.1, localhost and ::1)"
    if not host:
        return "is an https URL without a host"
    return None


def pagerduty_key_problem(value: str) -> str | None:
    if PAGERDUTY_KEY.fullmatch(value):
        return None
    if len(value) != 32:
        return f"is not a PagerDuty routing key: expected 32 letters and digits, got {len(value)} characters"
    return "is not a PagerDuty routing key: expected only letters and digits"


def bearer_token_problem(value: str) -> str | None:
    return "contains whitespace or control characters" if _SPACE_OR_CONTROL.search(value) else None


PROBLEMS: dict[Kind, Callable[[str], str | None]] = {
    Kind.SLACK_WEBHOOK: slack_webhook_problem,
    Kind.PAGERDUTY_KEY: pagerduty_key_problem,
    Kind.BEARER_TOKEN: bearer_token_problem,
}


def secret_kinds(routing: AlertmanagerSpec) -> dict[str, list[Kind]]:
    """Every variable of `secret_variables`, in its order, with what the receivers use it as."""
    kinds: dict[str, list[Kind]] = {name: [] for name in secret_variables(routing)}
    for receiver in routing.receivers:
        uses = []
        if receiver.slack:
            uses.append((receiver.slack.webhook_env, Kind.SLACK_WEBHOOK))
        if receiver.pagerduty:
            uses.append((receiver.pagerduty.routing_key_env, Kind.PAGERDUTY_KEY))
        if receiver.webhook and receiver.webhook.bearer_token_env:
            uses.append((receiver.webhook.bearer_token_env, Kind.BEARER_TOKEN))
        for name, kind in uses:
            if kind not in kinds[name]:
                kinds[name].append(kind)
    return kinds


@dataclass(frozen=True)
class Refusal:
    variable: str
    why: str

    def __str__(self) -> str:
        return f"{self.variable} {self.why}"


def check_secrets(
    routing: AlertmanagerSpec, environ: Mapping[str, str]
) -> tuple[dict[str, str], list[Refusal]]:
    """The value of every variable the receivers need, and why any of them is refused."""
    values: dict[str, str] = {}
    refusals: list[Refusal] = []
    for name, kinds in secret_kinds(routing).items():
        value = environ.get(name)
        what = " or ".join(kinds)
        if value is None:
            refusals.append(Refusal(name, f"is not set (the {what})"))
            continue
        if not value.strip():
            refusals.append(Refusal(name, f"is empty (the {what})"))
            continue
        problems = [problem for kind in kinds if (problem := PROBLEMS[kind](value))]
        if problems:
            refusals.extend(Refusal(name, problem) for problem in problems)
        else:
            values[name] = value
    return values, refusals


def write_secrets(directory: Path, values: Mapping[str, str]) -> list[Path]:
    """Each value into `directory/<VARIABLE>`, mode 0600, replaced atomically (a reader sees the
    old file or the new one, never a partial one); the directory is created 0700 if missing."""
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True)
        directory.chmod(0o700)
    written = []
    for name, value in values.items():
        target = directory / name
        write_file_atomically(target, value.encode(), mode=0o600)
        written.append(target)
    fsync_path(directory)  # the renames durable, not only the files' contents
    return written


def loose_mode(directory: Path) -> int | None:
    """The directory's mode when group or others may enter it, else None."""
    mode = stat.S_IMODE(directory.stat().st_mode)
    return mode if mode & 0o077 else None
