"""The sandbox's speed-up is compiled: under `compressed_time(S)` the rule, Prometheus and
Alertmanager compilers divide every duration value by S, and nothing else changes.

Each scaled document is walked beside the nominal one: same files, groups, rule names, labels
and annotations; every group interval, `for`, PromQL range, subquery step and offset, scrape
and evaluation interval and Alertmanager wait is the nominal ÷ S (to the millisecond, worked
out here independently of the implementation). At scale 1 the output is generated/ byte for
byte, also right after a scaled compile (no cache hands one to the other).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GENERATED, SPEC, installed, obsgen

from generator.alertmanager import compile_alertmanager
from generator.durations import compressed_time, time_scale
from generator.loader import load_spec
from generator.model import Spec
from generator.pipeline import render_outputs
from generator.prometheus_config import compile_prometheus_config
from generator.promql import durations_ms, scale_durations
from generator.render import to_yaml
from generator.rules import compile_rules
from runtime.sandbox_config import default_speed_up, sandbox_files
from runtime.stack import choose_ports, commands

UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
DURATION = re.compile(r"^(?:\d+(?:ms|[smhdw]))+$")
DURATION_TOKEN = re.compile(r"(?<![\w.])(?:\d+(?:ms|[smhdw]))+(?![\w.])")
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])")
STRING = re.compile(r'"(?:\\.|[^"\\])*"')

RAW_SLO = {
    "name": "queried",
    "description": "Raw PromQL over each window, with a literal offset and a string that looks like a range.",
    "objective": 99,
    "sli": {
        "query": {
            "errors": 'sum(rate(http_requests_total{code=~"5..", handler!="[5m]"}[{{.window}}]))',
            "total": "sum(rate(http_requests_total[{{.window}}] offset 1m))",
        }
    },
}
RAW_ALERT = {
    "name": "CheckoutErrorsSurged",
    "expr": (
        'max_over_time(sum(rate(http_requests_total{code="500"}[5m]))[30m:15s]) '
        '> 2 * sum(rate(http_requests_total{code="500"}[1h] offset 1d))'
    ),
    "for": "10m",
    "severity": "ticket",
    "summary": "Checkout errors surged.",
    "description": "Errors are twice yesterday's.",
    "examples": [
        {
            "input_series": [{"series": 'http_requests_total{code="500"}', "values": "0+1x30 30+100x60"}],
            "eval_time": "80m",
            "fires": True,
            "labels": {},
        }
    ],
}


def milliseconds(duration: str) -> int:
    assert DURATION.match(duration), duration
    return sum(int(n) * UNIT_MS[u] for n, u in re.findall(r"(\d+)(ms|[smhdw])", duration))


def expected_ms(nominal_ms: int, scale: Fraction) -> int:
    """Nominal ÷ S to the millisecond, half up; a positive duration stays positive."""
    if nominal_ms == 0:
        return 0
    return max(1, int(Fraction(nominal_ms) / scale + Fraction(1, 2)))


def scaled_ms(nominal_ms: int, scale: Fraction) -> int:
    """expected_ms, except that a range one millisecond short of a whole second (the period's
    hour tiles, left open so that back-to-back windows share no sample) stays one millisecond
    short after scaling."""
    short = int(nominal_ms % 1000 == 999)
    return expected_ms(nominal_ms + short, scale) - short


def assert_scaled(nominal: str, scaled: str, scale: Fraction, where: str) -> None:
    assert milliseconds(scaled) == scaled_ms(milliseconds(nominal), scale), (
        f"{where}: {nominal} ÷ {scale} is not {scaled}"
    )


# --- the projects --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def init_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = tmp_path_factory.mktemp("init") / "project"
    result = obsgen("init", project, "--service", "checkout")
    assert result.returncode == 0, result.stderr
    return project / "spec"


@pytest.fixture(scope="module")
def raw_spec(init_spec: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The init project at a 30 s evaluation interval, with raw PromQL: a query SLI and an alert
    with ranges, a subquery and offsets."""
    spec = tmp_path_factory.mktemp("raw") / "spec"
    spec.mkdir()
    for path in init_spec.glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        if "settings" in document:
            document["settings"]["evaluation_interval"] = "30s"
        if document.get("service") == "checkout":
            document["slos"].append(RAW_SLO)
            document.setdefault("alerts", []).append(RAW_ALERT)
        (spec / path.name).write_text(yaml.safe_dump(document, sort_keys=False))
    return spec


@pytest.fixture(scope="module", params=["bundled", "init", "raw"])
def project(request: pytest.FixtureRequest) -> Iterator[Spec]:
    directory = {"bundled": SPEC}.get(request.param) or request.getfixturevalue(f"{request.param}_spec")
    yield load_spec(directory)


def scales(spec: Spec) -> list[Fraction]:
    """The sandbox's default, and one that leaves millisecond remainders."""
    return [Fraction(default_speed_up(spec)), Fraction(7)]


# --- (1) rules -----------------------------------------------------------------------------------


def durations_in(expr: str) -> list[int]:
    """Ranges, subquery steps and offsets as the parser reads them, in ms, in walk order."""
    return durations_ms(expr)


def skeleton(expr: str) -> tuple[str, list[str], list[str]]:
    """The expression with its duration literals and numbers taken out (outside strings)."""
    strings = STRING.findall(expr)
    code = STRING.sub('""', expr)
    durations = DURATION_TOKEN.findall(code)
    code = DURATION_TOKEN.sub("DURATION", code)
    numbers = NUMBER.findall(code)
    return NUMBER.sub("N", code) + "".join(strings), durations, numbers


def assert_same_but_scaled(nominal: str, scaled: str, scale: Fraction, where: str) -> None:
    shape, nominal_durations, nominal_numbers = skeleton(nominal)
    scaled_shape, scaled_durations, scaled_numbers = skeleton(scaled)
    assert scaled_shape == shape, f"{where}: more than durations changed\n{nominal}\n{scaled}"
    # Every literal is nominal ÷ S, in place; the parser reads exactly those (none missed).
    for before, after in zip(nominal_durations, scaled_durations, strict=True):
        assert_scaled(before, after, scale, where)
    assert sorted(durations_in(nominal)) == sorted(milliseconds(d) for d in nominal_durations), where
    assert sorted(durations_in(scaled)) == sorted(milliseconds(d) for d in scaled_durations), where
    assert durations_in(scaled) == [scaled_ms(ms, scale) for ms in durations_in(nominal)], where
    for before, after in zip(nominal_numbers, scaled_numbers, strict=True):
        if before == after:
            continue
        # The only numbers scaled on purpose: seconds of age, as in `time() - x < 151`.
        assert "time() - " in nominal, f"{where}: {before} became {after}"
        assert Fraction(after) * 1000 == expected_ms(int(Fraction(before) * 1000), scale), where


def assert_rule_scaled(nominal: dict[str, Any], scaled: dict[str, Any], scale: Fraction, where: str) -> None:
    assert set(scaled) == set(nominal), where
    for key in ("record", "alert", "labels", "annotations"):
        assert scaled.get(key) == nominal.get(key), f"{where}: {key}"
    if "for" in nominal:
        assert_scaled(nominal["for"], scaled["for"], scale, f"{where} for")
    assert_same_but_scaled(nominal["expr"], scaled["expr"], scale, where)


def test_rules_scale_every_duration_and_nothing_else(project: Spec) -> None:
    nominal = compile_rules(project)
    for scale in scales(project):
        with compressed_time(scale):
            scaled = compile_rules(project)
        assert list(scaled) == list(nominal)
        changed = 0
        for name, document in nominal.items():
            groups = scaled[name]["groups"]
            assert [g["name"] for g in groups] == [g["name"] for g in document["groups"]]
            for group, fast in zip(document["groups"], groups, strict=True):
                where = f"{name}/{group['name']} at {scale}"
                assert_scaled(group["interval"], fast["interval"], scale, where)
                assert len(fast["rules"]) == len(group["rules"]), where
                for rule, fast_rule in zip(group["rules"], fast["rules"], strict=True):
                    assert_rule_scaled(rule, fast_rule, scale, where)
                    changed += rule["expr"] != fast_rule["expr"]
        assert changed > 0, "no expression had a duration to scale"


def test_the_default_speed_up_evaluates_each_second(project: Spec) -> None:
    with compressed_time(default_speed_up(project)):
        rules = compile_rules(project)
        config = compile_prometheus_config(project)
    assert config["global"]["evaluation_interval"] == "1s"
    intervals = {g["name"]: g["interval"] for doc in rules.values() for g in doc["groups"]}
    assert "1s" in intervals.values()
    assert time_scale() == 1


def test_names_stay_nominal_under_the_scale(project: Spec) -> None:
    """Series names, the window label and the period in days are the contract dashboards and
    `obsgen budget check` read: the sandbox must record the same ones."""
    nominal = compile_rules(project)
    with compressed_time(default_speed_up(project)):
        scaled = compile_rules(project)

    def names(files: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
        return [
            (rule.get("record") or rule["alert"], str(sorted(rule.get("labels", {}).items())))
            for doc in files.values()
            for group in doc["groups"]
            for rule in group["rules"]
        ]

    assert names(scaled) == names(nominal)
    records = {rule.get("record") for doc in scaled.values() for g in doc["groups"] for rule in g["rules"]}
    if project.services[0].slos:
        assert "slo:sli_error:ratio_rate5m" in records
        assert "slo:time_period:days" in records


def test_heartbeat_freshness_is_scaled_in_the_range_and_the_age_alike() -> None:
    """`time() - max_over_time(x[F]) < F`: both F shrink together, or a healthy heartbeat's
    age is compared with a nominal threshold (never stale) or a scaled one with a nominal range."""
    spec = load_spec(SPEC)
    scale = Fraction(default_speed_up(spec))
    with compressed_time(scale):
        rules = compile_rules(spec)
    checked = 0
    for service in spec.services:
        for heartbeat in service.heartbeats:
            expr = next(
                r["expr"]
                for doc in rules.values()
                for g in doc["groups"]
                for r in g["rules"]
                if r.get("record") == heartbeat.ok_record()
            )
            window = re.search(r"max_over_time\([^\[]*\[([^\]]+)\]\)", expr)
            age = re.search(r"< bool ([0-9.]+)", expr)
            assert window and age, expr
            wanted = expected_ms(heartbeat.freshness * 1000, scale)
            assert milliseconds(window[1]) == wanted, expr
            assert Fraction(age[1]) * 1000 == wanted, expr
            checked += 1
    assert checked


def test_raw_promql_durations_are_scaled_outside_strings_only() -> None:
    expr = (
        'max_over_time(x{a="[5m]", b=~"offset 1h"}[2m31s] offset 1m30s) '
        "+ rate(y[ 5m :15s]) + sum_over_time(z[1h:] offset -1d)"
    )
    assert scale_durations(expr) == expr
    with compressed_time(60):
        assert scale_durations(expr) == (
            'max_over_time(x{a="[5m]", b=~"offset 1h"}[2s517ms] offset 1s500ms) '
            "+ rate(y[ 5s :250ms]) + sum_over_time(z[1m:] offset -24m)"
        )
        assert scale_durations("time() - x > 86400") == "time() - x > 86400"


# --- (2) prometheus.yml and alertmanager.yml -------------------------------------------------------


def assert_durations_scaled(nominal: Any, scaled: Any, fields: set[str], scale: Fraction, where: str) -> None:
    """Walk two documents: `fields` hold nominal ÷ S, everything else is equal."""
    if isinstance(nominal, dict):
        assert set(scaled) == set(nominal), where
        for key, value in nominal.items():
            if key in fields:
                assert_scaled(value, scaled[key], scale, f"{where}.{key}")
            else:
                assert_durations_scaled(value, scaled[key], fields, scale, f"{where}.{key}")
    elif isinstance(nominal, list):
        assert len(scaled) == len(nominal), where
        for k, (a, b) in enumerate(zip(nominal, scaled, strict=True)):
            assert_durations_scaled(a, b, fields, scale, f"{where}[{k}]")
    else:
        assert scaled == nominal, where


def test_prometheus_intervals_are_scaled(project: Spec) -> None:
    nominal = compile_prometheus_config(project)
    assert any("scrape_interval" in job for job in nominal["scrape_configs"]) or project.services
    for scale in scales(project):
        with compressed_time(scale):
            scaled = compile_prometheus_config(project)
        fields = {"scrape_interval", "evaluation_interval", "scrape_timeout"}
        assert_durations_scaled(nominal, scaled, fields, scale, "prometheus.yml")
        assert scaled["global"]["scrape_interval"] != nominal["global"]["scrape_interval"]


def test_alertmanager_durations_are_scaled(project: Spec) -> None:
    nominal = compile_alertmanager(project)
    assert nominal is not None
    for scale in scales(project):
        with compressed_time(scale):
            scaled = compile_alertmanager(project)
        fields = {"group_wait", "group_interval", "repeat_interval", "resolve_timeout"}
        assert_durations_scaled(nominal, scaled, fields, scale, "alertmanager.yml")
        assert scaled["route"]["group_interval"] != nominal["route"]["group_interval"]
        assert scaled.get("time_intervals") == nominal.get("time_intervals")  # clock times


# --- (3) scale 1 is generated/, byte for byte ------------------------------------------------------


def test_scale_one_is_generated_byte_for_byte_even_after_a_scaled_compile() -> None:
    spec = load_spec(SPEC)
    with compressed_time(default_speed_up(spec)):
        render_outputs(spec)  # warm every cache there is with scaled values
    assert time_scale() == 1
    for name, document in compile_rules(spec).items():
        assert to_yaml(document) == (GENERATED / f"prometheus/rules/{name}.yml").read_text(), name
    assert to_yaml(compile_prometheus_config(spec)) == (GENERATED / "prometheus/prometheus.yml").read_text()
    assert to_yaml(compile_alertmanager(spec)) == (GENERATED / "alertmanager/alertmanager.yml").read_text()
    for path, text in render_outputs(spec).outputs.items():
        assert text == (GENERATED / path).read_text(), path  # promtool tests, dashboards, …


def test_a_scale_is_undone_when_its_block_ends() -> None:
    with pytest.raises(RuntimeError), compressed_time(60):
        assert time_scale() == 60
        raise RuntimeError
    assert time_scale() == 1
    with pytest.raises(ValueError):
        compressed_time(0).__enter__()


# --- (4) the sandbox's files pass promtool and amtool ----------------------------------------------


def check(*argv: str | Path) -> None:
    result = subprocess.run([*map(str, argv)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sandbox_files_pass_promtool_and_amtool(project: Spec, promtool: str, tmp_path: Path) -> None:
    amtool = installed("amtool", "prometheus-alertmanager")
    files = sandbox_files(
        project, choose_ports(project, True), tmp_path / "secrets", default_speed_up(project)
    )
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    assert yaml.safe_load(files["prometheus/prometheus.yml"])["global"]["evaluation_interval"] == "1s"
    rules = sorted((tmp_path / "prometheus/rules").glob("*.yml"))
    check(promtool, "check", "rules", *rules)
    check(promtool, "check", "config", tmp_path / "prometheus/prometheus.yml")
    check(amtool, "check-config", tmp_path / "alertmanager/alertmanager.yml")


def test_the_stack_runs_the_runtime_and_prometheus_at_the_same_speed(tmp_path: Path) -> None:
    spec = load_spec(SPEC)
    argv = commands(SPEC, tmp_path, choose_ports(spec, True), 60)
    runtime = argv["runtime"][0]
    assert runtime[runtime.index("--time-scale") + 1] == "60"
    assert "--heartbeat-period" not in runtime
    prometheus = argv["prometheus"][0]
    assert "--rules.alert.resend-delay=1s" in prometheus
    assert "--query.lookback-delta=5s" in prometheus


@pytest.mark.parametrize("value", ["0.5", "nan", "inf"])
def test_up_refuses_a_speed_up_below_one_or_not_finite(value: str) -> None:
    result = obsgen("up", "--speed-up", value, "--dir", "/nonexistent/never-created")
    assert result.returncode == 2
    assert "--speed-up" in result.stderr
