"""The client calls of `obsgen reload`: the reload state in Prometheus's own /metrics, its
--config.file, the rule groups it serves, and POST /-/reload."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from generator.live.http_client import Unreachable
from generator.live.prom import Prometheus
from generator.live.reload_checks import Groups

RELOAD_TIMEOUT = 30.0
"""Prometheus answers POST /-/reload only once the reload is done, which takes longer than a query."""

SUCCESSFUL = "prometheus_config_last_reload_successful"
SUCCESS_TIMESTAMP = "prometheus_config_last_reload_success_timestamp_seconds"

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)")


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
