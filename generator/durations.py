"""Prometheus durations (`90s`, `5m`, `1h30m`, `30d`) as whole seconds."""

from __future__ import annotations

import re
from functools import lru_cache

UNITS: dict[str, int] = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
DURATION_PATTERN = DURATION_RE.pattern


def parse_duration(text: str) -> int:
    """Seconds in a Prometheus duration; raises ValueError with what was expected."""
    match = DURATION_RE.match(text) if isinstance(text, str) and text else None
    if not match or not any(match.groups()):
        raise ValueError(f"expected a Prometheus duration such as 30s, 5m, 1h or 30d, got {text!r}")
    return sum(int(n) * size for n, size in zip(match.groups(), UNITS.values(), strict=True) if n)


@lru_cache(maxsize=4096)
def format_duration(seconds: int) -> str:
    """The shortest Prometheus spelling: 300 → `5m`, 5400 → `1h30m`, 0 → `0s`."""
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in UNITS.items():
        if unit == "w":
            continue  # `30d` reads better than `4w2d` in rule names and windows
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out


def human_duration(seconds: float) -> str:
    """A reading for people, e.g. 518.4 → `8m38s`."""
    whole = round(seconds)
    return format_duration(whole) if whole else f"{seconds:.1f}s"


def format_duration_ms(milliseconds: int) -> str:
    """Like format_duration, with a millisecond remainder: 5500 → `5s500ms`."""
    seconds, ms = divmod(milliseconds, 1000)
    if not ms:
        return format_duration(seconds)
    return f"{format_duration(seconds) if seconds else ''}{ms}ms"


def go_duration(seconds: int) -> str:
    """A Go time.Duration string (what Argo Rollouts parses): no days, `24h` instead of `1d`."""
    if seconds == 0:
        return "0s"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out
