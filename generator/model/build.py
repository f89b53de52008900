"""Documents → typed Spec, turning pydantic's errors into located SpecIssues."""

from __future__ import annotations

import types
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from generator.errors import Location, SpecError, SpecIssue, did_you_mean
from generator.loader import PathKey, SourceDoc
from generator.model.alertmanager import AlertmanagerSpec
from generator.model.service import Service
from generator.model.settings import Settings
from generator.model.spec import Spec

M = TypeVar("M", bound=BaseModel)


def build_spec(docs: list[SourceDoc]) -> Spec:
    issues: list[SpecIssue] = []
    settings: list[tuple[Settings, SourceDoc]] = []
    alertmanagers: list[tuple[AlertmanagerSpec, SourceDoc]] = []
    services: dict[str, tuple[Service, SourceDoc]] = {}
    for doc in docs:
        if not isinstance(doc.data, dict):
            issues.append(SpecIssue(doc.location(()), "expected a mapping at the top level"))
            continue
        if "settings" in doc.data:
            parsed = _section(Settings, "settings", doc, issues)
            if parsed:
                settings.append((parsed, doc))
            continue
        if "alertmanager" in doc.data:
            routing = _section(AlertmanagerSpec, "alertmanager", doc, issues)
            if routing and alertmanagers:
                first = alertmanagers[0][1].file
                issues.append(
                    SpecIssue(doc.location(("alertmanager",)), f"`alertmanager` is already in {first}")
                )
            elif routing:
                alertmanagers.append((routing, doc))
            continue
        service = _validate(Service, doc.data, doc, (), issues)
        if service is None:
            continue
        if service.service in services:
            first = services[service.service][1].file
            issues.append(
                SpecIssue(
                    doc.location(("service",)),
                    f"service {service.service!r} is already defined in {first}",
                )
            )
            continue
        services[service.service] = (service, doc)
    if len(settings) != 1 and not issues:
        where = ", ".join(doc.file for _, doc in settings) or "none found"
        issues.append(
            SpecIssue(
                Location(docs[0].file if docs else "spec/"),
                f"expected exactly one file with a top-level `settings:` mapping ({where})",
            )
        )
    if issues:
        raise SpecError(issues)
    ordered = sorted(services)
    sources = {name: services[name][1] for name in ordered}
    sources["settings"] = settings[0][1]
    if alertmanagers:
        sources["alertmanager"] = alertmanagers[0][1]
    return Spec(
        settings=settings[0][0],
        services=tuple(services[name][0] for name in ordered),
        sources=sources,
        alertmanager=alertmanagers[0][0] if alertmanagers else None,
    )


def _section(model: type[M], key: str, doc: SourceDoc, issues: list[SpecIssue]) -> M | None:
    """A file holding one top-level section, e.g. `settings:` or `alertmanager:`."""
    extra = sorted(set(doc.data) - {key})
    if extra:
        issues.append(SpecIssue(doc.location((extra[0],)), f"a file with `{key}` holds only `{key}`"))
    return _validate(model, doc.data[key], doc, (key,), issues)


def _validate(
    model: type[M], data: Any, doc: SourceDoc, prefix: PathKey, issues: list[SpecIssue]
) -> M | None:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path = (*prefix, *_data_path(data, error["loc"]))
            message = _message(error)
            if error["type"] == "extra_forbidden":
                message = _unknown_field(model, data, error["loc"]) or message
            issues.append(SpecIssue(doc.location(path), message))
        return None


def _unknown_field(model: type[BaseModel], data: Any, loc: tuple[Any, ...]) -> str | None:
    """`unknown field 'objectiv'; did you mean 'objective'?`, from the fields allowed there."""
    key = loc[-1] if loc else None
    if not isinstance(key, str):
        return None
    kinds: list[Any] = [model]
    node = data
    for part in loc[:-1]:
        if not (
            (isinstance(node, dict) and part in node)
            or (isinstance(node, list) and isinstance(part, int) and part < len(node))
        ):
            continue  # a union tag or a validator's name, not a step into the data
        node = node[part]
        kinds = [inner for kind in kinds for inner in _step(kind, part)]
    fields = {
        field.alias or name
        for kind in kinds
        for each in _members(kind)
        if isinstance(each, type) and issubclass(each, BaseModel)
        for name, field in each.model_fields.items()
    }
    hint = did_you_mean(key, fields) if fields else ""
    return f"unknown field {key!r}; {hint}" if hint else None


def _members(kind: Any) -> list[Any]:
    """A type with Annotated and unions unwrapped: `Annotated[A, …] | B | None` → [A, B, None]."""
    origin = get_origin(kind)
    if origin is Annotated:
        return _members(get_args(kind)[0])
    if origin in (Union, types.UnionType):
        return [member for arg in get_args(kind) for member in _members(arg)]
    return [kind]


def _step(kind: Any, part: str | int) -> list[Any]:
    """The types found one step (a field name or a list index) into `kind`."""
    found: list[Any] = []
    for each in _members(kind):
        origin, args = get_origin(each), get_args(each)
        if isinstance(each, type) and issubclass(each, BaseModel) and isinstance(part, str):
            found += [f.annotation for n, f in each.model_fields.items() if part in (n, f.alias)]
        elif origin in (list, tuple) and isinstance(part, int) and args:
            found.append(args[0])
        elif origin is dict and isinstance(part, str) and len(args) == 2:
            found.append(args[1])
    return found


def _data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """pydantic's loc without union tags and validator names that are not fields."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        ):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and part not in ("threshold", "promql"):
            path.append(part)  # a missing or unknown field: name it
            node = None
    return tuple(path)


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field (check its spelling; `obsgen schema` lists every field)"
    if kind == "missing":
        return "required field is missing"
    msg = str(error["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    got = error.get("input")
    if kind == "model_type" or isinstance(got, dict | list) or got is None:
        return msg
    if kind == "value_error" and repr(got) in msg:
        return msg  # our own validators already quote what they got
    return f"{msg} (got {got!r})"
