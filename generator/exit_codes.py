"""Every exit code obsgen's commands use, each with one meaning (the README lists them)."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Success: generated, valid, imported, reloaded, a gate says GO, all targets up."""
    CHECK_FAILED = 1
    """The command ran and what it checks is not so: `gen --check` found `generated/` stale, lint
    findings, a target down, amtool or Alertmanager disagree, an error-budget policy broken, a
    reload's local check failed, a DR rehearsal failed."""
    USAGE = 2
    """Bad input, refused before anything changed: a spec error, a bad option or file."""
    WRITE_FAILED = 3
    """Output could not be written; what was on disk is left as it was."""
    RELOAD_FAILED = 4
    """Prometheus or Alertmanager refused or did not confirm a reload."""
    HOLD = 10
    """Canary gate: not enough evidence yet."""
    ROLLBACK = 11
    """Canary gate: a condition is violated."""
    NO_DATA = 12
    """A series the command needs is missing from Prometheus."""
    UNREACHABLE = 13
    """A server (Prometheus, Alertmanager, Grafana) could not be reached."""
    PORT_IN_USE = 14
    """A port the runtime or sandbox must listen on is taken."""
    AUTH = 20
    """Grafana: the token is missing, refused or lacks permission."""
    PRECONDITION = 21
    """Grafana answered 412 (version mismatch, name exists, plugin dashboard) or a folder title is taken."""
    REJECTED = 22
    """Grafana rejected the request (400, another 4xx, a redirect)."""
    INTERRUPTED = 130
    """Ctrl-C."""

    GO = 0  # alias of OK, for the gate commands
