"""One import: read the sources, convert, check the result with the model, then write it.

The written files must load as a spec together with what the output directory already
holds, and must generate; otherwise nothing is written and every problem points at the
source line it came from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Location, SpecError, SpecIssue
from generator.importers.catalog import declare_query_metrics
from generator.importers.document import ImportedDoc, OutFile, render
from generator.importers.source import Cursor, load_documents
from generator.loader import SourceDoc, load_spec_dir

Converter = Callable[[list[Cursor]], tuple[dict[str, OutFile], list[SpecIssue]]]

SETTINGS_FILE = "obsgen.yaml"
FALLBACK_SETTINGS = "obsgen-settings.yaml"
RESERVED_FILES = (SETTINGS_FILE, "alertmanager.yaml")
"""where obsgen's own spec keeps its settings and routing"""
SETTINGS_HEADER = [
    "Written by `obsgen import`: obsgen's project settings (see generated/schema/spec.schema.json).",
    "Point runbook_base_url at your runbooks: alerts without a runbook_url of their own link",
    "to <runbook_base_url>/<AlertName>.",
]
PLACEHOLDER_RUNBOOKS = "https://runbooks.example.com/alerts"


@dataclass(frozen=True)
class Imported:
    files: dict[str, str]
    """file name in the output directory → text"""
    notes: list[str]


def import_files(sources: list[Path], out_dir: Path, convert: Converter, overwrite: bool) -> Imported:
    """Converted and checked files; raises SpecError (nothing to write) on any problem."""
    roots: list[Cursor] = []
    issues: list[SpecIssue] = []
    for path in sources:
        try:
            roots += load_documents(path)
        except SpecError as exc:
            issues += exc.issues
    if issues:
        raise SpecError(issues)
    if not roots:
        raise SpecError([SpecIssue(Location(str(p)), "no YAML document in this file") for p in sources])
    outputs, issues = convert(roots)
    if issues:
        raise SpecError(issues)
    for out in outputs.values():
        declare_query_metrics(out)
    on_disk = {Path(d.file).name: d for d in _existing_docs(out_dir)}
    outs = {out.name: out for out in _named_apart(list(outputs.values()), on_disk)}
    # A file the import writes again is checked as the import has it (if it differs on disk,
    # writing it needs --force).
    existing = [doc for name, doc in on_disk.items() if name not in outs]
    if not any(isinstance(d.data, dict) and "settings" in d.data for d in existing):
        taken = SETTINGS_FILE in {*outs, *on_disk}
        settings = _settings_file(FALLBACK_SETTINGS if taken else SETTINGS_FILE)
        outs[settings.name] = settings
    _check(out_dir, existing, list(outs.values()))
    texts = {out.name: render(out) for out in outs.values()}
    return Imported(texts, _notes(outs))


def _named_apart(outs: list[OutFile], on_disk: dict[str, SourceDoc]) -> list[OutFile]:
    """A service's file may replace only that service's file: `alertmanager.yaml` holding the
    routing, or anything else, is never overwritten by a service that happens to share its name."""
    for out in outs:
        doc = on_disk.get(out.name)
        theirs = doc.data.get("service") if doc is not None and isinstance(doc.data, dict) else None
        if out.name in RESERVED_FILES or (doc is not None and theirs != out.data["service"]):
            out.name = f"{out.data['service']}.service.yaml"
    return outs


def _settings_file(name: str) -> OutFile:
    out = OutFile(name, header=SETTINGS_HEADER)
    out.set(("settings", "runbook_base_url"), PLACEHOLDER_RUNBOOKS)
    return out


def _existing_docs(out_dir: Path) -> list[SourceDoc]:
    """The spec files already in the output directory (they and the import must form one spec)."""
    return load_spec_dir(out_dir) if out_dir.is_dir() else []


def _check(out_dir: Path, existing: list[SourceDoc], outs: list[OutFile]) -> None:
    """The imported files pass what `obsgen gen` checks (validate refuses every spec gen would)."""
    from generator.model.build import build_spec
    from generator.validate import validate

    docs = existing + [ImportedDoc(out, str(out_dir / out.name)) for out in outs]
    validate(build_spec(docs))


def _notes(outs: dict[str, OutFile]) -> list[str]:
    notes = []
    for out in outs.values():
        for path, texts in sorted(out.notes.items(), key=lambda item: str(item[0])):
            origin = out.origins.get(path)
            where = origin.location() if origin else Location(out.name)
            notes += [f"{where}: {text}" for text in texts]
    return notes
