"""Foreign spec files read with ruamel.yaml: every value knows its line and the comments around it.

A `Cursor` points at one value of one document; converters walk the source with cursors and
hand them to the output builder, which uses them twice: to place the source's comments next
to the keys they became, and to point every error (theirs or the model's) at the source line.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.errors import Location, SpecError, SpecIssue, format_path
from generator.loader import check_structure, number_problem, read_text, value_problem

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceFile:
    name: str
    lines: tuple[str, ...]

    def comments_above(self, line: int) -> list[str]:
        """The comment lines directly above 1-based `line` (no blank line between), top first."""
        found: list[str] = []
        index = line - 2
        while index >= 0 and self.lines[index].strip().startswith("#"):
            found.append(_comment_text(self.lines[index].strip()))
            index -= 1
        return found[::-1]

    def comment_after(self, line: int) -> str | None:
        """The comment at the end of 1-based `line`, if any (a `#` outside quotes after a space)."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        quote: str | None = None
        for i, char in enumerate(text):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#" and i > 0 and text[i - 1] in " \t" and text[:i].strip():
                return _comment_text(text[i:])
        return None

    def header(self, first_key_line: int) -> list[str]:
        """The comments opening a document: above its first key, up to `---` or other content."""
        found: list[str] = []
        index = first_key_line - 2
        while index >= 0 and (not self.lines[index].strip() or self.lines[index].strip().startswith("#")):
            if self.lines[index].strip():
                found.append(_comment_text(self.lines[index].strip()))
            index -= 1
        return found[::-1]


def _comment_text(comment: str) -> str:
    """The comment as written, `#` included (ruamel keeps such lines verbatim)."""
    return comment.rstrip()


@dataclass(frozen=True)
class Cursor:
    """One value in a source document, with the line of its key (or list item)."""

    source: SourceFile
    value: Any
    path: PathKey
    line: int

    def location(self) -> Location:
        return Location(self.source.name, self.line, format_path(self.path))

    def issue(self, message: str) -> SpecIssue:
        return SpecIssue(self.location(), message)

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def fields(self) -> list[str]:
        return [str(k) for k in self.value] if self.is_map() else []

    def get(self, key: str) -> Cursor | None:
        """The value of `key`, one of `fields()`: a key written `2`, `~` or `!!str name` is found
        by its text too."""
        if not self.is_map():
            return None
        if key not in self.value:
            same = [k for k in self.value if str(k) == key]
            if not same:
                return None
            return Cursor(self.source, self.value[same[0]], (*self.path, key), self._key_line(same[0]))
        return Cursor(self.source, self.value[key], (*self.path, key), self._key_line(key))

    def _key_line(self, key: Any) -> int:
        """The key's own line; a key merged in from an anchor (`<<: *base`) has the mapping's."""
        try:
            return self.value.lc.key(key)[0] + 1
        except (AttributeError, KeyError, TypeError):
            return self.line

    def text(self) -> str | None:
        """A scalar as written in the source (`true`, `1.10`, `0x1F`), as Go's YAML reads it into a
        string; None for a mapping or a list."""
        if isinstance(self.value, dict | list):
            return None
        if isinstance(self.value, str):
            return str(self.value)
        if self.value is None:
            return ""
        return self._written()

    def _written(self) -> str:
        """The plain scalar after `key:` on this value's line (non-string scalars are one token)."""
        line = self.source.lines[self.line - 1] if 0 < self.line <= len(self.source.lines) else ""
        key = self.path[-1] if self.path else None
        after = line.split(":", 1)[1] if isinstance(key, str) and ":" in line else line.lstrip(" -")
        token = after.split(" #", 1)[0].strip()
        return token or str(self.value)

    def items(self) -> list[Cursor]:
        if not isinstance(self.value, list):
            return []

        def line(i: int) -> int:
            return self.value.lc.item(i)[0] + 1 if hasattr(self.value, "lc") else self.line

        return [Cursor(self.source, v, (*self.path, i), line(i)) for i, v in enumerate(self.value)]

    def comments(self) -> tuple[list[str], str | None]:
        return self.source.comments_above(self.line), self.source.comment_after(self.line)


def load_documents(path: Path, display: str | None = None) -> list[Cursor]:
    """Every YAML document of a file, as cursors at their roots; empty documents are skipped.

    The text and its structure pass the spec loader's checks (generator/loader.py), so any bytes
    are documents or a located SpecError."""
    from ruamel.yaml import YAML  # lazy: only imports pay for ruamel
    from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError

    name = display or str(path)
    text = read_text(path, name)
    source = SourceFile(name, tuple(text.splitlines()))
    check_structure(text, name, YAML(typ="rt").parse, YAMLError)
    yaml = YAML(typ="rt")
    yaml.Constructor = _located_constructor()
    yaml.allow_duplicate_keys = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReusedAnchorWarning)  # YAML lets a later anchor win
            documents = [d for d in yaml.load_all(text) if d is not None]
    except _BadValue as exc:
        raise SpecError([SpecIssue(Location(name, exc.line), f"invalid YAML value: {exc.problem}")]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise SpecError([SpecIssue(Location(name, line), f"invalid YAML: {exc.problem or exc}")]) from None
    cursors = []
    for document in documents:
        line = getattr(getattr(document, "lc", None), "line", None)  # None on a tagged scalar
        cursors.append(Cursor(source, document, (), line + 1 if isinstance(line, int) else 1))
    return cursors


class _BadValue(Exception):
    """A scalar ruamel could not read, or a number too large, at 1-based `line`."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


@cache
def _located_constructor() -> type:
    """ruamel's round-trip constructor, raising _BadValue with the scalar's line where it would
    raise a bare ValueError (`!!int 1e400`, 5,000 digits, `!!float abc`) or read an overflow as inf."""
    from ruamel.yaml.constructor import RoundTripConstructor
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.nodes import ScalarNode

    class LocatedConstructor(RoundTripConstructor):
        def construct_non_recursive_object(self, node: Any, tag: str | None = None) -> Any:
            try:
                data = super().construct_non_recursive_object(node, tag)
            except (YAMLError, _BadValue):
                raise
            except Exception as exc:  # int(), float(), base64 or a date on text it cannot read
                problem = value_problem(str(tag or node.tag), str(node.value), exc)
                raise _BadValue(node.start_mark.line + 1, problem) from None
            problem = number_problem(str(node.value), data) if isinstance(node, ScalarNode) else None
            if problem:
                raise _BadValue(node.start_mark.line + 1, problem)
            return data

    return LocatedConstructor


def document_header(root: Cursor) -> list[str]:
    """The comments opening `root`'s document."""
    first_key = root.get(root.fields()[0]) if root.fields() else None
    return root.source.header(first_key.line) if first_key else []


def imported_header(root: Cursor) -> list[str]:
    """The header an imported file starts with: where it came from, then the source's own."""
    return [f"Imported from {root.source.name} by `obsgen import`.", *document_header(root)]
