"""`obsgen autotune bridge`: new gain / tick / guard for the bridge loop from the last bench's
tick jitter, written back into configs/bridge.yaml with its comments and order.

The rule (the command's help and the README say the same):

- p95 jitter ≥ 80 % of the 25 ms budget (20 ms): lengthen the tick so that p95 is at most 20 %
  of it (rounded up to 5 ms, at most 1 s). Each tick's lateness becomes a small share of its
  period, and the loop wakes up less often against the scrapers.
- p95 under 40 % of the budget (10 ms) and the tick longer than the spec's design tick (an
  earlier lengthening): step back toward the design tick, no shorter than p95 ÷ 20 %.
- otherwise keep the tick.

Whenever the tick changes by a factor k, gain × k keeps the loop's time constant (tick ÷ gain)
and guard × k its largest slew rate (guard ÷ tick); gain stays ≤ 1. Guard never drops below the
largest correction the loop asked for during the bench, so a healthy loop is never clipped.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.errors import Location, SpecError, SpecIssue
from runtime.bench import JITTER_BUDGET_MS, BenchLog
from runtime.bridge_config import KEYS, TICK_MAX_MS, LoopSettings

ACT_AT = 0.8
"""share of the jitter budget at which the tick is lengthened"""
RELAX_BELOW = 0.4
"""share of the jitter budget under which a lengthened tick steps back toward the design tick"""
TARGET_RATIO = 0.2
"""the largest p95 jitter ÷ tick a tuned loop is given"""
TICK_STEP_MS = 5


@dataclass(frozen=True)
class Tuning:
    """The settings the bench ran with, the ones chosen, and why."""

    before: LoopSettings
    after: LoopSettings
    reason: str
    notes: list[str] = field(default_factory=list)


def _ceil_to_step(ms: float) -> int:
    return int(math.ceil(ms / TICK_STEP_MS - 1e-9) * TICK_STEP_MS)


def chosen_tick(bench: BenchLog, design_tick_ms: int) -> tuple[int, str]:
    """The tick for the measured jitter, and the reason, in words."""
    p95, tick = bench.jitter_p95_ms, bench.settings.tick_ms
    needed = _ceil_to_step(p95 / TARGET_RATIO)
    if p95 >= ACT_AT * JITTER_BUDGET_MS:
        longer = min(TICK_MAX_MS, max(tick, needed))
        why = f"p95 {p95:.1f} ms >= {ACT_AT * JITTER_BUDGET_MS:g} ms ({ACT_AT:.0%} of the budget)"
        if longer == tick:
            return tick, f"{why}, but a {tick} ms tick already keeps p95 <= {TARGET_RATIO:.0%} of it: keep"
        return longer, f"{why}: lengthen the tick so p95 <= {TARGET_RATIO:.0%} of it"
    if p95 < RELAX_BELOW * JITTER_BUDGET_MS and tick > design_tick_ms:
        shorter = max(design_tick_ms, needed)
        why = f"p95 {p95:.1f} ms < {RELAX_BELOW * JITTER_BUDGET_MS:g} ms ({RELAX_BELOW:.0%} of the budget)"
        if shorter < tick:
            return shorter, f"{why}: step back toward the spec's {design_tick_ms} ms tick"
        return tick, f"{why}, but a shorter tick would not keep p95 <= {TARGET_RATIO:.0%} of it: keep"
    return tick, f"p95 {p95:.1f} ms is within the budget with margin: keep the tick"


def tuned(bench: BenchLog, design_tick_ms: int) -> Tuning:
    """The settings the rule chooses from `bench` (see the module's docstring)."""
    before = bench.settings
    tick, reason = chosen_tick(bench, design_tick_ms)
    k = tick / before.tick_ms
    notes = []
    gain = round(before.gain * k, 3)
    if gain > 1:
        gain = 1.0
        was = before.tick_ms / before.gain
        notes.append(f"gain capped at 1: the time constant (tick / gain) grows from {was:.0f} to {tick} ms")
    guard = float(f"{max(before.guard * k, bench.largest_step):.4g}")
    if bench.largest_step > before.guard * k:
        notes.append(f"guard raised to the largest correction asked in the bench ({bench.largest_step:.4g})")
    if tick == TICK_MAX_MS and before.tick_ms < TICK_MAX_MS and tick < bench.jitter_p95_ms / TARGET_RATIO:
        notes.append("the tick stops at 1s; jitter this high is the host, not the loop")
    return Tuning(before, LoopSettings(gain=gain, tick_ms=tick, guard=guard), reason, notes)


def _plain_float(representer: Any, value: float) -> Any:
    """`0.0000115`, not `1.15e-05`: PyYAML (which reads the config) takes the latter for text."""
    text = f"{value:.12f}".rstrip("0")
    return representer.represent_scalar("tag:yaml.org,2002:float", text + "0" if text.endswith(".") else text)


def write_settings(path: Path, settings: LoopSettings) -> None:
    """Put `settings` into the config at `path` in place (ruamel round-trip: comments, order and
    the other keys stay as they were; a missing key is added at the end); written atomically."""
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.representer.add_representer(float, _plain_float)
    try:
        data: Any = yaml.load(path.read_text(encoding="utf-8"))
    except Exception as exc:  # the config was validated before; this is a race or a disk problem
        raise SpecError([SpecIssue(Location(str(path)), f"cannot read it back: {exc}")]) from None
    if data is None:  # a config of comments only
        from ruamel.yaml.comments import CommentedMap

        data = CommentedMap()
    values = {"gain": settings.gain, "tick": settings.tick, "guard": settings.guard}
    for key in KEYS:
        data[key] = values[key]
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as out:
        yaml.dump(data, out)
    os.replace(temporary, path)
