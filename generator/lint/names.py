"""Names: recording rules named level:metric:operations, and no duplicate groups or rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.lint import overlap
from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule
from generator.lint.rulefiles import Group, Rule
from generator.model.common import RECORD_NAME_PATTERN


def record_names(ctx: LintContext) -> Iterator[Finding]:
    for rule in ctx.rules:
        if rule.kind != "record" or rule.name in ctx.facts.contracts:
            continue
        if not re.match(RECORD_NAME_PATTERN, rule.name):
            yield at_rule(
                rule,
                "record-name",
                f"{rule.name!r} is not level:metric:operations (a colon inside, none at either end), "
                "so it reads like a scraped metric",
                "rename it, e.g. job:http_requests:rate5m; a name other tools already rely on is "
                "declared in the spec with `contract: true`",
            )


def duplicate_groups(ctx: LintContext) -> Iterator[Finding]:
    """A group name twice in one rule file. Prometheus refuses that file; across files the same
    name is allowed (mixins and PrometheusRule manifests rely on it)."""
    first: dict[tuple[str, int, str], int] = {}
    for group in ctx.groups:
        key = (group.file, group.document, group.name)
        if key not in first:
            first[key] = group.line
            continue
        yield Finding(
            group.file,
            group.line,
            "duplicate-group",
            group.name,
            f"group {group.name!r} is already defined at line {first[key]} of this rule file: Prometheus "
            "refuses to load a file with two groups of one name",
            "rename one of the groups, or merge their rules",
        )


def duplicate_rules(ctx: LintContext) -> Iterator[Finding]:
    """Two rules of one rule file that write the same series: one kind and name and the same
    static labels (what `promtool check rules` compares, across the file's groups), and outputs
    that can carry the same labels (overlap.disjoint)."""
    for group_rules in _rules_by_file(ctx.groups).values():
        yield from _duplicates(group_rules, ctx)


def _rules_by_file(groups: list[Group]) -> dict[tuple[str, int], list[Rule]]:
    """The rules of each rule file: a file's YAML document (a PrometheusRule is a file of its own)."""
    found: dict[tuple[str, int], list[Rule]] = {}
    for group in groups:
        found.setdefault((group.file, group.document), []).extend(group.rules)
    return found


def _duplicates(rules: list[Rule], ctx: LintContext) -> Iterator[Finding]:
    seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], list[tuple[Rule, overlap.Output]]] = {}
    for rule in rules:
        written = overlap.output(ctx.ast(rule))
        earlier = seen.setdefault((rule.kind, rule.name, tuple(sorted(rule.labels.items()))), [])
        clash = next((other for other, out in earlier if not overlap.disjoint(out, written)), None)
        earlier.append((rule, written))
        if clash is None:
            continue
        what = "records the same series" if rule.kind == "record" else "is the same alert"
        yield at_rule(
            rule,
            "duplicate-rule",
            f"{what} as line {clash.line} (group {clash.group!r}): same name and labels, and "
            "selectors that can match the same series, so both write it and clash",
            "remove one, or tell them apart with a label or with selectors that cannot match the same "
            'series (job="a" / job="b")',
        )
