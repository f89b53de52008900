"""Dashboards of an ordinary HTTP API (tests/fixtures/specs/http): a counter panel is a rate over
a scrape-safe window, scoped like the rules; every SLO gets its SLI, budget and burn-rate panels
with thresholds from the model; a grouped SLO gets a variable per `by` label and one series per
group. Queries are also run for real (promtool) against the rules they read."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema
import promql_parser
import pytest
import yaml
from conftest import ROOT, held_out_series, promtool_test, vector_selectors
from schemas import grafana_dashboard_schema

from generator import promql
from generator.durations import format_duration
from generator.grafana.dashboards import compile_dashboards
from generator.grafana.panels import RATE_INTERVAL, RATE_INTERVAL_SCRAPES, target_as_sent
from generator.model import Spec
from generator.pipeline import load
from generator.render import to_yaml
from generator.rules import compile_rules
from generator.slo_math import burn_windows, enabled_windows, objective_ratio
from generator.validate import known_series

HTTP = ROOT / "tests" / "fixtures" / "specs" / "http"
GROUPED = "checkout-handler-availability"
SCOPE = {"job": "checkout", "metric_realm": "shop"}


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load(HTTP)


@pytest.fixture(scope="module")
def boards(spec: Spec) -> dict[str, dict[str, Any]]:
    return compile_dashboards(spec)


def panel(board: dict[str, Any], title_start: str) -> dict[str, Any]:
    (found,) = [p for p in board["panels"] if p["title"].startswith(title_start)]
    return found


def steps(panel: dict[str, Any]) -> list[tuple[str, float | None]]:
    return [(s["color"], s["value"]) for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"]]


def targets(board: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for p in board["panels"] for t in p["targets"]]


def matchers(node: Any) -> set[tuple[str, str, str]]:
    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    return {(m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value) for m in node.matchers.matchers}


def with_settings(tmp_path: Path, **changes: Any) -> Spec:
    """A copy of the http spec whose settings differ as given (nested dicts merged)."""
    copy = tmp_path / "http"
    shutil.copytree(HTTP, copy)
    settings_file = copy / "obsgen.yaml"
    document = yaml.safe_load(settings_file.read_text())
    for key, value in changes.items():
        current = document["settings"].get(key)
        document["settings"][key] = {**current, **value} if isinstance(current, dict) else value
    settings_file.write_text(yaml.safe_dump(document))
    return load(copy)


# --- hand-picked panels of raw series -----------------------------------------------------------


def test_counter_panel_is_a_rate_over_a_scrape_safe_window_scoped_like_the_rules(
    spec: Spec, boards: dict[str, dict[str, Any]]
) -> None:
    (target,) = panel(boards["checkout-traffic"], "Requests per second")["targets"]
    scrape = spec.settings.scrape_interval
    assert target["interval"] == format_duration(scrape)  # the Min step $__rate_interval builds on
    assert f"[{RATE_INTERVAL}]" in target["expr"]
    sent = promql.parse(target_as_sent(target))
    assert isinstance(sent, promql_parser.AggregateExpr) and str(sent.op) == "sum"
    assert sent.modifier.labels == ["code", "handler"]  # the counter's declared labels
    assert isinstance(sent.expr, promql_parser.Call) and sent.expr.func.name == "rate"
    (window,) = sent.expr.args
    assert window.range.total_seconds() == RATE_INTERVAL_SCRAPES * scrape >= 4 * scrape
    assert window.vector_selector.name == "http_requests_total"
    # the same job and realm scope as the SLO rules put on the counter
    assert matchers(window.vector_selector) == {(k, "=", v) for k, v in SCOPE.items()}
    assert spec.services[0].scope("http_requests_total") == SCOPE


def test_rate_window_follows_the_scrape_interval(tmp_path: Path) -> None:
    spec = with_settings(tmp_path, scrape_interval="30s")
    board = compile_dashboards(spec)["checkout-traffic"]
    (target,) = panel(board, "Requests per second")["targets"]
    assert target["interval"] == "30s"
    assert "[2m]" in target_as_sent(target)


def test_histogram_panel_is_quantiles_over_the_rate_of_the_scoped_buckets(
    boards: dict[str, dict[str, Any]],
) -> None:
    latency = panel(boards["checkout-traffic"], "Request latency")["targets"]
    assert [t["legendFormat"] for t in latency] == ["p50", "p90", "p99"]
    for target in latency:
        sent = promql.parse(target_as_sent(target))
        assert isinstance(sent, promql_parser.Call) and sent.func.name == "histogram_quantile"
        (bucket,) = vector_selectors(target_as_sent(target))
        assert bucket.name == "http_request_duration_seconds_bucket"
        assert matchers(bucket) == {(k, "=", v) for k, v in SCOPE.items()}
        assert "rate(http_request_duration_seconds_bucket{" in target["expr"]
        assert "sum by (le) (" in target["expr"]


# --- the SLO dashboard ---------------------------------------------------------------------------


def test_every_slo_has_sli_budget_burn_and_alert_panels(
    spec: Spec, boards: dict[str, dict[str, Any]]
) -> None:
    board = boards["checkout-slos"]
    for slo in spec.services[0].slos:
        ident = f"checkout-{slo.name}"
        section = [p for p in board["panels"] if p["title"].startswith(f"{ident}: ")]
        assert [p["type"] for p in section] == ["timeseries", "timeseries", "timeseries", "table"]
        sli, budget, burn, alerts = section
        assert "error budget left" in budget["title"] and "burn rate" in burn["title"]
        # SLI = 1 - error ratio, over the windows the burn-rate alerts read, against the objective
        assert all(t["expr"].startswith("1 - slo:sli_error:ratio_rate") for t in sli["targets"])
        assert steps(sli) == [("red", None), ("green", float(objective_ratio(slo)))]
        alerting = sorted({w for pair in burn_windows(slo) for w in (pair.long, pair.short)})
        assert [t["legendFormat"].split()[-1] for t in sli["targets"]] == [
            format_duration(w) for w in alerting
        ]
        assert alerts["targets"][0]["expr"].startswith('ALERTS{alertstate="firing"')
    titles = [p["title"] for p in board["panels"]]
    assert "checkout-latency: share of requests under 0.3s (objective 99%)" in titles
    assert "checkout-availability: availability (1 − error ratio) (objective 99.5%)" in titles


def test_budget_panel_threshold_is_the_policys_freeze_below(
    spec: Spec, boards: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    freeze = spec.settings.error_budget_policy.freeze_below
    budget = panel(boards["checkout-slos"], "checkout-availability: error budget left")
    assert steps(budget) == [("red", None), ("orange", 0), ("green", freeze)]

    changed = compile_dashboards(with_settings(tmp_path, error_budget_policy={"freeze_below": 0.4}))
    budget = panel(changed["checkout-slos"], "checkout-availability: error budget left")
    assert steps(budget) == [("red", None), ("orange", 0), ("green", 0.4)]
    assert "changes freeze below 40%" in budget["title"]


def test_burn_panel_draws_the_enabled_factors_of_the_slo_arithmetic(
    spec: Spec, boards: dict[str, dict[str, Any]]
) -> None:
    for slo in spec.services[0].slos:
        burn = panel(boards["checkout-slos"], f"checkout-{slo.name}: burn rate")
        drawn = {value for _, value in steps(burn)} - {None}
        assert drawn == {float(w.factor) for w in enabled_windows(slo)}


def test_a_disabled_tier_draws_no_factor_line(tmp_path: Path) -> None:
    copy = tmp_path / "http"
    shutil.copytree(HTTP, copy)
    document = yaml.safe_load((copy / "checkout.yaml").read_text())
    document["slos"][0]["alerting"] = {"ticket": {"disabled": True}}
    (copy / "checkout.yaml").write_text(yaml.safe_dump(document))
    burn = panel(compile_dashboards(load(copy))["checkout-slos"], "checkout-availability: burn rate")
    assert burn["title"] == "checkout-availability: burn rate (page 14.4×, 6×)"
    assert steps(burn) == [("green", None), ("red", 6.0), ("red", 14.4)]
    assert len(burn["targets"]) == 4  # the ratios are still recorded over every long window


def test_grouped_slo_has_a_variable_per_by_label_and_its_panels_use_it(
    boards: dict[str, dict[str, Any]],
) -> None:
    board = boards["checkout-slos"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    handler = variables["handler"]
    assert handler["type"] == "query"
    assert handler["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert handler["multi"] and handler["includeAll"] and handler["allValue"] == ".*"
    assert handler["query"] == (
        f'label_values(slo:sli_error:ratio_rate5m{{metric_realm="shop", slo_id="{GROUPED}"}}, handler)'
    )
    chosen = ("handler", "=~", "$handler")
    grouped = [p for p in board["panels"] if p["title"].startswith(f"{GROUPED}: ")]
    for target in (t for p in grouped for t in p["targets"]):
        slo_series = [
            s for s in vector_selectors(target["expr"]) if s.name != "slo:error_budget:ratio"
        ]  # the budget is one series for every group
        assert slo_series and all(chosen in matchers(s) for s in slo_series), target["expr"]
        if not target["expr"].startswith("ALERTS"):
            assert target["legendFormat"].startswith("{{handler}}")
    others = [t for p in board["panels"] if not p["title"].startswith(f"{GROUPED}: ") for t in p["targets"]]
    assert others and not any("$handler" in t["expr"] for t in others)


def test_dashboards_validate_and_every_query_parses_and_reads_known_series(
    spec: Spec, boards: dict[str, dict[str, Any]]
) -> None:
    validator = jsonschema.Draft7Validator(grafana_dashboard_schema())
    known = known_series(spec)
    assert sorted(boards) == ["checkout-slos", "checkout-traffic"]
    for uid, board in boards.items():
        assert [e.message for e in validator.iter_errors(board)] == [], uid
        for target in targets(board):
            names = {name for name, _ in promql.selectors(target_as_sent(target))}
            assert names and names <= known, (uid, target["expr"], names - known)


# --- run for real --------------------------------------------------------------------------------


def test_queries_evaluate_to_one_series_per_group_and_ignore_other_jobs(
    spec: Spec, boards: dict[str, dict[str, Any]], tmp_path: Path, promtool: str
) -> None:
    """/cart healthy, /checkout all 5xx from 2h on (as test_http_slos' held-out scenario), at the
    spec's 15s scrape interval; decoys of another job and realm. At 3h10m (the budget left counts
    whole hours, so the bad hour from 2h to 3h is in it) every grouped panel shows /cart and
    /checkout (or the one chosen), only /checkout burns above the page factor and is below the
    freeze line, and the request-rate panel never shows the decoys' 5xx on /cart."""
    inputs = held_out_series(scrapes_per_minute=4, decoy_step=50)
    board = boards["checkout-slos"]
    grouped = [p for p in board["panels"] if p["title"].startswith(f"{GROUPED}: ")]

    def sent(target: dict[str, Any], handler: str = ".*") -> str:
        return target_as_sent(target).replace('"$handler"', promql.quote(handler))

    both = [{"labels": '{handler="/cart"}', "value": 1}, {"labels": '{handler="/checkout"}', "value": 1}]
    cases = []
    for target in (t for p in grouped if p["type"] != "table" for t in p["targets"]):
        cases.append((f"count by (handler) ({sent(target)})", both))
        cases.append((f"count by (handler) ({sent(target, '/cart')})", both[:1]))
    (alerts,) = panel(board, f"{GROUPED}: firing alerts")["targets"]
    page_and_ticket = [{"labels": '{handler="/checkout"}', "value": 2}]
    cases.append((f"count by (handler) ({sent(alerts)})", page_and_ticket))
    burn = panel(board, f"{GROUPED}: burn rate")
    page = max(value for _, value in steps(burn) if value is not None)
    burn_1h = next(t for t in burn["targets"] if t["legendFormat"].endswith(" 1h"))
    cases.append((f"count by (handler) ({sent(burn_1h)} > {page})", both[1:]))
    (left,) = panel(board, f"{GROUPED}: error budget left")["targets"]
    freeze = spec.settings.error_budget_policy.freeze_below
    cases.append((f"count by (handler) ({sent(left)} < {freeze})", both[1:]))
    (requests,) = panel(boards["checkout-traffic"], "Requests per second")["targets"]
    scoped = [
        {"labels": '{code="200", handler="/cart"}', "value": 1},
        {"labels": '{code="200", handler="/checkout"}', "value": 1},
        {"labels": '{code="500", handler="/checkout"}', "value": 1},
    ]
    cases.append((f"count by (code, handler) ({sent(requests)})", scoped))

    rules = tmp_path / "rules.yml"
    rules.write_text(to_yaml(compile_rules(spec)[f"checkout.{GROUPED.removeprefix('checkout-')}"]))
    test = {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "15s",
                "input_series": inputs,
                "promql_expr_test": [
                    {"expr": expr, "eval_time": "190m", "exp_samples": samples} for expr, samples in cases
                ],
            }
        ],
    }
    path = tmp_path / "dashboard_queries.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = promtool_test(promtool, path)
    assert result.returncode == 0, result.stdout + result.stderr
