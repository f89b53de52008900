"""What an SLO of either dialect becomes alike: its entry in the service file, objective and period."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from generator.durations import format_duration
from generator.importers.document import OutFile
from generator.importers.openslo.objects import Import
from generator.importers.source import Cursor, PathKey
from generator.importers.windows import SLOTH_DEFAULT_PERIOD

Period = tuple[int, Cursor]
"""An SLO period: its seconds, and the source value it was read from"""
CALENDAR = (
    "calendar-aligned time windows cannot be imported: obsgen's SLO periods are rolling windows; "
    "use a rolling window (isRolling: true, no calendar)"
)


def parts(imp: Import, root: Cursor) -> tuple[str, Cursor, Cursor] | None:
    """(name, metadata, spec) of an SLO object; None when it cannot be read."""
    name, metadata, spec = imp.named_parts(root)
    if spec is None or not spec.is_map():
        imp.refuse(root, "an SLO needs a `spec` mapping")
        return None
    if name is None or metadata is None:
        return None
    name_cursor = metadata.get("name")
    assert name_cursor is not None
    imp.check_obsgen_name(name_cursor, "SLO")
    return name, metadata, spec


def service(imp: Import, spec: Cursor) -> Cursor | None:
    """The SLO's `spec.service` (its name a non-empty string), refused with its Service object."""
    name = spec.get("service")
    if name is None or not isinstance(name.value, str) or not name.value:
        imp.refuse(name or spec, "spec.service is required: the service the SLO belongs to")
        return None
    if imp.owner is not None:
        imp.slo_services[imp.owner] = name.value
    if name.value in imp.refused_services:
        service = imp.services[name.value]
        where = f"{service.source.name}:{service.line}"
        imp.unsupported(
            name,
            f"Service {name.value!r} cannot be imported (the reasons are given at {where}), so neither "
            "can its SLOs: they would be written without what the Service declares",
        )
    elif name.value not in imp.services:
        imp.check_obsgen_name(name, "service")
    return name


def objectives(imp: Import, spec: Cursor) -> list[Cursor] | None:
    """The SLO's objective mappings; None unless there is at least one and every one is a mapping."""
    given = spec.get("objectives")
    items = given.items() if given is not None else []
    if not items:
        imp.refuse(given or spec, "an SLO needs at least one objective")
        return None
    bad = [item for item in items if not item.is_map()]
    for item in bad:
        imp.refuse(item, "expected an objective mapping")
    return None if bad else items


def new_entry(out: OutFile, objective: Cursor, name: str, metadata: Cursor) -> PathKey:
    """The path of a new SLO `name` at the end of the file's SLOs."""
    at: PathKey = ("slos", len(out.data["slos"]))
    out.set(at, {}, objective)
    name_cursor = metadata.get("name")
    assert name_cursor is not None
    out.set((*at, "name"), name, name_cursor)
    return at


def set_objective(imp: Import, objective: Cursor, at: PathKey, out: OutFile, keys: tuple[str, ...]) -> None:
    """The SLO's `objective` (a percentage) from the one of `keys` given: `target` (a ratio) or a percent."""
    given = [objective.get(k) for k in keys if objective.get(k) is not None]
    if len(given) != 1:
        what = " or ".join(f"`{k}`" for k in keys)
        imp.refuse(objective, f"an objective needs exactly one of {what}")
        return
    target = given[0]
    assert target is not None
    try:
        value = Decimal(str(target.value))
    except InvalidOperation:
        imp.refuse(target, f"expected a number, got {target.value!r}")
        return
    if not value.is_finite():  # .nan or .inf: Decimal refuses to compare a NaN at all
        imp.refuse(target, f"expected a finite number, got {target.text()}")
        return
    percent = value * 100 if target.path[-1] == "target" else value
    if not 0 < percent < 100:
        shown = "between 0 and 1" if target.path[-1] == "target" else "between 0 and 100"
        imp.refuse(target, f"the target must be {shown} (exclusive), got {target.value}")
        return
    out.set((*at, "objective"), float(percent), target)


def set_period(out: OutFile, at: PathKey, period: Period) -> None:
    """The SLO's `period`, left out when it is the default (30d)."""
    if period[0] != SLOTH_DEFAULT_PERIOD:
        out.set((*at, "period"), format_duration(period[0]), period[1])


def disabled_alerting() -> dict[str, Any]:
    return {"page": {"disabled": True}, "ticket": {"disabled": True}}
