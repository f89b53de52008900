"""The Argo AnalysisTemplate schema the tests validate against.

DESIGN.md keeps Argo's CRD in ../shared/schemas/. A clean clone may sit where ../shared is
not, so tests/fixtures/schemas/ holds the same schema without its descriptions (descriptions
are most of the 650 kB and never constrain anything). `python tests/schemas.py` rewrites it
from ../shared; a test asserts the two agree whenever ../shared is there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SHARED_CRD = ROOT.parent / "shared" / "schemas" / "argo-rollouts-analysistemplate-crd.yaml"
VENDORED = ROOT / "tests" / "fixtures" / "schemas" / "argo-analysistemplate-v1alpha1.schema.json"


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


if __name__ == "__main__":
    VENDORED.write_text(json.dumps(schema_from_crd(SHARED_CRD), indent=1, sort_keys=True) + "\n")
    print(f"wrote {VENDORED.relative_to(ROOT)}")
