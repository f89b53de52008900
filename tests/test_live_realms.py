"""`gate decide` and `budget check` read their spec's realm only, as the Argo template does.

One real Prometheus scrapes a small exporter serving, for every gate and SLO of the bundled
spec, the series their rules record (labelled as gate_rules and rules label them): once in
the spec's realm `prod`, and once each in `legacy` and `staging` with the opposite health.
Two other realms, one sorting before `prod` and one after, so that no order of the query's
result can hide a missing realm matcher. A sentinel series tells when Prometheus has scraped
the values a test set. The CLI runs in a subprocess; the Argo template's queries, read from
generated/argo/, run against the same Prometheus and must give the same decision.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from conftest import GENERATED, SPEC, free_port, installed, serving
from test_live import DEADLINE, Exporter, cli

from generator.conventions import (
    BUDGET_REMAINING,
    CONDITION_VALUE,
    CONDITION_VIOLATED,
    CURRENT_BURN,
    PROMOTE,
    ROLLBACK,
    VIOLATIONS,
    slo_id,
    slo_labels,
)
from generator.exit_codes import ExitCode
from generator.gate_rules import gate_labels
from generator.live.gate import Verdict
from generator.model import Gate, Service, Spec
from generator.pipeline import load

REALM = "prod"
OTHERS = ("legacy", "staging")
SENTINEL = "realms_test_world"
# gate name → (is it healthy in prod?); the other realms hold the opposite.
GATES = {"bridge-v19": True, "duri-l4": False}
HEALTHY_BUDGET = (0.9, 0.5)  # budget left, burn rate
FREEZING_BUDGET = (0.05, 20.0)


class SeriesExporter(Exporter):
    """Serves whole series (`name{labels}` → value), untyped, in the order they were set."""

    def exposition(self) -> bytes:
        with self._lock:
            values = dict(self._values)
        return "".join(f"{series} {value!r}\n" for series, value in values.items()).encode()


def series(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@dataclass
class Realms:
    url: str
    spec: Spec
    exporter: SeriesExporter
    world: int = 0

    def query(self, expr: str) -> list[dict[str, Any]]:
        address = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(address, timeout=5) as response:
            return json.loads(response.read())["data"]["result"]

    def serve(self, gates: dict[str, bool], slos: dict[str, bool]) -> None:
        """Set every gate's and SLO's series, prod first, and wait until Prometheus has them."""
        self.world += 1
        values: dict[str, float] = {}
        for realm in (REALM, *OTHERS):
            for service in self.spec.services:
                assert service.realm == REALM, "the test relies on every bundled service being in prod"
                for gate in service.gates:
                    healthy = gates[gate.name] == (realm == REALM)
                    values |= gate_series(service, gate, realm, healthy)
                for slo in service.slos:
                    healthy = slos[slo_id(service, slo)] == (realm == REALM)
                    left, burn = HEALTHY_BUDGET if healthy else FREEZING_BUDGET
                    labels = {**slo_labels(service, slo), "metric_realm": realm}
                    values[series(BUDGET_REMAINING, labels)] = left
                    values[series(CURRENT_BURN, labels)] = burn
        values[series(SENTINEL, {})] = self.world
        self.exporter.set(values)
        deadline = time.monotonic() + DEADLINE
        while [float(s["value"][1]) for s in self.query(SENTINEL)] != [self.world]:
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus did not scrape world {self.world} within {DEADLINE}s")
            time.sleep(0.1)


def gate_series(service: Service, gate: Gate, realm: str, healthy: bool) -> dict[str, float]:
    labels = {**gate_labels(service, gate), "metric_realm": realm}
    out = {}
    for condition in gate.conditions:
        own = {**labels, "condition": condition.name}
        out[series(CONDITION_VALUE, own)] = 0.25 if healthy else 0.75
        out[series(CONDITION_VIOLATED, own)] = 0 if healthy else 1
    out[series(VIOLATIONS, labels)] = 0 if healthy else len(gate.conditions)
    out[series(PROMOTE, labels)] = 1 if healthy else 0
    out[series(ROLLBACK, labels)] = 0 if healthy else 1
    return out


@pytest.fixture(scope="module")
def realms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Realms]:
    binary = installed("prometheus")
    root = tmp_path_factory.mktemp("realms")
    exporter = SeriesExporter("/metrics")
    exporter.start()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": "realms",
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{exporter.port}"]}],
            }
        ],
    }
    (root / "prometheus.yml").write_text(yaml.safe_dump(config))
    url = f"http://127.0.0.1:{free_port()}"
    argv = [
        binary,
        f"--config.file={root / 'prometheus.yml'}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address={url.removeprefix('http://')}",
        "--log.level=warn",
    ]
    try:
        with serving(argv, url, root / "prometheus.log"):
            yield Realms(url, load(SPEC), exporter)
    finally:
        exporter.stop()


def all_slos(realms: Realms) -> list[str]:
    return [slo_id(service, slo) for service in realms.spec.services for slo in service.slos]


def argo_verdict(realms: Realms, gate: str) -> Verdict:
    """What the AnalysisTemplate decides: its rollback metric fails on 1; its promote metric
    succeeds on 1, fails on -1 and is inconclusive (a paused Rollout, HOLD) on 0."""
    template = yaml.safe_load((GENERATED / "argo" / f"{gate}.yaml").read_text())
    results = {}
    for metric in template["spec"]["metrics"]:
        found = realms.query(metric["provider"]["prometheus"]["query"])
        assert len(found) == 1, f"Argo's {metric['name']} query reads one series, got {found}"
        assert found[0]["metric"].get("metric_realm") == REALM
        results[metric["name"]] = float(found[0]["value"][1])
    if results["rollback"] == 1:
        return Verdict.ROLLBACK
    return {1: Verdict.GO, -1: Verdict.ROLLBACK, 0: Verdict.HOLD}[results["promote"]]


def test_gate_decide_reads_its_realm_as_argo_does(realms: Realms) -> None:
    realms.serve(GATES, dict.fromkeys(all_slos(realms), True))
    for gate, healthy in GATES.items():
        result = cli("gate", "decide", gate, "--spec", SPEC, "--prometheus", realms.url)
        assert "Traceback" not in result.stderr, result.stderr
        expected = Verdict.GO if healthy else Verdict.ROLLBACK
        assert argo_verdict(realms, gate) is expected
        assert result.returncode == expected.code, result.stdout
        assert result.stdout.splitlines()[-1].startswith(expected.tag)
    # Every gate at once: one query, each gate still read in its own realm only.
    result = cli("gate", "decide", "--spec", SPEC, "--prometheus", realms.url)
    assert result.returncode == Verdict.ROLLBACK.code, result.stdout
    verdicts = [line.split("]")[0] + "]" for line in result.stdout.splitlines() if line.startswith("[")]
    assert verdicts == [(Verdict.GO if h else Verdict.ROLLBACK).tag for h in GATES.values()]


def budget_rows(out: str, ids: list[str]) -> dict[str, list[str]]:
    """SLO id → budget left, burn rate and verdict, from the table `budget check` prints."""
    rows = [line.split() for line in out.splitlines()]
    return {row[0]: row[1:] for row in rows if row and row[0] in ids}


@pytest.mark.parametrize("mixed", [True, False], ids=["some-prod-slos-freezing", "prod-healthy"])
def test_budget_check_reads_its_realm(realms: Realms, mixed: bool) -> None:
    ids = all_slos(realms)
    assert len(ids) >= 2
    healthy = {slo: not (mixed and i % 2) for i, slo in enumerate(ids)}
    realms.serve({gate: True for gate in GATES}, healthy)
    result = cli("budget", "check", "--spec", SPEC, "--prometheus", realms.url)
    assert "Traceback" not in result.stderr, result.stderr
    ok = ["90.0%", "0.50×", "ok"]
    freeze = ["5.0%", "20.00×", "FREEZE"]
    assert budget_rows(result.stdout, ids) == {i: ok if healthy[i] else freeze for i in ids}
    failing = [i for i in ids if not healthy[i]]
    if failing:
        assert result.returncode == ExitCode.CHECK_FAILED, result.stdout
        assert f"[FAIL] error budget policy violated by {', '.join(failing)}" in result.stdout
    else:
        assert result.returncode == ExitCode.OK, result.stdout
