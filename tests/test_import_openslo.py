"""`obsgen import openslo`: OpenSLO v1 and Sloth's v1alpha dialect become native spec files.

The acceptance case: an OpenSLO v1 Timeslices SLO over a threshold metric imports into a spec
whose generated rules and promtool tests are the very ones a hand-written native spec of the
same SLO generates, and those tests pass on the real promtool. Ratio SLOs import as events, as
native ratio SLIs when their `{{.window}}` queries read counters of the standard shape (with
generated promtool tests), else as raw `{{.window}}` queries with a note saying why;
`--raw-queries` keeps them all raw, and so Sloth's own OpenSLO examples import with Sloth's ids
and queries. What obsgen cannot express is refused with its file and line, and nothing is written.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import obsgen, tree_bytes
from sloth_peers import SLOTH

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "openslo"
PEERS = SLOTH  # Sloth's examples, vendored (tests/sloth_peers.py)


def import_openslo(out: Path, *args: Path | str) -> subprocess.CompletedProcess[str]:
    """`obsgen import openslo` of the files (and options) in `args` into `out`."""
    return obsgen("import", "openslo", *args, "--out", out)


def generate(spec: Path, out: Path) -> None:
    result = obsgen("gen", "--spec", spec, "--out", out)
    assert result.returncode == 0, result.stderr


def promtool_tests_pass(promtool: str, generated: Path) -> list[Path]:
    tests = sorted((generated / "prometheus" / "tests").glob("*.yml"))
    run = subprocess.run(
        [promtool, "test", "rules", *map(str, tests)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return tests


def service_file(spec: Path, service: str) -> dict[str, Any]:
    return yaml.safe_load((spec / f"{service}.yaml").read_text())


# --- acceptance: Timeslices over a threshold metric -------------------------------------------


def test_timeslices_threshold_slo_generates_the_rules_and_tests_of_a_native_spec(
    promtool: str, tmp_path: Path
) -> None:
    spec = tmp_path / "spec"
    result = import_openslo(spec, FIXTURES / "timeslices.yaml")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in spec.iterdir()) == ["obsgen.yaml", "payments.yaml"]

    imported, native = tmp_path / "imported", tmp_path / "native"
    generate(spec, imported)
    generate(FIXTURES / "native", native)
    tests = promtool_tests_pass(promtool, imported)
    assert {t.stem for t in tests} == {
        "_watchdog",
        "payments",
        "payments.settle-latency",
        "payments.ledger-lag",
    }
    for part in ("prometheus/rules", "prometheus/tests"):
        assert tree_bytes(imported / part) == tree_bytes(native / part), part
    # The alerts are the policies' windows, the slices OpenSLO's.
    rules = yaml.safe_load((imported / "prometheus/rules/payments.settle-latency.yml").read_text())
    fast = rules["groups"][0]
    assert fast["interval"] == "2m30s"
    alerts = [r for r in fast["rules"] if "alert" in r]
    assert [a["labels"]["severity"] for a in alerts] == ["page", "ticket"]
    assert "> 0.144" in alerts[0]["expr"] and "> 0.06" in alerts[1]["expr"]


def test_timeslices_import_keeps_the_comments_and_says_how_it_read_the_source(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    result = import_openslo(spec, FIXTURES / "timeslices.yaml")
    assert result.returncode == 0, result.stderr
    text = (spec / "payments.yaml").read_text()
    for comment in (
        "# Payments: the settlement team's SLOs, written in OpenSLO v1.",  # the file's header
        "# 99 % of the slices must be good",  # above a key
        "# The latency gauge the settlement worker exports, one series per queue.",  # an SLI document's
        "# a plain series: every sample of a slice must meet the objective",  # above the query
        "# mean of the replicas",  # at a line's end
        "# Page on a fast burn: 2 % of a 30-day budget in one hour.",  # an AlertPolicy document's
        "# no alertAfter: the short window is 6h / 12",
    ):
        assert text.count(comment) == 1, comment
    # What obsgen decided is said where it applies, and on stderr with the source line.
    assert "# OpenSLO severity 'warning' → ticket" in text
    assert "obsgen records its max over each 5m time slice" in text
    assert (
        "timeslices.yaml:41: spec.thresholdMetric.metricSource.spec.query: the source's query is a plain"
        in (result.stderr)
    )
    # The source's order: the SLOs as written, then the series they read.
    data = service_file(spec, "payments")
    assert list(data) == ["service", "slos", "signals", "metrics"]
    assert [s["name"] for s in data["slos"]] == ["settle-latency", "ledger-lag"]
    settle, ledger = data["slos"]
    assert settle["sli"]["threshold"] == {
        "signal": "payments:payments_settle_queue_latency_seconds:max_5m",
        "op": "<=",
        "value": 0.5,
    }
    assert settle["labels"] == {"team": "payments"}
    assert ledger["objective"] == 99.5 and ledger["time_slice"] == "1m"
    assert data["metrics"][0] == {
        "name": "payments_settle_queue_latency_seconds",
        "type": "gauge",
        "help": "imported from OpenSLO: timeslices.yaml",
        "external": True,
    }


def test_threshold_ops_pick_the_worst_sample_of_a_slice(tmp_path: Path) -> None:
    source = tmp_path / "ready.yaml"
    source.write_text(
        """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: ready
spec:
  service: web
  indicator:
    metadata: {name: ready}
    spec:
      thresholdMetric:
        metricSource:
          type: Prometheus
          spec:
            query: web_ready_ratio{pool="a"}
  budgetingMethod: Timeslices
  objectives:
    - {op: gte, value: 0.9, target: 0.99, timeSliceTarget: 1, timeSliceWindow: 1}
"""
    )
    spec = tmp_path / "spec"
    result = import_openslo(spec, source)
    assert result.returncode == 0, result.stderr
    data = service_file(spec, "web")
    assert data["signals"] == [
        {
            "record": "web:web_ready_ratio:min_1m",
            "metric": "web_ready_ratio",
            "function": "min",
            "window": "1m",
            "aggregate": "min",
            "matchers": {"pool": "a"},
        }
    ]
    slo = data["slos"][0]
    assert slo["time_slice"] == "1m"  # a bare number of minutes
    assert slo["sli"]["threshold"]["op"] == ">="
    # No alertPolicies: nothing alerts, as in the source.
    assert slo["alerting"] == {"page": {"disabled": True}, "ticket": {"disabled": True}}


# --- ratio metrics ------------------------------------------------------------------------------


def test_ratio_slos_import_as_events_or_native_window_queries_and_their_tests_pass(
    promtool: str, tmp_path: Path
) -> None:
    spec = tmp_path / "spec"
    result = import_openslo(spec, FIXTURES / "ratio.yaml")
    assert result.returncode == 0, result.stderr
    data = service_file(spec, "checkout")
    assert data["description"] == "The checkout API." and data["labels"] == {"team": "shop"}
    slos = {slo["name"]: slo for slo in data["slos"]}
    assert list(slos) == ["availability-0", "availability-1", "latency", "refunds"]

    # counter: true and plain selectors → the events SLI, counters in the catalog
    availability = slos["availability-0"]
    assert availability["objective"] == 99.9 and slos["availability-1"]["objective"] == 99
    assert availability["period"] == "28d" and availability["labels"] == {"tier": "1"}
    assert availability["sli"] == {
        "ratio": {
            "errors": {"metric": "checkout_requests_failed_total", "matchers": {"route": "/pay"}},
            "total": {"metric": "checkout_requests_total", "matchers": {"route": "/pay"}},
        }
    }
    assert availability["alerting"] == {
        "windows": [{"severity": "page", "long": "1h", "short": "5m", "factor": 14.4}]
    }
    assert [(m["name"], m["type"], m["external"]) for m in data["metrics"]] == [
        ("checkout_requests_failed_total", "counter", True),
        ("checkout_requests_total", "counter", True),
        # the counters the native SLIs below read, joined to the catalog
        ("checkout_refunds_total", "counter", True),
        ("checkout_request_duration_seconds", "histogram", True),
    ]
    # {{.window}} queries of the standard shape, sum(rate(counter[{{.window}}])) → native ratio
    # SLIs over the same series: good/total, bad/total as errors/total
    assert slos["latency"]["sli"] == {
        "ratio": {
            "good": 'checkout_request_duration_seconds_bucket{le="0.3"}',
            "total": "checkout_request_duration_seconds_count",
        }
    }
    assert slos["refunds"]["sli"] == {
        "ratio": {
            "errors": 'checkout_refunds_total{outcome=~"error|timeout"}',
            "total": "checkout_refunds_total",
        }
    }
    assert "period" not in slos["refunds"]  # 30d is obsgen's default
    assert "kept as raw PromQL" not in result.stderr
    text = (spec / "checkout.yaml").read_text()
    assert "metric: checkout_requests_failed_total  # 5xx answers" in text
    assert "# the contract\n  - name: availability-1" in text

    generated = tmp_path / "generated"
    generate(spec, generated)
    tests = promtool_tests_pass(promtool, generated)
    assert {t.stem for t in tests} == {
        "_watchdog",
        "checkout.availability-0",
        "checkout.availability-1",
        "checkout.latency",
        "checkout.refunds",
    }


def test_raw_queries_keeps_window_queries_as_written(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    result = import_openslo(spec, FIXTURES / "ratio.yaml", "--raw-queries")
    assert result.returncode == 0, result.stderr
    slos = {slo["name"]: slo for slo in service_file(spec, "checkout")["slos"]}
    # good/total as Sloth's error ratio, bad/total as errors/total, and no note: it was asked for
    good = 'sum(rate(checkout_request_duration_seconds_bucket{le="0.3"}[{{.window}}]))'
    total = "sum(rate(checkout_request_duration_seconds_count[{{.window}}]))"
    assert slos["latency"]["sli"]["query"]["error_ratio"] == (
        f"\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n"
    )
    assert slos["refunds"]["sli"]["query"] == {
        "errors": 'sum(rate(checkout_refunds_total{outcome=~"error|timeout"}[{{.window}}]))',
        "total": "sum(rate(checkout_refunds_total[{{.window}}]))",
    }
    assert "ratio" in slos["availability-0"]["sli"]  # counters without {{.window}} are events still
    assert "kept as raw PromQL" not in result.stderr
    generate(spec, tmp_path / "generated")


def window_slo(name: str, ratio: dict[str, str], raw_type: str | None = None) -> str:
    """An openslo/v1 SLO of service `shop` over a ratioMetric of `{{.window}}` queries: part → query."""
    parts = {
        part: {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}
        for part, query in ratio.items()
    }
    metric: dict[str, Any] = {**({"rawType": raw_type} if raw_type else {}), **parts}
    slo = {
        "apiVersion": "openslo/v1",
        "kind": "SLO",
        "metadata": {"name": name},
        "spec": {
            "service": "shop",
            "indicator": {"metadata": {"name": name}, "spec": {"ratioMetric": metric}},
            "budgetingMethod": "Occurrences",
            "objectives": [{"target": 0.99}],
        },
    }
    return yaml.safe_dump(slo, sort_keys=False)


LOGIN_SUCCESS = 'sum(rate(login_total{outcome="ok"}[{{.window}}])) / sum(rate(login_total[{{.window}}]))'
WINDOW_SLOS = [
    # grouped, read from one job: native, `by` the group, and the counter's catalog job is "api"
    window_slo(
        "pay",
        {
            "bad": 'sum by (route) (rate(http_total{job="api", code=~"5.."}[{{.window}}]))',
            "total": 'sum by (route) (rate(http_total{job="api"}[{{.window}}]))',
        },
    ),
    # a good ratio (rawType success), and the error ratio 1 - good / total (rawType failure): native
    window_slo("login", {"raw": LOGIN_SUCCESS}, "success"),
    window_slo("login-errors", {"raw": f"1 - {LOGIN_SUCCESS}"}, "failure"),
    # not the standard shape: raw, and the note says why
    window_slo(
        "search",
        {
            "good": 'sum(irate(search_total{code!~"5.."}[{{.window}}]))',
            "total": "sum(irate(search_total[{{.window}}]))",
        },
    ),
    window_slo("queue", {"raw": "avg_over_time(queue_errors_ratio[{{.window}}])"}, "failure"),
]


def test_window_queries_of_the_standard_shape_become_native_and_others_stay_raw_with_a_note(
    promtool: str, tmp_path: Path
) -> None:
    source = tmp_path / "shop.yaml"
    source.write_text("---\n".join(WINDOW_SLOS))
    spec = tmp_path / "spec"
    result = import_openslo(spec, source)
    assert result.returncode == 0, result.stderr
    data = service_file(spec, "shop")
    slos = {slo["name"]: slo for slo in data["slos"]}
    assert slos["pay"]["sli"] == {
        "ratio": {"errors": 'http_total{job="api", code=~"5.."}', "total": 'http_total{job="api"}'}
    }
    assert slos["pay"]["by"] == ["route"]
    login = {"ratio": {"good": 'login_total{outcome="ok"}', "total": "login_total"}}
    assert slos["login"]["sli"] == slos["login-errors"]["sli"] == login
    assert slos["search"]["sli"]["query"]["error_ratio"].count("irate(") == 2
    assert slos["queue"]["sli"] == {
        "query": {"error_ratio": "avg_over_time(queue_errors_ratio[{{.window}}])"}
    }
    assert {m["name"]: m.get("job") for m in data["metrics"]} == {
        "http_total": "api",
        "login_total": None,
        "queue_errors_ratio": None,
        "search_total": None,
    }
    # one note for the service, at its line, naming each raw SLO and why
    (note,) = [row for row in result.stderr.splitlines() if "kept as raw PromQL" in row]
    assert note.startswith(f"note: {source}:6: spec.service: kept as raw PromQL (sli.query)")
    assert "[search] good: it sums irate(…), not rate() or increase() of a counter" in note
    assert "[queue] it is avg_over_time(…), not errors / total" in note
    assert not re.search(r"\[(pay|login|login-errors)\]", note)
    assert "# kept as raw PromQL (sli.query)" in (spec / "shop.yaml").read_text()

    generated = tmp_path / "generated"
    generate(spec, generated)
    tests = promtool_tests_pass(promtool, generated)
    assert {t.stem for t in tests} == {"_watchdog", "shop.pay", "shop.login", "shop.login-errors"}

    # --raw-queries keeps every one raw, and says nothing of it
    raw = tmp_path / "raw"
    result = import_openslo(raw, source, "--raw-queries")
    assert result.returncode == 0, result.stderr
    assert all("query" in slo["sli"] for slo in service_file(raw, "shop")["slos"])
    assert "kept as raw PromQL" not in result.stderr


V1_EVENTS = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: {name}
spec:
  service: shop
  indicator:
    metadata: {{name: {name}}}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: {bad}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: {total}
  budgetingMethod: Occurrences
  objectives:
    - target: 0.99
"""


def test_a_native_selector_the_generated_tests_could_not_feed_stays_raw(tmp_path: Path) -> None:
    """The catalog gives a metric one job, which the generated tests give its series: a counter
    the events SLI declares without a job cannot be read by job="api" natively, nor any series by
    `instance`."""
    events = V1_EVENTS.format(name="events", bad='http_total{code="500"}', total="http_total")
    window = {
        "bad": 'sum(rate(http_total{job="api", code=~"5.."}[{{.window}}]))',
        "total": 'sum(rate(http_total{job="api"}[{{.window}}]))',
    }
    pinned = {
        "bad": 'sum(rate(node_total{instance="a", code=~"5.."}[{{.window}}]))',
        "total": 'sum(rate(node_total{instance="a"}[{{.window}}]))',
    }
    source = tmp_path / "shop.yaml"
    source.write_text("---\n".join([events, window_slo("by-job", window), window_slo("pinned", pinned)]))
    spec = tmp_path / "spec"
    result = import_openslo(spec, source)
    assert result.returncode == 0, result.stderr
    slos = {slo["name"]: slo for slo in service_file(spec, "shop")["slos"]}
    assert "ratio" in slos["events"]["sli"]
    assert "query" in slos["by-job"]["sli"] and "query" in slos["pinned"]["sli"]
    (note,) = [row for row in result.stderr.splitlines() if "kept as raw PromQL" in row]
    assert '[by-job] http_total{job="api", code=~"5.."} matches a `job` the generated tests' in note
    assert '[pinned] node_total{instance="a", code=~"5.."} matches `instance`' in note
    generate(spec, tmp_path / "generated")


# --- Sloth's v1alpha dialect --------------------------------------------------------------------


def sloth_sli_exprs(path: Path) -> dict[tuple[str, str], str]:
    """(sloth_id, window) → Sloth's recorded SLI error-ratio expression."""
    found = {}
    for document in yaml.safe_load_all(path.read_text()):
        for group in (document or {}).get("groups", []):
            for rule in group["rules"]:
                if rule.get("record", "").startswith("slo:sli_error:ratio_rate"):
                    found[(rule["labels"]["sloth_id"], rule["labels"]["sloth_window"])] = rule["expr"]
    return found


def our_sli_exprs(generated: Path) -> dict[tuple[str, str], str]:
    found = {}
    for path in (generated / "prometheus" / "rules").glob("*.yml"):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("record", "").startswith("slo:sli_error:ratio_rate"):
                    found[(rule["labels"]["slo_id"], rule["labels"]["slo_window"])] = rule["expr"]
    return found


def squeezed(expr: str) -> str:
    return re.sub(r"\s+", "", expr)


@pytest.mark.parametrize("example", ["openslo-getting-started", "openslo-kubernetes-apiserver"])
def test_sloth_openslo_examples_import_with_sloths_ids_and_queries(example: str, tmp_path: Path) -> None:
    """With --raw-queries the SLIs are Sloth's queries (by default, queries of this shape import
    as native ratio SLIs: the next test)."""
    spec, generated = tmp_path / "spec", tmp_path / "generated"
    result = import_openslo(
        spec, PEERS / f"{example}.in.yml", "--extra-labels", "cmd=examplesgen.sh", "--raw-queries"
    )
    assert result.returncode == 0, result.stderr
    generate(spec, generated)
    sloth, ours = sloth_sli_exprs(PEERS / f"{example}.out.yml"), our_sli_exprs(generated)
    assert set(ours) == set(sloth)
    for key, expr in sloth.items():
        if key[1] != "30d":  # the period's ratio is the mean of the 5m ratios (DESIGN.md), not a re-read
            assert squeezed(expr) == squeezed(f"({ours[key]})"), key
    for path in (generated / "prometheus" / "rules").glob("*.*.yml"):
        text = path.read_text()
        assert "alert:" not in text  # Sloth writes no alerts for OpenSLO
        assert "cmd: examplesgen.sh" in text


def test_sloth_validation_cases_good_imports_and_bad_is_refused_at_its_line(tmp_path: Path) -> None:
    good = tmp_path / "good"
    result = import_openslo(good, PEERS / "validate" / "good" / "good-openslo.yaml")
    assert result.returncode == 0, result.stderr
    data = service_file(good, "svc01")
    assert [s["name"] for s in data["slos"]] == ["slo1-0"]
    assert data["slos"][0]["objective"] == 99.9
    # Sloth's good/total {{.window}} queries of the standard shape: a native ratio SLI whose
    # counter's catalog job is the one the queries match
    assert data["slos"][0]["sli"] == {
        "ratio": {
            "good": 'http_request_duration_seconds_count{job="myservice", code!~"(5..|429)"}',
            "total": 'http_request_duration_seconds_count{job="myservice"}',
        }
    }
    assert data["metrics"][0]["job"] == "myservice"
    generate(good, tmp_path / "generated")

    bad = tmp_path / "bad"
    source = PEERS / "validate" / "bad" / "bad-openslo.yaml"
    result = import_openslo(bad, source)
    assert result.returncode == 2
    assert f"{source}:22: spec.timeWindows[0].count: no alert windows for a 28d SLO period" in result.stderr
    assert "--windows" in result.stderr
    assert not bad.exists()


def test_v1alpha_period_with_windows_from_a_sloth_alert_windows_file(tmp_path: Path) -> None:
    source = tmp_path / "weekly.yaml"
    text = (PEERS / "validate" / "good" / "good-openslo.yaml").read_text()
    source.write_text(text.replace("count: 30", "count: 7"))
    spec = tmp_path / "spec"
    result = obsgen("import", "openslo", source, "--out", spec, "--windows", PEERS / "windows" / "7d.yaml")
    assert result.returncode == 0, result.stderr
    slo = service_file(spec, "svc01")["slos"][0]
    assert slo["period"] == "7d"
    assert [w["severity"] for w in slo["alerting"]["windows"]] == ["page", "page", "ticket", "ticket"]
    generate(spec, tmp_path / "generated")


# --- refusals -------------------------------------------------------------------------------------

# fixture → (line, what the reason says)
REFUSED = {
    "calendar-window": (26, "spec.timeWindow[0].calendar: calendar-aligned time windows cannot be imported"),
    "unknown-field": (26, "spec.objectives[0].compositeWeight: unknown field 'compositeWeight'"),
    "datadog-source": (10, "metricSource.type: metric source with type Datadog cannot be imported"),
    "query-shape": (15, "cannot import this threshold query"),
    "notification-targets": (45, "spec.notificationTargets: notification targets cannot be imported"),
    "notification-target-kind": (1, "remove this AlertNotificationTarget here"),
    "ratio-timeslices": (11, "a ratioMetric SLO with budgetingMethod Timeslices cannot be imported"),
    "regex-counter": (17, 'outcome=~"failed|timeout" cannot be imported as a matcher'),
    "annotations": (5, "metadata.annotations: OpenSLO annotations are implementation metadata"),
    "unused": (30, "SLI 'leftover' is not used by any SLO"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_obsgen_cannot_express_is_refused_at_its_line_and_nothing_is_written(
    case: str, tmp_path: Path
) -> None:
    source = FIXTURES / "refused" / f"{case}.yaml"
    out = tmp_path / "spec"
    result = import_openslo(out, source)
    line, reason = REFUSED[case]
    assert result.returncode == 2, result.stdout + result.stderr
    errors = [row for row in result.stderr.splitlines() if row.startswith("error: ")]
    assert any(row.startswith(f"error: {source}:{line}: ") and reason in row for row in errors), result.stderr
    assert result.stderr.rstrip().endswith("nothing was written.")
    assert not out.exists()


def test_a_refused_value_of_the_model_points_at_the_source_line(tmp_path: Path) -> None:
    """A slice obsgen cannot record (2m does not divide the 5m windows) is the model's refusal,
    mapped back to the line of the OpenSLO field it came from."""
    source = tmp_path / "slice.yaml"
    text = (FIXTURES / "timeslices.yaml").read_text().replace("timeSliceWindow: 1m", "timeSliceWindow: 2m")
    source.write_text(text)
    result = import_openslo(tmp_path / "spec", source)
    assert result.returncode == 2
    line = text.splitlines().index("      timeSliceWindow: 2m") + 1
    assert f"{source}:{line}: spec.objectives[0].timeSliceWindow: time_slice 2m must divide" in result.stderr


def test_infinite_thresholds_are_refused_not_crashed_on(tmp_path: Path) -> None:
    source = tmp_path / "inf.yaml"
    source.write_text((FIXTURES / "timeslices.yaml").read_text().replace("value: 0.5", "value: .inf", 1))
    assert source.read_text() != (FIXTURES / "timeslices.yaml").read_text()
    result = import_openslo(tmp_path / "spec", source)
    assert result.returncode == 2, result.stdout
    assert "Input should be a finite number" in result.stderr and "Traceback" not in result.stderr


# --- OpenSLO as written in the wild: the vendored examples of oslo, go-sdk and the spec ------------

VENDORED = {name: FIXTURES / name for name in ("oslo", "go-sdk", "spec")}
"""tests/fixtures/openslo/<name>/: verbatim copies of OpenSLO/oslo, OpenSLO/go-sdk, OpenSLO/OpenSLO"""

REASONS = {
    "calendar window": "calendar-aligned time windows cannot be imported",
    "Timeslices over a ratio": "a ratioMetric SLO with budgetingMethod Timeslices cannot be imported",
    "Timeslices over v1alpha ratioMetrics": "budgetingMethod Timeslices over ratioMetrics",
    "RatioTimeslices": "RatioTimeslices (the mean of every slice's good/total ratio)",
    "Occurrences over a threshold": "a thresholdMetric SLO with budgetingMethod Occurrences cannot be",
    "v1alpha thresholdMetric": "a v1alpha thresholdMetric cannot be imported",
    "source not Prometheus": "cannot be imported: obsgen's rules run in Prometheus",
    "label with several values": "has several values",
    "name obsgen cannot use": "cannot be an obsgen service name",
    "notification targets": "notification targets cannot be imported",
    "burn-rate condition op lte": "op lte cannot be imported",
    "op on a ratio objective": "op and value apply to threshold metrics",
    "period without alert windows": "no alert windows for a 28d SLO period",
    # errors in the input rather than features (ERRORS_IN_INPUT)
    "reference to an undefined object": " named '",
    "Service without SLOs": "has no SLO in the imported files",
    "threshold objective without value": "a threshold objective needs a numeric `value`",
}
"""What the vendored files are refused for: a short name → words of the reason"""
ERRORS_IN_INPUT = {
    "reference to an undefined object",
    "Service without SLOs",
    "threshold objective without value",
    "period without alert windows",
}
"""Not features obsgen cannot express but errors (or a missing --windows): the whole import is refused"""

IMPORTS = {
    "go-sdk/pkg/openslosdk/test_data/decode/v1_slos.yaml": ("foo", ["foo-slo"]),
    "go-sdk/pkg/openslosdk/test_data/encode/v1_slo.yaml": ("foo", ["foo-slo"]),
}
"""vendored file → (service, its SLOs): an Occurrences SLO over Prometheus counters, no time window"""

REFUSALS: dict[str, list[tuple[int, str]]] = {
    # vendored file → every (line, reason) it is refused with, read from the file
    "oslo/test/inputs/validate/v1.yaml": [
        (9, "label with several values"),
        (19, "Timeslices over a ratio"),
        (34, "calendar window"),
        (40, "op on a ratio objective"),
        (44, "Service without SLOs"),
        (50, "label with several values"),
        (56, "Service without SLOs"),
        (59, "name obsgen cannot use"),
    ],
    "oslo/test/inputs/validate/v1alpha.yaml": [
        (4, "name obsgen cannot use"),
        (19, "Timeslices over v1alpha ratioMetrics"),
        (36, "period without alert windows"),
        (48, "v1alpha thresholdMetric"),
        (60, "calendar window"),
    ],
    "go-sdk/pkg/openslo/v1/examples/slos.yaml": [
        (9, "label with several values"),
        (19, "Timeslices over a ratio"),
        (34, "calendar window"),
        (40, "op on a ratio objective"),
    ],
    "go-sdk/pkg/openslo/v1alpha/examples/slos.yaml": [
        (9, "v1alpha thresholdMetric"),
        (18, "calendar window"),
        (39, "calendar window"),
        (42, "Timeslices over v1alpha ratioMetrics"),
        (51, "source not Prometheus"),
        (55, "source not Prometheus"),
    ],
    "go-sdk/pkg/openslosdk/test_data/export/inputs/v1_slo.yaml": [
        (21, "calendar window"),
        (39, "reference to an undefined object"),
        (40, "notification targets"),
        (59, "notification targets"),
        (65, "notification targets"),
    ],
    "go-sdk/pkg/openslosdk/test_data/export/inputs/custom_config.yaml": [
        (21, "calendar window"),
        (39, "reference to an undefined object"),
        (40, "notification targets"),
        (59, "notification targets"),
    ],
    "go-sdk/pkg/openslosdk/test_data/inline/inputs/v1_slo.yaml": [
        (21, "calendar window"),
        (42, "calendar window"),
        (61, "notification targets"),
        (80, "notification targets"),
        (106, "burn-rate condition op lte"),
        (110, "notification targets"),
    ],
    "go-sdk/pkg/openslosdk/test_data/inline/inputs/custom_config.yaml": [
        (17, "reference to an undefined object"),
        (18, "reference to an undefined object"),
        (20, "reference to an undefined object"),
        (29, "calendar window"),
    ],
    "go-sdk/pkg/openslosdk/test_data/inline/inputs/v1_slo_invalid_policy.yaml": [
        (9, "reference to an undefined object"),
        (13, "calendar window"),
        (18, "threshold objective without value"),
    ],
    "go-sdk/pkg/openslosdk/test_data/inline/inputs/v1_slo_invalid_sli.yaml": [
        (7, "reference to an undefined object"),
        (11, "calendar window"),
    ],
    "go-sdk/pkg/openslosdk/test_data/inline/inputs/v1_slo_invalid_target.yaml": [
        (26, "notification targets"),
        (36, "calendar window"),
        (41, "threshold objective without value"),
    ],
    "spec/examples/budgeting-method/occurences-slo.yaml": [
        (15, "Occurrences over a threshold"),
        (17, "source not Prometheus"),
    ],
    "spec/examples/budgeting-method/ratio-timeslices.yaml": [
        (18, "source not Prometheus"),
        (23, "source not Prometheus"),
        (29, "RatioTimeslices"),
    ],
    "spec/examples/budgeting-method/timeslices-slo.yaml": [
        (15, "Timeslices over a ratio"),
        (18, "source not Prometheus"),
        (23, "source not Prometheus"),
        (29, "calendar window"),
        (35, "op on a ratio objective"),
    ],
    "spec/examples/treat-low-traffic-as-equally-important/timeslices-slo.yaml": [
        (13, "Timeslices over a ratio"),
        (16, "source not Prometheus"),
        (21, "source not Prometheus"),
        (27, "calendar window"),
        (33, "op on a ratio objective"),
    ],
}
NOTHING_IMPORTED = "nothing in this file can be imported"
"""the refusal of a file whose every object obsgen cannot express (no error in it)"""


def vendored_files() -> list[str]:
    return sorted(
        path.relative_to(FIXTURES).as_posix() for root in VENDORED.values() for path in root.rglob("*.yaml")
    )


@pytest.fixture(scope="module")
def vendored_imports(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """Every vendored file imported on its own: its output directory and the command's result."""
    runs = {}
    for name in vendored_files():
        out = tmp_path_factory.mktemp("vendored") / "spec"
        runs[name] = (out, import_openslo(out, FIXTURES / name))
    return runs


def test_every_vendored_file_has_an_expected_outcome_and_its_source_is_told() -> None:
    assert set(vendored_files()) == set(IMPORTS) | set(REFUSALS)
    assert not set(IMPORTS) & set(REFUSALS)
    for root in VENDORED.values():
        assert (root / "LICENSE").read_text().lstrip().startswith("Apache License")
        readme = (root / "README.md").read_text()
        assert re.search(r"commit\s+`[0-9a-f]{40}`", readme), root
        assert all(name.split("/", 1)[1] in readme for name in vendored_files() if name.startswith(root.name))


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_vendored_files_obsgen_can_express_import_generate_and_pass_promtool(
    name: str,
    vendored_imports: dict[str, tuple[Path, subprocess.CompletedProcess[str]]],
    promtool: str,
    tmp_path: Path,
) -> None:
    out, result = vendored_imports[name]
    assert result.returncode == 0, result.stderr
    service, slos = IMPORTS[name]
    assert [slo["name"] for slo in service_file(out, service)["slos"]] == slos
    generated = tmp_path / "generated"
    generate(out, generated)
    tests = promtool_tests_pass(promtool, generated)
    assert {t.stem for t in tests} >= {f"{service}.{slo}" for slo in slos}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_vendored_files_are_refused_with_every_reason_at_its_line(
    name: str, vendored_imports: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]
) -> None:
    out, result = vendored_imports[name]
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    errors = [row.removeprefix("error: ") for row in result.stderr.splitlines() if row.startswith("error: ")]
    source = str(FIXTURES / name)
    located = [row for row in errors if not row.startswith(f"{source}: {NOTHING_IMPORTED}")]
    expected = [(f"{source}:{line}: ", REASONS[reason]) for line, reason in REFUSALS[name]]
    # every problem of the file at once: each expected reason at its line, and no other
    assert len(located) == len(expected), "\n".join(errors)
    for (where, words), row in zip(expected, located, strict=True):
        assert row.startswith(where) and words in row, (where, words, row)
    features_only = not {reason for _, reason in REFUSALS[name]} & ERRORS_IN_INPUT
    # with no error in it, the file is refused only because nothing of it can be imported
    assert (len(errors) == len(located) + 1) == features_only, "\n".join(errors)


def test_vendored_counts(vendored_imports: dict[str, tuple[Path, subprocess.CompletedProcess[str]]]) -> None:
    """Prints what imports and what is refused, and why (pytest -s shows it)."""
    imported = [name for name, (_, result) in vendored_imports.items() if result.returncode == 0]
    refused = [name for name, (_, result) in vendored_imports.items() if result.returncode == 2]
    assert sorted(imported) == sorted(IMPORTS) and sorted(refused) == sorted(REFUSALS)
    files_per_reason: dict[str, int] = {}
    for reasons in REFUSALS.values():
        for reason in dict.fromkeys(reason for _, reason in reasons):
            files_per_reason[reason] = files_per_reason.get(reason, 0) + 1
    print(
        f"\nvendored OpenSLO files: {len(vendored_imports)}; imported {len(imported)}, refused {len(refused)}"
    )
    for reason, count in sorted(files_per_reason.items(), key=lambda item: (-item[1], item[0])):
        print(f"  refused for {reason}: {count} files")


# --- a list of objects, imported object by object --------------------------------------------------


def test_a_list_of_objects_imports_what_obsgen_can_express_and_notes_each_object_left_out(
    tmp_path: Path,
) -> None:
    source = FIXTURES / "partial.yaml"
    spec = tmp_path / "spec"
    result = import_openslo(spec, source)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in spec.iterdir()) == ["checkout.yaml", "obsgen.yaml"]
    data = service_file(spec, "checkout")
    assert data["labels"] == {"team": "payments"}  # `team: [payments]`
    assert [slo["name"] for slo in data["slos"]] == ["availability"]
    assert data["slos"][0]["labels"] == {"env": "prod"}
    assert data["slos"][0]["sli"]["ratio"]["errors"] == {"metric": "checkout_requests_failed_total"}
    # Each object left out is noted at the line of each reason, and in the written file's header.
    left_out = {
        39: "SLO 'monthly' is not imported: calendar-aligned time windows cannot be imported",
        67: "Service 'search' is not imported: label 'team' has several values (web, mobile)",
        73: f"SLO 'hits' is not imported: Service 'search' cannot be imported (the reasons are given at "
        f"{source}:62)",
        82: "SLO 'hits' is not imported: metric source with type Datadog cannot be imported",
        87: "SLO 'hits' is not imported: metric source with type Datadog cannot be imported",
        93: "AlertNotificationTarget 'oncall' is not imported: notification targets cannot be imported",
    }
    notes = [row for row in result.stderr.splitlines() if "is not imported" in row]
    assert len(notes) == len(left_out), result.stderr
    for row, (line, words) in zip(notes, left_out.items(), strict=True):
        assert row.startswith(f"note: {source}:{line}: ") and words in row, (row, words)
    text = (spec / "checkout.yaml").read_text()
    assert text.count("# Not imported: ") == len(left_out)
    assert "# Not imported: SLO 'monthly' (" in text
    assert "team: payments  # one value in a list: the label's value" in text
    generate(spec, tmp_path / "generated")


def test_a_file_nothing_is_imported_from_is_noted_when_others_import(tmp_path: Path) -> None:
    calendar = FIXTURES / "refused" / "calendar-window.yaml"
    result = import_openslo(tmp_path / "spec", FIXTURES / "partial.yaml", calendar)
    assert result.returncode == 0, result.stderr
    assert f"note: {calendar}:1: nothing in this file is imported" in result.stderr
    assert f"note: {calendar}:26: spec.timeWindow[0].calendar: SLO 'monthly' is not imported" in result.stderr


# --- v1alpha as the spec writes it -----------------------------------------------------------------

V1ALPHA_INCREMENTAL = """\
apiVersion: openslo/v1alpha
kind: SLO
metadata:
  name: logins
spec:
  service: auth
  budgetingMethod: Occurrences
  timeWindows:
    - count: 30
      unit: Day
      isRolling: true
  objectives:
    - target: 0.99
      ratioMetrics:
        incremental: {incremental}
        good:
          source: prometheus
          queryType: promql
          query: auth_logins_total{{outcome="ok"}}
        total:
          source: prometheus
          queryType: promql
          query: auth_logins_total
"""


def test_v1alpha_incremental_counters_import_as_events(tmp_path: Path) -> None:
    """v1alpha's `ratioMetrics.incremental` is v1's `counter` (OpenSLO renamed it): with plain
    selectors, `incremental: true` makes the events SLI v1's `counter: true` makes."""
    source = tmp_path / "logins.yaml"
    source.write_text(V1ALPHA_INCREMENTAL.format(incremental="true"))
    spec = tmp_path / "spec"
    result = import_openslo(spec, source)
    assert result.returncode == 0, result.stderr
    slo = service_file(spec, "auth")["slos"][0]
    assert slo["name"] == "logins-0"
    assert slo["sli"] == {
        "ratio": {
            "good": {"metric": "auth_logins_total", "matchers": {"outcome": "ok"}},
            "total": {"metric": "auth_logins_total"},
        }
    }
    generate(spec, tmp_path / "generated")

    source.write_text(V1ALPHA_INCREMENTAL.format(incremental="false"))
    result = import_openslo(tmp_path / "refused", source)
    assert result.returncode == 2
    assert f"{source}:15: spec.objectives[0].ratioMetrics.incremental: queries without {{{{.window}}}}" in (
        result.stderr
    )
    assert "needs `incremental: true`" in result.stderr
