"""`obsgen budget check` (the CI check error-budget-burn-ok): every SLO's remaining error
budget for its period and its current burn rate, against the spec's error-budget policy."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from generator import promql
from generator.conventions import BUDGET_REMAINING, CURRENT_BURN, slo_id
from generator.exit_codes import ExitCode
from generator.live.http_client import Unreachable
from generator.live.prom import Prometheus
from generator.model import SLO, Service, Spec
from generator.model.settings import BudgetPolicy
from generator.rules import slo_selector


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


def _by_slo(
    prometheus: Prometheus,
    name: str,
    slos: list[tuple[Service, SLO]],
    worse: Callable[[list[float]], float],
) -> dict[str, float]:
    """slo_id → its `name` series, each SLO selected as its rules and dashboards select it
    (rules.slo_selector: its identity label and realm), so a second realm's copy of an SLO in
    the same Prometheus is never read. Should a series come twice anyway (a stale copy of a rule
    file, say), the copy that looks worse wins; a NaN copy only when no copy holds a number."""
    selectors = {slo_id(service, slo): slo_selector(name, service, slo) for service, slo in slos}
    # One query; `or` keeps every SLO's series, as their identity labels differ.
    samples = prometheus.query(" or ".join(selectors.values()))
    found: dict[str, float] = {}
    for ident, selector in selectors.items():
        [(_, matchers)] = promql.selectors(selector)
        values = [s.value for s in samples if all(s.labels.get(k) == v for k, v in matchers.items())]
        numbers = [v for v in values if not math.isnan(v)]
        if values:
            found[ident] = worse(numbers) if numbers else math.nan
    return found


def read_budgets(prometheus: Prometheus, spec: Spec) -> list[BudgetRow]:
    slos = [(service, slo) for service in spec.services for slo in service.slos]
    if not slos:
        return []
    remaining = _by_slo(prometheus, BUDGET_REMAINING, slos, min)
    burning = _by_slo(prometheus, CURRENT_BURN, slos, max)
    ids = [slo_id(service, slo) for service, slo in slos]
    return [BudgetRow(i, remaining.get(i), burning.get(i)) for i in ids]


def _percent(value: float | None) -> str:
    return "missing" if value is None else f"{value * 100:.1f}%"


def _rate(value: float | None) -> str:
    return "missing" if value is None else f"{value:.2f}×"


def check_budgets(prometheus: Prometheus, spec: Spec, echo: Callable[[str], None]) -> ExitCode:
    policy = spec.settings.error_budget_policy
    echo(
        f"error budgets at {prometheus.url} (policy: freeze below {policy.freeze_below * 100:g}% left, "
        f"hold above {policy.max_burn_rate:g}× burn)"
    )
    try:
        rows = read_budgets(prometheus, spec)
    except Unreachable as exc:
        echo(f"[UNREACHABLE] {exc}")
        return ExitCode.UNREACHABLE
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
        return ExitCode.CHECK_FAILED
    if missing:
        echo(f"[NO DATA] no budget series for {', '.join(missing)}: are the SLO rules loaded?")
        return ExitCode.NO_DATA
    echo(f"[OK] {len(rows)} SLO(s) within the error budget policy")
    return ExitCode.OK
