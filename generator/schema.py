"""The JSON Schema of a spec file, for editors (`generated/schema/spec.schema.json`)."""

from __future__ import annotations

from typing import Any

from generator.model.alertmanager import AlertmanagerSpec
from generator.model.common import StrictModel
from generator.model.service import Service
from generator.model.settings import Settings


class SettingsFile(StrictModel):
    settings: Settings


class AlertmanagerFile(StrictModel):
    alertmanager: AlertmanagerSpec


def compile_schema() -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    files = [Service, SettingsFile, AlertmanagerFile]
    refs, defs = models_json_schema([(f, "validation") for f in files], ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "obsgen spec file",
        "description": "A service (service, scrape, metrics, signals, slos, alerts, probes, "
        "heartbeats, gates), the one settings file (settings) or the routing (alertmanager).",
        "anyOf": [refs[(f, "validation")] for f in files],
        **defs,
    }
