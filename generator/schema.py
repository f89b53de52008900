"""The JSON Schema of a spec file, for editors (`generated/schema/spec.schema.json`)."""

from __future__ import annotations

from typing import Any

from generator.durations import DURATION_PATTERN, format_duration
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
        **_durations_as_written(defs),
    }


def _durations_as_written(node: Any) -> Any:
    """Duration defaults as a spec writes them (`30d`, `1m`), not the seconds the model holds."""
    if isinstance(node, list):
        return [_durations_as_written(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _durations_as_written(value) for key, value in node.items()}
    default = out.get("default")
    if isinstance(default, int) and not isinstance(default, bool) and _is_duration(out):
        out["default"] = format_duration(default)
    return out


def _is_duration(schema: dict[str, Any]) -> bool:
    """A property whose schema (or one of its anyOf branches) is a Prometheus duration string."""
    branches = [schema, *schema.get("anyOf", [])]
    return any(isinstance(b, dict) and b.get("pattern") == DURATION_PATTERN for b in branches)
