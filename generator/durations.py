"""Prometheus durations (`90s`, `5m`, `1h30m`, `30d`) as whole seconds, and the time scale
under which the compilers render duration values.

Names always carry the nominal duration (`format_duration`: `slo:sli_error:ratio_rate5m`, the
`slo_window` label, annotations). Values Prometheus and Alertmanager act on (ranges, `for`,
intervals, seconds compared in an expression) go through `duration_value` / `seconds_value`,
which divide by the scale set with `compressed_time`: 1 everywhere but the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from fractions import Fraction
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


def prometheus_duration(seconds: int) -> str:
    """As Prometheus's own `model.Duration` spells it, and so Sloth in its window names: years and
    weeks only when exact (`1y`, `4w` for 28d, `1w` for 7d), else as format_duration (`30d`)."""
    for unit, size in (("y", 365 * UNITS["d"]), ("w", UNITS["w"])):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return format_duration(seconds)


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


_TIME_SCALE: ContextVar[Fraction] = ContextVar("time_scale", default=Fraction(1))


@contextmanager
def compressed_time(scale: float | Fraction) -> Iterator[None]:
    """Inside, every duration value the compilers render is `scale` times shorter."""
    factor = Fraction(scale)
    if factor <= 0:
        raise ValueError(f"a time scale must be positive, got {scale}")
    token = _TIME_SCALE.set(factor)
    try:
        yield
    finally:
        _TIME_SCALE.reset(token)


def time_scale() -> Fraction:
    return _TIME_SCALE.get()


def scaled_milliseconds(seconds: int | Fraction) -> int:
    """Nominal seconds ÷ the time scale, in whole milliseconds (half up); a positive duration
    never becomes 0."""
    exact = Fraction(seconds) * 1000 / _TIME_SCALE.get()
    if exact <= 0:
        return 0
    return max(1, int(exact + Fraction(1, 2)))


def duration_value(seconds: int | Fraction) -> str:
    """A duration Prometheus or Alertmanager acts on, under the time scale: 300 → `5m` at scale
    1, `5s` at 60; 15 → `250ms` at 60. Not cached: the result depends on the scale."""
    return format_duration_ms(scaled_milliseconds(seconds))


def seconds_value(seconds: int | Fraction) -> float:
    """A number of seconds inside an expression (`time() - x < 151`), under the time scale, with
    the precision of `duration_value` so a range and a comparison with it agree."""
    return scaled_milliseconds(seconds) / 1000
