"""The period's error ratio, summed from hour tiles, is exact: promtool proof.

The rules record each hour's sum (and, for time slices, count) of the per-evaluation series and
add the tiles of the period up with a subquery (`[30d:1h]`, left open by a millisecond). The
promise: at any evaluation time T, `slo:sli_error:ratio_rate30d` is the ratio over exactly the
evaluations of the 30 days that end a time slice before the last whole hour at or before T
(the tiles read a time slice back: the per-evaluation series comes from another rule group),
or, before a whole hour has taken any data, over every evaluation up to a time slice ago (and
the budget left is 1 − that ratio ÷ the budget). promtool 2.42 evaluates every group at the
same instants, so this proves Prometheus 2's semantics with aligned groups; the README says
what a production Prometheus adds (group offsets, restarts).

Here the generated `-period` group of an events SLO, a grouped events SLO and a time-slice SLO
runs alone in promtool over per-evaluation series written here: integers that change at every
sample, so every float sum is exact and the expected ratio, worked out with integers from the
promise above, must come out to the last bit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import SPEC, generate, promtool_test

from generator.conventions import (
    BUDGET_REMAINING,
    SLI_ERRORS,
    SLI_TOTAL,
    TIME_SLICE_ERROR,
    identity_labels,
    sli_error_ratio,
    slo_labels,
)
from generator.loader import load_spec
from generator.model import SLO, Service
from generator.slo_math import error_budget

HTTP = Path(__file__).resolve().parent / "fixtures" / "specs" / "http"
HOUR, DAY = 3600, 86400


@dataclass(frozen=True)
class Run:
    """One promtool test file: inputs every `step` from `first` (a later group `stagger` later
    each), rules evaluated every `evaluation`."""

    name: str
    step: int
    evaluation: int
    end: int
    checks: tuple[int, ...]
    first: int = 0
    stagger: int = 0

    def evaluations_covered(self, at: int, period: int, start: int, lag: int) -> list[int]:
        """The promise: the evaluations of the `period` that ends `lag` (the time slice) before
        the last whole hour ≤ `at`; before a whole hour has taken any data, every evaluation up
        to `lag` ago."""
        data = range(start, self.end + 1, self.step)
        end = at // HOUR * HOUR - lag
        if start <= end:
            return [t for t in data if end - period < t <= end]
        return [t for t in data if t <= at - lag]


RUNS = (
    # A day at 5m, data from 20m on (a second group from 2h20m): before any data, before the
    # first whole hour since the data began, on and between whole hours.
    Run(
        "day",
        300,
        300,
        DAY,
        (0, 20 * 60, 55 * 60, HOUR, 2 * HOUR + 30 * 60, 5 * HOUR, 5 * HOUR + 55 * 60, 6 * HOUR, DAY - 300),
        first=20 * 60,
        stagger=2 * HOUR,
    ),
    # 31 days, three inputs a tile, rules every 20m: at 30 days exactly (Prometheus 2's closed
    # ranges would take one tile too many there) and past it, on and between whole hours (the
    # oldest tiles drop out; a subquery range an hour short would keep 719 tiles between them).
    Run(
        "month",
        1200,
        1200,
        31 * DAY,
        (
            0,
            5 * HOUR,
            30 * DAY - HOUR,
            30 * DAY,
            30 * DAY + 40 * 60,
            30 * DAY + HOUR,
            31 * DAY - 20 * 60,
            31 * DAY,
        ),
    ),
)


def numbers(seed: str, low: int, high: int, count: int) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(low, high) for _ in range(count)]


def series(name: str, labels: dict[str, str]) -> str:
    return name + "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def period_group(generated: Path, service: Service, slo: SLO) -> Path:
    """The SLO's `-period` group alone, so the inputs below are all it reads."""
    path = generated / "prometheus/rules" / f"{service.service}.{slo.name}.yml"
    groups = yaml.safe_load(path.read_text())["groups"]
    alone = path.with_name(f"{path.stem}.period-only.yml")
    alone.write_text(yaml.safe_dump({"groups": [g for g in groups if g["name"].endswith("-period")]}))
    return alone


def inputs_and_expectations(
    run: Run, service: Service, slo: SLO, groups: list[dict[str, str]]
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    names = identity_labels(service)
    identity = slo_labels(service, slo)
    budget = float(error_budget(slo))
    inputs, cases = [], []
    for index, group in enumerate(groups):
        labels = {**identity, **group}
        key, count = f"{run.name}{slo.name}{sorted(group.items())}", run.end // run.step + 1
        start = run.first + index * run.stagger
        if slo.sli.threshold is not None:
            bad = numbers(key, 0, 1, count)
            good = [1] * count
            given = {TIME_SLICE_ERROR: bad}
        else:
            bad = numbers(key + "errors", 0, 9, count)
            good = [b + g for b, g in zip(bad, numbers(key + "good", 1, 90, count), strict=True)]
            given = {SLI_ERRORS: bad, SLI_TOTAL: good}
        for name, values in given.items():
            written = ["_" if i * run.step < start else str(v) for i, v in enumerate(values)]
            inputs.append({"series": series(name, labels), "values": " ".join(written)})
        selector = {names.id: identity[names.id], **group}
        for at in run.checks:
            covered = [t // run.step for t in run.evaluations_covered(at, slo.period, start, slo.time_slice)]
            ratio = sum(bad[i] for i in covered) / sum(good[i] for i in covered) if covered else None
            expected = [
                (sli_error_ratio(slo.period), {**labels, names.window: "30d"}, ratio),
                (BUDGET_REMAINING, labels, None if ratio is None else 1 - ratio / budget),
            ]
            for name, exp_labels, value in expected:
                cases.append(
                    {
                        "expr": series(name, selector),
                        "eval_time": f"{at}s",
                        "exp_samples": []
                        if value is None
                        else [{"labels": series(name, exp_labels), "value": value}],
                    }
                )
    return inputs, cases


CASES = {
    "events": (HTTP, "checkout", "availability", [{}]),
    "grouped events": (HTTP, "checkout", "handler-availability", [{"handler": "/cart"}, {"handler": "/pay"}]),
    "time slices": (SPEC, "bridge", "phase-diff", [{}]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_period_ratio_is_exactly_the_last_whole_hours_30_days(
    case: str, tmp_path_factory: pytest.TempPathFactory, promtool: str
) -> None:
    spec_dir, service_name, slo_name, groups = CASES[case]
    spec = load_spec(spec_dir)
    service = next(s for s in spec.services if s.service == service_name)
    slo = next(s for s in service.slos if s.name == slo_name)
    assert slo.period == 30 * DAY and not ({k for g in groups for k in g} ^ set(slo.by))
    generated = generate(tmp_path_factory, spec_dir, case.replace(" ", "-"))
    rules = period_group(generated, service, slo)
    files = []
    for run in RUNS:
        inputs, cases = inputs_and_expectations(run, service, slo, groups)
        test_file = rules.with_name(f"period.{run.name}.test.yml")
        document = {
            "rule_files": [rules.name],
            "evaluation_interval": f"{run.evaluation}s",
            "tests": [{"interval": f"{run.step}s", "input_series": inputs, "promql_expr_test": cases}],
        }
        test_file.write_text(yaml.safe_dump(document, sort_keys=False, width=10**9))
        files.append(test_file)
    result = promtool_test(promtool, *files)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
