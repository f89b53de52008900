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
from generator.loader import SourceDoc, load_spec_dir, spec_files

Converter = Callable[[list[Cursor]], tuple[dict[str, OutFile], list[SpecIssue]]]

SETTINGS_FILE = "obsgen.yaml"
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
    # A file the import writes again is checked as the import has it (if it differs on disk,
    # writing it needs --force).
    existing = _existing_docs(out_dir, set(outputs_names(outputs)))
    outs = dict(outputs)
    if not any(isinstance(d.data, dict) and "settings" in d.data for d in existing):
        outs[SETTINGS_FILE] = _settings_file()
    _check(out_dir, existing, list(outs.values()))
    texts = {out.name: render(out) for out in outs.values()}
    return Imported(texts, _notes(outs))


def outputs_names(outputs: dict[str, OutFile]) -> list[str]:
    return [out.name for out in outputs.values()]


def _settings_file() -> OutFile:
    out = OutFile(SETTINGS_FILE, header=SETTINGS_HEADER)
    out.set(("settings", "runbook_base_url"), PLACEHOLDER_RUNBOOKS)
    return out


def _existing_docs(out_dir: Path, replaced: set[str]) -> list[SourceDoc]:
    """The spec files already in the output directory (they and the import must form one spec)."""
    if not out_dir.is_dir() or not spec_files(out_dir):
        return []
    return [d for d in load_spec_dir(out_dir) if Path(d.file).name not in replaced]


def _check(out_dir: Path, existing: list[SourceDoc], outs: list[OutFile]) -> None:
    from generator.model.build import build_spec
    from generator.pipeline import render_outputs
    from generator.validate import validate

    docs = existing + [ImportedDoc(out, str(out_dir / out.name)) for out in outs]
    spec = build_spec(docs)
    validate(spec)
    render_outputs(spec)


def _notes(outs: dict[str, OutFile]) -> list[str]:
    notes = []
    for out in outs.values():
        for path, texts in sorted(out.notes.items(), key=lambda item: str(item[0])):
            origin = out.origins.get(path)
            where = origin.location() if origin else Location(out.name)
            notes += [f"{where}: {text}" for text in texts]
    return notes
