"""Concrete label values for matchers: ones a selector picks and ones it must leave out.

Generated tests (and simulated series) need real values: `code=~"5.."` is fed `500`, and a
decoy `code="200"` proves the regex did not widen. Values come from the matchers themselves
(literals, strings sampled from a regex) and a few common spellings, and every candidate is
checked against every matcher before it is used.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from generator.model.selectors import Matcher, python_pattern

try:  # Python 3.11+: the regex parser's public home moved
    from re import _constants as _sre_constants  # type: ignore[attr-defined]
    from re import _parser as _sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _sre_constants  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

COMMON_VALUES = ("a", "b", "c", "200", "500", "404", "x", "0", "1", "/api", "/", "other", "GET", "POST")


def _samples(pattern: str, limit: int = 8) -> list[str]:
    """A few strings the regex matches in full (a best effort; callers check each one)."""
    try:
        parsed = _sre_parse.parse(python_pattern(pattern))
    except (ValueError, re.error, RecursionError):
        return []
    out: list[str] = []
    for variant in range(limit):
        text = _render(parsed, variant)
        if text is not None and text not in out:
            out.append(text)
    return out


def _render(items: Iterable[tuple[object, object]], variant: int) -> str | None:
    parts: list[str] = []
    for op, arg in items:
        piece = _render_one(op, arg, variant)
        if piece is None:
            return None
        parts.append(piece)
    return "".join(parts)


def _render_one(op: object, arg: object, variant: int) -> str | None:
    c = _sre_constants
    if op == c.LITERAL:
        return chr(arg)  # type: ignore[arg-type]
    if op == c.ANY:
        return "0123456789"[variant % 10]
    if op == c.IN:
        return _class_member(arg, variant)  # type: ignore[arg-type]
    if op == c.NOT_LITERAL:
        return next(ch for ch in "a0-" if ord(ch) != arg)
    if op == c.BRANCH:
        branches = arg[1]  # type: ignore[index]
        return _render(branches[variant % len(branches)], variant // len(branches))
    if op == c.SUBPATTERN:
        return _render(arg[-1], variant)  # type: ignore[index]
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, body = arg  # type: ignore[misc]
        count = max(low, 1) if high != 0 else 0
        if variant % 2 and (high == c.MAXREPEAT or high > count):
            count += 1
        piece = _render(body, variant)
        return None if piece is None else piece * count
    if op == c.AT:
        return ""
    return None


def _class_member(items: list[tuple[object, object]], variant: int) -> str | None:
    """A character of the class: the `variant`-th of a few it spells out (each checked later)."""
    c = _sre_constants
    members: list[str] = []
    for op, arg in items:
        if op == c.LITERAL:
            members.append(chr(arg))  # type: ignore[arg-type]
        elif op == c.RANGE:
            low, high = arg  # type: ignore[misc]
            members += [chr(low)] + ([chr(low + 1)] if high > low else [])
        elif op == c.CATEGORY:
            members += {c.CATEGORY_DIGIT: ["0", "1"], c.CATEGORY_SPACE: [" "]}.get(arg, ["a", "b"])
    if items and items[0][0] == c.NEGATE:
        allowed = [ch for ch in "az0_-.:" if ch not in members]
        return allowed[variant % len(allowed)] if allowed else None
    return members[variant % len(members)] if members else None


def _candidates(matchers: list[Matcher], label: str) -> Iterator[str]:
    """Values the positive matchers spell out first, then common ones, then the negated ones."""
    for m in matchers:
        if m.op == "=":
            yield m.value
        elif m.op == "=~":
            yield from _samples(m.value)
    yield from COMMON_VALUES
    for m in matchers:
        if m.op == "!=":
            yield m.value
        elif m.op == "!~":
            yield from _samples(m.value)
        yield f"{m.value}-other"
    yield from (f"{label}-{i}" for i in range(1, 4))
    yield ""


def values_selected(label: str, matchers: Iterable[Matcher], count: int = 1) -> list[str]:
    """`count` distinct non-empty values of `label` that every matcher on it selects."""
    on_label = [m for m in matchers if m.label == label]
    found: list[str] = []
    for value in _candidates(on_label, label):
        if value and value not in found and all(m.selects(value) for m in on_label):
            found.append(value)
            if len(found) == count:
                break
    return found


def value_refused(target: Matcher, matchers: Iterable[Matcher]) -> str | None:
    """A value `target` refuses while every other matcher on its label selects it; None if none
    exists (the other matchers already exclude everything `target` would)."""
    others = [m for m in matchers if m.label == target.label and m != target]
    near = [f"{first}{sample[1:]}" for sample in _samples(target.value) for first in "2a"]
    for value in [*(near if target.op == "=~" else []), *_candidates([target, *others], target.label)]:
        if value and not target.selects(value) and all(m.selects(value) for m in others):
            return value
    return None


def example_labels(matchers: Iterable[Matcher]) -> dict[str, str]:
    """One label set every matcher selects (labels only `!=`/`!~`-matched are left out when
    absence already satisfies them)."""
    return {label: value for label, value in _example(matchers).items() if value is not None}


def unmatched_labels(matchers: Iterable[Matcher]) -> list[str]:
    """Labels that need a value and for which no value satisfies every matcher (contradictory
    matchers, or a regex no sample of obsgen's satisfies)."""
    return [label for label, value in _example(matchers).items() if value is None]


def _example(matchers: Iterable[Matcher]) -> dict[str, str | None]:
    given = list(matchers)
    labels: dict[str, str | None] = {}
    for label in sorted({m.label for m in given}):
        on_label = [m for m in given if m.label == label]
        if all(m.selects("") for m in on_label):
            continue
        values = values_selected(label, on_label)
        labels[label] = values[0] if values else None
    return labels
