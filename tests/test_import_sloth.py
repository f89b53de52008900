"""`obsgen import sloth`: Sloth's own examples and validation cases, comments, refusals, options."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import obsgen, promtool_test, tree_bytes
from sloth_peers import PLUGIN_FREE, SHARED, SHIPPED, SLOTH, files

from generator.importers.catalog import HELP

SLOTH_EXAMPLES = [name for name in PLUGIN_FREE if not name.startswith("openslo-")]
NATIVE_AND_RAW = {
    "getting-started": (1, 0),
    "home-wifi": (0, 2),  # sum_over_time of a gauge subquery
    "kubernetes-apiserver": (2, 0),  # latency: errors = total − good, so `good` is the bucket
    "multifile": (2, 0),
    "no-alerts": (1, 0),
    "raw-home-wifi": (0, 1),  # 1 − the mean of a gauge
}
"""SLOs each example imports as native `ratio` SLIs and as raw `sli.query`."""
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
    slos = [slo for s in services for slo in load(tmp_path / "spec" / f"{s}.yaml")["slos"]]
    native = [slo for slo in slos if "ratio" in slo["sli"]]
    assert (len(native), len(slos) - len(native)) == NATIVE_AND_RAW[name]
    # one note per service with raw SLOs, naming each and why
    raw_notes = [line for line in result.stderr.splitlines() if "kept as raw PromQL" in line]
    assert len(raw_notes) == (1 if len(native) < len(slos) else 0)
    assert all(f"[{slo['name']}] " in raw_notes[0] for slo in slos if slo not in native)
    gen = obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out")
    assert gen.returncode == 0, gen.stderr
    tests = {p.name for p in (tmp_path / "out" / "prometheus" / "tests").glob("*.yml")}
    assert tests - {"_watchdog.yml"} == {
        f"{s}.{slo['name']}.yml"
        for s in services
        for slo in load(tmp_path / "spec" / f"{s}.yaml")["slos"]
        if "ratio" in slo["sli"]
    }
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
    # sum(rate(counter[{{.window}}])) queries become a native ratio SLI over the same series,
    # and the job they match becomes the catalog metric's (the generated tests' series carry it)
    counter = "http_request_duration_seconds_count"
    assert slo["sli"] == {
        "ratio": {
            "errors": f'{counter}{{job="myservice", code=~"(5..|429)"}}',
            "total": f'{counter}{{job="myservice"}}',
        }
    }
    assert service["metrics"] == [
        {"name": counter, "type": "counter", "help": HELP, "external": True, "job": "myservice"}
    ]
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
    result = import_sloth(write(tmp_path / "crd.yml", CRD), "--out", tmp_path / "spec", "--raw-queries")
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


# --- Sloth as Sloth does it (issue 16, item 2) --------------------------------------------------


def test_sloths_shipped_windows_are_the_importers() -> None:
    """windows.py holds Sloth's google-28d/30d AlertWindows as data; they are the vendored files."""
    from generator.importers.source import load_documents
    from generator.importers.windows import SLOTH_SHIPPED, alert_windows

    found = {}
    for path in sorted(SHIPPED.glob("google-*.yaml")):
        issues: list[Any] = []
        (root,) = load_documents(path)
        read = alert_windows(root, issues)
        assert read is not None and not issues, issues
        found[read[0]] = read[1]
    assert found == SLOTH_SHIPPED
    assert (SHIPPED / "LICENSE").read_text() == (SLOTH / "LICENSE").read_text()


@pytest.mark.parametrize(
    ("period", "label_names", "windows", "period_name"),
    [
        ("28d", "sloth", None, "4w"),
        ("28d", "obsgen", None, "28d"),
        ("7d", "sloth", SLOTH / "windows" / "7d.yaml", "1w"),
        ("30d", "sloth", None, "30d"),
    ],
)
def test_period_windows_are_named_as_sloth_names_them(
    period: str, label_names: str, windows: Path | None, period_name: str, tmp_path: Path
) -> None:
    """28d and 30d need no --windows (Sloth ships them); under Sloth's label names the period
    ratio is Sloth's `ratio_rate4w` / `sloth_window="4w"`, obsgen's spelling otherwise."""
    source = write(tmp_path / "slos.yml", MINIMAL)
    extra = ["--windows", windows] if windows else []
    spec, out = tmp_path / "spec", tmp_path / "out"
    result = import_sloth(
        source, "--out", spec, "--default-slo-period", period, "--label-names", label_names, *extra
    )
    assert result.returncode == 0, result.stderr
    (slo,) = load(spec / "shop.yaml")["slos"]
    assert slo.get("period", "30d") == period
    assert ("windows" in slo.get("alerting", {})) == (windows is not None)  # 28d: obsgen's defaults
    assert obsgen("gen", "--spec", spec, "--out", out).returncode == 0
    rules = load(out / "prometheus" / "rules" / "shop.checkout.yml")
    records = {r["record"]: r for g in rules["groups"] for r in g["rules"] if "record" in r}
    window_label = "sloth_window" if label_names == "sloth" else "slo_window"
    period_ratio = records[f"slo:sli_error:ratio_rate{period_name}"]
    assert period_ratio["labels"][window_label] == period_name
    assert f"ratio_rate{period_name}" in records["slo:period_burn_rate:ratio"]["expr"]
    assert records["slo:sli_error:ratio_rate5m"]["labels"][window_label] == "5m"
    explained = obsgen("explain", "--spec", spec, "shop-checkout")
    assert f"slo:sli_error:ratio_rate{period_name}\n" in explained.stdout
    if period == "28d":
        # Sloth's google-28d page quick window: 2 % of 28 days' budget in 1h = 13.44 × 0.005
        (alert,) = [
            r
            for g in rules["groups"]
            for r in g["rules"]
            if r.get("labels", {}).get("sloth_severity" if label_names == "sloth" else "slo_severity")
            == "page"
        ]
        assert "> 0.0672)" in alert["expr"]


def test_keep_alert_names_keeps_sloths_names_and_only_for_specs_that_ask(tmp_path: Path) -> None:
    source = SLOTH / "validate" / "good" / "good-aa.yaml"
    spec, out = tmp_path / "spec", tmp_path / "out"
    result = import_sloth(source, "--out", spec, "--keep-alert-names")
    assert result.returncode == 0, result.stderr
    assert "myServiceAlert" not in result.stderr  # nothing renamed, nothing to say
    service_file = spec / "svc01.yaml"
    alerting = load(service_file)["slos"][0]["alerting"]
    assert (alerting["name"], alerting["name_as_written"]) == ("myServiceAlert", True)
    assert obsgen("gen", "--spec", spec, "--out", out).returncode == 0
    rules = load(out / "prometheus" / "rules" / "svc01.slo1.yml")
    assert {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r} == {"myServiceAlert"}
    # without name_as_written the name must be CamelCase, as for every spec
    text = service_file.read_text()
    service_file.write_text(text.replace("      name_as_written: true\n", ""))
    refused = obsgen("gen", "--spec", spec, "--out", tmp_path / "again")
    assert refused.returncode == 2
    line = next(i for i, t in enumerate(service_file.read_text().splitlines(), 1) if "myServiceAlert" in t)
    assert f"{service_file}:{line}: slos[0].alerting.name: alert names are CamelCase" in refused.stderr
    assert "add name_as_written: true" in refused.stderr
    # a name no route could match safely is still made CamelCase, and the note says why
    odd = write(tmp_path / "odd.yml", MINIMAL + '    alerting:\n      name: "my alert"\n')
    renamed = import_sloth(odd, "--out", tmp_path / "odd", "--keep-alert-names")
    assert renamed.returncode == 0, renamed.stderr
    assert load(tmp_path / "odd" / "shop.yaml")["slos"][0]["alerting"] == {"name": "MyAlert"}
    assert "--keep-alert-names keeps only names of letters, digits" in renamed.stderr


PLUGIN_CHAIN = "obsgen does not run Sloth plugins"


@pytest.mark.parametrize(
    ("edit", "line"),
    [
        (("slos:\n", "slo_plugins:\n  chain:\n    - id: sloth.dev/contrib/info_labels/v1\nslos:\n"), 3),
        (("    objective: 99.5\n", "    objective: 99.5\n    plugins:\n      overridePrevious: true\n"), 6),
        (
            (
                "    objective: 99.5\n",
                "    objective: 99.5\n    plugins:\n      chain: [{id: a/b/v1, priority: -10}]\n",
            ),
            6,
        ),
    ],
    ids=["spec-wide", "override", "per-slo"],
)
def test_plugin_chains_are_refused_with_the_reason(edit: tuple[str, str], line: int, tmp_path: Path) -> None:
    source = write(tmp_path / "slos.yml", MINIMAL.replace(*edit, 1))
    result = import_sloth(source, "--out", tmp_path / "spec")
    assert result.returncode == 2
    assert f"{source}:{line}:" in result.stderr and PLUGIN_CHAIN in result.stderr, result.stderr
    assert "Sloth would ignore it" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "spec").exists()


def test_plugin_chains_of_the_crd_and_empty_chains(tmp_path: Path) -> None:
    crd = CRD.replace("  slos:\n", "  sloPlugins:\n    chain:\n      - id: sloth.dev/x/v1\n  slos:\n")
    refused = import_sloth(write(tmp_path / "crd.yml", crd), "--out", tmp_path / "a")
    assert refused.returncode == 2
    assert (
        f"{tmp_path / 'crd.yml'}:10: spec.sloPlugins: Sloth runs this SLO plugin chain (sloth.dev/x/v1)"
        in (refused.stderr)
    )
    # a chain with no plugin that overrides nothing changes nothing in Sloth either
    empty = MINIMAL.replace("slos:\n", "slo_plugins: {chain: []}\nslos:\n")
    assert import_sloth(write(tmp_path / "empty.yml", empty), "--out", tmp_path / "b").returncode == 0


def test_windows_that_can_never_fire_are_left_out(tmp_path: Path) -> None:
    """Sloth writes a burn condition above an error ratio of 1; obsgen leaves that window out
    (the alert fires exactly as Sloth's) and disables a tier left without windows."""
    source = write(tmp_path / "slos.yml", MINIMAL.replace("99.5", "90"))
    spec = tmp_path / "spec"
    result = import_sloth(source, "--out", spec)
    assert result.returncode == 0, result.stderr
    (slo,) = load(spec / "shop.yaml")["slos"]
    # 14.4 × 10 % = 1.44 ≥ 1: never; 6 × 10 % = 0.6 still pages
    assert [(w["severity"], w["long"]) for w in slo["alerting"]["windows"]] == [
        ("page", "6h"),
        ("ticket", "1d"),
        ("ticket", "3d"),
    ]
    assert "page" not in slo["alerting"]
    assert f"{source}:4: slos[0]: Sloth's page alert over 1h/5m can never fire" in result.stderr
    assert "= 1.44 ≥ 1" in result.stderr
    assert obsgen("gen", "--spec", spec, "--out", tmp_path / "out").returncode == 0

    source = write(tmp_path / "low.yml", MINIMAL.replace("99.5", "80"))
    result = import_sloth(source, "--out", tmp_path / "low")
    assert result.returncode == 0, result.stderr
    (slo,) = load(tmp_path / "low" / "shop.yaml")["slos"]
    assert slo["alerting"]["page"] == {"disabled": True}
    assert {w["severity"] for w in slo["alerting"]["windows"]} == {"ticket"}
    assert "the page alert is disabled" in result.stderr
    assert obsgen("gen", "--spec", tmp_path / "low", "--out", tmp_path / "low-out").returncode == 0


# --- imported SLOs are proven (issue 16, item 3) -----------------------------------------------


def test_imported_getting_started_gets_promtool_tests_that_pass(tmp_path: Path, promtool: str) -> None:
    spec, out = tmp_path / "spec", tmp_path / "out"
    assert import_sloth(SLOTH / "getting-started.in.yml", "--out", spec).returncode == 0
    assert obsgen("gen", "--spec", spec, "--out", out).returncode == 0
    tests = sorted(p for p in (out / "prometheus" / "tests").glob("*.yml") if p.name != "_watchdog.yml")
    assert [p.name for p in tests] == ["myservice.requests-availability.yml"]
    result = promtool_test(promtool, *tests)
    assert result.returncode == 0, result.stdout + result.stderr


def test_raw_queries_keeps_sloths_queries(tmp_path: Path) -> None:
    spec, out = tmp_path / "spec", tmp_path / "out"
    result = import_sloth(SLOTH / "kubernetes-apiserver.in.yml", "--out", spec, "--raw-queries")
    assert result.returncode == 0, result.stderr
    assert "kept as raw PromQL" not in result.stderr  # asked for, so nothing to explain
    slos = load(spec / "k8s-apiserver.yaml")["slos"]
    assert [set(slo["sli"]) for slo in slos] == [{"query"}, {"query"}]
    assert (
        slos[0]["sli"]["query"]["errors"]
        == 'sum(rate(apiserver_request_total{code=~"(5..|429)"}[{{.window}}]))'
    )
    assert obsgen("gen", "--spec", spec, "--out", out).returncode == 0
    assert [p.name for p in (out / "prometheus" / "tests").glob("*.yml")] == ["_watchdog.yml"]


TWO_JOBS = """\
version: prometheus/v1
service: shop
slos:
  - name: checkout
    objective: 99.5
    sli:
      events:
        error_query: sum by (handler) (rate(http_total{job="api",code=~"5.."}[{{.window}}]))
        total_query: sum by (handler) (rate(http_total{job="api"}[{{.window}}]))
  - name: refund
    objective: 99.5
    sli:
      events:
        error_query: sum(increase(http_total{job="shop",code=~"5.."}[{{.window}}]))
        total_query: sum(increase(http_total{job="shop"}[{{.window}}]))
  - name: search
    objective: 99.5
    sli:
      raw:
        error_ratio_query: |
          1 - sum(rate(search_total{ok="true"}[{{.window}}])) / sum(rate(search_total[{{.window}}]))
"""


def test_native_slis_keep_grouping_and_jobs_the_tests_can_feed(tmp_path: Path) -> None:
    spec = tmp_path / "spec"
    result = import_sloth(write(tmp_path / "slos.yml", TWO_JOBS), "--out", spec)
    assert result.returncode == 0, result.stderr
    service = load(spec / "shop.yaml")
    checkout, refund, search = service["slos"]
    # http_total is read from job "api" and from job "shop" (the service's): one catalog metric has
    # one job, the one the generated tests give its series, so "api" stays raw, "shop" is native
    assert set(checkout["sli"]) == {"query"} and "by" not in checkout
    assert refund["sli"] == {
        "ratio": {"errors": 'http_total{job="shop", code=~"5.."}', "total": 'http_total{job="shop"}'}
    }
    assert search["sli"] == {"ratio": {"good": 'search_total{ok="true"}', "total": "search_total"}}
    (note,) = [line for line in result.stderr.splitlines() if "kept as raw PromQL" in line]
    assert note.startswith(f"note: {tmp_path / 'slos.yml'}:3: slos: ")
    assert '[checkout] http_total{job="api", code=~"5.."} matches a `job` the generated tests' in note
    assert obsgen("gen", "--spec", spec, "--out", tmp_path / "out").returncode == 0
    # alone, the grouped SLO is native, grouped by handler, and http_total declares job "api"
    alone = TWO_JOBS.split("  - name: refund")[0]
    assert import_sloth(write(tmp_path / "alone.yml", alone), "--out", tmp_path / "alone").returncode == 0
    service = load(tmp_path / "alone" / "shop.yaml")
    (slo,) = service["slos"]
    assert (slo["by"], set(slo["sli"])) == (["handler"], {"ratio"})
    assert service["metrics"][0]["job"] == "api"


W = "[{{.window}}]"


@pytest.mark.parametrize(
    ("errors", "total", "native"),
    [
        (f'sum(rate(x{{code=~"5.."}}{W}))', f"sum(rate(x{W}))", {"errors": 'x{code=~"5.."}', "total": "x"}),
        (  # Sloth's spacing of the placeholder, increase, parentheses, `or on() vector(0)`
            '(sum(increase(x{code=~"5.."}[{{ .window }}]))) or on() vector(0)',
            f"sum(increase(x{W}))",
            {"errors": 'x{code=~"5.."}', "total": "x"},
        ),
        (  # errors written total − good
            f'sum(rate(h_count{{a="b"}}{W})) - sum(rate(h_bucket{{le="0.4", a="b"}}{W}))',
            f'sum(rate(h_count{{a="b"}}{W}))',
            {"good": 'h_bucket{le="0.4", a="b"}', "total": 'h_count{a="b"}'},
        ),
        (
            f'sum by (handler) (rate(x{{code=~"5.."}}{W}))',
            f"sum(rate(x{W})) by (handler)",
            {"errors": 'x{code=~"5.."}', "total": "x", "by": ("handler",)},
        ),
    ],
)
def test_queries_of_the_standard_shape_become_native(errors: str, total: str, native: dict[str, Any]) -> None:
    from generator.importers.native_query import NativeRatio, ratio_from_errors

    assert ratio_from_errors(errors, total) == NativeRatio(
        native["total"], native.get("errors"), native.get("good"), native.get("by", ())
    )


@pytest.mark.parametrize(
    ("errors", "total", "reason"),
    [
        (f'sum(irate(x{{code=~"5.."}}{W}))', f"sum(rate(x{W}))", "errors: it sums irate(…)"),
        ('sum(rate(x{code=~"5.."}[5m]))', f"sum(rate(x{W}))", "errors: it does not read its series over"),
        (f'sum(rate(x{{code=~"5.."}}{W} offset 1h))', f"sum(rate(x{W}))", "with `offset` or `@`"),
        (f'sum without (pod) (rate(x{{c="5"}}{W}))', f"sum(rate(x{W}))", "only `sum by (…)` maps"),
        (f'count(rate(x{{code=~"5.."}}{W}))', f"sum(rate(x{W}))", "errors: it is count(…)"),
        (
            f'sum(increase(x{{code=~"5.."}}{W}))',
            f"sum(rate(x{W}))",
            "read with increase() and total with rate()",
        ),
        (f'sum by (a) (rate(x{{code=~"5.."}}{W}))', f"sum(rate(x{W}))", "summed by different labels"),
        (f'sum(rate(y{W})) - sum(rate(x{{c="1"}}{W}))', f"sum(rate(x{W}))", "other than the total query"),
        (
            "sum_over_time((count(g < 0.75))[{{.window}}:]) OR on() vector(0)",
            "sum_over_time((count(g))[{{.window}}:])",
            "errors: it is sum_over_time(…) over a subquery",
        ),
        (f'sum(rate(x{{code=~"5.."}}{W})', f"sum(rate(x{W}))", "errors: it does not parse as PromQL"),
        (f'sum(rate(x{{w="{{{{.window}}}}"}}{W}))', f"sum(rate(x{W}))", "its matchers hold {{.window}}"),
        (
            f'sum by (h) (rate(x{{c="5"}}{W})) or on() vector(0)',
            f"sum by (h) (rate(x{W}))",
            "`or vector(0)` after a grouped sum",
        ),
    ],
)
def test_other_queries_stay_raw_with_the_reason(errors: str, total: str, reason: str) -> None:
    from generator.importers.native_query import NotNative, ratio_from_errors

    found = ratio_from_errors(errors, total)
    assert isinstance(found, NotNative) and reason in found.reason, found


def test_native_shapes_of_good_and_error_ratio_queries() -> None:
    from generator.importers.native_query import (
        CounterRead,
        NativeRatio,
        NotNative,
        native_problems,
        ratio_from_error_ratio,
        ratio_from_good,
        read_counter,
    )

    assert read_counter(f'sum by (h) (increase(x{{a=~"b|c"}}{W}))') == CounterRead(
        "increase", 'x{a=~"b|c"}', ("h",)
    )
    assert ratio_from_good(f'sum(rate(x{{code!~"5.."}}{W}))', f"sum(rate(x{W}))") == NativeRatio(
        "x", good='x{code!~"5.."}'
    )
    errors_over_total = f'sum(rate(x{{code=~"5.."}}{W})) / sum(rate(x{W}))'
    assert ratio_from_error_ratio(errors_over_total) == NativeRatio("x", errors='x{code=~"5.."}')
    gauge_mean = f"1 - (sum(sum_over_time(g{W})) / sum(count_over_time(g{W})))"
    assert isinstance(ratio_from_error_ratio(gauge_mean), NotNative)
    # obsgen's own checks of events SLIs decide too: errors must select a part of total's series
    unprovable = NativeRatio('x{job="a"}', errors='x{code=~"5.."}')
    assert "repeat total's matchers" in native_problems(unprovable, 15)[0]
    assert native_problems(NativeRatio("x", errors='x{code=~"5.."}'), 15) == []
