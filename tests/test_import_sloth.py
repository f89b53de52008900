"""`obsgen import sloth`: Sloth's own examples and validation cases, comments, refusals, options."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import obsgen, tree_bytes
from sloth_peers import PLUGIN_FREE, SHARED, SLOTH, files

SLOTH_EXAMPLES = [name for name in PLUGIN_FREE if not name.startswith("openslo-")]
GOOD = sorted(p for p in (SLOTH / "validate" / "good").glob("*.yaml") if "openslo" not in p.name)
BAD = sorted(p for p in (SLOTH / "validate" / "bad").glob("*.yaml") if "openslo" not in p.name)


def import_sloth(*args: str | Path) -> Any:
    return obsgen("import", "sloth", *args)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


MINIMAL = """\
version: prometheus/v1
service: shop
slos:
  - name: checkout
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(checkout_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(checkout_total[{{.window}}]))
"""


def test_vendored_copy_is_sloths() -> None:
    if SHARED.exists():
        assert files(SLOTH) == files(SHARED), "run `python tests/sloth_peers.py`"
    assert set(PLUGIN_FREE) == {p.name.removesuffix(".in.yml") for p in SLOTH.glob("*.in.yml")}
    for name in PLUGIN_FREE:
        assert "plugin" not in (SLOTH / f"{name}.in.yml").read_text()


@pytest.mark.parametrize("name", SLOTH_EXAMPLES)
def test_every_sloth_example_imports_and_generates(name: str, tmp_path: Path) -> None:
    result = import_sloth(SLOTH / f"{name}.in.yml", "--out", tmp_path / "spec")
    assert result.returncode == 0, result.stderr
    services = {doc["service"] for doc in yaml.safe_load_all((SLOTH / f"{name}.in.yml").read_text())}
    written = {p.name for p in (tmp_path / "spec").iterdir()}
    assert written == {f"{s}.yaml" for s in services} | {"obsgen.yaml"}
    gen = obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out")
    assert gen.returncode == 0, gen.stderr
    sloth_records = {
        rule["record"]
        for doc in yaml.safe_load_all((SLOTH / f"{name}.out.yml").read_text())
        if doc
        for group in doc["groups"]
        for rule in group["rules"]
        if rule.get("record", "").startswith("slo:")
    }
    ours = {
        rule["record"]
        for path in (tmp_path / "out" / "prometheus" / "rules").glob("*.yml")
        for group in load(path)["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    assert sloth_records <= ours
    # the series the queries read are declared (external), so obs-lint knows them
    lint = obsgen("lint", tmp_path / "out" / "prometheus" / "rules", "--spec", tmp_path / "spec")
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_catalog_types_follow_how_queries_read_series() -> None:
    from generator.importers.catalog import query_metrics

    assert query_metrics(
        [
            'sum(rate(req_duration_seconds_bucket{le="0.4"}[{{.window}}]))',
            "sum(rate(req_duration_seconds_count[{{.window}}]))",
            "sum(rate(http_requests_total[{{.window}}]))",
            "sum_over_time((count(satisfaction_ratio < 0.75))[{{.window}}:])",
            "sum(rate(jobs_count[{{.window}}]))",
        ]
    ) == {
        "req_duration_seconds": "histogram",
        "http_requests_total": "counter",
        "satisfaction_ratio": "gauge",
        "jobs_count": "counter",
    }


def test_import_keeps_everything_sloth_says(tmp_path: Path) -> None:
    result = import_sloth(SLOTH / "getting-started.in.yml", "--out", tmp_path, "-l", "cmd=examplesgen.sh")
    assert result.returncode == 0, result.stderr
    service = load(tmp_path / "myservice.yaml")
    (slo,) = service["slos"]
    assert slo["objective"] == 99.9
    assert slo["labels"] == {
        "cmd": "examplesgen.sh",
        "owner": "myteam",
        "repo": "myorg/myservice",
        "tier": "2",
    }
    counter = "http_request_duration_seconds_count"
    assert slo["sli"]["query"] == {
        "errors": f'sum(rate({counter}{{job="myservice",code=~"(5..|429)"}}[{{{{.window}}}}]))',
        "total": f'sum(rate({counter}{{job="myservice"}}[{{{{.window}}}}]))',
    }
    assert slo["alerting"] == {
        "name": "MyServiceHighErrorRate",
        "labels": {"category": "availability"},
        "annotations": {"summary": "High error rate on 'myservice' requests responses"},
        "page": {"labels": {"severity": "pageteam", "routing_key": "myteam"}},
        "ticket": {"labels": {"severity": "slack", "slack_channel": "#alerts-myteam"}},
    }
    assert load(tmp_path / "obsgen.yaml")["settings"]["runbook_base_url"].startswith("https://")


def test_comments_and_order_carry_over(tmp_path: Path) -> None:
    assert import_sloth(SLOTH / "getting-started.in.yml", "--out", tmp_path).returncode == 0
    text = (tmp_path / "myservice.yaml").read_text()
    lines = text.splitlines()
    allowed = lines.index("  # We allow failing (5xx and 429) 1 request every 1000 requests (99.9%).")
    assert lines[allowed + 1] == "  - name: requests-availability"
    overwrite = lines.index("        # Overwrite default Sloth SLO alert summmary on ticket and page alerts.")
    assert lines[overwrite + 1].strip().startswith("summary:")
    keys = [
        line.split(":")[0].strip(" -")
        for line in lines[: lines.index("metrics:")]
        if line.startswith(("    ", "  - ")) and not line.startswith("     ")
    ]
    assert keys == ["name", "objective", "description", "labels", "sli", "alerting"]
    assert import_sloth(SLOTH / "home-wifi.in.yml", "--out", tmp_path / "wifi").returncode == 0
    header = (tmp_path / "wifi" / "home-wifi.yaml").read_text().split("\nservice:")[0]
    source_header = (SLOTH / "home-wifi.in.yml").read_text().split("\nversion:")[0]
    assert header.endswith(source_header)
    assert import_sloth(SLOTH / "raw-home-wifi.in.yml", "--out", tmp_path / "raw").returncode == 0
    raw = (tmp_path / "raw" / "home-wifi.yaml").read_text()
    assert "# Get the averate satisfaction ratio and rest 1 (max good) to get the error ratio.\n" in raw


def test_import_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    for out in (tmp_path / "a", tmp_path / "b"):
        assert import_sloth(SLOTH / "multifile.in.yml", "--out", out).returncode == 0
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    again = import_sloth(SLOTH / "multifile.in.yml", "--out", tmp_path / "a")
    assert again.returncode == 0, again.stderr
    assert "unchanged" in again.stdout and "wrote" not in again.stdout


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_sloths_good_validation_cases_import(path: Path, tmp_path: Path) -> None:
    result = import_sloth(path, "--out", tmp_path / "spec")
    assert result.returncode == 0, result.stderr
    assert obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out").returncode == 0
    if "pageAlert" in path.read_text():  # Sloth's camelCase spelling is read, not dropped
        service = load(tmp_path / "spec" / "svc01.yaml")
        assert service["slos"][0]["alerting"]["page"]["labels"] == {"alert03k1": "alert03v1"}
        # obsgen alert names are CamelCase; the renaming is said, in the file and on stderr
        assert service["slos"][0]["alerting"]["name"] == "MyServiceAlert"
        assert "myServiceAlert" in result.stderr


@pytest.mark.parametrize(
    ("path", "reason"),
    [(p, "slos[1].objective: Input should be less than 100 (got 101)") for p in BAD if "multi" not in p.name]
    + [(SLOTH / "validate" / "bad" / "bad-multi.yaml", "slos[1].sli: an SLI needs exactly one of")],
    ids=lambda v: v.name if isinstance(v, Path) else "",
)
def test_sloths_bad_validation_cases_are_refused(path: Path, reason: str, tmp_path: Path) -> None:
    assert {p.name for p in BAD} == {"bad-aa.yaml", "bad-ab.yaml", "bad-ba.yaml", "bad-multi.yaml"}
    result = import_sloth(path, "--out", tmp_path / "spec")
    assert result.returncode == 2
    bad_line = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if "# BAD!" in line)
    assert f"{path}:{bad_line}: {reason}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "spec").exists()


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (
            ("      events:", "      plugin:\n        id: sloth-common/availability\n      events:"),
            7,
            "Sloth SLI plugins run inside Sloth",
        ),
        (("    objective: 99.5\n", "    objective: 99.5\n    info_labels: {team: a}\n"), 6, "info_labels"),
        (("    objective: 99.5\n", "    objectve: 99.5\n"), 5, "unknown field 'objectve'"),
        (("version: prometheus/v1", "version: prometheus/v2"), 1, "expected version: prometheus/v1"),
        (
            ("{{.window}}]))\n        total", "5m]))\n        total"),
            7,
            "must read its series over {{.window}}",
        ),
        (("[{{.window}}]))\n", "[{{.window}}])\n"), 8, "PromQL does not parse"),
    ],
    ids=["plugin", "info_labels", "typo", "version", "no-window", "promql"],
)
def test_what_cannot_be_expressed_is_refused_with_its_line(
    edit: tuple[str, str], line: int, reason: str, tmp_path: Path
) -> None:
    assert edit[0] in MINIMAL
    source = write(tmp_path / "slos.yml", MINIMAL.replace(edit[0], edit[1], 1))
    result = import_sloth(source, "--out", tmp_path / "spec")
    assert result.returncode == 2, result.stdout
    assert f"{source}:{line}:" in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "spec").exists()


def test_sloth_period_needs_known_windows(tmp_path: Path) -> None:
    source = write(tmp_path / "slos.yml", MINIMAL)
    refused = import_sloth(source, "--out", tmp_path / "a", "--default-slo-period", "7d")
    assert refused.returncode == 2
    assert "no alert windows for a 7d SLO period" in refused.stderr and "--windows" in refused.stderr
    result = import_sloth(
        source, "--out", tmp_path / "b", "--default-slo-period", "7d", "--windows", SLOTH / "windows"
    )
    assert result.returncode == 0, result.stderr
    (slo,) = load(tmp_path / "b" / "shop.yaml")["slos"]
    assert slo["period"] == "7d"
    # Sloth's errorBudgetPercent × period / long window: 8% × 168h / 1h, 12.5% × 168h / 6h, …
    assert slo["alerting"]["windows"] == [
        {"severity": "page", "long": "1h", "short": "5m", "factor": pytest.approx(13.44)},
        {"severity": "page", "long": "6h", "short": "30m", "factor": pytest.approx(3.5)},
        {"severity": "ticket", "long": "1d", "short": "2h", "factor": pytest.approx(1.4)},
        {"severity": "ticket", "long": "3d", "short": "6h", "factor": pytest.approx(0.98)},
    ]
    assert obsgen("gen", "--spec", tmp_path / "b", "--out", tmp_path / "out").returncode == 0
    custom = import_sloth(source, "--out", tmp_path / "c", "--windows", SLOTH / "windows" / "custom-30d.yaml")
    assert custom.returncode == 0, custom.stderr
    windows = load(tmp_path / "c" / "shop.yaml")["slos"][0]["alerting"]["windows"]
    assert windows[0] == {"severity": "page", "long": "30m", "short": "2m", "factor": pytest.approx(14.4)}


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    source = write(tmp_path / "slos.yml", MINIMAL)
    spec = tmp_path / "spec"
    spec.mkdir()
    settings = write(spec / "settings.yaml", "settings:\n  runbook_base_url: https://runbooks.shop.test/\n")
    assert import_sloth(source, "--out", spec).returncode == 0
    assert sorted(p.name for p in spec.iterdir()) == ["settings.yaml", "shop.yaml"]  # no second settings
    write(source, MINIMAL.replace("99.5", "99.9"))
    refused = import_sloth(source, "--out", spec)
    assert refused.returncode == 3 and "--force" in refused.stderr
    assert load(spec / "shop.yaml")["slos"][0]["objective"] == 99.5
    assert import_sloth(source, "--out", spec, "--force").returncode == 0
    assert load(spec / "shop.yaml")["slos"][0]["objective"] == 99.9
    assert settings.read_text().startswith("settings:")


def test_sloth_label_names_option(tmp_path: Path) -> None:
    source = SLOTH / "getting-started.in.yml"
    assert import_sloth(source, "--out", tmp_path / "spec", "--label-names", "sloth").returncode == 0
    assert load(tmp_path / "spec" / "myservice.yaml")["slo_label_names"] == "sloth"
    assert obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out").returncode == 0
    ours = load(tmp_path / "out" / "prometheus" / "rules" / "myservice.requests-availability.yml")
    theirs = next(d for d in yaml.safe_load_all((SLOTH / "getting-started.out.yml").read_text()) if d)

    def label_names(groups: list[dict[str, Any]]) -> dict[tuple[str, str], set[str]]:
        found: dict[tuple[str, str], set[str]] = {}
        for group in groups:
            for rule in group["rules"]:
                key = (
                    ("record", rule["record"])
                    if "record" in rule
                    else ("alert", rule["labels"]["sloth_severity"])
                )
                found[key] = set(rule.get("labels", {})) - {"cmd", "service"}
        return found

    sloth_names = {k: v for k, v in label_names(theirs["groups"]).items() if k[1] != "sloth_slo_info"}
    assert sloth_names == {k: v for k, v in label_names(ours["groups"]).items() if k in sloth_names}
    assert set(sloth_names) <= set(label_names(ours["groups"]))
    text = (tmp_path / "out" / "prometheus" / "rules" / "myservice.requests-availability.yml").read_text()
    assert "slo_id" not in text and "slo_window" not in text


CRD = """\
apiVersion: sloth.slok.dev/v1
kind: PrometheusServiceLevel
metadata:
  name: shop
spec:
  service: shop
  labels:
    tier: 2
    version: 1.10
  slos:
    - name: checkout
      objective: 99.5
      sli:
        events:
          errorQuery: sum(rate(checkout_total{code=~"5.."}[{{ .window }}]))
          totalQuery: sum(rate(checkout_total[{{.window}}]))
      alerting:
        name: ShopCheckout
        pageAlert: {disable: true}
"""


def test_sloths_kubernetes_spelling_and_values_as_written(tmp_path: Path) -> None:
    result = import_sloth(write(tmp_path / "crd.yml", CRD), "--out", tmp_path / "spec")
    assert result.returncode == 0, result.stderr
    (slo,) = load(tmp_path / "spec" / "shop.yaml")["slos"]
    assert slo["sli"]["query"] == {
        "errors": 'sum(rate(checkout_total{code=~"5.."}[{{.window}}]))',
        "total": "sum(rate(checkout_total[{{.window}}]))",
    }
    # Sloth reads label values into strings as written: 2 → "2", 1.10 → "1.10", not 1.1
    assert slo["labels"] == {"tier": "2", "version": "1.10"}
    assert slo["alerting"]["page"] == {"disabled": True}
    assert obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out").returncode == 0
    explained = obsgen("explain", "--spec", tmp_path / "spec", "shop-checkout")
    assert explained.returncode == 0, explained.stderr
    assert "raw PromQL over each window" in explained.stdout


def test_anchors_and_merge_keys_are_read(tmp_path: Path) -> None:
    source = MINIMAL.replace("  - name: checkout\n", "  - &base\n    name: checkout\n") + (
        "  - <<: *base\n    name: refund\n"
    )
    result = import_sloth(write(tmp_path / "slos.yml", source), "--out", tmp_path / "spec")
    assert result.returncode == 0, result.stderr
    assert [s["name"] for s in load(tmp_path / "spec" / "shop.yaml")["slos"]] == ["checkout", "refund"]


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (("service: shop", "service: my_shop"), 2, "rename it (e.g. 'my-shop')"),
        (
            ("    objective: 99.5\n", "    objective: 99.5\n    labels: {team: [a]}\n"),
            6,
            "not a mapping or list",
        ),
        (("objective: 99.5", "objective: true"), 5, "expected a percentage such as 99.9"),
    ],
    ids=["name", "label-list", "objective-bool"],
)
def test_values_obsgen_cannot_keep_are_refused(
    edit: tuple[str, str], line: int, reason: str, tmp_path: Path
) -> None:
    source = write(tmp_path / "slos.yml", MINIMAL.replace(*edit, 1))
    result = import_sloth(source, "--out", tmp_path / "spec")
    assert result.returncode == 2 and f"{source}:{line}:" in result.stderr and reason in result.stderr
    assert "Traceback" not in result.stderr


def test_a_service_never_replaces_the_settings_or_the_routing(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    for name in ("obsgen", "alertmanager"):
        source = write(tmp_path / f"{name}.yml", MINIMAL.replace("service: shop", f"service: {name}"))
        assert import_sloth(source, "--out", spec, "--force").returncode == 0
    assert sorted(p.name for p in spec.iterdir()) == [
        "alertmanager.service.yaml",
        "obsgen.service.yaml",
        "obsgen.yaml",
    ]
    assert "settings" in load(spec / "obsgen.yaml")


def test_bad_alert_windows_files_are_refused(tmp_path: Path) -> None:
    windows = (
        (SLOTH / "windows" / "7d.yaml")
        .read_text()
        .replace("errorBudgetPercent: 8", "errorBudgetPercent: abc")
    )
    bad = write(tmp_path / "w.yaml", windows)
    result = import_sloth(write(tmp_path / "s.yml", MINIMAL), "--out", tmp_path / "o", "--windows", bad)
    assert result.returncode == 2 and "errorBudgetPercent: expected a percentage" in result.stderr


def test_sloth_label_names_group_alerts_by_sloth_id(tmp_path: Path) -> None:
    from conftest import SPEC  # the bundled spec has Alertmanager routing

    spec = tmp_path / "spec"
    shutil.copytree(SPEC, spec)
    source = SLOTH / "getting-started.in.yml"
    assert import_sloth(source, "--out", spec, "--label-names", "sloth").returncode == 0
    assert obsgen("gen", "--spec", spec, "--out", tmp_path / "out").returncode == 0
    config = load(tmp_path / "out" / "alertmanager" / "alertmanager.yml")
    assert config["route"]["group_by"] == ["alertname", "service", "slo_id", "sloth_id"]
    matchers = [rule["source_matchers"] for rule in config["inhibit_rules"]]
    assert any('sloth_severity="page"' in m for m in matchers)
