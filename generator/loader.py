"""Read spec files (YAML or Jsonnet) into plain documents plus a map of field path → line.

Nothing here knows the model; it only makes sure every later error can name its line.

Every file obsgen reads as a document — spec YAML and Jsonnet here, Sloth and OpenSLO sources in
importers/source.py — becomes text through `read_text` and passes `check_structure` before a YAML
library composes it, and its scalars pass `value_problem`/`number_problem` as they are built. So
any byte sequence is a document or a located SpecError: never a traceback, a hang, or memory
exhausted by an alias bomb.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import yaml

from generator.errors import Location, SpecError, SpecIssue, format_path

if TYPE_CHECKING:
    from generator.model import Spec

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is optional
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

SPEC_SUFFIXES = (".yaml", ".yml", ".jsonnet")

PathKey = tuple[str | int, ...]

MAX_DEPTH = 100
"""Lists and mappings nest at most this deep in one document (a real spec needs fewer than 10)."""
MAX_ALIAS_VALUES = 100_000
"""Values that aliases (`*name`, `<<: *name`) may add to one document when expanded; more is an
alias bomb ("billion laughs"), whose expansion would exhaust time and memory."""

_TOO_DEEP = f"lists and mappings nested more than {MAX_DEPTH} deep; expected at most {MAX_DEPTH} levels"
_NOT_YAML_TEXT = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""A character YAML does not allow in a stream: NUL and the other control characters, DEL,
U+FFFE and U+FFFF (the same set PyYAML's and ruamel's readers refuse)."""
_CHARACTER_NAMES = {0: "NUL byte", 0x7F: "DEL", 0x1B: "escape (ESC)", 0x0C: "form feed", 0x0B: "vertical tab"}
_INFINITY = re.compile(r"[-+]?\.(?:inf|Inf|INF)")
_TAG_PREFIX = "tag:yaml.org,2002:"
_EXPECTED = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "null": "null (~)",
    "timestamp": "a date or a date and time",
    "binary": "base64 text",
}


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


def read_text(path: Path, name: str) -> str:
    """The text of a file to read as YAML or Jsonnet; a located SpecError unless it is UTF-8 text
    holding only characters YAML allows (no NUL or other control bytes)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError([SpecIssue(Location(name), "no such file")]) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError([SpecIssue(Location(name), f"cannot read this file: {reason}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        where = Location(name, data.count(b"\n", 0, exc.start) + 1)
        byte = f"byte 0x{data[exc.start]:02X} at column {exc.start - line_start + 1}"
        raise SpecError([SpecIssue(where, f"not UTF-8 text ({byte}): save the file as UTF-8")]) from None
    bad = _NOT_YAML_TEXT.search(text)
    if bad:
        at = bad.start()
        code = ord(bad.group())
        what = _CHARACTER_NAMES.get(code, "control character" if code < 0xA0 else "non-character")
        where = Location(name, text.count("\n", 0, at) + 1, column=at - (text.rfind("\n", 0, at) + 1) + 1)
        message = f"{what} U+{code:04X} is not allowed in YAML or Jsonnet text; remove it"
        raise SpecError([SpecIssue(where, message)])
    return text


def check_structure(
    text: str,
    name: str,
    own_events: Callable[[str], Iterable[Any]] | None = None,
    own_error: type = Exception,
) -> None:
    """Refuse a document nested deeper than MAX_DEPTH, an alias inside its own anchor (a cycle),
    and aliases expanding beyond MAX_ALIAS_VALUES values, before a YAML library composes it (its
    composer recurses, and obsgen walks aliases expanded).

    libyaml's parser reads the events, fast; where it finds a syntax error, the loader's own parser
    `own_events` (ruamel's `YAML.parse`, raising `own_error`) reads them instead, and where that
    too finds one, the check ends quietly: the loader that parses the text next reports it.
    """
    if not _checked(yaml.parse(text, Loader=_Loader), name, yaml.YAMLError) and own_events is not None:
        _checked(own_events(text), name, own_error)


def _checked(events: Iterable[Any], name: str, syntax_error: type) -> bool:
    """True when every event was checked, False at a syntax error. PyYAML's and ruamel's events
    have the same names and fields."""
    try:
        _check_events(events, name)
    except syntax_error as exc:
        if "nesting depth" in str(exc):  # libyaml stops at its own limit, 1000, before the events do
            _refuse(name, exc, _TOO_DEEP)
        return False
    return True


def _check_events(events: Iterable[Any], name: str) -> None:
    open_: list[list[Any]] = []
    """[anchor, values so far] of each list or mapping being read, outermost first"""
    sizes: dict[str, int] = {}
    """values each anchor stands for, its aliases expanded"""
    added = 0
    for event in events:
        kind = type(event).__name__
        if kind == "DocumentStartEvent":
            sizes.clear()
            added = 0
        elif kind in ("MappingStartEvent", "SequenceStartEvent"):
            if len(open_) >= MAX_DEPTH:
                _refuse(name, event, _TOO_DEEP)
            open_.append([event.anchor, 1])
        elif kind in ("MappingEndEvent", "SequenceEndEvent"):
            anchor, size = open_.pop()
            _count(open_, sizes, anchor, size)
        elif kind == "ScalarEvent":
            _count(open_, sizes, event.anchor, 1)
        elif kind == "AliasEvent":
            if any(anchor == event.anchor for anchor, _ in open_):
                _refuse(name, event, f"alias *{event.anchor} inside its own anchor: a value holding itself")
            size = sizes.get(event.anchor, 1)
            added += size
            if added > MAX_ALIAS_VALUES:
                _refuse(
                    name,
                    event,
                    f"aliases expand this document beyond {MAX_ALIAS_VALUES} values (an alias bomb?); "
                    "write the values out, or alias less",
                )
            _count(open_, sizes, None, size)


def _count(open_: list[list[Any]], sizes: dict[str, int], anchor: str | None, size: int) -> None:
    if anchor:
        sizes[anchor] = size
    if open_:
        open_[-1][1] += size


def _refuse(name: str, event: Any, message: str) -> NoReturn:
    mark = getattr(event, "start_mark", None) or getattr(event, "problem_mark", None)
    raise SpecError([SpecIssue(Location(name, mark.line + 1 if mark else None), message)])


def value_problem(tag: str, text: str, error: Exception) -> str:
    """Why the scalar `text` with `tag` could not be read (its constructor raised `error`)."""
    if "integer string conversion" in str(error):
        return _too_large(text)
    short = tag.replace(_TAG_PREFIX, "!!")
    expected = _EXPECTED.get(tag.removeprefix(_TAG_PREFIX))
    shown = text if len(text) <= 40 else f"{text[:40]}… ({len(text)} characters)"
    if expected:
        return f"{short} {shown!r}: expected {expected}"
    return f"{short} {shown!r}: {error or 'cannot read this value'}"


def number_problem(text: str, value: Any) -> str | None:
    """A number no Prometheus value can hold: beyond ±1.8e308, where floats end (a written `.inf`
    is taken at its word)."""
    if isinstance(value, float) and math.isinf(value) and not _INFINITY.fullmatch(text.strip()):
        return _too_large(text)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
        return _too_large(text)
    return None


def _too_large(text: str) -> str:
    shown = text if len(text) <= 20 else f"{text[:12]}… ({len(text)} characters)"
    return f"number {shown} is too large: expected a number within ±1.8e308 (a 64-bit float)"


def load_file(path: Path, display: str | None = None) -> SourceDoc:
    name = display or str(path)
    if path.suffix == ".jsonnet":
        return _load_jsonnet(path, name)
    return _load_yaml(read_text(path, name), name)


def _load_yaml(text: str, name: str) -> SourceDoc:
    check_structure(text, name)
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
    problem: str | None = None
    try:
        value = _CONSTRUCTOR.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc) or "cannot read this value"
    except Exception as exc:  # a constructor's int(), float(), base64 or date on text it cannot read
        problem = value_problem(node.tag, str(node.value), exc)
    else:
        problem = number_problem(str(node.value), value)
    finally:
        _CONSTRUCTOR.constructed_objects.clear()
    if problem:
        where = Location(doc.file, node.start_mark.line + 1)
        raise SpecError([SpecIssue(where, f"invalid YAML value: {problem}")])
    return value


def _load_jsonnet(path: Path, name: str) -> SourceDoc:
    import _jsonnet  # lazy: only Jsonnet specs pay for it

    read_text(path, name)  # the same refusals as YAML (not UTF-8, NUL and control bytes), located
    try:
        rendered = _jsonnet.evaluate_file(str(path))
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        line = re.search(rf"{re.escape(str(path))}:(\d+)", str(exc))
        where = Location(name, int(line.group(1)) if line else None)
        raise SpecError([SpecIssue(where, f"Jsonnet error: {first}")]) from None
    # Lines of a Jsonnet spec point into its rendered JSON, the closest thing to a line it has.
    try:
        pretty = json.dumps(json.loads(rendered), indent=2, sort_keys=False)
    except RecursionError:
        raise SpecError([SpecIssue(Location(f"{name} (rendered)"), _TOO_DEEP)]) from None
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


def load_spec(spec_dir: Path, scenarios: bool = True) -> Spec:
    """The spec of `spec_dir`, read, typed and cross-checked: what every command loads.

    Raises SpecError with every problem found, an unreadable file or directory included; it never
    exits (the command line turns a SpecError into exit code 2). `scenarios=False`: see
    generator.pipeline.load.
    """
    from generator.pipeline import load  # lazy: the model and the pipeline import this module

    try:
        return load(spec_dir, scenarios)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError([SpecIssue(Location(str(exc.filename or spec_dir)), reason)]) from None


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
