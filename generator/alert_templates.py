"""Expand the subset of Prometheus alert templates obsgen's generated tests can predict.

promtool compares annotations after template expansion, so a generated test must know the
text an alert will carry. Supported: `{{ $value }}`, `{{ $labels.name }}`, `{{ $externalLabels.name }}`,
each optionally piped through humanize, humanizePercentage or humanizeDuration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from decimal import Decimal

TEMPLATE = re.compile(r"{{-?\s*(.*?)\s*-?}}")
ACTION = re.compile(
    r"^(?P<ref>\$value|\$labels\.(?P<label>\w+)|\$externalLabels\.(?P<ext>\w+))"
    r"(?:\s*\|\s*(?P<fn>humanize|humanizePercentage|humanizeDuration))?$"
)


class TemplateError(ValueError):
    """A template action obsgen cannot evaluate."""


def uses_value(text: str) -> bool:
    return any("$value" in action for action in TEMPLATE.findall(text))


def check(text: str) -> None:
    for action in TEMPLATE.findall(text):
        if not ACTION.match(action):
            raise TemplateError(
                f"template action {{{{ {action} }}}} is not one obsgen can test; use $value, "
                "$labels.<name> or $externalLabels.<name>, optionally | humanize, "
                "| humanizePercentage or | humanizeDuration"
            )


def expand(
    text: str,
    labels: Mapping[str, str],
    value: float | None,
    external_labels: Mapping[str, str] | None = None,
) -> str:
    def replace(match: re.Match[str]) -> str:
        action = ACTION.match(match.group(1))
        if action is None:
            raise TemplateError(f"cannot expand {match.group(0)}")
        if action.group("label"):
            raw: float | str = labels.get(action.group("label"), "<no value>")
        elif action.group("ext"):
            raw = (external_labels or {}).get(action.group("ext"), "<no value>")
        else:
            if value is None:
                raise TemplateError("$value is not known here")
            raw = value
        fn = action.group("fn")
        if fn is None:
            return go_value(raw) if isinstance(raw, float) else str(raw)
        number = float(raw)
        return {"humanize": humanize, "humanizePercentage": humanize_percentage}.get(fn, humanize_duration)(
            number
        )

    return TEMPLATE.sub(replace, text)


def go_value(value: float) -> str:
    """Go's `%v` for a float64: the shortest digits, in exponent form below 1e-4 or from 1e6."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # position of the decimal point in `text`
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"


def go_g4(value: float) -> str:
    """Go's `%.4g`."""
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{exponent[0]}{int(exponent[1:]):02d}"
    return text


def humanize(value: float) -> str:
    if value == 0 or math.isnan(value) or math.isinf(value):
        return go_g4(value)
    if abs(value) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(value) < 1000:
                break
            prefix, value = p, value / 1000
        return go_g4(value) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return go_g4(value) + prefix


def humanize_percentage(value: float) -> str:
    return go_g4(value * 100) + "%"


def humanize_duration(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return go_g4(value)
    if value == 0:
        return go_g4(value) + "s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{go_g4(abs(value))}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{go_g4(value)}{prefix}s"
