"""The bridge loop's config file (the seed's configs/bridge_v19.yaml: gain / tick / guard).

`configs/bridge.yaml` overrides the spec's `loop:` values, key by key (a key left out keeps the
spec's). It is read like a spec file: any problem is a located SpecError, `file:line: field:
what was expected`, which the command line reports with exit 2.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.errors import Location, SpecError, SpecIssue, unknown
from generator.loader import SourceDoc, load_file
from generator.model.service import Loop

DEFAULT_CONFIG = Path("configs/bridge.yaml")
"""Where `obsgen run` (and so `obsgen up`) looks for it, beside the spec directory."""
TICK_MIN_MS, TICK_MAX_MS = 10, 1000
KEYS = ("gain", "tick", "guard")
_TICK = re.compile(r"(\d+)(ms|s)")


@dataclass(frozen=True)
class LoopSettings:
    """The three tunable values of a control loop."""

    gain: float
    tick_ms: int
    guard: float

    @classmethod
    def of(cls, loop: Loop) -> LoopSettings:
        return cls(gain=loop.gain, tick_ms=loop.tick, guard=loop.guard)

    def applied_to(self, loop: Loop) -> Loop:
        """`loop` running with these values."""
        return loop.model_copy(update={"gain": self.gain, "tick": self.tick_ms, "guard": self.guard})

    @property
    def tick(self) -> str:
        """The tick as the config and the spec write it: `50ms`."""
        return f"{self.tick_ms}ms"


def tick_problem(value: Any) -> str | None:
    """Why `value` is not a tick between TICK_MIN_MS and TICK_MAX_MS, else None."""
    match = _TICK.fullmatch(str(value)) if isinstance(value, str) else None
    if match is None:
        return f"expected a duration such as 50ms or 1s, got {value!r}"
    ms = tick_ms(value)
    if not TICK_MIN_MS <= ms <= TICK_MAX_MS:
        return f"expected a tick from {TICK_MIN_MS}ms to 1s, got {value}"
    return None


def tick_ms(value: str) -> int:
    """`50ms` → 50, `1s` → 1000 (the value is known to match)."""
    match = _TICK.fullmatch(value)
    assert match is not None
    return int(match.group(1)) * (1 if match.group(2) == "ms" else 1000)


def number_problem(name: str, value: Any) -> str | None:
    """Why `value` is not a valid gain or guard, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"expected a number, got {value!r}"
    if name == "gain" and not 0 < value <= 1:
        return f"expected a gain in (0, 1] (the share of the error corrected per tick), got {value}"
    if name == "guard" and value <= 0:
        return f"expected a guard above 0 (the largest correction of one tick), got {value}"
    return None


def read_loop_settings(path: Path, default: LoopSettings) -> LoopSettings:
    """The settings of the config at `path`, each missing key taken from `default`.

    Raises SpecError with every problem, located; never anything else for a bad file."""
    doc = load_file(path, str(path))
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise SpecError([SpecIssue(doc.location(()), "expected a mapping of gain, tick and guard")])
    issues = _issues(doc, data)
    if issues:
        raise SpecError(issues)
    return LoopSettings(
        gain=float(data.get("gain", default.gain)),
        tick_ms=tick_ms(data["tick"]) if "tick" in data else default.tick_ms,
        guard=float(data.get("guard", default.guard)),
    )


def _issues(doc: SourceDoc, data: dict[Any, Any]) -> list[SpecIssue]:
    issues = []
    for key, value in data.items():
        if key not in KEYS:
            message = unknown(f"unknown field {key!r}", str(key), KEYS)
            issues.append(SpecIssue(doc.location((key,)), message))
            continue
        problem = tick_problem(value) if key == "tick" else number_problem(key, value)
        if problem:
            issues.append(SpecIssue(doc.location((key,)), problem))
    return issues


def config_beside(spec_dir: Path) -> Path | None:
    """`configs/bridge.yaml` of the project whose spec is `spec_dir`, when it exists."""
    candidate = spec_dir.parent / DEFAULT_CONFIG
    return candidate if candidate.is_file() else None


def unlocated(path: Path, message: str) -> SpecError:
    return SpecError([SpecIssue(Location(str(path)), message)])
