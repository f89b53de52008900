"""Spec errors that carry their location: file, line and field path."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

SHORT_LIST = 8
"""Up to this many known names are listed in full after an unknown one."""


@dataclass(frozen=True, order=True)
class Location:
    file: str
    line: int | None = None
    path: str = ""
    column: int = 0
    """1-based column on `line` where a character matters (a NUL byte); 0 when the line says enough"""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.line is not None and self.column:
            where += f":{self.column}"
        return f"{where}: {self.path}" if self.path else where


@dataclass(frozen=True, order=True)
class SpecIssue:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def _reading_order(issue: SpecIssue) -> tuple[str, int, int, str, str]:
    """File, line (a whole-file issue first), column, field, message."""
    where = issue.location
    return (where.file, where.line or 0, where.column, where.path, issue.message)


class SpecError(Exception):
    """One or more problems in the spec; the CLI prints them and exits 2."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = sorted(set(issues), key=_reading_order)
        super().__init__("\n".join(str(issue) for issue in self.issues))


def format_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """`('slos', 0, 'objective')` → `slos[0].objective`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A hint for an unknown `name`: the closest of `known`, and all of them when they are few.

    `did you mean 'slack-duri'? known: deadman, quiet, slack-duri`; "" when there is nothing to say.
    """
    names = sorted(set(known))
    if not names:
        return "known: none"
    by_lower = {n.lower(): n for n in reversed(names)}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    parts = [f"did you mean {by_lower[close[0]]!r}?"] if close else []
    if len(names) <= SHORT_LIST:
        parts.append(f"known: {', '.join(names)}")
    return " ".join(parts)


def unknown(message: str, name: str, known: Iterable[str]) -> str:
    """`message` about an unknown `name`, with the did-you-mean hint after a semicolon."""
    hint = did_you_mean(name, known)
    return f"{message}; {hint}" if hint else message
