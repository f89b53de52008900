"""Input series for promtool: labels, exact decimal levels, compact value strings."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from typing import Any

from generator import promql
from generator.conventions import REALM_LABEL
from generator.durations import format_duration
from generator.model import Service

Sample = float | str | None
"""A value, a promtool token such as `stale` (a failed scrape), or None for no sample."""
STALE = "stale"


class ScenarioError(RuntimeError):
    """The spec admits no unambiguous generated scenario (reported with its location)."""


@dataclass(frozen=True)
class Level:
    """A raw level: `low` at even sample indexes, `high` at odd ones (equal when constant)."""

    low: float
    high: float

    def at(self, index: int) -> float:
        return self.high if index % 2 else self.low


def constant(value: Decimal | float) -> Level:
    return Level(float(value), float(value))


def alternating(center: Decimal, amplitude: Decimal) -> Level:
    return Level(float(center - amplitude), float(center + amplitude))


def decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def target_labels(
    service: Service, instance: str, extra: dict[str, str] | None = None, metric: str | None = None
) -> dict[str, str]:
    """A scraped target's labels; the job that exports `metric` (an `external` metric may name
    another job than the service's)."""
    job = service.scope(metric).get("job", service.job) if metric else service.job
    return {
        "job": job,
        "instance": instance,
        **service.realm_matchers(),
        **(extra or {}),
    }


LEGACY_REALM = "legacy"


def legacy_label_sets(service: Service, labels: dict[str, str], metric: str) -> list[dict[str, str]]:
    """The seed's stray series: one of another realm, one from an old path with no realm, and
    when `metric` is selected by the service's scrape job, one of another job.

    Fed with bad values next to the real ones, they prove the realm and job filters hold.
    """
    strays = []
    if service.realm:
        strays.append({**labels, REALM_LABEL: LEGACY_REALM, "instance": "legacy-1"})
        strays.append({k: v for k, v in labels.items() if k != REALM_LABEL} | {"instance": "legacy-2"})
    job = service.scope(metric).get("job")
    if job is not None and labels.get("job") == job:
        strays.append({**labels, "job": f"{job}-other", "instance": "other-job-1"})
    return strays


def series(name: str, labels: dict[str, str]) -> str:
    return promql.selector(name, labels)


def values(samples: Sequence[Sample]) -> str:
    """promtool's expanding notation, run-length encoded: `0.5x9 _x3 1`."""
    return _values(tuple(samples))


@lru_cache(maxsize=4096)
def _values(samples: tuple[Sample, ...]) -> str:
    """Every SLO of a shape feeds the same samples (equal samples spell alike)."""
    tokens: list[str] = []
    for sample, same in groupby(samples):
        run = len(list(same))
        if sample is None:
            tokens.append("_" if run == 1 else f"_x{run}")
        elif isinstance(sample, str) or math.isnan(sample):
            tokens.extend([sample if isinstance(sample, str) else "NaN"] * run)
        else:
            text = promql.number(sample)
            tokens.append(text if run == 1 else f"{text}x{run - 1}")
    return " ".join(tokens)


def counter_values(start: int, increments: Sequence[int]) -> str:
    """A counter from `start` growing by each increment, compressed to `a+bxn` runs."""
    return _counter_values(start, tuple(increments))


@lru_cache(maxsize=4096)
def _counter_values(start: int, increments: tuple[int, ...]) -> str:
    tokens: list[str] = [str(start)]
    value = start
    for step, same in groupby(increments):
        run = len(list(same))
        tokens.append(f"{value + step}+{step}x{run - 1}" if run > 1 else str(value + step))
        value += step * run
    return " ".join(tokens)


def input_series(name: str, labels: dict[str, str], text: str) -> dict[str, str]:
    return {"series": series(name, labels), "values": text}


def duration(seconds: int | float) -> str:
    return format_duration(int(seconds))


def alert_case(eval_time: int, alertname: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": duration(eval_time), "alertname": alertname, "exp_alerts": expected}


def expected_alert(labels: dict[str, str], annotations: dict[str, str]) -> dict[str, Any]:
    return {"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(annotations.items()))}
