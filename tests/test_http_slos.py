"""An ordinary HTTP API's SLOs (tests/fixtures/specs/http): regex and `!=` selectors, job scoping,
latency over histogram buckets, one SLO per handler. The generated tests pass, catch broken
rules, and a held-out scenario written here by hand (not by the generator) pages one handler."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, generate, held_out_series, obsgen, promtool_test

HTTP = ROOT / "tests" / "fixtures" / "specs" / "http"
ALERT = "CheckoutHandlerAvailabilityErrorBudgetBurn"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory, HTTP, "http")


def rules_text(generated: Path, slo: str) -> str:
    return (generated / "prometheus/rules" / f"checkout.{slo}.yml").read_text()


def test_rules_select_what_the_spec_says_scoped_to_job_and_realm(generated: Path) -> None:
    scope = 'job="checkout", metric_realm="shop"'
    availability = rules_text(generated, "availability")
    assert f'http_requests_total{{code=~"5..", handler!="/health", {scope}}}' in availability
    assert f'http_requests_total{{handler!="/health", {scope}}}' in availability
    latency = rules_text(generated, "latency")
    assert f'http_request_duration_seconds_bucket{{handler!="/health", {scope[:-21]}, le="0.3", ' in latency
    assert 'http_request_duration_seconds_count{handler!="/health", job="checkout"' in latency
    # 1 is written le="1" by Go clients and le="1.0" by client_python and Prometheus 3.
    assert 'le=~"1|1\\\\.0"' in rules_text(generated, "latency-1s")
    assert "sum by (handler) (rate(" in rules_text(generated, "handler-availability")


def test_generated_tests_pass(generated: Path, promtool: str) -> None:
    files = sorted((generated / "prometheus/tests").glob("checkout.*.yml"))
    assert len(files) == 4
    result = promtool_test(promtool, *files)
    assert result.returncode == 0, result.stdout + result.stderr
    names = [t["name"] for f in files for t in yaml.safe_load(f.read_text())["tests"]]
    assert any('le=\\"1.0\\"' in n or 'le="1.0"' in n for n in names), names
    assert any("only group handler=" in n for n in names), names


MUTATIONS = {
    # The regex written as an equality: no 5xx is ever counted.
    "regex to equality": ("availability", 'code=~"5.."', 'code="5.."'),
    # The job matcher lost: another job's series of the same name leak in.
    "lost job matcher": ("availability", ', job="checkout"', ""),
    # The realm matcher lost.
    "lost realm matcher": ("availability", ', metric_realm="shop"', ""),
    # The != widened away: /health traffic counts.
    "lost != matcher": ("availability", 'handler!="/health", ', ""),
    # The wrong bucket: requests between 300 ms and 1 s count as good.
    "wrong bucket": ("latency", 'le="0.3"', 'le="1"'),
    # Only the Go spelling of the bound: Prometheus 3's le="1.0" is missed.
    "one le spelling": ("latency-1s", 'le=~"1|1\\\\.0"', 'le="1"'),
    # The grouping dropped: handlers mix into one ratio.
    "groups mixed": ("handler-availability", "sum by (handler) (", "sum by () ("),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_generated_tests_catch_a_broken_rule(
    case: str, generated: Path, tmp_path: Path, promtool: str
) -> None:
    slo, old, new = MUTATIONS[case]
    broken = tmp_path / "generated"
    shutil.copytree(generated, broken)
    path = broken / "prometheus/rules" / f"checkout.{slo}.yml"
    text = path.read_text()
    assert old in text, f"mutation no longer applies: {old!r}"
    path.write_text(text.replace(old, new))
    result = promtool_test(promtool, broken / "prometheus/tests" / f"checkout.{slo}.yml")
    assert result.returncode != 0, f"{case}: the generated tests did not notice\n{result.stdout}"
    assert "FAILED" in result.stdout + result.stderr


def test_held_out_scenario_one_handler_fails_pages_that_handler_only(
    generated: Path, tmp_path: Path, promtool: str
) -> None:
    """Written by hand from the spec: /cart healthy, /checkout all 5xx from 2h on. With a
    budget of 0.5 % the page pair (1h/5m above 14.4 × 0.005 = 7.2 %) must fire within minutes
    for /checkout alone; /cart, whose traffic is clean, must never page."""
    # Another job and another realm fail all along: they must never count.
    inputs = held_out_series(scrapes_per_minute=1, decoy_step=500)
    firing = f'count by (handler, severity) (ALERTS{{alertname="{ALERT}", alertstate="firing"}})'
    test = {
        "rule_files": [str(generated / "prometheus/rules/checkout.handler-availability.yml")],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [
                    {"expr": firing, "eval_time": "119m", "exp_samples": []},
                    {
                        "expr": firing,
                        "eval_time": "150m",
                        "exp_samples": [
                            {"labels": '{handler="/checkout", severity="page"}', "value": 1},
                            {"labels": '{handler="/checkout", severity="ticket"}', "value": 1},
                        ],
                    },
                    {
                        "expr": 'slo:sli_error:ratio_rate5m{handler="/cart"}',
                        "eval_time": "150m",
                        "exp_samples": [
                            {
                                "labels": 'slo:sli_error:ratio_rate5m{handler="/cart", metric_realm="shop", '
                                'slo_id="checkout-handler-availability", slo_name="handler-availability", '
                                'slo_service="checkout", slo_window="5m"}',
                                "value": 0,
                            }
                        ],
                    },
                ],
            }
        ],
    }
    path = tmp_path / "held_out.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = promtool_test(promtool, path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_alertmanager_groups_and_inhibits_per_handler(generated: Path) -> None:
    """Each handler of a grouped SLO is its own notification, and one handler's page silences
    that handler's ticket only."""
    from generator.alertmanager import slo_inhibitions
    from generator.live.alertmanager import inhibits
    from generator.pipeline import load

    config = yaml.safe_load((generated / "alertmanager/alertmanager.yml").read_text())
    assert "handler" in config["route"]["group_by"]
    own = [r for r in config["route"]["routes"] if "group_by" in r and r["receiver"] == "chat"]
    assert own and all(r["group_by"] == ["alertname", "slo_id", "handler"] for r in own), own
    page_ticket = next(r for r in slo_inhibitions(load(HTTP)) if r.source.get("slo_severity") == "page")
    slo = {"slo_id": "checkout-handler-availability", "alertname": ALERT}
    page_a = {**slo, "slo_severity": "page", "handler": "/cart"}
    ticket_a = {**slo, "slo_severity": "ticket", "handler": "/cart"}
    ticket_b = {**slo, "slo_severity": "ticket", "handler": "/checkout"}
    assert inhibits(page_ticket, page_a, ticket_a)
    assert not inhibits(page_ticket, page_a, ticket_b)
    plain = {"slo_id": "checkout-availability", "alertname": "CheckoutAvailabilityErrorBudgetBurn"}
    assert inhibits(page_ticket, {**plain, "slo_severity": "page"}, {**plain, "slo_severity": "ticket"})


def test_routes_and_config_pass_amtool(generated: Path) -> None:
    assert shutil.which("amtool"), "amtool is installed by `make test` (prometheus-alertmanager)"
    check = subprocess.run(
        ["amtool", "check-config", str(generated / "alertmanager/alertmanager.yml")],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    routes = obsgen("alert", "routes-test", "--dir", generated)
    assert routes.returncode == 0, routes.stdout + routes.stderr


AVAILABILITY_ERRORS = """errors: 'http_requests_total{code=~"5..", handler!="/health"}'"""

# case: (old text in checkout.yaml, new text, field path, words of the message)
BAD_SELECTORS = {
    "equality that looks like a regex (mapping)": (
        AVAILABILITY_ERRORS,
        'errors: {metric: http_requests_total, matchers: {code: "5.."}}',
        "slos[0].sli.ratio.errors.matchers",
        'did you mean code=~"5.."?',
    ),
    "equality that looks like a regex (selector)": (
        AVAILABILITY_ERRORS,
        """errors: 'http_requests_total{code="5.."}'""",
        "slos[0].sli.ratio.errors",
        'did you mean code=~"5.."?',
    ),
    "not a plain selector": (
        AVAILABILITY_ERRORS,
        "errors: 'rate(http_requests_total[5m])'",
        "slos[0].sli.ratio.errors",
        "not a plain series selector",
    ),
    "regex RE2 cannot compile": (
        AVAILABILITY_ERRORS,
        """errors: 'http_requests_total{code=~"(?=5)"}'""",
        "slos[0].sli.ratio.errors",
        "not a PromQL selector",
    ),
    "metric not in the catalog": (
        AVAILABILITY_ERRORS,
        """errors: 'http_request_total{code=~"5.."}'""",
        "slos[0].sli.ratio.errors.metric",
        "did you mean 'http_requests_total'?",
    ),
    "label the metric does not have": (
        AVAILABILITY_ERRORS,
        """errors: 'http_requests_total{status=~"5.."}'""",
        "slos[0].sli.ratio.errors",
        "label 'status' is not a label of http_requests_total",
    ),
    "latency bound that is no bucket": (
        "below: 300ms",
        "below: 250ms",
        "slos[1].sli.latency.below",
        "pick one of: 0.05s, 0.1s, 0.3s, 1s, 3s",
    ),
    "grouping by a label the metric lacks": (
        "by: [handler]",
        "by: [path]",
        "slos[3].by",
        "'path' is not a label of http_requests_total",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SELECTORS))
def test_bad_selector_is_refused_with_its_line_and_the_fix(case: str, tmp_path: Path) -> None:
    old, new, path, words = BAD_SELECTORS[case]
    spec = tmp_path / "spec"
    shutil.copytree(HTTP, spec)
    text = (spec / "checkout.yaml").read_text()
    assert old in text, f"fixture drifted: {old!r}"
    (spec / "checkout.yaml").write_text(text.replace(old, new, 1))
    line = (
        text.replace(old, new, 1)
        .splitlines()
        .index(next(x for x in text.replace(old, new, 1).splitlines() if new in x))
    )
    out = tmp_path / "generated"
    result = obsgen("gen", "--spec", spec, "--out", out)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"checkout.yaml:{line + 1}: {path}:" in result.stderr, result.stderr
    assert words in result.stderr, result.stderr
    assert not out.exists()


def test_own_metrics_are_job_scoped_external_ones_only_when_the_spec_names_a_job() -> None:
    from generator.model import Service

    service = Service.model_validate(
        {
            "service": "checkout",
            "realm": "shop",
            "scrape": {"port": 8080, "job": "checkout-api"},
            "metrics": [
                {"name": "http_requests_total", "type": "counter", "help": "x"},
                {"name": "http_request_duration_seconds", "type": "histogram", "help": "x"},
                {"name": "probe_success", "type": "gauge", "help": "x", "external": True},
                {"name": "node_load1", "type": "gauge", "help": "x", "external": True, "job": "node"},
            ],
        }
    )
    realm = {"metric_realm": "shop"}
    assert service.scope("http_requests_total") == {"job": "checkout-api", **realm}
    assert service.scope("http_request_duration_seconds_bucket") == {"job": "checkout-api", **realm}
    assert service.scope("probe_success") == realm
    assert service.scope("node_load1") == {"job": "node", **realm}
    assert service.scope("checkout:recorded:series") == realm
    unscraped = service.model_copy(update={"scrape": None})
    assert unscraped.scope("http_requests_total") == realm


def test_a_dashboard_panel_takes_a_selector_and_keeps_the_scope(generated: Path) -> None:
    import json

    dashboard = json.loads((generated / "grafana/dashboards/checkout-traffic.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    wanted = 'http_requests_total{code=~"5..", handler!="/health", job="checkout", metric_realm="shop"}'
    assert any(wanted in e and "rate(" in e for e in exprs), exprs


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"type": "counter", "buckets": [1, 2]}, "`buckets` belong to histograms"),
        ({"type": "histogram", "buckets": [1, 0.5]}, "`buckets` must be increasing"),
        ({"type": "gauge", "job": "node"}, "`job` names the exporter of an `external` metric"),
    ],
)
def test_catalog_entries_that_cannot_be_right_are_refused(fields: dict[str, object], words: str) -> None:
    from pydantic import ValidationError

    from generator.model import Metric

    with pytest.raises(ValidationError, match=words):
        Metric.model_validate({"name": "x_total", "help": "x", **fields})


VARIATIONS = ROOT / "tests" / "fixtures" / "specs" / "variations"


def test_slo_shapes_real_services_write_generate_tests_that_pass(tmp_path: Path, promtool: str) -> None:
    """Regex classes and POSIX classes, two `by` labels, `good` with `!~`, errors and total on
    different counters, a grouped latency SLO, a bound Go writes `1e+06`, an external counter of
    another job (named by the catalog, or only by the selectors), errors repeating total's
    equality matcher, external gauges behind signals, custom windows, 28d and 30s slices:
    accepted, and every generated test passes (two promtool processes, one per core)."""
    out = tmp_path / "generated"
    result = obsgen("gen", "--spec", VARIATIONS, "--out", out)
    assert result.returncode == 0, result.stderr
    rules = "\n".join(p.read_text() for p in sorted((out / "prometheus/rules").glob("*.yml")))
    assert 'nginx_http_requests_total{job="nginx", metric_realm="eu", status=~"5.."}' in rules
    assert 'le="1e+06"' in rules
    files = sorted((out / "prometheus/tests").glob("*.yml"))
    assert len(files) == 12
    halves = [files[0::2], files[1::2]]
    runs = [
        subprocess.Popen([promtool, "test", "rules", *map(str, half)], stdout=subprocess.PIPE, text=True)
        for half in halves
    ]
    for run in runs:
        output, _ = run.communicate(timeout=600)
        assert run.returncode == 0, output


# case: (text in web.yaml, replacement, words of the message)
REFUSED_SHAPES = {
    "unicode class": (
        'handler=~"/api/[^/]+", handler!=',
        'handler=~"\\\\p{L}+", handler!=',
        "Unicode classes",
    ),
    "errors wider than total": (
        """errors: 'http_requests_total{code=~"5..", version=~"v[12]"}'""",
        """errors: 'http_requests_total{code=~"5.."}'""",
        'repeat total\'s matchers (version=~"v[12]") in `errors`',
    ),
    "latency as a ratio of buckets": (
        "good: 'http_requests_total{code!~\"5..|429\"}'\n        total: http_requests_total",
        "good: 'http_request_duration_seconds_bucket{le=\"0.3\"}'\n"
        "        total: 'http_request_duration_seconds_bucket{le=\"+Inf\"}'",
        "for a latency SLO use `latency:`",
    ),
    "grouped by the label errors filter on": ("by: [handler, version]", "by: [code]", "groups on a label"),
    "contradicting matchers": (
        """errors: 'nginx_http_requests_total{status=~"5.."}'""",
        """errors: {metric: 'nginx_http_requests_total{status=~"5.."}', matchers: {status: "200"}}""",
        "contradict each other",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_SHAPES))
def test_slo_shapes_whose_tests_could_not_pass_are_refused(case: str, tmp_path: Path) -> None:
    old, new, words = REFUSED_SHAPES[case]
    spec = tmp_path / "spec"
    shutil.copytree(VARIATIONS, spec)
    text = (spec / "web.yaml").read_text()
    assert old in text, f"fixture drifted: {old!r}"
    (spec / "web.yaml").write_text(text.replace(old, new, 1))
    result = obsgen("validate", "--spec", spec)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"web\.yaml:\d+: slos\[\d\]", result.stderr), result.stderr
    assert words in result.stderr, result.stderr
