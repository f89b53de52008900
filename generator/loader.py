"""Read spec files (YAML or Jsonnet) into plain documents plus a map of field path → line.

Nothing here knows the model; it only makes sure every later error can name its line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.errors import Location, SpecError, SpecIssue, format_path

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is optional
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

SPEC_SUFFIXES = (".yaml", ".yml", ".jsonnet")

PathKey = tuple[str | int, ...]


@dataclass
class SourceDoc:
    """One spec file's content with the line of every field in it."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def location(self, path: PathKey) -> Location:
        """The location of `path`, or of its nearest ancestor that has a line."""
        parts = tuple(path)
        probe = parts
        while probe and probe not in self.lines:
            probe = probe[:-1]
        return Location(self.file, self.lines.get(probe, 1), format_path(parts))


def spec_files(spec_dir: Path) -> list[Path]:
    """Spec files under `spec_dir`, in a stable order; Jsonnet libraries are not specs."""
    if not spec_dir.is_dir():
        raise SpecError([SpecIssue(Location(str(spec_dir)), "spec directory does not exist")])
    return sorted(p for p in spec_dir.rglob("*") if p.is_file() and p.suffix in SPEC_SUFFIXES)


def load_file(path: Path, display: str | None = None) -> SourceDoc:
    name = display or str(path)
    if path.suffix == ".jsonnet":
        return _load_jsonnet(path, name)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise SpecError([SpecIssue(Location(name, line), "not UTF-8 text: save the file as UTF-8")]) from None
    return _load_yaml(text, name)


def _load_yaml(text: str, name: str) -> SourceDoc:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue(Location(name, line), f"invalid YAML: {problem}")]) from None
    doc = SourceDoc(name, None)
    issues: list[SpecIssue] = []
    doc.data = _build(node, (), doc, issues) if node is not None else None
    if issues:
        raise SpecError(issues)
    return doc


def _build(node: yaml.Node, path: PathKey, doc: SourceDoc, issues: list[SpecIssue]) -> Any:
    """Construct plain data from a YAML node, recording lines and refusing duplicate keys."""
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, doc) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool):
                where = Location(doc.file, key_node.start_mark.line + 1, format_path(path))
                issues.append(SpecIssue(where, "mapping keys must be plain scalars, not lists or mappings"))
                continue
            if key in out:
                where = Location(doc.file, key_node.start_mark.line + 1, format_path((*path, key)))
                issues.append(SpecIssue(where, f"duplicate key {key!r} in a mapping"))
            child = (*path, key)
            out[key] = _build(value_node, child, doc, issues)
            doc.lines[child] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, issues) for i, item in enumerate(node.value)]
    return _scalar(node, doc)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node, doc: SourceDoc) -> Any:
    try:
        value = _CONSTRUCTOR.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:
        problem = getattr(exc, "problem", None) or str(exc) or "cannot read this value"
        raise SpecError(
            [SpecIssue(Location(doc.file, node.start_mark.line + 1), f"invalid YAML value: {problem}")]
        ) from None
    finally:
        _CONSTRUCTOR.constructed_objects.clear()
    return value


def _load_jsonnet(path: Path, name: str) -> SourceDoc:
    import _jsonnet  # lazy: only Jsonnet specs pay for it

    try:
        rendered = _jsonnet.evaluate_file(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        line = re.search(rf"{re.escape(str(path))}:(\d+)", first)
        where = Location(name, int(line.group(1)) if line else None)
        raise SpecError([SpecIssue(where, f"Jsonnet error: {first}")]) from None
    # Lines of a Jsonnet spec point into its rendered JSON, the closest thing to a line it has.
    pretty = json.dumps(json.loads(rendered), indent=2, sort_keys=False)
    return _load_yaml(pretty, f"{name} (rendered)")


def load_spec_dir(spec_dir: Path) -> list[SourceDoc]:
    docs: list[SourceDoc] = []
    issues: list[SpecIssue] = []
    for path in spec_files(spec_dir):
        try:
            docs.append(load_file(path, _display_name(path)))
        except SpecError as exc:
            issues.extend(exc.issues)
    if issues:
        raise SpecError(issues)
    return docs


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
