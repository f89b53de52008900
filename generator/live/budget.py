"""`obsgen budget check` (the CI check error-budget-burn-ok): every SLO's remaining error
budget for its period and its current burn rate, against the spec's error-budget policy."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from generator import promql
from generator.live import EXIT_NO_DATA, EXIT_OK, EXIT_UNREACHABLE
from generator.live.prom import Prometheus, Unreachable
from generator.model import Spec
from generator.model.settings import BudgetPolicy
from generator.rules import BUDGET_REMAINING, CURRENT_BURN
from generator.slo_math import slo_id

EXIT_POLICY = 1


@dataclass(frozen=True)
class BudgetRow:
    slo_id: str
    remaining: float | None
    burn_rate: float | None

    def verdict(self, policy: BudgetPolicy) -> str:
        if self.remaining is None or self.burn_rate is None or math.isnan(self.remaining):
            return "NO DATA"
        if self.remaining < policy.freeze_below:
            return "FREEZE"
        if self.burn_rate > policy.max_burn_rate:
            return "BURNING"
        return "ok"


def _by_slo(prometheus: Prometheus, name: str) -> dict[str, float]:
    samples = prometheus.query(promql.selector(name, {}))
    # An SLO's series carry obsgen's slo_id, or Sloth's sloth_id when its service asks for those.
    return {s.labels.get("slo_id") or s.labels.get("sloth_id", ""): s.value for s in samples}


def read_budgets(prometheus: Prometheus, spec: Spec) -> list[BudgetRow]:
    remaining = _by_slo(prometheus, BUDGET_REMAINING)
    burning = _by_slo(prometheus, CURRENT_BURN)
    ids = [slo_id(service, slo) for service in spec.services for slo in service.slos]
    return [BudgetRow(i, remaining.get(i), burning.get(i)) for i in ids]


def _percent(value: float | None) -> str:
    return "missing" if value is None else f"{value * 100:.1f}%"


def _rate(value: float | None) -> str:
    return "missing" if value is None else f"{value:.2f}×"


def check_budgets(prometheus: Prometheus, spec: Spec, echo: Callable[[str], None]) -> int:
    policy = spec.settings.error_budget_policy
    echo(
        f"error budgets at {prometheus.url} (policy: freeze below {policy.freeze_below * 100:g}% left, "
        f"hold above {policy.max_burn_rate:g}× burn)"
    )
    try:
        rows = read_budgets(prometheus, spec)
    except Unreachable as exc:
        echo(f"[UNREACHABLE] {exc}")
        return EXIT_UNREACHABLE
    width = max([len(r.slo_id) for r in rows] + [3])
    echo(f"  {'SLO':<{width}}  {'budget left':>11}  {'burn rate':>9}  verdict")
    for row in rows:
        echo(
            f"  {row.slo_id:<{width}}  {_percent(row.remaining):>11}  {_rate(row.burn_rate):>9}  "
            f"{row.verdict(policy)}"
        )
    verdicts = {row.slo_id: row.verdict(policy) for row in rows}
    failing = [i for i, v in verdicts.items() if v in ("FREEZE", "BURNING")]
    missing = [i for i, v in verdicts.items() if v == "NO DATA"]
    if failing:
        echo(f"[FAIL] error budget policy violated by {', '.join(failing)}")
        return EXIT_POLICY
    if missing:
        echo(f"[NO DATA] no budget series for {', '.join(missing)}: are the SLO rules loaded?")
        return EXIT_NO_DATA
    echo(f"[OK] {len(rows)} SLO(s) within the error budget policy")
    return EXIT_OK
