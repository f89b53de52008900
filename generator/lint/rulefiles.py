"""Prometheus rule files read with the line of every rule, for findings that point at it.

Only the shape obs-lint needs is checked here; anything that is not a rule file at all is a
LintInputError (the command exits 2), never a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from generator.durations import parse_duration

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - libyaml is optional
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

RULE_SUFFIXES = (".yml", ".yaml")


class LintInputError(Exception):
    """A path that cannot be read, or a file that is not a Prometheus rule file."""


@dataclass(frozen=True)
class Rule:
    file: str
    group: str
    kind: Literal["record", "alert"]
    name: str
    line: int
    """line of the `record:` or `alert:` key"""
    expr: str
    expr_line: int
    for_: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    interval: int | None = None
    """the group's evaluation interval, if it sets one"""


@dataclass(frozen=True)
class Group:
    file: str
    name: str
    line: int
    interval: int | None
    rules: tuple[Rule, ...]


def rule_paths(paths: list[Path]) -> list[Path]:
    """Files to lint: files as given, a directory's *.yml/*.yaml, `generated/` → its rules."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            nested = path / "prometheus" / "rules"
            folder = nested if nested.is_dir() else path
            found += sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in RULE_SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise LintInputError(f"{path}: no such file or directory")
    if not found:
        raise LintInputError(f"no rule files (*.yml, *.yaml) in {', '.join(map(str, paths))}")
    return list(dict.fromkeys(found))


def read_rule_file(path: Path) -> list[Group]:
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LintInputError(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise LintInputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise LintInputError(f"{where}: invalid YAML: {problem}") from None
    if root is None:
        return []  # an empty rule file is valid
    groups = _mapping(root, name, "the top level").get("groups")
    if groups is None:
        raise LintInputError(f"{name}:{_line(root)}: not a rule file: expected a top-level `groups:` list")
    return [_group(node, name) for node in _sequence(groups[1], name, "`groups`")]


_Entries = dict[str, tuple[yaml.Node, yaml.Node]]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(node: yaml.Node, file: str, what: str) -> _Entries:
    if not isinstance(node, yaml.MappingNode):
        raise LintInputError(f"{file}:{_line(node)}: expected a mapping for {what}")
    return {str(key.value): (key, value) for key, value in node.value}


def _sequence(node: yaml.Node, file: str, what: str) -> list[yaml.Node]:
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null"):
        return []
    if not isinstance(node, yaml.SequenceNode):
        raise LintInputError(f"{file}:{_line(node)}: expected a list for {what}")
    return list(node.value)


def _scalar(node: yaml.Node, file: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise LintInputError(f"{file}:{_line(node)}: expected a single value for {what}")
    return str(node.value)


def _duration(node: yaml.Node, file: str, what: str) -> int:
    text = _scalar(node, file, what)
    try:
        return parse_duration(text)
    except ValueError:
        raise LintInputError(f"{file}:{_line(node)}: {what} {text!r} is not a Prometheus duration") from None


def _strings(entry: tuple[yaml.Node, yaml.Node] | None, file: str, what: str) -> dict[str, str]:
    if entry is None or (isinstance(entry[1], yaml.ScalarNode) and entry[1].tag.endswith(":null")):
        return {}
    return {
        key: _scalar(value, file, f"{what}.{key}")
        for key, (_, value) in _mapping(entry[1], file, what).items()
    }


def _group(node: yaml.Node, file: str) -> Group:
    entries = _mapping(node, file, "a group")
    if "name" not in entries:
        raise LintInputError(f"{file}:{_line(node)}: a group without `name`")
    key, value = entries["name"]
    name = _scalar(value, file, "a group's name")
    interval = _duration(entries["interval"][1], file, "interval") if "interval" in entries else None
    rules_node = entries.get("rules")
    rules = _sequence(rules_node[1], file, "`rules`") if rules_node else []
    return Group(file, name, _line(key), interval, tuple(_rule(r, file, name, interval) for r in rules))


def _rule(node: yaml.Node, file: str, group: str, interval: int | None) -> Rule:
    entries = _mapping(node, file, "a rule")
    kinds = [kind for kind in ("record", "alert") if kind in entries]
    if len(kinds) != 1:
        raise LintInputError(f"{file}:{_line(node)}: a rule needs exactly one of `record` or `alert`")
    kind = kinds[0]
    key, value = entries[kind]
    name = _scalar(value, file, f"`{kind}`")
    expr_key, expr_value = entries.get("expr", (key, None))
    expr = _scalar(expr_value, file, "`expr`") if expr_value is not None else ""
    for_entry = entries.get("for")
    return Rule(
        file=file,
        group=group,
        kind=kind,  # type: ignore[arg-type]
        name=name,
        line=_line(key),
        expr=expr,
        expr_line=_line(expr_key),
        for_=_duration(for_entry[1], file, "`for`") if for_entry else 0,
        labels=_strings(entries.get("labels"), file, "labels"),
        annotations=_strings(entries.get("annotations"), file, "annotations"),
        interval=interval,
    )
