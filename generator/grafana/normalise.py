"""The one place grafanalib's output is brought up to Grafana's current dashboard schema.

grafanalib (0.7) still emits fields from old Grafana versions, which the dashboard JSON
schema (`additionalProperties: false`) rejects, and writes unset options as `null`, which the
schema types do not allow. Grafana reads an absent field as its default, so both go.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 39
LEGACY_DASHBOARD = ("__inputs", "rows", "style", "hideControls", "sharedCrosshair")
LEGACY_PANEL = ("editable", "error", "height", "minSpan", "span")
LEGACY_TABLE_PANEL = ("color", "columns", "fontSize", "mappings")
LEGACY_VARIABLE = ("tagValuesQuery", "tagsQuery", "useTags")
LEGACY_TIMEPICKER = ("time_options",)


def without_nulls(value: Any) -> Any:
    """Except a threshold step's `value`: null there is the base step (−∞), as Grafana writes it."""
    if isinstance(value, dict):
        step = "color" in value and "value" in value
        return {k: without_nulls(v) for k, v in value.items() if v is not None or (step and k == "value")}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def _drop(mapping: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def normalise(dashboard: dict[str, Any]) -> dict[str, Any]:
    """grafanalib's `to_json_data()` (encoded to plain JSON) → a current-schema dashboard."""
    out = _drop(without_nulls(dashboard), LEGACY_DASHBOARD)
    out["schemaVersion"] = SCHEMA_VERSION
    out["panels"] = [
        _drop(_drop(p, LEGACY_PANEL), LEGACY_TABLE_PANEL if p.get("type") == "table" else ())
        for p in out.get("panels", [])
    ]
    variables = out.get("templating", {}).get("list", [])
    for i, variable in enumerate(variables):
        variable = _drop(variable, LEGACY_VARIABLE)
        current = variable.get("current")
        if isinstance(current, dict) and {"text", "value"} <= set(current):
            variable["current"] = _drop(current, ("tags",))
        else:
            variable.pop("current", None)  # nothing chosen: Grafana takes the default data source
        variables[i] = variable
    if "timepicker" in out:
        out["timepicker"] = _drop(out["timepicker"], LEGACY_TIMEPICKER)
    return out
