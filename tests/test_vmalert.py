"""The same rules on a second engine: vmalert over VictoriaMetrics agrees with promtool.

One real VictoriaMetrics and one vmalert replay per promtool test (see tests/vm_replay.py) for
two generated test files: a time-slice SLO of the bundled spec (bridge phase-diff) and an events
SLO of the HTTP fixture (checkout availability, `rate` over counters). Both are compared with
the test files' own expectations and with promtool's values of every recorded series and of
ALERTS over the same inputs, evaluated over the rules with MetricsQL's window edges
(`vm_replay.left_open`: `*_over_time` ranges left-open as in Prometheus 3 and VictoriaMetrics;
promtool 2.42 closes them on the left).

Measured and asserted: every alert case and expected value holds on vmalert at the same
evaluation; every recorded series of the time-slice SLO equals promtool's (left-open windows)
at every probe; the events SLO's differ only where a window still holds the counters' first
rate window (Prometheus extrapolates a rate there, MetricsQL does not), by at most
`COUNTER_START_BOUND` on the error ratios; alerts start and stop within one evaluation
interval of promtool's (vmalert's are one interval late where a signal stops: no staleness
marker in a replay, and VictoriaMetrics still returns a vanished recorded series one step
later). `benchmarks/vmalert_compare.py` measures every SLO file, and against the rules as
written too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import GENERATED, ROOT, generate, installed, promtool_test
from vm_replay import Case, Comparison, compare

pytestmark = pytest.mark.xdist_group("vmalert")  # one VictoriaMetrics for the whole module

TESTS = GENERATED / "prometheus" / "tests"
TIME_SLICE = "bridge.phase-diff.yml"
EVENTS = "checkout.availability.yml"
HTTP_SPEC = ROOT / "tests" / "fixtures" / "specs" / "http"
COUNTER_START_BOUND = 0.01
"""Relative bound on an error ratio whose window holds the counters' first minutes (measured:
0.36 %, the 1d/3d/30d ratios of the events SLO while the test's history is shorter than them)."""


@pytest.fixture(scope="module")
def binaries() -> tuple[str, str, str]:
    return (
        installed("victoria-metrics", "victoria-metrics"),
        installed("vmalert", "victoria-metrics"),
        installed("promtool"),
    )


@pytest.fixture(scope="module")
def comparisons(
    tmp_path_factory: pytest.TempPathFactory, binaries: tuple[str, str, str]
) -> dict[str, Comparison]:
    http = generate(tmp_path_factory, HTTP_SPEC, "http")
    files = [TESTS / TIME_SLICE, http / "prometheus" / "tests" / EVENTS]
    work = tmp_path_factory.mktemp("vm-replay")
    return {c.test_file: c for c in compare(files, *binaries, work=work)}


@pytest.mark.parametrize("name", [TIME_SLICE, EVENTS])
def test_every_promtool_case_holds_on_vmalert(comparisons: dict[str, Comparison], name: str) -> None:
    comparison = comparisons[name]
    alerts = [c for c in comparison.cases if c.kind == "alert"]
    assert alerts and len(comparison.cases) > len(alerts), "the file must have alert and expression cases"
    assert [c for c in comparison.cases if not c.agrees] == []
    assert comparison.max_case_shift is not None and comparison.max_case_shift <= comparison.interval


def test_time_slice_series_equal_promtool_with_left_open_windows(comparisons: dict[str, Comparison]) -> None:
    comparison = comparisons[TIME_SLICE]
    agreeing, probes = comparison.series_agreeing(left_open=True)
    assert probes > 1000
    assert comparison.disagreements(left_open=True) == []
    assert agreeing == probes


def test_events_series_differ_only_in_the_counters_first_window(comparisons: dict[str, Comparison]) -> None:
    comparison = comparisons[EVENTS]
    assert comparison.series_agreeing(left_open=True)[1] > 1000
    late = [
        f"{s.name}: {d}"
        for s in comparison.series_open
        for d in s.differences
        if d.at >= comparison.reach[s.name]
    ]
    assert late == [], "a difference where no window reaches the test's first samples"
    too_far = [
        f"{s.name}: {d} ({d.relative:.3%})"
        for s in comparison.series_open
        if s.name.startswith("slo:sli_error:ratio_rate")
        for d in s.differences
        if d.relative > COUNTER_START_BOUND
    ]
    assert too_far == []


@pytest.mark.parametrize("name", [TIME_SLICE, EVENTS])
def test_alerts_start_and_stop_within_one_interval(comparisons: dict[str, Comparison], name: str) -> None:
    comparison = comparisons[name]
    assert comparison.timelines_open, "some alert must fire in the file's tests"
    shift = comparison.max_timeline_shift(left_open=True)
    assert shift is not None and shift <= comparison.interval, comparison.disagreements(left_open=True)


# A rule that only promtool evaluates as written: the comparison must say so.

PROMETHEUS_ONLY_RULES = """\
groups:
- name: edge
  interval: 1m
  rules:
  - record: edge:requests:rate5m
    expr: rate(requests_total[5m])
  - alert: SixSamplesInFiveMinutes
    expr: count_over_time(up_probe[5m]) > 5
    labels: {severity: page}
"""

PROMETHEUS_ONLY_TEST = """\
rule_files: [edge.rules.yml]
evaluation_interval: 1m
tests:
- name: rate in the first window; six samples in a closed 5m window
  interval: 1m
  input_series:
  - series: requests_total{job="a"}
    values: 600+60x10
  - series: up_probe{job="a"}
    values: 1x10
  alert_rule_test:
  - eval_time: 7m
    alertname: SixSamplesInFiveMinutes
    exp_alerts:
    - exp_labels: {job: a, severity: page}
  promql_expr_test:
  - expr: edge:requests:rate5m
    eval_time: 2m
    exp_samples:
    - labels: edge:requests:rate5m{job="a"}
      value: 0.5
"""


def test_the_comparison_catches_what_only_promtool_computes(
    tmp_path: Path, binaries: tuple[str, str, str]
) -> None:
    """promtool 2.42 passes this test (extrapolated rate 0.5/s at 2m, six samples in [t−5m, t]);
    on VictoriaMetrics the rate is the slope, 1/s, and a 5m window holds five samples."""
    (tmp_path / "edge.rules.yml").write_text(PROMETHEUS_ONLY_RULES)
    test_file = tmp_path / "edge.test.yml"
    test_file.write_text(PROMETHEUS_ONLY_TEST)
    promtool_run = promtool_test(binaries[2], test_file)
    assert promtool_run.returncode == 0, promtool_run.stdout + promtool_run.stderr
    (comparison,) = compare([test_file], *binaries, work=tmp_path / "work")
    failed = {c.kind: c for c in comparison.cases if not c.agrees}
    assert set(failed) == {"alert", "expr"}, comparison.cases
    assert _values(failed["expr"]) == pytest.approx(0.5)
    assert failed["alert"].shift is None
    rate = next(s for s in comparison.series_open if s.name == "edge:requests:rate5m")
    assert [d.at for d in rate.differences if d.victoria == pytest.approx(1.0)]


def _values(case: Case) -> float:
    assert case.value_diff is not None
    return case.value_diff
