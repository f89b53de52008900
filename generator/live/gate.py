"""A gate's canary:* series as read from Prometheus, and the verdict they call for.

The decision itself is made by the recording rules of generator/gate_rules.py, which Argo
reads too, so the two cannot disagree. This module only reads their results, adds caution
(never GO while a series it expects is missing, or a condition's value is NaN) and words the
answer for a person.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from generator import promql
from generator.conventions import CONDITION_VALUE, CONDITION_VIOLATED, PROMOTE, ROLLBACK, VIOLATIONS
from generator.durations import format_duration
from generator.exit_codes import ExitCode
from generator.gate_rules import gate_file, gate_series_selector
from generator.live.prom import Sample
from generator.model import Gate, Service, ThresholdCondition
from generator.model.gates import Condition, QuorumCondition

OK, VIOLATED, NO_DATA = "ok", "VIOLATED", "NO DATA"


class Verdict(enum.Enum):
    """Declared from the least to the most severe: several gates exit with the worst one."""

    GO = ExitCode.GO
    HOLD = ExitCode.HOLD
    ROLLBACK = ExitCode.ROLLBACK
    NO_DATA = ExitCode.NO_DATA
    UNREACHABLE = ExitCode.UNREACHABLE

    @property
    def code(self) -> ExitCode:
        return self.value

    @property
    def tag(self) -> str:
        return f"[{self.name.replace('_', ' ')}]"


def most_severe(verdicts: Iterable[Verdict]) -> Verdict:
    order = list(Verdict)
    return max(verdicts, key=order.index)


@dataclass(frozen=True)
class ConditionReading:
    value: float | None = None
    violated: float | None = None

    @property
    def nan(self) -> bool:
        return self.value is not None and math.isnan(self.value)

    @property
    def state(self) -> str:
        if self.value is None or self.violated is None or self.nan:
            return NO_DATA
        return OK if self.violated == 0 else VIOLATED


@dataclass(frozen=True)
class GateReading:
    """What Prometheus holds for one gate now; None (or a missing condition) means absent."""

    conditions: dict[str, ConditionReading] = field(default_factory=dict)
    violations: float | None = None
    promote: float | None = None
    rollback: float | None = None

    def condition(self, name: str) -> ConditionReading:
        return self.conditions.get(name, ConditionReading())

    @property
    def empty(self) -> bool:
        return (
            not self.conditions and self.violations is None and self.promote is None and self.rollback is None
        )


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str

    def line(self) -> str:
        return f"{self.verdict.tag} {self.reason}"


def gate_query(chosen: Sequence[tuple[Service, Gate]]) -> str:
    """One instant query returning every canary:* series of these gates, each gate's selected as
    the rules and the Argo template select it (realm included), so a second realm's copy of a
    gate in the same Prometheus is never read. `or` keeps them all: the gates' label sets differ."""
    return " or ".join(gate_series_selector(service, gate) for service, gate in chosen)


def readings(samples: Iterable[Sample]) -> dict[str, GateReading]:
    """gate name → its reading. Should a series come twice (say, a stale copy of a rule file is
    also loaded), the copy that looks worse wins: a duplicate never makes a gate look better."""
    found: dict[tuple[str, str, str], float] = {}
    for sample in samples:
        name = sample.labels.get("__name__", "")
        key = (sample.labels.get("gate", ""), name, sample.labels.get("condition", ""))
        old = found.get(key)
        if old is None:
            found[key] = sample.value
        elif name == PROMOTE:
            found[key] = min(old, sample.value)
        elif name != CONDITION_VALUE:
            found[key] = max(old, sample.value)
    per_gate: dict[str, dict[str, float]] = {}
    per_condition: dict[str, dict[str, dict[str, float]]] = {}
    for (gate, name, condition), value in found.items():
        if name in (CONDITION_VALUE, CONDITION_VIOLATED):
            per_condition.setdefault(gate, {}).setdefault(condition, {})[name] = value
        else:
            per_gate.setdefault(gate, {})[name] = value
    out: dict[str, GateReading] = {}
    for gate in sorted(set(per_gate) | set(per_condition)):
        own = per_gate.get(gate, {})
        conditions = {
            name: ConditionReading(series.get(CONDITION_VALUE), series.get(CONDITION_VIOLATED))
            for name, series in per_condition.get(gate, {}).items()
        }
        out[gate] = GateReading(conditions, own.get(VIOLATIONS), own.get(PROMOTE), own.get(ROLLBACK))
    return out


def decide(service: Service, gate: Gate, reading: GateReading) -> Decision:
    """ROLLBACK wins even over missing data (rolling back is the safe direction); otherwise
    anything missing, or a NaN value, is NO DATA: a gate is never GO on partial information."""
    if reading.rollback == 1:
        return Decision(Verdict.ROLLBACK, _rollback_reason(gate, reading))
    missing = _missing(service, gate, reading)
    if missing:
        return Decision(Verdict.NO_DATA, missing)
    after = format_duration(gate.promote.after)
    if reading.promote == 1:
        return Decision(Verdict.GO, f"every condition has held for {after}")
    reason = f"not every condition has held for {after} yet"
    violated = _names(gate, reading, VIOLATED)
    if violated:
        reason += f" (violated now: {', '.join(violated)})"
    return Decision(Verdict.HOLD, reason)


def _names(gate: Gate, reading: GateReading, state: str) -> list[str]:
    return [c.name for c in gate.conditions if reading.condition(c.name).state == state]


def _rollback_reason(gate: Gate, reading: GateReading) -> str:
    count = gate.rollback.violations
    what = "a condition" if count == 1 else f"{count} or more conditions"
    policy = f"{what} violated for {format_duration(gate.rollback.for_)}"
    at_once = [c.name for c in gate.conditions if c.rollback_at_once]
    if at_once:
        policy += f" or {' or '.join(at_once)} violated"
    now = [*_names(gate, reading, VIOLATED), *(f"{n} (no data)" for n in _names(gate, reading, NO_DATA))]
    return f"{policy}; violated now: {', '.join(now) or 'none'}"


def _missing(service: Service, gate: Gate, reading: GateReading) -> str:
    if reading.empty:
        return (
            f"no canary:* series for gate {gate.name}: are its rules "
            f"(rules/{gate_file(service, gate)}.yml) loaded into this Prometheus?"
        )
    problems: list[str] = []
    no_value = [c for c in gate.conditions if reading.condition(c.name).value is None]
    nan = [c for c in gate.conditions if reading.condition(c.name).nan]
    no_verdict = [
        c.name
        for c in gate.conditions
        if reading.condition(c.name).value is not None and reading.condition(c.name).violated is None
    ]
    if no_value:
        sources = sorted({c.series for c in no_value})
        verb = "is" if len(sources) == 1 else "are"
        problems.append(
            f"no {CONDITION_VALUE} for {', '.join(c.name for c in no_value)}: "
            f"{verb} {', '.join(sources)} scraped and are the gate rules loaded?"
        )
    if nan:
        # The rules count NaN as violated as well; this says why.
        problems.append(
            f"{CONDITION_VALUE} is NaN for {', '.join(c.name for c in nan)}: "
            f"{', '.join(sorted({c.series for c in nan}))} gives no number to compare"
        )
    if no_verdict:
        problems.append(
            f"no {CONDITION_VIOLATED} for {', '.join(no_verdict)}: are the gate rules up to date?"
        )
    absent = [
        name
        for name, value in (
            (VIOLATIONS, reading.violations),
            (PROMOTE, reading.promote),
            (ROLLBACK, reading.rollback),
        )
        if value is None
    ]
    if absent:
        problems.append(f"no {', '.join(absent)} for gate {gate.name}: are the gate rules loaded?")
    return "; ".join(problems)


def requirement(condition: Condition) -> str:
    """What must hold, e.g. `duri_lyapunov_v <= 0.1` or `duri_lyapunov_v slope <= 0.0001/s`."""
    if isinstance(condition, ThresholdCondition):
        return f"{condition.series} {condition.op} {promql.number(condition.value)}"
    if isinstance(condition, QuorumCondition):
        checks = " and ".join(f"{c.series} {c.op} {promql.number(c.value)}" for c in condition.checks)
        return f">= {condition.min_passing} of {condition.of} {condition.label}s with {checks}"
    if condition.trend == "rising":
        return f"{condition.series} slope <= {promql.number(condition.epsilon)}/s"
    bound = promql.number(-condition.epsilon) if condition.epsilon else "0"
    return f"{condition.series} slope >= {bound}/s"


def format_value(condition: Condition, value: float | None) -> str:
    if value is None:
        return "missing"
    if math.isnan(value):
        return "NaN"
    if isinstance(condition, ThresholdCondition):
        return f"{value:.6g}"
    if isinstance(condition, QuorumCondition):
        return f"{value:g} passing"
    return f"{value:.3g}/s"


def _count(value: float | None) -> str:
    return "missing" if value is None else f"{value:g}"


def summary(gate: Gate, reading: GateReading, sep: str = ", ") -> str:
    return sep.join(
        (
            f"violations {_count(reading.violations)} of {len(gate.conditions)}",
            f"promote {_count(reading.promote)}",
            f"rollback {_count(reading.rollback)}",
        )
    )


def render_block(
    service: Service, gate: Gate, url: str, reading: GateReading | None, decision: Decision
) -> list[str]:
    """Header, one row per condition in spec order, the summary, then the verdict line last.
    Without a reading (Prometheus unreachable) only the header and the verdict."""
    lines = [f"gate {gate.name} (service {service.service}) at {url}"]
    if reading is not None:
        rows = [
            (
                c.name,
                requirement(c),
                format_value(c, reading.condition(c.name).value),
                reading.condition(c.name).state,
            )
            for c in gate.conditions
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
            lines.append(f"  {'  '.join(cells)}  {row[3]}")
        lines.append(f"  {summary(gate, reading)}")
    lines.append(decision.line())
    return lines


def watch_line(gate: Gate, reading: GateReading | None, decision: Decision, now: datetime) -> str:
    """One compact line: UTC time, each condition's value (! violated, ? no data), the gate's
    counts and the verdict tag; the reason only when something is missing or unreachable."""
    parts = [now.strftime("%H:%M:%S")]
    if reading is not None:
        marks = {VIOLATED: "!", NO_DATA: "?"}
        for c in gate.conditions:
            read = reading.condition(c.name)
            parts.append(f"{c.name}={format_value(c, read.value)}{marks.get(read.state, '')}")
        parts.append(
            f"violations={_count(reading.violations)} promote={_count(reading.promote)} "
            f"rollback={_count(reading.rollback)}"
        )
    verbose = decision.verdict in (Verdict.NO_DATA, Verdict.UNREACHABLE)
    parts.append(decision.line() if verbose else decision.verdict.tag)
    return "  ".join(parts)
