"""Documents → typed Spec, turning pydantic's errors into located SpecIssues."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from generator.errors import Location, SpecError, SpecIssue
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
            issues.append(SpecIssue(doc.location(path), _message(error)))
        return None


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
    if kind not in ("model_type",) and not isinstance(got, dict | list) and got is not None:
        msg += f" (got {got!r})"
    return msg
