"""One import's state, and the OpenSLO objects of every document: their kinds, names and references.

v1 objects reference each other by name across every document of every file given; an object
is registered under its kind and name, and marked used when an SLO resolves a reference to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.errors import SpecIssue
from generator.importers.document import OutFile
from generator.importers.source import Cursor, document_header
from generator.importers.windows import WindowSets

V1, V1ALPHA = "openslo/v1", "openslo/v1alpha"
V1_KINDS = ("SLO", "SLI", "AlertPolicy", "AlertCondition", "DataSource", "Service", "AlertNotificationTarget")
V1ALPHA_KINDS = ("SLO", "Service")
HEADER_KEYS = ("apiVersion", "kind", "metadata", "spec")
METADATA_KEYS = ("name", "displayName", "labels", "annotations")
ANNOTATIONS = (
    "OpenSLO annotations are implementation metadata of another tool and have no obsgen meaning; "
    "remove them (alert annotations go in the written spec's alerting.annotations)"
)
LABELS_REFUSED = {
    "annotations": ANNOTATIONS,
    "labels": "labels here have no place in obsgen; put them on the SLO's metadata.labels (they then go on "
    "every SLO series and alert) or on the Service's (every alert of the service)",
}
"""Metadata refused on the objects an SLO refers to (SLI, DataSource, AlertPolicy, AlertCondition)"""
ROUTING = (
    "notification targets cannot be imported: obsgen routes alerts with Alertmanager, configured "
    "in spec/alertmanager.yaml (route on the alerts' severity, service and slo_id labels); "
    "remove {what} here and write the route there"
)


@dataclass(frozen=True)
class OpenSLOOptions:
    extra_labels: dict[str, str] = field(default_factory=dict)
    """`--extra-labels`: added to every SLO's series and alerts"""
    windows: WindowSets = field(default_factory=WindowSets)
    """alert windows of SLO periods other than 30d (`--windows`)"""
    label_names: str = "obsgen"
    """`sloth` keeps Sloth's sloth_id/sloth_service/sloth_slo/sloth_window label names"""


@dataclass
class _Named:
    """A v1 object other SLOs refer to by name."""

    root: Cursor
    used: bool = False


class Import:
    """One conversion: its options, the files written so far, the issues found, the named objects."""

    def __init__(self, options: OpenSLOOptions) -> None:
        self.options = options
        self.files: dict[str, OutFile] = {}
        """service name → its native file"""
        self.issues: list[SpecIssue] = []
        self.named: dict[tuple[str, str], _Named] = {}
        self.headers_placed: set[tuple[str, int]] = set()

    def refuse(self, where: Cursor, message: str) -> None:
        self.issues.append(where.issue(message))

    def check_keys(self, node: Cursor, known: tuple[str, ...], refused: dict[str, str] | None = None) -> None:
        """Refuse the fields of `node` that are in `refused` (with its reason) or not `known`."""
        refused = refused or {}
        for key in node.fields():
            child = node.get(key)
            assert child is not None
            if key in refused:
                self.refuse(child, refused[key])
            elif key not in known:
                self.refuse(
                    child, f"unknown field {key!r} cannot be imported (expected one of {', '.join(known)})"
                )

    def api_and_kind(self, root: Cursor) -> tuple[str, str] | None:
        """(apiVersion, kind) of an OpenSLO object; None (refused) for anything else."""
        if not root.is_map():
            self.refuse(root, "expected a mapping (an OpenSLO object with apiVersion and kind)")
            return None
        api, kind = root.get("apiVersion"), root.get("kind")
        if api is None or str(api.value) not in (V1, V1ALPHA):
            hint = "; for Sloth's own spec use `obsgen import sloth`" if root.get("version") else ""
            self.refuse(api or root, f"expected apiVersion: {V1} or {V1ALPHA}{hint}")
            return None
        kinds = V1ALPHA_KINDS if api.value == V1ALPHA else V1_KINDS
        if kind is None or kind.value not in kinds:
            self.refuse(kind or root, f"expected kind: one of {', '.join(kinds)} ({api.value})")
            return None
        return str(api.value), str(kind.value)

    def object_name(self, root: Cursor) -> str | None:
        metadata = root.get("metadata")
        name = metadata.get("name") if metadata else None
        if name is None or not isinstance(name.value, str) or not name.value:
            self.refuse(metadata or root, "metadata.name is required")
            return None
        return name.value

    def named_parts(self, root: Cursor) -> tuple[str | None, Cursor | None, Cursor | None]:
        """(name, metadata, spec) of an SLO or Service, its header's fields checked."""
        self.check_keys(root, HEADER_KEYS)
        metadata, spec = root.get("metadata"), root.get("spec")
        return self.object_name(root), metadata, spec

    def referred_parts(self, root: Cursor) -> tuple[Cursor | None, Cursor | None]:
        """(metadata, spec) of an object an SLO refers to, its header's and metadata's fields checked."""
        self.check_keys(root, HEADER_KEYS)
        metadata, spec = root.get("metadata"), root.get("spec")
        if metadata is not None:
            self.check_keys(metadata, METADATA_KEYS, refused=LABELS_REFUSED)
        return metadata, spec

    def referred_spec(
        self, root: Cursor, keys: tuple[str, ...], missing: str
    ) -> tuple[Cursor | None, Cursor] | None:
        """(metadata, spec) of an object an SLO refers to, their fields checked; None without a spec."""
        metadata, spec = self.referred_parts(root)
        if spec is None or not spec.is_map():
            self.refuse(root, missing)
            return None
        self.check_keys(spec, keys)
        return metadata, spec

    def register(self, kind: str, root: Cursor) -> None:
        name = self.object_name(root)
        if name is None:
            return
        if (kind, name) in self.named:
            first = self.named[(kind, name)].root.location()
            self.refuse(root, f"{kind} {name!r} is defined twice (first at {first})")
            return
        self.named[(kind, name)] = _Named(root)

    def referenced(self, kind: str, ref: Cursor) -> Cursor | None:
        """The root of the `kind` object `ref` names, now marked used."""
        named = self.named.get((kind, str(ref.value)))
        if named is None:
            known = sorted(name for k, name in self.named if k == kind)
            hint = f" (defined: {', '.join(known)})" if known else " (none is defined in the imported files)"
            self.refuse(ref, f"no {kind} named {ref.value!r}{hint}")
            return None
        named.used = True
        return named.root

    def referenced_or_inline(self, item: Cursor, kind: str, ref_key: str, expected: str) -> Cursor | None:
        """The `kind` object of a list item: `{<ref_key>: name}` resolved, or the inline object itself."""
        if item.is_map() and item.get(ref_key) is not None:
            self.check_keys(item, (ref_key,))
            ref = item.get(ref_key)
            assert ref is not None
            return self.referenced(kind, ref)
        if item.is_map() and item.get("spec") is not None:
            given = item.get("kind")
            if given is not None and given.value != kind:
                self.refuse(given, f"expected kind: {kind}")
                return None
            return item
        self.refuse(item, f"expected {expected}")
        return None

    def unused_issues(self) -> list[SpecIssue]:
        return [
            named.root.issue(
                f"{kind} {name!r} is not used by any SLO of the imported files, so nothing would be "
                "written for it; import it together with the SLO that uses it, or leave it out"
            )
            for (kind, name), named in self.named.items()
            if not named.used
        ]

    def header_once(self, root: Cursor) -> list[str]:
        """The opening comments of a referenced document, once: they go where it is first used."""
        key = (root.source.name, root.line)
        if root.path or key in self.headers_placed:
            return []
        self.headers_placed.add(key)
        lines = [re.sub(r"^# ?", "", line) for line in document_header(root)]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        return lines
