"""Sloth `prometheus/v1` specs (and Sloth's PrometheusServiceLevel CRD) → native service files.

Sloth's `events` and `raw` SLIs become `sli.query` (its `{{.window}}` queries verbatim), its
spec-wide labels and `--extra-labels` go on every SLO as Sloth puts them on every series, and
its page/ticket alert labels and annotations carry over. Anything without a native home — SLI
plugins, `info_labels`, a key Sloth itself would ignore — is refused with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator.durations import format_duration
from generator.errors import SpecIssue
from generator.importers.document import OutFile
from generator.importers.source import Cursor, PathKey, imported_header
from generator.importers.windows import SLOTH_DEFAULT_PERIOD, WindowSets
from generator.model.slo import WINDOW_PLACEHOLDER, WINDOW_SPELLINGS

ROOT_KEYS = ("version", "service", "labels", "slos")
SLO_KEYS = ("name", "objective", "description", "labels", "sli", "alerting")
ALERTING_KEYS = ("name", "labels", "annotations", "page_alert", "ticket_alert")
TIER_KEYS = ("disable", "labels", "annotations")
CAMEL_ALIASES = {
    "pageAlert": "page_alert",
    "ticketAlert": "ticket_alert",
    "errorQuery": "error_query",
    "totalQuery": "total_query",
    "errorRatioQuery": "error_ratio_query",
}
"""The spelling of Sloth's Kubernetes CRD (and of some of its validation examples)."""
CAMEL_SPELLING = {snake: camel for camel, snake in CAMEL_ALIASES.items()}
SLUG = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
REFUSED = {
    "info_labels": "Sloth puts info_labels on its sloth_slo_info series, which obsgen does not record; "
    "move them to `labels` (they then go on every SLO series) or drop them",
    "plugin": "Sloth SLI plugins run inside Sloth and cannot be imported; write the queries the plugin "
    "generates as `events` (error_query/total_query) or `raw` (error_ratio_query)",
}
ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


@dataclass(frozen=True)
class SlothOptions:
    extra_labels: dict[str, str] = field(default_factory=dict)
    """Sloth's `--extra-labels`: added to every SLO's series and alerts"""
    period: int = SLOTH_DEFAULT_PERIOD
    """Sloth's `--default-slo-period`"""
    windows: WindowSets = field(default_factory=WindowSets)
    label_names: str = "obsgen"
    """`sloth` keeps Sloth's sloth_id/sloth_service/sloth_slo/sloth_window label names"""


def is_sloth(root: Cursor) -> bool:
    version = root.get("version")
    api = root.get("apiVersion")
    return (version is not None and str(version.value).startswith("prometheus/")) or (
        api is not None and str(api.value).startswith("sloth.slok.dev/")
    )


def convert(roots: list[Cursor], options: SlothOptions) -> tuple[dict[str, OutFile], list[SpecIssue]]:
    """One native file per service (documents of the same service merge), and the issues found."""
    files: dict[str, OutFile] = {}
    issues: list[SpecIssue] = []
    for root in roots:
        body = _body(root, issues)
        if body is not None:
            _convert_service(body, root, options, files, issues)
    return files, issues


def _body(root: Cursor, issues: list[SpecIssue]) -> Cursor | None:
    """The mapping holding service/labels/slos: the document, or a CRD's `spec`."""
    if not root.is_map():
        issues.append(root.issue("expected a mapping (a Sloth spec with version: prometheus/v1)"))
        return None
    api = root.get("apiVersion")
    if api is not None:
        kind = root.get("kind")
        if str(api.value) != "sloth.slok.dev/v1" or kind is None or kind.value != "PrometheusServiceLevel":
            issues.append(api.issue("expected apiVersion sloth.slok.dev/v1 with kind PrometheusServiceLevel"))
            return None
        spec = root.get("spec")
        if spec is None or not spec.is_map():
            issues.append(root.issue("a PrometheusServiceLevel needs a `spec` mapping"))
            return None
        _unknown_keys(root, ("apiVersion", "kind", "metadata", "spec"), issues)
        return spec
    version = root.get("version")
    if version is None or version.value != "prometheus/v1":
        where = version or root
        hint = "; for OpenSLO use `obsgen import openslo`" if root.get("apiVersion") else ""
        issues.append(where.issue(f"expected version: prometheus/v1 (Sloth's spec){hint}"))
        return None
    return root


def _convert_service(
    body: Cursor, root: Cursor, options: SlothOptions, files: dict[str, OutFile], issues: list[SpecIssue]
) -> None:
    _unknown_keys(body, ROOT_KEYS if body is root else ROOT_KEYS[1:], issues)
    service = body.get("service")
    slos = body.get("slos")
    if service is None or not isinstance(service.value, str) or not service.value:
        issues.append((service or body).issue("`service` is required: the service the SLOs belong to"))
        return
    if slos is None or not isinstance(slos.value, list) or not slos.value:
        issues.append((slos or body).issue("`slos` needs at least one SLO"))
        return
    name = service.value
    if not _slug_or_refuse(service, "service", issues):
        return
    out = files.setdefault(name, OutFile(f"{name}.yaml"))
    out.header += [line for line in imported_header(root) if line not in out.header]
    if "service" not in out.data:
        out.set(("service",), name, service)
        if options.label_names == "sloth":
            out.set(("slo_label_names",), "sloth")
        out.set(("slos",), [], slos)
    spec_labels = _labels(body.get("labels"), issues)
    for slo in slos.items():
        index = len(out.data["slos"])
        _convert_slo(slo, ("slos", index), {**options.extra_labels, **spec_labels}, options, out, issues)


def _convert_slo(
    slo: Cursor,
    at: PathKey,
    inherited: dict[str, str],
    options: SlothOptions,
    out: OutFile,
    issues: list[SpecIssue],
) -> None:
    if not slo.is_map():
        issues.append(slo.issue("expected an SLO mapping (name, objective, sli, alerting)"))
        return
    _unknown_keys(slo, SLO_KEYS, issues)
    out.set(at, {}, slo)
    labels = {**inherited, **_labels(slo.get("labels"), issues)}
    for key in slo.fields():
        child = slo.get(key)
        assert child is not None
        if key == "name" and not _slug_or_refuse(child, "SLO", issues):
            continue
        if key == "objective" and (isinstance(child.value, bool) or not isinstance(child.value, int | float)):
            issues.append(child.issue(f"expected a percentage such as 99.9, got {child.text()!r}"))
        elif key in ("name", "objective", "description"):
            out.set((*at, key), child.value, child)
        elif key == "labels" and labels:
            _set_labels(out, (*at, "labels"), child, issues, inherited)
        elif key == "sli":
            if labels and "labels" not in slo.fields():
                out.set((*at, "labels"), labels)
            _convert_sli(child, (*at, "sli"), out, issues)
        elif key == "alerting":
            _convert_alerting(child, (*at, "alerting"), out, issues)
    if labels and "labels" not in out.data["slos"][at[-1]]:
        out.set((*at, "labels"), labels)
    if options.period != SLOTH_DEFAULT_PERIOD:
        out.set((*at, "period"), format_duration(options.period), slo)
    windows = options.windows.for_period(options.period)
    if windows is None:
        issues.append(slo.issue(options.windows.missing(options.period)))
    elif windows:
        out.set((*at, "alerting", "windows"), windows, slo)


def _convert_sli(sli: Cursor, at: PathKey, out: OutFile, issues: list[SpecIssue]) -> None:
    kinds = [k for k in sli.fields() if k in ("events", "raw", "plugin")]
    _unknown_keys(sli, ("events", "raw", "plugin"), issues)
    if len(kinds) != 1:
        issues.append(sli.issue("an SLI needs exactly one of `events`, `raw` or `plugin`"))
        return
    kind = sli.get(kinds[0])
    assert kind is not None
    if kinds[0] == "plugin":
        issues.append(kind.issue(REFUSED["plugin"]))
        return
    fields = {"error_query": "errors", "total_query": "total"} if kinds[0] == "events" else {}
    fields = fields or {"error_ratio_query": "error_ratio"}
    _unknown_keys(kind, (*fields, *(CAMEL_SPELLING[f] for f in fields)), issues)
    _refuse_both_spellings(kind, issues)
    queries = {f: _field(kind, f) for f in fields}
    missing = [k for k, query in queries.items() if query is None]
    if missing:
        issues.append(kind.issue(f"`{kinds[0]}` needs {' and '.join(fields)}; missing {', '.join(missing)}"))
        return
    out.mark(at, sli)
    out.mark((*at, "query"), kind)
    for source_key, native in fields.items():
        query = queries[source_key]
        assert query is not None
        if not isinstance(query.value, str):
            issues.append(query.issue("expected a PromQL query (text)"))
            continue
        out.set((*at, "query", native), WINDOW_SPELLINGS.sub(WINDOW_PLACEHOLDER, query.value), query)


def _field(node: Cursor, name: str) -> Cursor | None:
    """A field in Sloth's prometheus/v1 spelling or its Kubernetes CRD's camelCase one."""
    return node.get(name) or node.get(CAMEL_SPELLING.get(name, name))


def _convert_alerting(alerting: Cursor, at: PathKey, out: OutFile, issues: list[SpecIssue]) -> None:
    if not alerting.is_map():
        issues.append(alerting.issue("expected a mapping (name, labels, annotations, page/ticket_alert)"))
        return
    _unknown_keys(alerting, (*ALERTING_KEYS, *CAMEL_ALIASES), issues)
    _refuse_both_spellings(alerting, issues)
    out.mark(at, alerting)
    for key in alerting.fields():
        child = alerting.get(key)
        assert child is not None
        if key == "name":
            _alert_name(child, (*at, "name"), out, issues)
        elif key in ("labels", "annotations"):
            _set_labels(out, (*at, key), child, issues)
        elif CAMEL_ALIASES.get(key, key) in ("page_alert", "ticket_alert"):
            tier = "page" if CAMEL_ALIASES.get(key, key) == "page_alert" else "ticket"
            _convert_tier(child, (*at, tier), out, issues)


def _convert_tier(tier: Cursor, at: PathKey, out: OutFile, issues: list[SpecIssue]) -> None:
    if not tier.is_map():
        issues.append(tier.issue("expected a mapping (disable, labels, annotations)"))
        return
    _unknown_keys(tier, TIER_KEYS, issues)
    out.set(at, {}, tier)
    for key in tier.fields():
        child = tier.get(key)
        assert child is not None
        if key == "disable":
            out.set((*at, "disabled"), child.value, child)
        elif key in ("labels", "annotations"):
            _set_labels(out, (*at, key), child, issues)


def _slug_or_refuse(name: Cursor, what: str, issues: list[SpecIssue]) -> bool:
    """obsgen names are lowercase slugs; renaming would change the SLO's id, so it is the user's call."""
    text = name.text() or ""
    if SLUG.match(text) and len(text) <= 63:
        return True
    suggestion = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    issues.append(
        name.issue(
            f"{what} name {text!r}: obsgen names are lowercase letters, digits and dashes (at most 63), "
            f"starting with a letter; rename it (e.g. {suggestion!r}) — its id changes with it"
        )
    )
    return False


def _alert_name(name: Cursor, at: PathKey, out: OutFile, issues: list[SpecIssue]) -> None:
    """obsgen alert names are CamelCase (kubernetes-mixin); Sloth's are free. Say when it changes."""
    if not isinstance(name.value, str):
        issues.append(name.issue("expected an alert name (text)"))
        return
    text = str(name.value)
    if ALERT_NAME.match(text):
        out.set(at, text, name)
        return
    words = re.split(r"[^A-Za-z0-9]+", text)
    camel = "".join(w[:1].upper() + w[1:] for w in words if w)
    out.set(at, camel, name)
    out.note(at, f"Sloth's alert name was {text!r}; obsgen alert names are CamelCase")


def _set_labels(
    out: OutFile, at: PathKey, labels: Cursor, issues: list[SpecIssue], extra: dict[str, str] | None = None
) -> None:
    """A label (or annotation) mapping, each key remembering its source line."""
    out.set(at, {**(extra or {}), **_labels(labels, issues)}, labels)
    for key in labels.fields():
        child = labels.get(key)
        assert child is not None
        out.mark((*at, key), child)


def _labels(labels: Cursor | None, issues: list[SpecIssue]) -> dict[str, str]:
    if labels is None:
        return {}
    if not labels.is_map():
        issues.append(labels.issue("expected a mapping of label names to values"))
        return {}
    values: dict[str, str] = {}
    for key in labels.fields():
        child = labels.get(key)
        assert child is not None
        text = child.text()
        if text is None:
            issues.append(child.issue("expected one value (label values are text), not a mapping or list"))
        else:
            values[key] = text
    return values


def _unknown_keys(node: Cursor, known: tuple[str, ...], issues: list[SpecIssue]) -> None:
    for key in node.fields():
        if key in REFUSED:
            child = node.get(key)
            assert child is not None
            issues.append(child.issue(REFUSED[key]))
        elif key not in known:
            child = node.get(key)
            assert child is not None
            shown = ", ".join(k for k in known if k not in CAMEL_ALIASES)
            issues.append(
                child.issue(f"unknown field {key!r} (Sloth would ignore it; expected one of {shown})")
            )


def _refuse_both_spellings(node: Cursor, issues: list[SpecIssue]) -> None:
    for camel, snake in CAMEL_ALIASES.items():
        if camel in node.fields() and snake in node.fields():
            child = node.get(camel)
            assert child is not None
            issues.append(child.issue(f"give either {snake} or {camel}, not both"))
