"""The native file of a service: one per service, which its Service object and its SLOs fill in."""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from generator.importers.document import OutFile
from generator.importers.openslo.objects import ANNOTATIONS, METADATA_KEYS, Import
from generator.importers.source import Cursor, PathKey, imported_header

SERVICE_KEYS = ("service", "description", "labels", "slo_label_names", "slos", "signals", "metrics")
"""Key order of a written service file: the SLOs first, so the source's comments land on them"""


def service_file(imp: Import, service: Cursor, root: Cursor) -> OutFile:
    """The file of the service `service` names (made on first use), with `root`'s header added."""
    name = str(service.value)
    out = imp.files.get(name)
    if out is None:
        out = imp.files[name] = OutFile(f"{name}.yaml")
        out.set(("service",), name, service)
        if imp.options.label_names == "sloth":
            out.set(("slo_label_names",), "sloth")
        out.set(("metrics",), [])
        out.set(("signals",), [])
        out.set(("slos",), [])
    out.header += [line for line in imported_header(root) if line not in out.header]
    return out


def written_data(out: OutFile) -> dict[str, Any]:
    """The file's data in SERVICE_KEYS order, empty lists and unset keys left out."""
    return {key: out.data[key] for key in SERVICE_KEYS if out.data.get(key) not in (None, [])}


def convert_service(imp: Import, root: Cursor) -> str | None:
    """A Service object → its file's `service`, `description` and `labels`; its name."""
    name, metadata, spec = imp.named_parts(root)
    if name is None or metadata is None:
        return None
    name_cursor = metadata.get("name")
    assert name_cursor is not None
    if name in imp.services:
        imp.refuse(root, f"Service {name!r} is defined twice (first at {imp.services[name].location()})")
        return None
    imp.services[name] = root
    imp.check_obsgen_name(name_cursor, "service")
    out = service_file(imp, name_cursor, root)
    imp.check_keys(metadata, METADATA_KEYS, refused={"annotations": ANNOTATIONS})
    display = metadata.get("displayName")
    description = spec.get("description") if spec is not None and spec.is_map() else None
    if spec is not None:
        imp.check_keys(spec, ("description",))
    if description is not None:
        out.set(("description",), str(description.value), description)
    if display is not None:
        if description is None:
            out.set(("description",), str(display.value), display)
        else:
            note(out, ("service",), f"OpenSLO displayName: {display.value}")
    labels = metadata.get("labels")
    if labels is not None:
        set_labels(imp, out, ("labels",), labels, {})
    return name


def note(out: OutFile, path: PathKey, text: str) -> None:
    """A comment obsgen adds above `path`, once."""
    if text not in out.notes.get(path, []):
        out.note(path, text)


def set_labels(imp: Import, out: OutFile, at: PathKey, labels: Cursor, inherited: dict[str, str]) -> None:
    """`inherited` and the source's Prometheus labels at `at`; a label that is not one is refused."""
    if not labels.is_map():
        imp.refuse(labels, "expected a mapping of label names to values")
        return
    found = dict(inherited)
    for key in labels.fields():
        child = labels.get(key)
        assert child is not None
        value = label_value(imp, key, child)
        if value is None:
            continue
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key) or key.startswith("__"):
            imp.unsupported(
                child,
                f"{key!r} is not a Prometheus label name (letters, digits and _, not starting with a "
                "digit or __); rename it",
            )
            continue
        found[key] = value
    out.set(at, found, labels)
    for key in labels.fields():
        child = labels.get(key)
        assert child is not None
        out.mark((*at, key), child)


def label_value(imp: Import, key: str, label: Cursor) -> str | None:
    """The one value of an OpenSLO label: a scalar, or a list of one (`env: [prod]`); None, refused,
    for several values or a mapping."""
    items = label.items() if isinstance(label.value, list) else [label]
    value = items[0] if len(items) == 1 else label
    if isinstance(value.value, list | dict):
        imp.unsupported(
            label,
            f"label {key!r} has {_values_shown(label.value)}; an obsgen label, as a Prometheus label, "
            "has exactly one value: keep one, or join them into one value",
        )
        return None
    if value is not label and value.line == label.line and not isinstance(value.value, str):
        # a flow list (`[1]`): the line holds the key, not the item's own text
        return str(value.value).lower() if isinstance(value.value, bool) else str(value.value)
    return value.text() or ""


def _values_shown(values: list[Any] | dict[str, Any]) -> str:
    if isinstance(values, dict):
        return "a mapping for its value"
    if not values:
        return "no value (an empty list)"
    if len(values) == 1:
        return "a list or mapping for its one value"
    return f"several values ({', '.join(str(v) for v in values)})"


def add_metric(imp: Import, out: OutFile, name: str, kind: str, origin: Cursor) -> None:
    """`name` in the file's metrics as an external `kind`; refused if read as another kind elsewhere."""
    existing = next((m for m in out.data["metrics"] if m["name"] == name), None)
    if existing is not None:
        if existing["type"] != kind:
            imp.refuse(
                origin, f"metric {name!r} is read as a {kind} here and as a {existing['type']} elsewhere"
            )
        return
    entry = {
        "name": name,
        "type": kind,
        "help": f"imported from OpenSLO: {PurePath(origin.source.name).name}",
        "external": True,
    }
    out.set(("metrics", len(out.data["metrics"])), entry, origin)
