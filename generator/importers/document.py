"""The native spec files an import produces: plain data, plus where each part came from.

`origins` maps a path in the output to the source value it was made from. It places the
source's comments next to the keys they became, and it turns the model's errors about the
output back into the source's file, line and field path, so a refused import points at the
line the user wrote.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from generator.errors import Location, format_path
from generator.importers.source import Cursor, PathKey
from generator.loader import SourceDoc


@dataclass
class OutFile:
    name: str
    """file name in the output directory, e.g. `myservice.yaml`"""
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[PathKey, Cursor] = field(default_factory=dict)
    notes: dict[PathKey, list[str]] = field(default_factory=dict)
    """comments obsgen adds above a key, e.g. why a name changed"""
    header: list[str] = field(default_factory=list)

    def set(self, path: PathKey, value: Any, origin: Cursor | None = None) -> None:
        """Put `value` at `path`, creating mappings and list items on the way."""
        parent: Any = self.data
        for key, nxt in pairwise(path):
            parent = _child(parent, key, [] if isinstance(nxt, int) else {})
        last = path[-1]
        if isinstance(parent, list):
            assert isinstance(last, int) and last <= len(parent)
            if last == len(parent):
                parent.append(value)
            else:
                parent[last] = value
        else:
            parent[last] = value
        if origin is not None:
            self.origins[path] = origin

    def mark(self, path: PathKey, origin: Cursor) -> None:
        self.origins.setdefault(path, origin)

    def note(self, path: PathKey, text: str) -> None:
        self.notes.setdefault(path, []).append(text)


def _child(parent: Any, key: str | int, empty: Any) -> Any:
    if isinstance(parent, list):
        assert isinstance(key, int)
        if key == len(parent):
            parent.append(empty)
        return parent[key]
    return parent.setdefault(key, empty)


class ImportedDoc(SourceDoc):
    """An output file as the model sees it, whose errors point into the source it came from."""

    def __init__(self, out: OutFile, display: str) -> None:
        super().__init__(display, out.data)
        self.out = out

    def location(self, path: PathKey) -> Location:
        probe = tuple(path)
        while probe and probe not in self.out.origins:
            probe = probe[:-1]
        origin = self.out.origins.get(probe)
        if origin is None:
            return Location(self.file, None, format_path(tuple(path)))
        where = format_path(origin.path)
        if tuple(path) != probe:
            where = f"{where} (obsgen field {format_path(tuple(path))})"
        return Location(origin.source.name, origin.line, where)


def render(out: OutFile) -> str:
    """YAML text of one output file, with the source's comments where its keys landed."""
    from ruamel.yaml import YAML  # lazy: only imports pay for ruamel

    used: set[tuple[str, int]] = set()
    root = _commented(out, (), out.data, 0, used)
    if out.header:
        root.yaml_set_start_comment("\n".join(out.header))
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(root, buffer)
    return buffer.getvalue()


def _commented(out: OutFile, path: PathKey, value: Any, column: int, used: set[tuple[str, int]]) -> Any:
    """ruamel containers for `value`; `column` is where this mapping's keys (or list's dashes) sit."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import LiteralScalarString

    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, child in value.items():
            comments = _claim(out, (*path, key), used)
            mapping[key] = _commented(out, (*path, key), child, column + 2, used)
            _attach(mapping, key, comments, column)
        return mapping
    if isinstance(value, list):
        seq = CommentedSeq()
        for i, child in enumerate(value):
            comments = _claim(out, (*path, i), used)
            seq.append(_commented(out, (*path, i), child, column + 2, used))
            _attach(seq, i, comments, column)
        return seq
    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        return LiteralScalarString(value)
    return value


def _claim(out: OutFile, path: PathKey, used: set[tuple[str, int]]) -> tuple[list[str], str | None]:
    """The comments of the source line `path` came from, unless an outer key took them already."""
    above: list[str] = []
    eol: str | None = None
    origin = out.origins.get(path)
    if origin is not None and (origin.source.name, origin.line) not in used:
        used.add((origin.source.name, origin.line))
        above, eol = origin.comments()
        if len(origin.path) == 1 and _is_header(origin, above):
            above = []
    return above + out.notes.get(path, []), eol


def _attach(container: Any, key: Any, comments: tuple[list[str], str | None], column: int) -> None:
    above, eol = comments
    if above:
        # ruamel prefixes each line with "# " itself (and leaves an empty one blank)
        text = "\n".join(re.sub(r"^# ?", "", line) for line in above)
        container.yaml_set_comment_before_after_key(key, before=text, indent=column)
    if eol and not isinstance(container[key], dict | list):
        container.yaml_add_eol_comment(eol, key)


def _is_header(origin: Cursor, above: list[str]) -> bool:
    """A document's first key: its comments are the file's header, already placed on top."""
    root_first = origin.source.header(origin.line)
    return bool(above) and above == root_first[-len(above) :]
