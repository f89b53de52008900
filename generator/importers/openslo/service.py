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


def convert_service(imp: Import, root: Cursor) -> None:
    """A Service object → its file's `service`, `description` and `labels`."""
    name, metadata, spec = imp.named_parts(root)
    if name is None or metadata is None:
        return
    name_cursor = metadata.get("name")
    assert name_cursor is not None
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
        if isinstance(child.value, list | dict):
            imp.refuse(child, f"label {key!r} has several values; a Prometheus label has one value")
            continue
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key) or key.startswith("__"):
            imp.refuse(
                child,
                f"{key!r} is not a Prometheus label name (letters, digits and _, not starting with a "
                "digit or __); rename it",
            )
            continue
        found[key] = child.text() or ""
    out.set(at, found, labels)
    for key in labels.fields():
        child = labels.get(key)
        assert child is not None
        out.mark((*at, key), child)


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
