"""PrometheusRule objects, Mimir namespaces and Thanos rule files hold exactly the plain rule groups."""

from __future__ import annotations

import dataclasses
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GENERATED, SPEC

from generator.errors import SpecError
from generator.kubernetes import compile_prometheus_rules
from generator.model.settings import KubernetesSettings
from generator.pipeline import load
from generator.rules import compile_rules

PLAIN = GENERATED / "prometheus" / "rules"
KUBERNETES = GENERATED / "kubernetes"
MIMIR = GENERATED / "mimir"
THANOS = GENERATED / "thanos" / "rules"
DEFAULT_LABELS = {"role": "alert-rules", "app.kubernetes.io/managed-by": "obsgen"}


def read(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def owner(rule_file: Path) -> str:
    """`bridge.yml`, `bridge.<slo>.yml`, `bridge.gate.<gate>.yml` → bridge; `_watchdog.yml` → obsgen."""
    return "obsgen" if rule_file.stem == "_watchdog" else rule_file.stem.split(".")[0]


def plain_groups_by_owner() -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(PLAIN.glob("*.yml")):
        grouped.setdefault(owner(path), []).extend(read(path)["groups"])
    return grouped


def sorted_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(groups, key=lambda group: group["name"])


def prometheus_rules() -> list[Path]:
    return sorted(KUBERNETES.glob("prometheusrule-*.yaml"))


def test_the_bundled_spec_opts_in_to_these_layouts() -> None:
    """They are opt-in (`settings.outputs`); without them the tests below would read nothing."""
    assert {"kubernetes", "mimir", "thanos"} <= set(load(SPEC).settings.outputs)
    assert KUBERNETES.is_dir() and MIMIR.is_dir() and THANOS.is_dir()


def test_one_prometheus_rule_per_owner() -> None:
    assert [p.name for p in prometheus_rules()] == [
        f"prometheusrule-{name}.yaml" for name in sorted(plain_groups_by_owner())
    ]
    assert {p.name for p in KUBERNETES.iterdir()} == {p.name for p in prometheus_rules()}


@pytest.mark.parametrize("path", prometheus_rules(), ids=lambda p: p.name)
def test_prometheus_rule_is_a_valid_object_holding_the_plain_groups(path: Path) -> None:
    document = read(path)
    assert set(document) == {"apiVersion", "kind", "metadata", "spec"}
    assert document["apiVersion"] == "monitoring.coreos.com/v1"
    assert document["kind"] == "PrometheusRule"
    name = path.stem.removeprefix("prometheusrule-")
    assert document["metadata"] == {
        "name": "obsgen" if name == "obsgen" else f"obsgen-{name}",
        "labels": DEFAULT_LABELS,
    }
    assert set(document["spec"]) == {"groups"}
    for group in document["spec"]["groups"]:
        assert isinstance(group["name"], str) and group["name"]
        assert isinstance(group["rules"], list) and group["rules"]
    assert sorted_groups(document["spec"]["groups"]) == sorted_groups(plain_groups_by_owner()[name])


def test_labels_and_namespace_come_from_the_settings() -> None:
    spec = load(SPEC)
    labels = {"prometheus": "scaled", "example.com/team": "lumen"}
    settings = spec.settings.model_copy(
        update={"kubernetes": KubernetesSettings(rule_labels=labels, namespace="monitoring")}
    )
    custom = dataclasses.replace(spec, settings=settings)
    rules = compile_prometheus_rules(custom, compile_rules(custom))
    assert rules
    for rule in rules.values():
        assert rule["metadata"]["labels"] == labels
        assert rule["metadata"]["namespace"] == "monitoring"


def test_the_spec_sets_kubernetes_settings_and_refuses_a_bad_label(spec_copy: Path) -> None:
    settings = spec_copy / "obsgen.yaml"
    original = settings.read_text()
    kubernetes = "  kubernetes:\n    namespace: monitoring\n    rule_labels: {release: kps}\n"
    settings.write_text(original + kubernetes)
    assert load(spec_copy).settings.kubernetes == KubernetesSettings(
        namespace="monitoring", rule_labels={"release": "kps"}
    )
    settings.write_text(original + "  kubernetes:\n    rule_labels: {'bad key!': x}\n")
    with pytest.raises(SpecError):
        load(spec_copy)


def test_thanos_rule_files_are_the_plain_files_byte_for_byte() -> None:
    plain = {p.name: p.read_bytes() for p in PLAIN.iterdir()}
    assert plain
    assert {p.name: p.read_bytes() for p in THANOS.iterdir()} == plain


def test_mimir_namespaces_hold_every_group_exactly_once() -> None:
    plain = plain_groups_by_owner()
    files = sorted(MIMIR.iterdir())
    assert [p.name for p in files] == [f"{name}.yaml" for name in sorted(plain)]
    names: Counter[str] = Counter()
    for path in files:
        document = read(path)
        assert set(document) == {"namespace", "groups"}
        assert document["namespace"] == path.stem
        assert sorted_groups(document["groups"]) == sorted_groups(plain[path.stem])
        names.update(group["name"] for group in document["groups"])
    assert set(names.values()) == {1}
    assert set(names) == {group["name"] for groups in plain.values() for group in groups}


def test_every_layout_holds_the_same_set_of_groups() -> None:
    def canonical(groups: list[dict[str, Any]]) -> list[str]:
        return sorted(yaml.safe_dump(group, sort_keys=True) for group in groups)

    plain = canonical([g for path in PLAIN.glob("*.yml") for g in read(path)["groups"]])
    kubernetes = canonical([g for path in prometheus_rules() for g in read(path)["spec"]["groups"]])
    mimir = canonical([g for path in MIMIR.glob("*.yaml") for g in read(path)["groups"]])
    thanos = canonical([g for path in THANOS.glob("*.yml") for g in read(path)["groups"]])
    assert kubernetes == mimir == thanos == plain


def promtool_check(promtool: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, "check", "rules", "--lint-fatal", *map(str, files)], capture_output=True, text=True
    )


def test_promtool_accepts_the_thanos_files(promtool: str) -> None:
    check = promtool_check(promtool, sorted(THANOS.glob("*.yml")))
    assert check.returncode == 0, check.stdout + check.stderr


def test_promtool_accepts_the_mimir_groups(promtool: str, tmp_path: Path) -> None:
    """promtool knows no `namespace:` key (mimirtool's), so it checks copies without it."""
    copies = []
    for path in sorted(MIMIR.glob("*.yaml")):
        document = read(path)
        document.pop("namespace")
        copy = tmp_path / path.name
        copy.write_text(yaml.safe_dump(document, sort_keys=False))
        copies.append(copy)
    check = promtool_check(promtool, copies)
    assert check.returncode == 0, check.stdout + check.stderr
