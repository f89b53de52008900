"""Names: recording rules named level:metric:operations, and no duplicate groups or rules."""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.lint.context import LintContext
from generator.lint.findings import Finding, at_rule
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
    first: dict[str, tuple[str, int]] = {}
    for group in ctx.groups:
        if group.name in first:
            file, line = first[group.name]
            yield Finding(
                group.file,
                group.line,
                "duplicate-group",
                group.name,
                f"group {group.name!r} is already defined at {file}:{line}; Prometheus refuses duplicates "
                "in one file and dashboards and the rules API cannot tell them apart across files",
                "rename one of the groups",
            )
        else:
            first[group.name] = (group.file, group.line)


def duplicate_rules(ctx: LintContext) -> Iterator[Finding]:
    for group in ctx.groups:
        first: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
        for rule in group.rules:
            key = (rule.kind, rule.name, tuple(sorted(rule.labels.items())))
            if key not in first:
                first[key] = rule.line
                continue
            what = "records the same series" if rule.kind == "record" else "is the same alert"
            yield at_rule(
                rule,
                "duplicate-rule",
                f"{what} as line {first[key]} of group {group.name!r} (same name and labels): both "
                "write the same series and clash",
                "remove one, or tell them apart with a label",
            )
