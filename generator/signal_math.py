"""Prometheus's `*_over_time` and `histogram_quantile` on plain numbers, for the generated tests.

The generated promtool tests state what a derived signal must read for given samples; these
functions compute it the way Prometheus defines it (population stddev, linear-interpolated
quantiles, `histogram_quantile`'s bucket interpolation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def quantile(q: float, values: Sequence[float]) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def stddev(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def over_time(function: str, values: Sequence[float], q: float | None = None) -> float:
    if function == "mean":
        return sum(values) / len(values)
    if function == "max":
        return max(values)
    if function == "min":
        return min(values)
    if function == "stddev":
        return stddev(values)
    if function == "quantile":
        assert q is not None
        return quantile(q, values)
    raise ValueError(f"no over-time function {function!r}")


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """`buckets`: (upper bound, cumulative count), ending with +Inf."""
    ordered = sorted(buckets)
    total = ordered[-1][1]
    rank = q * total
    index = next(i for i, (_, count) in enumerate(ordered) if count >= rank)
    if index == len(ordered) - 1:
        return ordered[-2][0]
    start, below = (0.0, 0.0) if index == 0 else ordered[index - 1]
    end, count = ordered[index]
    return start + (end - start) * (rank - below) / (count - below)


def signal_series(
    function: str, samples: Sequence[float | None], window: int, q: float | None = None
) -> list[float | None]:
    """The derived value at each sample time, over the last `window` samples (left-open)."""
    out: list[float | None] = []
    for i in range(len(samples)):
        present = [v for v in samples[max(0, i - window + 1) : i + 1] if v is not None]
        out.append(over_time(function, present, q) if present else None)
    return out
