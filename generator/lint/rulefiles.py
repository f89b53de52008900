"""Prometheus rule files read with the line of every rule, for findings that point at it.

A file is read as YAML documents. A document is a plain rule file (a top-level `groups:` list, as
Prometheus, Thanos and Mimir read it) or a PrometheusRule manifest (`kind: PrometheusRule` of
monitoring.coreos.com, its `spec.groups`); other documents, a ConfigMap beside the manifest, are
passed over. Only the shape obs-lint needs is checked here: a broken rule file is a LintInputError
(the command exits 2), never a finding. A file named on the command line that holds no rule
document is an error too; one found while walking a directory is skipped with a note.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
MANIFEST_KIND = "PrometheusRule"
MANIFEST_API_GROUP = "monitoring.coreos.com/"


_Entries = dict[str, tuple[yaml.Node, yaml.Node]]
"""a mapping's entries: key → (key node, value node)"""


class LintInputError(Exception):
    """A path that cannot be read, or a file that is not a Prometheus rule file."""


class NotARuleFile(LintInputError):
    """Valid YAML without a rule document: an error when named, a note when found in a directory."""


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
    """the rule's `labels:` over its group's (Prometheus 3 group labels)"""
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
    document: int = 0
    """index of the YAML document in its file: each PrometheusRule becomes a rule file of its own"""


@dataclass(frozen=True)
class RuleSet:
    """What the paths given to obs-lint hold."""

    groups: tuple[Group, ...]
    files: tuple[str, ...]
    """the rule files read"""
    notes: tuple[str, ...]
    """files passed over, and why; printed, never a finding"""


def read_rules(paths: Sequence[Path]) -> RuleSet:
    """The groups of every rule file under `paths` (see rule_paths); raises LintInputError for a
    missing path, a broken rule file or a named file that is not a rule file."""
    groups: list[Group] = []
    files: list[str] = []
    notes: list[str] = []
    for path, named in rule_paths(list(paths)):
        try:
            found, file_notes = read_rule_documents(path)
        except NotARuleFile:
            if named:
                raise
            notes.append(f"skipped {path}: not a rule file (no top-level `groups:`, no PrometheusRule)")
            continue
        groups += found
        files.append(str(path))
        notes += file_notes
    return RuleSet(tuple(groups), tuple(files), tuple(notes))


def rule_paths(paths: list[Path]) -> list[tuple[Path, bool]]:
    """Files to read, each with whether it was named (True) or found in a directory (False).

    A directory is walked for *.yml/*.yaml (hidden directories aside); an obsgen output
    directory (one holding prometheus/rules, like `generated/`) means its Prometheus rules.
    """
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            nested = path / "prometheus" / "rules"
            found += [(file, False) for file in yaml_files_below(nested if nested.is_dir() else path)]
        elif path.is_file():
            found.append((path, True))
        else:
            raise LintInputError(f"{path}: no such file or directory")
    if not found:
        raise LintInputError(f"no rule files (*.yml, *.yaml) in {', '.join(map(str, paths))}")
    named = {path for path, is_named in found if is_named}
    return [(path, path in named) for path in dict.fromkeys(path for path, _ in found)]


def yaml_files_below(folder: Path) -> list[Path]:
    """Every *.yml/*.yaml file below `folder`, sorted, not looking into hidden directories."""
    found: list[Path] = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent, f) for f in sorted(files) if f.endswith(RULE_SUFFIXES)]
    return found


def read_rule_documents(path: Path) -> tuple[list[Group], list[str]]:
    """The groups of every rule document in `path`, and notes on what Prometheus would not read."""
    name = str(path)
    documents = _documents(_text(path), name)
    groups_nodes = [
        (index, node) for index, doc in enumerate(documents) if (node := _groups_node(doc, name)) is not None
    ]
    if not groups_nodes and any(doc is not None for doc in documents):
        first = next(doc for doc in documents if doc is not None)
        raise NotARuleFile(
            f"{name}:{_line(first)}: not a rule file: expected a top-level `groups:` list "
            "or a PrometheusRule manifest (spec.groups)"
        )
    groups = [
        _group(group, name, index)
        for index, node in groups_nodes
        for group in _sequence(node, name, "`groups`")
    ]
    return groups, _unread_documents(documents, name)


def _text(path: Path) -> str:
    name = str(path)
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LintInputError(f"{name}: not UTF-8 text") from None
    except OSError as exc:
        raise LintInputError(f"{name}: cannot read: {exc.strerror or exc}") from None


def _documents(text: str, name: str) -> list[yaml.Node | None]:
    """Every YAML document of the file (None for an empty one); an empty file is one empty document."""
    try:
        documents = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = getattr(exc, "problem", None) or str(exc)
        raise LintInputError(f"{where}: invalid YAML: {problem}") from None
    return documents or [None]


def _groups_node(document: yaml.Node | None, file: str) -> yaml.Node | None:
    """The `groups` list of a rule-file document or of a PrometheusRule's spec; None for any other."""
    if not isinstance(document, yaml.MappingNode):
        return None
    entries = _mapping(document, file, "the top level")
    if "groups" in entries:
        return entries["groups"][1]
    if not _is_manifest(entries):
        return None
    spec = entries.get("spec")
    if spec is None or _is_null(spec[1]):
        raise LintInputError(f"{file}:{_line(document)}: a PrometheusRule without `spec`")
    groups = _mapping(spec[1], file, "a PrometheusRule's spec").get("groups")
    return groups[1] if groups else yaml.SequenceNode("tag:yaml.org,2002:seq", [], spec[1].start_mark)


def _is_manifest(entries: _Entries) -> bool:
    kind, api = entries.get("kind"), entries.get("apiVersion")
    return (
        kind is not None
        and api is not None
        and isinstance(kind[1], yaml.ScalarNode)
        and isinstance(api[1], yaml.ScalarNode)
        and kind[1].value == MANIFEST_KIND
        and str(api[1].value).startswith(MANIFEST_API_GROUP)
    )


def _unread_documents(documents: list[yaml.Node | None], file: str) -> list[str]:
    """Plain rule-file documents after the first: Prometheus parses only a file's first document."""
    plain = [
        doc
        for doc in documents
        if isinstance(doc, yaml.MappingNode) and "groups" in _mapping(doc, file, "the top level")
    ]
    return [
        f"{file}:{_line(doc)}: Prometheus reads only the first YAML document of a rule file; "
        "the groups of this one are linted but would not be loaded"
        for doc in plain[1:]
    ]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _mapping(node: yaml.Node, file: str, what: str) -> _Entries:
    if not isinstance(node, yaml.MappingNode):
        raise LintInputError(f"{file}:{_line(node)}: expected a mapping for {what}")
    return {str(key.value): (key, value) for key, value in node.value}


def _sequence(node: yaml.Node, file: str, what: str) -> list[yaml.Node]:
    if _is_null(node):
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
    if entry is None or _is_null(entry[1]):
        return {}
    return {
        key: _scalar(value, file, f"{what}.{key}")
        for key, (_, value) in _mapping(entry[1], file, what).items()
    }


def _group(node: yaml.Node, file: str, document: int) -> Group:
    entries = _mapping(node, file, "a group")
    if "name" not in entries:
        raise LintInputError(f"{file}:{_line(node)}: a group without `name`")
    key, value = entries["name"]
    name = _scalar(value, file, "a group's name")
    interval = _duration(entries["interval"][1], file, "interval") if "interval" in entries else None
    labels = _strings(entries.get("labels"), file, "the group's labels")
    rules_node = entries.get("rules")
    nodes = _sequence(rules_node[1], file, "`rules`") if rules_node else []
    rules = tuple(_rule(r, file, name, interval, labels) for r in nodes)
    return Group(file, name, _line(key), interval, rules, document)


def _rule(node: yaml.Node, file: str, group: str, interval: int | None, group_labels: dict[str, str]) -> Rule:
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
        labels=group_labels | _strings(entries.get("labels"), file, "labels"),
        annotations=_strings(entries.get("annotations"), file, "annotations"),
        interval=interval,
    )
