"""Generated promtool tests for threshold alerts (just past vs. exactly at the threshold),
raw-PromQL alerts (the spec's own examples) and recorded signals (their value)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from generator import promql, signal_math
from generator.alert_contract import AlertContract, spec_alert
from generator.alert_templates import expand
from generator.label_values import example_labels
from generator.model import PromQLAlert, Service, Signal, Spec, ThresholdAlert
from generator.promtool_tests.series import (
    alert_case,
    decimal,
    duration,
    expected_alert,
    input_series,
    legacy_label_sets,
    series,
    target_labels,
    values,
)

INSTANCES = ("1", "2")


def fire_and_quiet_values(alert: ThresholdAlert) -> tuple[Decimal, Decimal]:
    """A value just past the threshold (fires) and one exactly at it, or just short (quiet)."""
    v = decimal(alert.value)
    whole = v == v.to_integral_value() and abs(v) >= 10
    delta = Decimal(1) if whole else (abs(v) / 100 or Decimal("0.001"))
    return {
        ">": (v + delta, v),
        ">=": (v, v - delta),
        "<": (v - delta, v),
        "<=": (v, v + delta),
        "==": (v, v + delta),
        "!=": (v + delta, v),
    }[alert.op]


@dataclass(frozen=True)
class Inputs:
    series: list[dict[str, str]]
    interval: int
    reads: float
    """the value the alert expression sees, for $value in annotations"""


def settle_time(signal: Signal, interval: int) -> int:
    """After how long constant inputs make the signal read steadily: rate() needs two samples,
    a spread a full window, the rest one sample."""
    if signal.function == "histogram_quantile":
        return 2 * interval
    if signal.function == "stddev":
        return signal.window + interval
    return interval


def _signal_inputs(
    service: Service, signal: Signal, value: Decimal, samples: int, interval: int, by: dict[str, str]
) -> Inputs:
    """Raw inputs that make the signal read `value`."""
    labels = target_labels(
        service, f"{service.service}-1", {**example_labels(signal.matchers), **by}, signal.metric
    )
    if signal.function == "histogram_quantile":
        # Half the events fall at or below `value`, the rest above every finite bucket, so
        # the quantile lands in +Inf and Prometheus returns the highest finite bound: `value`.
        bound = promql.number(float(value))
        step = sample_step(signal.window, interval)
        count = samples * interval // step
        series = [
            input_series(f"{signal.metric}_bucket", {**labels, "le": bound}, f"0+50x{count}"),
            input_series(f"{signal.metric}_bucket", {**labels, "le": "+Inf"}, f"0+100x{count}"),
        ]
        return Inputs(series, step, float(value))
    if signal.function == "stddev":
        # ±value on the half-intervals between evaluations: no sample sits on a window's edge,
        # so Prometheus 2 and 3 see the same samples, and a full window's spread is steady.
        if interval % 2 == 0:
            step = interval // 2
            raw = [None if i % 2 == 0 else float(value if i // 2 % 2 else -value) for i in range(2 * samples)]
        else:
            step = interval
            raw = [float(value if i % 2 else -value) for i in range(samples)]
        n = max(2, signal.window // interval)
        spread = signal_math.stddev([float(value) if k % 2 else -float(value) for k in range(n)])
        return Inputs([input_series(signal.metric, labels, values(raw))], step, spread)
    text = f"{promql.number(float(value))}x{samples}"
    return Inputs([input_series(signal.metric, labels, text)], interval, float(value))


def stddev_amplitudes(alert: ThresholdAlert, window_samples: int) -> tuple[Decimal, Decimal]:
    """Alternation amplitudes that fire / stay quiet with a margin: a spread is only exactly
    computable in exact arithmetic, so no case sits on the threshold itself."""
    v, margin = decimal(alert.value), Decimal(1) / window_samples
    wide, narrow = v * (1 + margin), v * (1 - margin)
    return (wide, narrow) if alert.op in (">", ">=") else (narrow, wide)


def threshold_alert_tests(
    spec: Spec, service: Service, alert: ThresholdAlert, contract: AlertContract, interval: int
) -> list[dict[str, Any]]:
    signal = service.signal(alert.signal) if alert.signal is not None else None
    if signal is not None and signal.function == "stddev":
        fire, quiet = stddev_amplitudes(alert, max(2, signal.window // interval))
    else:
        fire, quiet = fire_and_quiet_values(alert)
    groups = []
    for label, value in (("fires", fire), ("quiet", quiet)):
        if signal is not None:
            by = {b: example_labels(alert.matchers).get(b, "x") for b in signal.by}
            fire_at = settle_time(signal, interval) + alert.for_ + 2 * interval
            samples = (fire_at + 10 * interval) // interval
            inputs = _signal_inputs(service, signal, value, samples, interval, by)
            result_labels = {**service.realm_matchers(), **by}
        else:
            assert alert.metric is not None
            fire_at = alert.for_ + 2 * interval
            samples = (fire_at + 10 * interval) // interval
            result_labels = target_labels(
                service, f"{service.service}-1", example_labels(alert.matchers), alert.metric
            )
            text = f"{promql.number(float(value))}x{samples}"
            inputs = Inputs([input_series(alert.metric, result_labels, text)], interval, float(value))
        if label == "fires":
            annotations = {
                k: expand(v, result_labels, inputs.reads, spec.settings.external_labels)
                for k, v in contract.annotations.items()
            }
            firing = [expected_alert({**result_labels, **contract.labels}, annotations)]
            cases = [alert_case(fire_at, alert.name, firing)]
            if alert.for_ >= interval:
                cases.insert(0, alert_case(alert.for_ - interval, alert.name, []))
            shown = promql.number(float(value))
            title = (
                f"{alert.name}: {alert.op} {alert.value:g} with {shown} fires after {duration(alert.for_)}"
            )
        else:
            cases = [alert_case(fire_at + 8 * interval, alert.name, [])]
            title = f"{alert.name}: {promql.number(float(value))} never fires"
        groups.append(
            {
                "name": title,
                "interval": duration(inputs.interval),
                "input_series": inputs.series,
                "alert_rule_test": cases,
            }
        )
    return groups


def promql_alert_tests(
    spec: Spec, service: Service, alert: PromQLAlert, contract: AlertContract
) -> list[dict[str, Any]]:
    groups = []
    for i, example in enumerate(alert.examples):
        expected = []
        if example.fires:
            annotations = {
                k: expand(v, example.labels, example.value, spec.settings.external_labels)
                for k, v in contract.annotations.items()
            }
            expected = [expected_alert({**example.labels, **contract.labels}, annotations)]
        groups.append(
            {
                "name": f"{alert.name}: example {i + 1} ({'fires' if example.fires else 'quiet'})",
                "interval": duration(example.interval),
                "input_series": [s.model_dump() for s in example.input_series],
                "alert_rule_test": [alert_case(example.eval_time, alert.name, expected)],
            }
        )
    return groups


def alert_tests(spec: Spec, service: Service, interval: int) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for alert in service.alerts:
        if isinstance(alert, ThresholdAlert):
            groups += threshold_alert_tests(spec, service, alert, spec_alert(spec, service, alert), interval)
        else:
            groups += promql_alert_tests(spec, service, alert, spec_alert(spec, service, alert))
    return groups


# --- recorded signals --------------------------------------------------------------------------


def _ramp(start: float, stop: float, count: int) -> list[float]:
    return [start + (stop - start) * i / max(1, count - 1) for i in range(count)]


def sample_step(window: int, interval: int) -> int:
    """Input spacing for a signal's test: the evaluation interval, or the largest divisor of it
    that still puts two samples in a window shorter than two intervals."""
    if window >= 2 * interval:
        return interval
    return max((d for d in range(1, interval + 1) if interval % d == 0 and 2 * d <= window), default=1)


def signal_test(service: Service, signal: Signal, interval: int) -> dict[str, Any]:
    """Two instances and a legacy-realm series, read at an evaluation (a multiple of `interval`);
    the window holds exactly the `n` ramp samples, the two steps before them are empty."""
    step = sample_step(signal.window, interval)
    n = max(2, signal.window // step)
    at = -(-(n + 1) * step // interval) * interval
    blanks = at // step + 1 - n
    extra = {label: "x" for label in signal.by}
    inputs = []
    if signal.function == "histogram_quantile":
        bounds = [0.005, 0.01, 0.025, 0.05, 0.1]
        per_instance = {"1": [10, 30, 70, 90, 97, 100], "2": [5, 20, 50, 80, 95, 100]}
        summed: dict[float, float] = {}
        for inst, counts in per_instance.items():
            labels = target_labels(
                service,
                f"{service.service}-{inst}",
                {**example_labels(signal.matchers), **extra},
                signal.metric,
            )
            for bound, count in zip([*bounds, float("inf")], counts, strict=True):
                le = "+Inf" if bound == float("inf") else promql.number(bound)
                inputs.append(
                    input_series(
                        f"{signal.metric}_bucket", {**labels, "le": le}, f"_x{blanks} 1000+{count}x{n - 1}"
                    )
                )
                summed[bound] = summed.get(bound, 0) + count
        expected = signal_math.histogram_quantile(signal.quantile or 0, sorted(summed.items()))
    else:
        ramps = {"1": _ramp(0.25, 1.0, n), "2": _ramp(0.5, 0.125, n)}
        reads = []
        for inst, samples in ramps.items():
            labels = target_labels(
                service,
                f"{service.service}-{inst}",
                {**example_labels(signal.matchers), **extra},
                signal.metric,
            )
            inputs.append(input_series(signal.metric, labels, values([*[None] * blanks, *samples])))
            reads.append(signal_math.over_time(signal.function, samples, signal.quantile))
        expected = {"max": max, "min": min, "sum": sum, "avg": lambda r: sum(r) / len(r)}[signal.aggregate](
            reads
        )
    base = target_labels(service, "legacy", {**example_labels(signal.matchers), **extra}, signal.metric)
    for legacy in legacy_label_sets(service, base, signal.metric):
        if signal.function == "histogram_quantile":
            inputs.append(
                input_series(
                    f"{signal.metric}_bucket", {**legacy, "le": "+Inf"}, f"1000+1000x{n + blanks - 1}"
                )
            )
        else:
            inputs.append(input_series(signal.metric, legacy, _stray_values(signal, n + blanks)))
    tolerance = 1e-9 * max(1.0, abs(expected))
    selector = series(signal.record, service.realm_matchers())
    result = {**service.realm_matchers(), **extra}
    return {
        "name": f"{signal.record} reads {expected:.6g} over its {duration(signal.window)} window",
        "interval": duration(step),
        "input_series": inputs,
        "promql_expr_test": [
            {
                "expr": f"abs({selector} - {promql.number(expected)}) < bool {promql.number(tolerance)}",
                "eval_time": duration(at),
                "exp_samples": [{"labels": series("", result) if result else "{}", "value": 1}],
            },
            {
                "expr": f"count({signal.record})",
                "eval_time": duration(at),
                "exp_samples": [{"labels": "{}", "value": 1}],
            },
        ],
    }


def clamp_test(service: Service, signal: Signal, interval: int) -> dict[str, Any] | None:
    """A share typed as a ratio reads at most 1, even when its source misbehaves."""
    if not service.clamps(signal):
        return None
    n = max(2, signal.window // interval)
    labels = target_labels(
        service,
        f"{service.service}-1",
        {**example_labels(signal.matchers), **{b: "x" for b in signal.by}},
        signal.metric,
    )
    result = {**service.realm_matchers(), **{b: "x" for b in signal.by}}
    return {
        "name": f"{signal.record} stays within [0, 1] when its source reads 3",
        "interval": duration(interval),
        "input_series": [input_series(signal.metric, labels, f"3x{n}")],
        "promql_expr_test": [
            {
                "expr": series(signal.record, service.realm_matchers()),
                "eval_time": duration(n * interval),
                "exp_samples": [{"labels": series(signal.record, result), "value": 1}],
            }
        ],
    }


def _stray_values(signal: Signal, samples: int) -> str:
    """Values a stray of the same realm (another job) would win the aggregation with: far past
    the real ones on the aggregate's side, and spread out for a stddev."""
    if signal.function == "stddev":
        return " ".join("-1000" if i % 2 else "1000" for i in range(samples))
    return f"{-1000 if signal.aggregate == 'min' else 1000}x{samples - 1}"
