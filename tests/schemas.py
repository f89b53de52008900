"""The schemas the tests validate against: Argo's AnalysisTemplate CRD and Grafana's dashboard.

DESIGN.md keeps them in ../shared/schemas/. A clean clone may sit where ../shared is not, so
tests/fixtures/schemas/ holds copies: Grafana's verbatim, Argo's without its descriptions
(most of its 650 kB, never constraining anything). `python tests/schemas.py` rewrites them
from ../shared; the tests assert the copies agree whenever ../shared is there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED_CRD = ROOT.parent / "shared" / "schemas" / "argo-rollouts-analysistemplate-crd.yaml"
VENDORED = ROOT / "tests" / "fixtures" / "schemas" / "argo-analysistemplate-v1alpha1.schema.json"
SHARED_GRAFANA = ROOT.parent / "shared" / "schemas" / "grafana-dashboard.schema.json"
VENDORED_GRAFANA = ROOT / "tests" / "fixtures" / "schemas" / "grafana-dashboard.schema.json"


def without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: without_descriptions(value)
            for key, value in schema.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(schema, list):
        return [without_descriptions(item) for item in schema]
    return schema


def schema_from_crd(path: Path) -> dict[str, Any]:
    crd = yaml.safe_load(path.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1")
    return without_descriptions(version["schema"]["openAPIV3Schema"])


def analysis_template_schema() -> dict[str, Any]:
    return json.loads(VENDORED.read_text())


def grafana_dashboard_schema() -> dict[str, Any]:
    schema = json.loads(VENDORED_GRAFANA.read_text())
    if SHARED_GRAFANA.exists():
        assert schema == json.loads(SHARED_GRAFANA.read_text()), "run `python tests/schemas.py`"
    return schema


if __name__ == "__main__":
    VENDORED.write_text(json.dumps(schema_from_crd(SHARED_CRD), indent=1, sort_keys=True) + "\n")
    VENDORED_GRAFANA.write_bytes(SHARED_GRAFANA.read_bytes())
    print(f"wrote {VENDORED.relative_to(ROOT)} and {VENDORED_GRAFANA.relative_to(ROOT)}")
