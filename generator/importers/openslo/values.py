"""Scalars as ruamel.yaml reads them: booleans, numbers and durations."""

from __future__ import annotations

import re
from typing import Any

from generator.durations import parse_duration
from generator.importers.openslo.objects import Import
from generator.importers.source import Cursor


def truthy(value: Any) -> bool:
    return str(value).lower() == "true" if not isinstance(value, int) else bool(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and type(value).__name__ != "ScalarBoolean"


def is_number(value: Any) -> bool:
    return is_int(value) or isinstance(value, float)


def number(value: Any) -> int | float:
    return int(value) if is_int(value) else float(value)


def duration_seconds(imp: Import, node: Cursor, what: str, minutes_if_number: bool = False) -> int | None:
    """Seconds of a duration such as `5m`; months, quarters and years are refused (no fixed length)."""
    value = node.value
    if minutes_if_number and is_int(value) and int(value) > 0:
        return int(value) * 60
    text = str(value)
    if re.fullmatch(r"\d+[MQY]", text):
        imp.unsupported(
            node,
            f"{what} {text}: months, quarters and years vary in length and cannot be a Prometheus "
            "range; give days or weeks, e.g. 30d or 4w",
        )
        return None
    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        imp.refuse(node, f"{what}: {exc}")
        return None
    if seconds <= 0:
        imp.refuse(node, f"{what} must be longer than zero")
        return None
    return seconds
