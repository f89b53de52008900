"""Small pieces with exact answers: durations, SLO arithmetic, PromQL builders, templates."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import promql_parser
import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator import promql, signal_math
from generator.alert_templates import (
    TemplateError,
    check,
    expand,
    go_value,
    humanize,
    humanize_duration,
    humanize_percentage,
)
from generator.durations import format_duration, parse_duration
from generator.model import SLO
from generator.slo_math import burn_windows, error_budget, time_to_fire


def slo(objective: float = 99.0, period: str = "30d") -> SLO:
    return SLO.model_validate(
        {
            "name": "xy",
            "objective": objective,
            "period": period,
            "sli": {"threshold": {"signal": "a:b", "op": "<", "value": 1}},
        }
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("30d", 2592000), ("1w", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "5 m", "1.5h", "m5", "-1m"])
def test_bad_durations_say_what_is_expected(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a Prometheus duration"):
        parse_duration(bad)


@given(st.integers(min_value=1, max_value=10**9))
def test_duration_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_workbook_factors_for_30_days() -> None:
    windows = burn_windows(slo())
    assert [(w.severity, w.long, w.short, float(w.factor)) for w in windows] == [
        ("page", 3600, 300, 14.4),
        ("page", 21600, 1800, 6.0),
        ("ticket", 86400, 7200, 3.0),
        ("ticket", 259200, 21600, 1.0),
    ]
    assert error_budget(slo()) == Fraction(1, 100)


def test_factors_scale_with_the_period() -> None:
    # 28 days: BR = budget fraction × period / long window, so 2 % × 672 h / 1 h = 13.44.
    assert float(burn_windows(slo(period="28d"))[0].factor) == pytest.approx(13.44)


def test_detection_time_is_window_times_factor_times_budget_over_bad_fraction() -> None:
    page = burn_windows(slo())[0]
    assert time_to_fire(page, Fraction(1, 100), Fraction(1)) == Fraction(
        5184, 10
    )  # 1h × 14.4 × 1 % = 8m38.4s
    assert time_to_fire(page, Fraction(1, 100), Fraction(1, 2)) == Fraction(10368, 10)


@given(st.text(max_size=30))
def test_selector_quotes_any_label_value(value: str) -> None:
    expr = promql.selector("up", {"job": value})
    matchers = promql_parser.parse(expr).matchers.matchers
    assert [(m.name, m.value) for m in matchers] == [("job", value)]


def test_builders_are_explicit() -> None:
    assert promql.aggregate("max", "x") == "max by () (x)"
    assert promql.over_time("quantile", "x", 600, 0.95) == "quantile_over_time(0.95, x[10m])"
    assert promql.number(30.0) == "30" and promql.number(0.02) == "0.02"
    with pytest.raises(promql.PromQLError, match="does not parse"):
        promql.parse("sum(x")


def test_prometheus_quantile_and_histogram_interpolation() -> None:
    assert signal_math.quantile(0.95, [0.0] * 9 + [1.0]) == pytest.approx(0.55)
    assert signal_math.quantile(0.5, [1.0, 2.0, 3.0, 4.0]) == pytest.approx(2.5)
    buckets = [(0.1, 50.0), (0.2, 90.0), (float("inf"), 100.0)]
    assert signal_math.histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert signal_math.histogram_quantile(0.7, buckets) == pytest.approx(0.15)
    assert signal_math.histogram_quantile(0.95, buckets) == 0.2  # in +Inf: the highest finite bound
    assert signal_math.stddev([1.0, -1.0, 1.0, -1.0]) == 1.0


@pytest.mark.parametrize(
    ("fn", "value", "text"),
    [
        # Outputs of Prometheus's own template functions (template_test.go).
        (humanize, 1234567.0, "1.235M"),
        (humanize, 0.0001234, "123.4u"),
        (humanize, 0.0, "0"),
        (humanize_percentage, 0.1234567, "12.35%"),
        (humanize_duration, 0.0215, "21.5ms"),
        (humanize_duration, 3600.0, "1h 0m 0s"),
        (humanize_duration, 90061.0, "1d 1h 1m 1s"),
        (humanize_duration, 3.5, "3.5s"),
        (go_value, 0.15000000000000002, "0.15000000000000002"),
        (go_value, 503.0, "503"),
        (go_value, 1e-05, "1e-05"),
    ],
)
def test_template_functions_match_prometheus(fn: Callable[[float], str], value: float, text: str) -> None:
    assert fn(value) == text


def test_expand_and_check() -> None:
    text = "{{ $labels.instance }} is at {{ $value | humanizePercentage }} in {{ $externalLabels.cluster }}"
    assert expand(text, {"instance": "a"}, 0.5, {"cluster": "lab"}) == "a is at 50% in lab"
    with pytest.raises(TemplateError, match="not one obsgen can test"):
        check("{{ range $labels }}x{{ end }}")


def test_time_to_fire_of_event_slis_follows_the_ramp_of_the_base_window() -> None:
    """Brute force, second by second: the base window's ratio ramps 0 → 1 over 5m after the
    errors start; a longer window averages it. The closed form must agree within a second."""
    from fractions import Fraction

    from generator.slo_math import BurnWindow, time_to_fire

    base = 300

    def first_second_at_or_above(window: int, share: float) -> int:
        ramp = [min(t / base, 1.0) for t in range(0, 4 * 86400)]
        total = 0.0
        for t, value in enumerate(ramp):
            total += value
            if t >= window:
                total -= ramp[t - window]
            mean = value if window == base else total / window
            if mean >= share:
                return t
        raise AssertionError("never reached")

    budget = Fraction(1, 1000)
    for long, short, factor in ((3600, 300, Fraction(144, 10)), (21600, 1800, Fraction(6)), (86400, 7200, 3)):
        window = BurnWindow("page", long, short, Fraction(factor))
        expected = max(first_second_at_or_above(w, float(window.threshold(budget))) for w in (long, short))
        got = time_to_fire(window, budget, Fraction(1), base)
        assert abs(float(got) - expected) <= 1, (long, short, got, expected)
    plain = time_to_fire(BurnWindow("page", 3600, 300, Fraction(144, 10)), budget, Fraction(1))
    assert plain == Fraction(5184, 100)  # 1h × 14.4 × 0.001 without a ramp
