"""`obsgen import pyrra`: Pyrra's ServiceLevelObjectives become native spec files.

Every example SLO Pyrra ships (vendored in tests/fixtures/pyrra/) imports, or is refused for a
reason written in the tables below by hand; what imports generates, and its generated promtool
tests run. The imported rules record the error ratios Pyrra's own rules do: a promtool test
feeds the same series to both, Pyrra's recording rules copied from its golden test output
(slo/rules_test.go), and checks both against the ratio worked out by hand from the input.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import obsgen, tree_bytes

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pyrra"
EXAMPLES = FIXTURES / "examples"
KUBERNETES = "kubernetes/manifests/slos"
OPENSHIFT = "openshift/manifests/slos"

Imported = list[tuple[str, str, list[str]]]
"""(SLO id, SLI shape, by) of each SLO a file becomes; shapes: errors/total and good/total
(sli.ratio), latency (sli.latency), query (sli.query)"""

TOP_LEVEL: dict[str, Imported] = {
    # latency: success is total's selector plus le="0.05"; no namespace, so kubectl's `default`
    "caddy-response-latency.yaml": [("default-caddy-response-latency", "latency", [])],
    "nginx.yaml": [
        ("monitoring-nginx-api-errors", "errors/total", []),
        # success also matches status=~"5..", total does not: good over total, as Pyrra computes it
        ("monitoring-nginx-api-latency", "good/total", []),
    ],
    "parca-grpc-queryrange-errors.yaml": [("parca-parca-grpc-queryrange-errors", "errors/total", [])],
    "prometheus-http.yaml": [("default-prometheus-api-query", "errors/total", ["handler"])],
    "prometheus-operator.yaml": [("monitoring-prometheus-operator-http", "errors/total", [])],
    "pyrra-filesystem-errors.yaml": [("monitoring-pyrra-filesystem-errors", "errors/total", [])],
    "pyrra-kubernetes-errors.yaml": [("monitoring-pyrra-kubernetes-errors", "errors/total", [])],
    "thanos-grpc.yaml": [("monitoring-thanos-store", "errors/total", [])],
    "thanos-http.yaml": [("monitoring-thanos-query", "errors/total", [])],
    "docker-compose/pyrra/prometheus-http.yaml": [("monitoring-prometheus-api-query", "errors/total", [])],
    "mimir/example-slo.yaml": [("default-apiserver-read-cluster-latency", "latency", [])],
}
CLUSTER_SLOS: dict[str, tuple[str, list[str]]] = {
    "apiserver-read-cluster-latency": ("latency", []),
    "apiserver-read-namespace-latency": ("latency", []),
    "apiserver-read-resource-latency": ("latency", []),
    "apiserver-read-response-errors": ("errors/total", []),
    "apiserver-write-response-errors": ("errors/total", []),
    "coredns-response-errors": ("errors/total", []),
    "kubelet-request-errors": ("errors/total", []),
    "kubelet-runtime-errors": ("errors/total", []),
    "prometheus-notification-errors": ("errors/total", []),
    "prometheus-operator-http-errors": ("errors/total", []),
    "prometheus-operator-reconcile-errors": ("errors/total", ["controller"]),
    "prometheus-query-errors": ("errors/total", ["handler"]),
    "prometheus-rule-evaluation-failures": ("errors/total", []),
    "prometheus-sd-kubernetes-errors": ("errors/total", []),
}
"""The SLOs of Pyrra's Kubernetes and OpenShift examples (namespace monitoring, openshift-monitoring)"""
GROUPS: dict[str, dict[str, Imported]] = {
    "top-level": TOP_LEVEL,
    "kubernetes": {
        f"{KUBERNETES}/slo-{name}.yaml": [(f"monitoring-{name}", shape, by)]
        for name, (shape, by) in CLUSTER_SLOS.items()
    },
    "openshift": {
        f"{OPENSHIFT}/slo-{name}.yaml": [(f"openshift-monitoring-{name}", shape, by)]
        for name, (shape, by) in CLUSTER_SLOS.items()
    },
}
REFUSED: dict[str, tuple[str, str]] = {
    # (the source line the refusal points at, the reason)
    "prometheus-probe-success.yaml": ("grouping:", "a grouped bool_gauge cannot be imported"),
    "pyrra-connect-errors.yaml": (
        "grouping:",
        "'service' cannot group an SLO (it is a target, bucket or identity label)",
    ),
    "pyrra-connect-latency.yaml": ("latencyNative:", "latencyNative reads a native histogram"),
}


def import_pyrra(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return obsgen("import", "pyrra", *args)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def shapes(spec: Path) -> dict[str, tuple[str, list[str]]]:
    """SLO id → (SLI shape, by) of every SLO in the written service files."""
    found = {}
    for path in sorted(spec.glob("*.yaml")):
        data = load(path)
        for slo in data.get("slos", []):
            sli = slo["sli"]
            shape = "latency" if "latency" in sli else "query" if "query" in sli else "errors/total"
            if "ratio" in sli and "good" in sli["ratio"]:
                shape = "good/total"
            found[f"{data['service']}-{slo['name']}"] = (shape, slo.get("by", []))
    return found


def test_the_tables_cover_every_vendored_example() -> None:
    vendored = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.yaml")}
    tabled = {name for group in GROUPS.values() for name in group} | set(REFUSED)
    assert vendored == tabled
    for path in EXAMPLES.rglob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            assert (document["apiVersion"], document["kind"]) == (
                "pyrra.dev/v1alpha1",
                "ServiceLevelObjective",
            )


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Each group of examples imported together (spec) and generated (out)."""
    found = {}
    for name, group in GROUPS.items():
        root = tmp_path_factory.mktemp(name)
        result = import_pyrra(*(EXAMPLES / file for file in group), "--out", root / "spec")
        assert result.returncode == 0, result.stderr
        gen = obsgen("gen", "--spec", root / "spec", "--out", root / "out")
        assert gen.returncode == 0, gen.stderr
        found[name] = (root / "spec", root / "out")
    return found


@pytest.mark.parametrize("group", list(GROUPS))
def test_every_example_imports_as_the_table_says_and_generates(
    group: str, imported: dict[str, tuple[Path, Path]]
) -> None:
    spec, out = imported[group]
    expected = {slo_id: (shape, by) for slos in GROUPS[group].values() for slo_id, shape, by in slos}
    assert shapes(spec) == expected
    for path in spec.glob("*.yaml"):
        data = load(path)
        for slo in data.get("slos", []):
            assert (out / "prometheus" / "rules" / f"{data['service']}.{slo['name']}.yml").is_file()


@pytest.mark.parametrize("group", ["top-level", "kubernetes"])
def test_generated_promtool_tests_of_the_imports_pass(
    group: str, imported: dict[str, tuple[Path, Path]], promtool: str
) -> None:
    _, out = imported[group]
    tests = sorted((out / "prometheus" / "tests").glob("*.yml"))
    run = subprocess.run(
        [promtool, "test", "rules", *map(str, tests)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    verdicts = dict(re.findall(r"Unit Testing:\s+\S+/([^/\s]+)\.yml\s+(SUCCESS|FAILED)", run.stdout))
    assert set(verdicts) == {t.stem for t in tests}
    failed = {name for name, verdict in verdicts.items() if verdict == "FAILED"}
    assert not failed, run.stdout[-5000:]


def test_openshift_examples_become_the_kubernetes_ones_in_their_namespace(
    imported: dict[str, tuple[Path, Path]],
) -> None:
    """Pyrra's OpenShift SLOs differ from its Kubernetes ones only in their namespace; so do the
    imports and every generated file (so the promtool tests above cover both)."""
    (k8s_spec, k8s_out), (os_spec, os_out) = imported["kubernetes"], imported["openshift"]

    def renamed(text: str) -> str:
        return (
            text.replace("openshift-monitoring", "monitoring")
            .replace("OpenshiftMonitoring", "Monitoring")
            .replace(OPENSHIFT, KUBERNETES)
        )

    assert (
        renamed((os_spec / "openshift-monitoring.yaml").read_text())
        == (k8s_spec / "monitoring.yaml").read_text()
    )
    for path in sorted((os_out / "prometheus").rglob("*.yml")):
        twin = k8s_out / "prometheus" / renamed(path.relative_to(os_out / "prometheus").as_posix())
        assert renamed(path.read_text()) == twin.read_text(), path.name


@pytest.mark.parametrize("file", list(REFUSED))
def test_examples_obsgen_cannot_express_are_refused_at_their_line(file: str, tmp_path: Path) -> None:
    source = EXAMPLES / file
    key, reason = REFUSED[file]
    line = next(i for i, text in enumerate(source.read_text().splitlines(), 1) if text.strip() == key)
    result = import_pyrra(source, "--out", tmp_path / "spec")
    assert result.returncode == 2, result.stdout
    assert f"{source}:{line}: " in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "spec").exists()


# --- Pyrra's documented formulas ------------------------------------------------------------

GOLDEN_SLOS = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: monitoring-http-errors, namespace: monitoring}
spec:
  target: "99"
  window: 4w
  indicator:
    ratio:
      errors: {metric: 'http_requests_total{job="thanos-receive-default",code=~"5.."}'}
      total: {metric: 'http_requests_total{job="thanos-receive-default"}'}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: apiserver-write-response-errors, namespace: monitoring}
spec:
  target: "99"
  window: 2w
  indicator:
    ratio:
      errors: {metric: 'apiserver_request_total{job="apiserver",verb=~"POST|PUT|PATCH|DELETE",code=~"5.."}'}
      total: {metric: 'apiserver_request_total{job="apiserver",verb=~"POST|PUT|PATCH|DELETE"}'}
      grouping: [verb]
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: monitoring-http-latency, namespace: monitoring}
spec:
  target: "99.5"
  window: 4w
  indicator:
    latency:
      success:
        metric: >-
          http_request_duration_seconds_bucket{job="metrics-service-thanos-receive-default",
          code=~"2..",le="1"}
      total:
        metric: >-
          http_request_duration_seconds_count{job="metrics-service-thanos-receive-default",
          code=~"2.."}
---
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {name: up-targets, namespace: monitoring}
spec:
  target: "99"
  window: 4w
  indicator:
    bool_gauge: {metric: up}
"""
"""The objectives of four of Pyrra's golden rule tests (slo/promql_test.go: objectiveHTTPRatio,
objectiveAPIServerRatioGrouping, objectiveHTTPLatency, objectiveUpTargets) as the
ServiceLevelObjectives whose Internal() they are."""

GOLDEN_BURNRATES = {
    # slo/rules_test.go TestObjective_Burnrates at pyrra@1ba95af: each case's recording rule over
    # its shortest window, verbatim; the case repeats it for every window with only the range
    # changed. (case, obsgen's SLO id, Pyrra's record name prefix, windows ≤ 6h, rule)
    "http-ratio": (
        "monitoring-monitoring-http-errors",
        "http_requests:burnrate",
        ["5m", "30m", "1h", "2h", "6h"],
        'sum(rate(http_requests_total{code=~"5..",job="thanos-receive-default"}[5m])) / '
        'sum(rate(http_requests_total{job="thanos-receive-default"}[5m]))',
    ),
    "apiserver-write-response-errors-grouping": (
        "monitoring-apiserver-write-response-errors",
        "apiserver_request:burnrate",
        ["3m", "15m", "30m", "1h", "3h"],
        'sum by (verb) (rate(apiserver_request_total{code=~"5..",job="apiserver",'
        'verb=~"POST|PUT|PATCH|DELETE"}[3m])) / sum by (verb) (rate(apiserver_request_total'
        '{job="apiserver",verb=~"POST|PUT|PATCH|DELETE"}[3m]))',
    ),
    "http-latency": (
        "monitoring-monitoring-http-latency",
        "http_request_duration_seconds:burnrate",
        ["5m", "30m", "1h", "2h", "6h"],
        '(sum(rate(http_request_duration_seconds_count{code=~"2..",job="metrics-service-thanos-'
        'receive-default"}[5m])) - sum(rate(http_request_duration_seconds_bucket{code=~"2..",'
        'job="metrics-service-thanos-receive-default",le="1"}[5m]))) / sum(rate('
        'http_request_duration_seconds_count{code=~"2..",job="metrics-service-thanos-receive-default"}[5m]))',
    ),
    "prometheus-up-targets": (
        "monitoring-up-targets",
        "up:burnrate",
        ["5m", "30m", "1h", "2h", "6h"],
        "(sum(count_over_time(up[5m])) - sum(sum_over_time(up[5m]))) / sum(count_over_time(up[5m]))",
    ),
}
GOLDEN_PERIOD = [
    # TestObjective_IncreaseRules and TestObjective_GenericRules, case http-ratio: the 4w window
    {
        "record": "http_requests:increase4w",
        "expr": 'sum by (code) (increase(http_requests_total{job="thanos-receive-default"}[4w]))',
        "labels": {"job": "thanos-receive-default", "slo": "monitoring-http-errors"},
    },
    {
        "record": "pyrra_availability",
        "expr": '1 - sum(http_requests:increase4w{code=~"5..",job="thanos-receive-default",'
        'slo="monitoring-http-errors"} or vector(0)) / sum(http_requests:increase4w'
        '{job="thanos-receive-default",slo="monitoring-http-errors"})',
        "labels": {"slo": "monitoring-http-errors"},
    },
]
GOLDEN_WINDOWS = {
    # Pyrra's (short, long, factor, severity) pairs, from the golden alerts' labels: 28d
    # (http-ratio), 14d (apiserver-write-response-errors), 7d (grpc-latency)
    28: [
        ("5m", "1h", 14, "critical"),
        ("30m", "6h", 7, "critical"),
        ("2h", "1d", 2, "warning"),
        ("6h", "4d", 1, "warning"),
    ],
    14: [
        ("3m", "30m", 14, "critical"),
        ("15m", "3h", 7, "critical"),
        ("1h", "12h", 2, "warning"),
        ("3h", "2d", 1, "warning"),
    ],
    7: [
        ("1m", "15m", 14, "critical"),
        ("8m", "1h30m", 7, "critical"),
        ("30m", "6h", 2, "warning"),
        ("1h30m", "1d", 1, "warning"),
    ],
}

STEPS = 370  # 6h10m of samples a minute apart
LATENCY_JOB = 'job="metrics-service-thanos-receive-default"'
LATENCY = [
    ("bucket", 'code="200", le="0.5"', 900),
    ("bucket", 'code="200", le="1"', 970),
    ("bucket", 'code="200", le="+Inf"', 1000),
    ("count", 'code="200"', 1000),
    ("bucket", 'code="500", le="1"', 0),
    ("count", 'code="500"', 100),
]
PER_MINUTE: dict[str, int] = {
    # counters: increase per minute
    'http_requests_total{job="thanos-receive-default", code="200"}': 990,
    'http_requests_total{job="thanos-receive-default", code="500"}': 10,
    'http_requests_total{job="other", code="500"}': 500,
    'apiserver_request_total{job="apiserver", verb="POST", code="200"}': 95,
    'apiserver_request_total{job="apiserver", verb="POST", code="503"}': 5,
    'apiserver_request_total{job="apiserver", verb="DELETE", code="200"}': 80,
    'apiserver_request_total{job="apiserver", verb="DELETE", code="500"}': 20,
    'apiserver_request_total{job="apiserver", verb="GET", code="500"}': 100,
    **{f"http_request_duration_seconds_{part}{{{LATENCY_JOB}, {labels}}}": n for part, labels, n in LATENCY},
}
GAUGES = {f'up{{job="node", instance="node-{i}"}}': int(i != 4) for i in range(1, 5)}
EXPECTED: dict[str, dict[str, float]] = {
    # each golden rule's value over any window of that constant traffic, worked out by hand from
    # PER_MINUTE and GAUGES with Pyrra's formula (group label value → ratio)
    "http-ratio": {"": 10 / (990 + 10)},  # job="other" is not selected
    "apiserver-write-response-errors-grouping": {"POST": 5 / 100, "DELETE": 20 / 100},  # GET: not a write
    "http-latency": {"": (1000 - 970) / 1000},  # code="500" is not selected
    "prometheus-up-targets": {"": 1 / 4},  # node-4 is down
}


def windows_in_pyrra(days: int) -> list[tuple[str, str, int, str]]:
    from generator.durations import format_duration
    from generator.importers.pyrra.alerting import pyrra_windows

    severity = {"page": "critical", "ticket": "warning"}
    return [
        (format_duration(w.short), format_duration(w.long), w.factor, severity[w.severity])
        for w in pyrra_windows(days * 86400)
    ]


@pytest.mark.parametrize("days", list(GOLDEN_WINDOWS))
def test_alert_windows_are_pyrras_for_the_slo_window(days: int) -> None:
    assert windows_in_pyrra(days) == GOLDEN_WINDOWS[days]


def golden_rules() -> dict[str, Any]:
    rules = []
    for case, (_, prefix, windows, first) in GOLDEN_BURNRATES.items():
        shortest = windows[0]
        for window in windows:
            expr = first.replace(f"[{shortest}]", f"[{window}]")
            rules.append({"record": f"{prefix}{window}", "expr": expr, "labels": {"case": case}})
    return {"groups": [{"name": "pyrra-golden", "rules": [*rules, *GOLDEN_PERIOD]}]}


def expr_tests() -> list[dict[str, Any]]:
    """Pyrra's record and obsgen's, each window, both at the ratio worked out by hand."""
    tests = []
    for case, (slo_id, prefix, windows, _) in GOLDEN_BURNRATES.items():
        by = "verb" if "grouping" in case else ""
        for window in windows:
            ours = f'slo:sli_error:ratio_rate{window}{{slo_id="{slo_id}"}}'
            for series in (f"{prefix}{window}", ours):
                tests.append(
                    {
                        "expr": f"round(sum by ({by}) ({series}), 0.000001)",
                        "eval_time": "6h10m",
                        "exp_samples": [
                            {"labels": f'{{verb="{group}"}}' if group else "{}", "value": value}
                            for group, value in EXPECTED[case].items()
                        ],
                    }
                )
    # the period: Pyrra's 1 − availability, obsgen's ratio over the period
    for expr in (
        "1 - pyrra_availability",
        'slo:sli_error:ratio_rate28d{slo_id="monitoring-monitoring-http-errors"}',
    ):
        tests.append(
            {
                "expr": f"round(sum({expr}), 0.000001)",
                "eval_time": "6h10m",
                "exp_samples": [{"labels": "{}", "value": EXPECTED["http-ratio"][""]}],
            }
        )
    return tests


def test_imported_rules_record_pyrras_error_ratios(promtool: str, tmp_path: Path) -> None:
    source = write(tmp_path / "golden.yaml", GOLDEN_SLOS)
    result = import_pyrra(source, "--out", tmp_path / "spec")
    assert result.returncode == 0, result.stderr
    slos = {slo["name"]: slo for slo in load(tmp_path / "spec" / "monitoring.yaml")["slos"]}
    assert slos["up-targets"]["sli"]["query"] == {
        "errors": "sum(count_over_time(up[{{.window}}])) - sum(sum_over_time(up[{{.window}}]))",
        "total": "sum(count_over_time(up[{{.window}}]))",
    }
    assert slos["monitoring-http-latency"]["sli"]["latency"] == {
        # Pyrra's selector with `_count` dropped (the YAML folded it onto two lines)
        "histogram": f'http_request_duration_seconds{{{LATENCY_JOB}, code=~"2.."}}',
        "below": 1,
    }
    assert slos["apiserver-write-response-errors"]["by"] == ["verb"]
    gen = obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out")
    assert gen.returncode == 0, gen.stderr
    golden = tmp_path / "pyrra-golden.yml"
    golden.write_text(yaml.safe_dump(golden_rules(), sort_keys=False))
    series = [{"series": s, "values": f"0+{n}x{STEPS}"} for s, n in PER_MINUTE.items()]
    series += [{"series": s, "values": f"{v}x{STEPS}"} for s, v in GAUGES.items()]
    ours = sorted(str(p) for p in (tmp_path / "out" / "prometheus" / "rules").glob("monitoring*.yml"))
    test = {
        "rule_files": [*ours, str(golden)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": expr_tests()}],
    }
    path = write(tmp_path / "equivalence.yml", yaml.safe_dump(test, sort_keys=False))
    run = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


# --- what each part becomes ------------------------------------------------------------------

FULL = """\
# Checkout, as the shop team runs it.

# The payment API must answer.
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: checkout-errors
  namespace: shop
  labels:
    prometheus: k8s
    pyrra.dev/team: payments  # every series and alert
  annotations:
    pyrra.dev/runbook_url: https://runbooks.shop.test/checkout
    kubectl.kubernetes.io/last-applied-configuration: "{}"
  uid: 0b7c9c1e
spec:
  description: Checkout answers without a server error.
  target: "99.5"
  window: 1w
  alerting:
    name: checkout-burn
    burnrates: false
    severities: {slowBurn: ticket-team, longTermBurn: ticket-team}
  indicator:
    ratio:
      errors:
        metric: http_requests_total{job="checkout",handler!="/health",code=~"5.."}
      total:
        metric: http_requests_total{job="checkout",handler!="/health"}
      grouping: [handler]
status:
  type: PrometheusRule
"""


def test_every_part_of_an_slo_carries_over(tmp_path: Path) -> None:
    result = import_pyrra(write(tmp_path / "slo.yaml", FULL), "--out", tmp_path / "spec")
    assert result.returncode == 0, result.stderr
    data = load(tmp_path / "spec" / "shop.yaml")
    assert data["metrics"] == [
        {
            "name": "http_requests_total",
            "type": "counter",
            "help": "read by a Pyrra SLO (slo.yaml); another job scrapes it",
            "external": True,
            "job": "checkout",
        }
    ]
    (slo,) = data["slos"]
    assert slo == {
        "name": "checkout-errors",
        "description": "Checkout answers without a server error.",
        "objective": 99.5,
        "period": "1w",
        "labels": {"team": "payments"},
        "by": ["handler"],
        "sli": {
            "ratio": {
                "errors": 'http_requests_total{job="checkout",handler!="/health",code=~"5.."}',
                "total": 'http_requests_total{job="checkout",handler!="/health"}',
            }
        },
        "alerting": {
            "name": "CheckoutBurn",
            "annotations": {"runbook_url": "https://runbooks.shop.test/checkout"},
            "page": {"disabled": True},
            "ticket": {"disabled": True, "labels": {"severity": "ticket-team"}},
            "windows": [
                {"severity": "page", "long": "15m", "short": "1m", "factor": 14},
                {"severity": "page", "long": "1h30m", "short": "8m", "factor": 7},
                {"severity": "ticket", "long": "6h", "short": "30m", "factor": 2},
                {"severity": "ticket", "long": "1d", "short": "1h30m", "factor": 1},
            ],
        },
    }
    text = (tmp_path / "spec" / "shop.yaml").read_text()
    # the file's header, the document's own comment above its SLO, eol comments where keys landed
    assert text.startswith(f"# Imported from {tmp_path / 'slo.yaml'} by `obsgen import pyrra`.\n")
    assert "# Checkout, as the shop team runs it.\n" in text.split("service: shop")[0]
    assert "  # The payment API must answer.\n" in text
    assert "team: payments  # every series and alert" in text
    assert "metadata.labels prometheus select the PrometheusRule Pyrra writes" in text
    assert "metadata.annotations kubectl.kubernetes.io/last-applied-configuration are Kubernetes" in text
    assert "Pyrra's alert name was 'checkout-burn'" in result.stderr
    assert obsgen("gen", "--spec", tmp_path / "spec", "--out", tmp_path / "out").returncode == 0


def test_a_target_that_leaves_no_room_for_a_pair_drops_that_pair(tmp_path: Path) -> None:
    """At 90 %, Pyrra's 1h/5m pair needs an error ratio above 14 × 10 % = 140 %: it never fires."""
    result = import_pyrra(EXAMPLES / "caddy-response-latency.yaml", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    (slo,) = load(tmp_path / "default.yaml")["slos"]
    assert [(w["long"], w["factor"]) for w in slo["alerting"]["windows"]] == [("6h", 7), ("1d", 2), ("4d", 1)]
    assert "Pyrra's 1h/5m pair (factor 14) is left out" in result.stderr
    assert slo["sli"]["latency"] == {
        "histogram": 'caddy_http_response_duration_seconds{job="caddy",handler="subroute",code!~"5.."}',
        "below": 0.05,
    }


def test_service_option_and_kubectl_lists(tmp_path: Path) -> None:
    documents = [
        yaml.safe_load(path.read_text())
        for path in sorted((EXAMPLES / KUBERNETES).glob("slo-kubelet-*.yaml"))
    ]
    listed = write(
        tmp_path / "list.yaml", yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": documents})
    )
    result = import_pyrra(listed, "--out", tmp_path / "spec", "--service", "cluster")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "spec").iterdir()) == ["cluster.yaml", "obsgen.yaml"]
    assert [s["name"] for s in load(tmp_path / "spec" / "cluster.yaml")["slos"]] == [
        "kubelet-request-errors",
        "kubelet-runtime-errors",
    ]
    bad = import_pyrra(listed, "--out", tmp_path / "other", "--service", "Cluster")
    assert bad.returncode == 2 and "--service" in bad.stderr


def test_import_is_deterministic_and_idempotent(tmp_path: Path) -> None:
    sources = sorted((EXAMPLES / KUBERNETES).glob("*.yaml"))[:4]
    for out in (tmp_path / "a", tmp_path / "b"):
        assert import_pyrra(*sources, "--out", out).returncode == 0
    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")
    again = import_pyrra(*sources, "--out", tmp_path / "a")
    assert again.returncode == 0 and "unchanged" in again.stdout and "wrote" not in again.stdout


MINIMAL = """\
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata:
  name: checkout
  namespace: shop
spec:
  target: "99.5"
  window: 4w
  indicator:
    ratio:
      errors:
        metric: http_requests_total{code=~"5.."}
      total:
        metric: http_requests_total
"""


@pytest.mark.parametrize(
    ("edit", "line", "reason"),
    [
        (("  window: 4w\n", "  window: 4w\n  windwo: 2w\n"), 9, "unknown field 'windwo'"),
        (
            ("    ratio:\n      errors:", "    latencyNative:\n      errors:"),
            10,
            "latencyNative reads a native histogram",
        ),
        (("    ratio:", "    bool_gauge: {metric: up, grouping: [job]}\n    ratio:"), 9, "exactly one of"),
        (
            ('target: "99.5"', "target: 99.5"),
            7,
            'Pyrra\'s target is a string (Kubernetes CRDs have no floats): write target: "99.5"',
        ),
        (('target: "99.5"', 'target: "99,5"'), 7, "expected a percentage such as \"99.5\", got '99,5'"),
        (
            ('target: "99.5"', 'target: "0.995"'),
            7,
            "objectives are percent, not ratios: did you mean objective: 99.5?",
        ),
        (("window: 4w", "window: 4 weeks"), 8, "expected a Prometheus duration"),
        (("window: 4w", "window: 1d"), 8, "for 1d the shortest rounds to 0s"),
        (('{code=~"5.."}', '{code="5.."}'), 12, 'did you mean code=~"5.."?'),
        (
            ("metric: http_requests_total\n", "metric: rate(http_requests_total[5m])\n"),
            14,
            "one series selector",
        ),
        (("namespace: shop", "namespace: 1shop"), 5, "--service NAME"),
        (("  window: 4w\n", "  window: 4w\n  ruleOutput: {}\n"), 9, "ruleOutput labels Pyrra's split"),
        (("apiVersion: pyrra.dev/v1alpha1", "apiVersion: openslo/v1"), 1, "use `obsgen import openslo`"),
    ],
    ids=[
        "unknown-field",
        "native-latency",
        "two-kinds",
        "target-number",
        "target-text",
        "target-ratio",
        "window",
        "window-short",
        "regex-as-equality",
        "not-a-selector",
        "namespace",
        "rule-output",
        "api",
    ],
)
def test_what_cannot_be_imported_is_refused_with_its_line(
    edit: tuple[str, str], line: int, reason: str, tmp_path: Path
) -> None:
    assert edit[0] in MINIMAL
    source = write(tmp_path / "slo.yaml", MINIMAL.replace(*edit, 1))
    result = import_pyrra(source, "--out", tmp_path / "spec")
    assert result.returncode == 2, result.stdout
    assert f"{source}:{line}: " in result.stderr and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "spec").exists()


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = MINIMAL.replace('target: "99.5"', "target: 99.5").replace(
        "  window: 4w\n", "  window: 4w\n  extra: 1\n"
    )
    source = write(tmp_path / "slo.yaml", text + "---\n" + MINIMAL.replace("ratio:", "latencyNative:"))
    result = import_pyrra(source, "--out", tmp_path / "spec")
    assert result.returncode == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [p.split(": ")[1].rsplit(":", 1)[1] for p in problems] == ["7", "9", "26"], result.stderr


HOSTILE = [None, 0, -1, 1.5, True, [], {}, "", "x", [1], {"a": 1}, "1e400", "{{", "0s"]
"""Values of every type a YAML field can hold, and text that is no selector, number or duration"""


def value_paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a loaded document, children after their parent."""
    children: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    return [at] + [p for key, child in children for p in value_paths(child, (*at, key))]


def test_no_value_anywhere_crashes_the_import(tmp_path: Path) -> None:
    """Each field of a full SLO replaced by each hostile value: an import or a located refusal,
    never another exception (in process, through the same path as the command)."""
    import copy

    from generator.errors import SpecError
    from generator.importers import pyrra
    from generator.importers.run import import_files

    document = yaml.safe_load(FULL)
    source = tmp_path / "slo.yaml"
    for at in value_paths(document)[1:]:
        for value in HOSTILE:
            mutated = copy.deepcopy(document)
            parent = mutated
            for key in at[:-1]:
                parent = parent[key]
            parent[at[-1]] = value
            source.write_text(yaml.safe_dump(mutated))
            try:
                import_files(
                    [source],
                    tmp_path / "out",
                    lambda roots: pyrra.convert(roots, pyrra.PyrraOptions()),
                    False,
                )
            except SpecError as exc:
                assert all(issue.location.file == str(source) for issue in exc.issues), (at, value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hello\n", "expected a mapping (a Pyrra ServiceLevelObjective"),
        ("{apiVersion: v1, kind: List, items: 5}\n", "expected a list of ServiceLevelObjectives"),
        ("{apiVersion: v1, kind: List, items: []}\n", "no ServiceLevelObjective to import"),
    ],
    ids=["scalar", "items", "empty-list"],
)
def test_documents_that_are_no_slos_are_refused(text: str, reason: str, tmp_path: Path) -> None:
    result = import_pyrra(write(tmp_path / "slo.yaml", text), "--out", tmp_path / "spec")
    assert result.returncode == 2 and reason in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "spec").exists()
