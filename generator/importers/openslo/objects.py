"""One import's state, and the OpenSLO objects of every document: their kinds, names and references.

v1 objects reference each other by name across every document of every file given; an object
is registered under its kind and name, and knows the SLOs that resolved a reference to it. Every
problem found belongs to the top-level object being converted (its `owner`), which is left out
when the problem is a feature obsgen cannot express.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.errors import SpecIssue
from generator.importers.catalog import WrittenSli
from generator.importers.document import OutFile
from generator.importers.source import Cursor, PathKey, document_header
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
OBSGEN_NAME = r"[a-z][a-z0-9-]*[a-z0-9]"
"""a service's or SLO's name in obsgen (generator/model/common.py, Slug)"""
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
    raw_queries: bool = False
    """keep every `{{.window}}` ratio as raw `sli.query`, computed exactly as Sloth computes it"""


ObjectKey = tuple[str, int, PathKey]
"""A top-level OpenSLO object (a document, or an item of a file's top-level list): file, line, path"""


def object_key(root: Cursor) -> ObjectKey:
    return (root.source.name, root.line, root.path)


def is_top_level(root: Cursor) -> bool:
    """A document's root, or an item of a document that is a list of objects (not an inline object)."""
    return not root.path or (len(root.path) == 1 and isinstance(root.path[0], int))


@dataclass(frozen=True, eq=False)
class Problem:
    """One refusal, and the top-level object being converted when it was found.

    `unsupported`: an OpenSLO feature obsgen cannot express, which refuses that object only (the
    rest imports); otherwise the input is in error, which refuses the whole import."""

    where: Cursor
    message: str
    owner: ObjectKey | None
    unsupported: bool

    @property
    def issue(self) -> SpecIssue:
        return self.where.issue(self.message)


@dataclass
class _Named:
    """A v1 object other SLOs refer to by name, and the objects that refer to it."""

    root: Cursor
    users: set[ObjectKey] = field(default_factory=set)


class Import:
    """One conversion: its options, the files written so far, the problems found, the named objects."""

    def __init__(self, options: OpenSLOOptions) -> None:
        self.options = options
        self.files: dict[str, OutFile] = {}
        """service name → its native file"""
        self.problems: list[Problem] = []
        self.named: dict[tuple[str, str], _Named] = {}
        self.headers_placed: set[tuple[str, int]] = set()
        self.owner: ObjectKey | None = None
        """the top-level object being converted: the problems found now are its"""
        self.services: dict[str, Cursor] = {}
        """Service objects by name"""
        self.refused_services: set[str] = set()
        """Services refused for what obsgen cannot express: their SLOs are refused with them"""
        self.slo_services: dict[ObjectKey, str] = {}
        """SLO object → the name of its service"""
        self.written_slis: dict[str, list[WrittenSli]] = {}
        """service name → its `{{.window}}` ratio SLIs as written, settled once every SLO is read"""

    def refuse(self, where: Cursor, message: str) -> None:
        """An error in the input: the whole import is refused."""
        self.problems.append(Problem(where, message, self.owner, unsupported=False))

    def unsupported(self, where: Cursor, message: str) -> None:
        """An OpenSLO feature obsgen cannot express: the object being converted is not imported."""
        self.problems.append(Problem(where, message, self.owner, unsupported=True))

    def errors(self) -> list[Problem]:
        return [p for p in self.problems if not p.unsupported]

    def owners_refused(self) -> set[ObjectKey]:
        """The top-level objects with a problem (each is left out of the import)."""
        return {p.owner for p in self.problems if p.owner is not None}

    def check_keys(self, node: Cursor, known: tuple[str, ...], refused: dict[str, str] | None = None) -> None:
        """Refuse the fields of `node` in `refused` (features obsgen cannot express, with the reason)
        and those not `known` (errors)."""
        refused = refused or {}
        for key in node.fields():
            child = node.get(key)
            assert child is not None
            if key in refused:
                self.unsupported(child, refused[key])
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
        if api is None:
            hint = "; for Sloth's own spec use `obsgen import sloth`" if root.get("version") else ""
            self.refuse(root, f"expected apiVersion: {V1} or {V1ALPHA}{hint}")
            return None
        if str(api.value) not in (V1, V1ALPHA):
            self.unsupported(
                api, f"apiVersion {api.value} cannot be imported: obsgen reads OpenSLO {V1} and {V1ALPHA}"
            )
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

    def check_obsgen_name(self, name: Cursor, what: str) -> None:
        """Refuse `name` (saying how to rename it) unless it can name an obsgen service or SLO."""
        if re.fullmatch(OBSGEN_NAME, str(name.value)) and len(str(name.value)) <= 63:
            return
        self.unsupported(
            name,
            f"{str(name.value)!r} cannot be an obsgen {what} name: lowercase letters, digits and '-', "
            "starting with a letter and not ending with '-', at most 63 characters (OpenSLO's RFC 1123 "
            "names, not starting with a digit); rename it",
        )

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

    def defined(self, kind: str, ref: Cursor) -> Cursor | None:
        """The root of the `kind` object `ref` names, now used by the object being converted."""
        named = self.named.get((kind, str(ref.value)))
        if named is None:
            return None
        if self.owner is not None:
            named.users.add(self.owner)
        return named.root

    def referenced(self, kind: str, ref: Cursor) -> Cursor | None:
        """The root of the `kind` object `ref` names, now used; refused when none is defined."""
        root = self.defined(kind, ref)
        if root is None:
            known = sorted(name for k, name in self.named if k == kind)
            hint = f" (defined: {', '.join(known)})" if known else " (none is defined in the imported files)"
            self.refuse(ref, f"no {kind} named {ref.value!r}{hint}")
        return root

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

    def refuse_unused(self) -> None:
        """Refuse every named object no SLO refers to: nothing would be written for it."""
        for (kind, name), named in self.named.items():
            if not named.users:
                self.owner = object_key(named.root)
                self.refuse(
                    named.root,
                    f"{kind} {name!r} is not used by any SLO of the imported files, so nothing would be "
                    "written for it; import it together with the SLO that uses it, or leave it out",
                )
        self.owner = None

    def header_once(self, root: Cursor) -> list[str]:
        """The opening comments of a referenced document, once: they go where it is first used."""
        key = (root.source.name, root.line)
        if not is_top_level(root) or key in self.headers_placed:
            return []
        self.headers_placed.add(key)
        lines = [re.sub(r"^# ?", "", line) for line in document_header(root)]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        return lines
