"""Label matchers and series selectors as users write them: `{code: "500"}` (equality) or a PromQL
selector string such as `http_requests_total{code=~"5..", handler!="/health"}`.

Regexes are checked by the PromQL parser itself (RE2 rules, anchored as Prometheus anchors
them). An equality value that looks like a regex is refused with the fix, since `code="5.."`
is an SLO that never counts an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, NamedTuple

from pydantic import BeforeValidator, Field, WithJsonSchema

from generator import promql
from generator.model.common import MetricName, StrictModel

_LABEL_NAME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9_]*|_[a-zA-Z0-9][a-zA-Z0-9_]*)$")
# Strong signs of a regex in a literal value: `.*`, `.+`, `.?`, `..`, an alternation, a class
# with a range or negation, an escape class. Literal values with dots, braces, `+` or brackets
# ("1.0", "/users/{id}", "1.2.3+build", "[::1]:9090", ".") are common and stay allowed.
_REGEX_ONLY = re.compile(r"\.[*+?]|\.\.|\||\[\^|\[[^\]]*\w-\w[^\]]*\]|\\[dwsDWS]")
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}


class Matcher(NamedTuple):
    label: str
    op: str
    value: str

    def spelled(self) -> str:
        return f"{self.label}{self.op}{promql.quote(self.value)}"

    def selects(self, value: str) -> bool:
        """What Prometheus answers for a series whose label has `value` ("" when absent)."""
        if self.op in ("=", "!="):
            return (value == self.value) == (self.op == "=")
        return (re.fullmatch(python_pattern(self.value), value) is not None) == (self.op == "=~")


def python_pattern(re2: str) -> str:
    """An RE2 pattern (as Prometheus reads it) in Python's syntax, for the generated tests'
    sample values: POSIX classes, `\\Q…\\E` and `\\z` translated. ValueError for RE2 syntax
    Python cannot evaluate (Unicode classes `\\p{…}`), so such a spec is refused up front."""
    if re.search(r"\\[pPC]", re2):
        raise ValueError("Unicode classes (\\p{...}) are not supported; use an explicit class such as [a-z]")
    text = re.sub(r"\\Q(.*?)(?:\\E|$)", lambda m: re.escape(m.group(1)), re2)
    text = re.sub(
        r"\[:(\^?)(\w+):\]",
        lambda m: _posix_class(m.group(2), m.group(1)),
        text,
    )
    text = text.replace("\\z", "\\Z")
    try:
        re.compile(text)
    except re.error as exc:
        raise ValueError(f"obsgen cannot evaluate this regex to generate test values ({exc})") from None
    return text


def _posix_class(name: str, negated: str) -> str:
    if name not in _POSIX_CLASSES:
        raise ValueError(f"unknown POSIX class [:{name}:]")
    if negated:
        raise ValueError(f"negated POSIX classes ([:^{name}:]) are not supported; use [^...]")
    return _POSIX_CLASSES[name]


def looks_like_regex(value: str) -> bool:
    try:
        float(value)  # "+Inf", "1e-05": numbers, as `le` and `quantile` values are
        return False
    except ValueError:
        return bool(_REGEX_ONLY.search(value))


def _check_equality(matcher: Matcher) -> None:
    if matcher.op in ("=", "!=") and looks_like_regex(matcher.value):
        fixed = Matcher(matcher.label, matcher.op + "~", matcher.value)
        raise ValueError(
            f"{matcher.spelled()} looks like a regular expression, but {matcher.op} compares the whole "
            f"value literally, so it would never match what you mean; did you mean {fixed.spelled()}?"
        )


def parse_selector(text: str) -> tuple[str | None, tuple[Matcher, ...]]:
    """(metric name or None, matchers) of a plain vector selector; ValueError says what is wrong."""
    import promql_parser

    source = text.strip()
    if source.startswith("{") and source.endswith("}") and source != "{}":
        # `{code=~"5.."}`: matchers alone; the parser wants a name, so lend it one.
        source = f"__obsgen_matchers_only{source}"
    try:
        node = promql_parser.parse(source)
    except ValueError as exc:
        reason = str(exc).replace("__obsgen_matchers_only", "")
        raise ValueError(f"{text!r} is not a PromQL selector: {reason}") from None
    if not isinstance(node, promql_parser.VectorSelector) or node.offset is not None or node.at is not None:
        raise ValueError(
            f"{text!r} is not a plain series selector: give a metric name with label matchers, such "
            'as http_requests_total{code=~"5.."}, without functions, ranges, offset or @'
        )
    if node.matchers.or_matchers:
        raise ValueError(f"{text!r}: `or` inside a selector is not supported; use a regex (a|b)")
    name = None if node.name == "__obsgen_matchers_only" else node.name
    found = tuple(Matcher(*triple) for triple in promql.matcher_triples(node))
    for matcher in found:
        _check_equality(matcher)
        if matcher.op in ("=~", "!~"):
            _checked_regex(matcher)
    return name, found


def _checked_regex(matcher: Matcher) -> None:
    try:
        python_pattern(matcher.value)
    except ValueError as exc:
        raise ValueError(f"{matcher.spelled()}: {exc}") from None


def parse_matchers(value: Any) -> tuple[Matcher, ...]:
    if isinstance(value, tuple) and all(isinstance(m, Matcher) for m in value):
        return value
    if isinstance(value, str):
        name, found = parse_selector(value if value.strip().startswith("{") else "{" + value + "}")
        if name is not None:
            raise ValueError(f"{value!r}: give matchers only here; the metric is named by its own field")
        return found
    if not isinstance(value, Mapping):
        raise ValueError(
            'expected label matchers: a mapping of label to value, or a selector such as {code=~"5.."}'
        )
    found = []
    for label, text in value.items():
        if not isinstance(label, str) or not _LABEL_NAME.match(label):
            raise ValueError(f"{label!r} is not a Prometheus label name")
        if not isinstance(text, str):
            raise ValueError(f"the value of {label} must be a string, e.g. {label}: {str(text)!r}")
        matcher = Matcher(label, "=", text)
        _check_equality(matcher)
        found.append(matcher)
    return tuple(found)


_MATCHERS_SCHEMA = {
    "description": 'label matchers: {label: value} for equality, or a selector such as {code=~"5.."}',
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "string", "examples": ['{code=~"5..", handler!="/health"}']},
    ],
}
Matchers = Annotated[tuple[Matcher, ...], BeforeValidator(parse_matchers), WithJsonSchema(_MATCHERS_SCHEMA)]


def labels_of(matchers: Iterable[Matcher]) -> list[str]:
    return sorted({m.label for m in matchers})


class Selector(StrictModel):
    """A catalog metric and the matchers that pick its series. Written as a PromQL selector
    string (`http_requests_total{code=~"5.."}`) or as `{metric: ..., matchers: {...}}`."""

    metric: MetricName = Field(description="a metric of the service's catalog")
    matchers: Matchers = Field(default=())


SELECTABLE = WithJsonSchema(
    {
        "type": "string",
        "pattern": r"^\s*[a-zA-Z_:][a-zA-Z0-9_:]*\s*(\{.*\})?\s*$",
        "examples": ["http_requests_total", 'http_requests_total{code=~"5.."}'],
    }
)
"""Schema of a name field that also takes a selector (split by `split_selector` before typing)."""


def split_selector(data: Any, field: str = "metric") -> Any:
    """A mapping whose `field` is a selector string: the name stays in `field`, the matchers join
    `matchers`. Anything else is returned as is, for the field types to judge."""
    if isinstance(data, str):
        data = {field: data}
    if not isinstance(data, Mapping) or not isinstance(data.get(field), str):
        return data
    if re.fullmatch(r"\s*[a-zA-Z_][a-zA-Z0-9_]*\s*", data[field]):
        return {**data, field: data[field].strip()}
    name, found = parse_selector(data[field])
    if name is None:
        raise ValueError(f"{data[field]!r} names no metric; write it as metric_name{{...}}")
    given = parse_matchers(data.get("matchers") or {})
    return {**data, field: name, "matchers": (*found, *given)}


_SELECTOR_SCHEMA = {
    "anyOf": [
        {"type": "string", "examples": ['http_requests_total{code=~"5..", handler!="/health"}']},
        {
            "type": "object",
            "properties": {"metric": {"type": "string"}, "matchers": _MATCHERS_SCHEMA},
            "required": ["metric"],
            "additionalProperties": False,
        },
    ]
}
SelectorField = Annotated[
    Selector, BeforeValidator(lambda v: split_selector(v)), WithJsonSchema(_SELECTOR_SCHEMA)
]
