"""The JSON Schema of a spec file, for editors (`generated/schema/spec.schema.json`)."""

from __future__ import annotations

from typing import Any

from generator.model.common import StrictModel
from generator.model.service import Service
from generator.model.settings import Settings


class SettingsFile(StrictModel):
    settings: Settings


def compile_schema() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    refs, defs = models_json_schema(
        [(Service, "validation"), (SettingsFile, "validation")], ref_template="#/$defs/{model}"
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "obsgen spec file",
        "description": "A service (service, scrape, metrics, signals, slos, alerts, probes) "
        "or the one settings file (settings).",
        "anyOf": [refs[(Service, "validation")], refs[(SettingsFile, "validation")]],
        **defs,
    }
