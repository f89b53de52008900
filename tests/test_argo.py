"""Generated AnalysisTemplates against Argo's CRD schema made strict, and Argo's own metric rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from conftest import GENERATED
from schemas import SHARED_CRD, analysis_template_schema, schema_from_crd

from generator.validate.argo import metric_problems


def strict(schema: Any) -> Any:
    """additionalProperties: false on every object that lists its properties."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = analysis_template_schema()
    if SHARED_CRD.exists():  # the vendored copy must still be Argo's CRD (`python tests/schemas.py`)
        assert schema == schema_from_crd(SHARED_CRD)
    return jsonschema.Draft7Validator(strict(schema))


def templates() -> list[Path]:
    return sorted((GENERATED / "argo").glob("*.yaml"))


def test_every_gate_has_a_template() -> None:
    assert [p.stem for p in templates()] == ["bridge-v19", "duri-l4"]


@pytest.mark.parametrize("path", templates(), ids=lambda p: p.name)
def test_template_validates_against_the_strict_crd(path: Path, validator: jsonschema.Draft7Validator) -> None:
    document = yaml.safe_load(path.read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert errors == []
    assert document["apiVersion"] == "argoproj.io/v1alpha1"
    assert document["kind"] == "AnalysisTemplate"
    assert metric_problems(document) == []


@pytest.mark.parametrize("path", templates(), ids=lambda p: p.name)
def test_template_reads_the_gate_series_through_the_address_argument(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    args = {a["name"]: a.get("value") for a in document["spec"]["args"]}
    assert args["prometheus-address"].startswith("http")
    for metric in document["spec"]["metrics"]:
        prometheus = metric["provider"]["prometheus"]
        assert prometheus["address"] == "{{args.prometheus-address}}"
        assert f'gate="{path.stem}"' in prometheus["query"]
        assert "canary:" in prometheus["query"]


def test_the_strict_schema_refuses_an_unknown_field(validator: jsonschema.Draft7Validator) -> None:
    document = yaml.safe_load(templates()[0].read_text())
    document["spec"]["metrics"][0]["provider"]["prometheus"]["adress"] = "http://typo"
    assert any("adress" in e.message for e in validator.iter_errors(document))


def _metric(**fields: Any) -> dict[str, Any]:
    base = {"name": "m", "provider": {"prometheus": {"address": "http://p", "query": "up"}}}
    return {"spec": {"metrics": [{**base, **fields}]}}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"interval": "1d", "count": 2}, "not a Go duration"),
        ({"initialDelay": "1h1d"}, "not a Go duration"),
        ({"count": 3}, "needs an interval"),
        ({"interval": "1m", "count": 2, "failureLimit": 3}, "smaller than failureLimit"),
        ({"failureLimit": -1}, "must not be negative"),
        ({"interval": "1m", "count": 2, "consecutiveErrorLimit": -2}, "must not be negative"),
    ],
)
def test_argo_metric_rules_the_crd_does_not_express(fields: dict[str, Any], expected: str) -> None:
    problems = metric_problems(_metric(**fields))
    assert len(problems) == 1 and expected in problems[0]


def test_argo_metric_rules_accept_go_durations() -> None:
    fine = _metric(interval="1h30m", count=5, failureLimit=1, initialDelay="24h")
    assert metric_problems(copy.deepcopy(fine)) == []
