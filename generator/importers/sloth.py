"""Sloth `prometheus/v1` specs (and Sloth's PrometheusServiceLevel CRD) → native service files.

Sloth's `events` and `raw` SLIs of the standard shape, `sum(rate(counter[{{.window}}]))`, become
native `ratio` SLIs (native_query.py), so the imported SLOs get generated promtool tests; the
others, and all of them with `raw_queries`, become `sli.query` (the `{{.window}}` queries
verbatim), one note per service saying which and why. Spec-wide labels and `--extra-labels` go
on every SLO as Sloth puts them on every series, page/ticket alert labels and annotations carry
over, and Sloth's shipped alert windows (30d and 28d periods) apply as Sloth applies them.
Anything without a native home — SLI plugins, SLO plugin chains, `info_labels`, a key Sloth
itself would ignore — is refused with its line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from generator.durations import format_duration
from generator.errors import SpecIssue
from generator.importers import native_query
from generator.importers.catalog import RawQueries, WrittenSli, raw_note, settle_native_slis
from generator.importers.document import OutFile
from generator.importers.source import Cursor, PathKey, imported_header
from generator.importers.windows import SLOTH_DEFAULT_PERIOD, WindowSets, fireable, workbook_windows
from generator.model.common import KEPT_ALERT_NAME_PATTERN
from generator.model.slo import WINDOW_PLACEHOLDER, WINDOW_SPELLINGS

ROOT_KEYS = ("version", "service", "labels", "slos", "slo_plugins")
CRD_SPEC_KEYS = ("service", "labels", "slos", "sloPlugins")
SLO_KEYS = ("name", "objective", "description", "labels", "plugins", "sli", "alerting")
PLUGIN_CHAINS = ("slo_plugins", "sloPlugins", "plugins")
"""Sloth's SLO plugin chains: spec-wide (prometheus/v1, CRD) and per SLO."""
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
KEPT_ALERT_NAME = re.compile(KEPT_ALERT_NAME_PATTERN)
QUERY_FIELDS = {
    "events": {"error_query": "errors", "total_query": "total"},
    "raw": {"error_ratio_query": "error_ratio"},
}
"""Sloth's SLI kinds → their query fields → the `sli.query` fields they become."""


@dataclass(frozen=True)
class SlothOptions:
    extra_labels: dict[str, str] = field(default_factory=dict)
    """Sloth's `--extra-labels`: added to every SLO's series and alerts"""
    period: int = SLOTH_DEFAULT_PERIOD
    """Sloth's `--default-slo-period`"""
    windows: WindowSets = field(default_factory=WindowSets)
    label_names: str = "obsgen"
    """`sloth` keeps Sloth's sloth_id/sloth_service/sloth_slo/sloth_window label names"""
    raw_queries: bool = False
    """keep every SLI as raw `sli.query`, computed exactly as Sloth computes it"""
    keep_alert_names: bool = False
    """keep alert names as written (`name_as_written`) instead of making them CamelCase"""


def is_sloth(root: Cursor) -> bool:
    version = root.get("version")
    api = root.get("apiVersion")
    return (version is not None and str(version.value).startswith("prometheus/")) or (
        api is not None and str(api.value).startswith("sloth.slok.dev/")
    )


def convert(roots: list[Cursor], options: SlothOptions) -> tuple[dict[str, OutFile], list[SpecIssue]]:
    """One native file per service (documents of the same service merge), and the issues found."""
    options = replace(options, windows=options.windows.with_sloth_shipped())
    files: dict[str, OutFile] = {}
    slis: dict[str, list[WrittenSli]] = {}
    issues: list[SpecIssue] = []
    for root in roots:
        body = _body(root, issues)
        if body is not None:
            _convert_service(body, root, options, files, issues, slis)
    for name, written in slis.items():
        reasons = settle_native_slis(files[name], written)
        if reasons:
            files[name].note(("slos",), raw_note(reasons, "as Sloth reads it"))
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
    body: Cursor,
    root: Cursor,
    options: SlothOptions,
    files: dict[str, OutFile],
    issues: list[SpecIssue],
    slis: dict[str, list[WrittenSli]],
) -> None:
    """`slis` collects each service's SLIs as written, to settle once every document is read."""
    _unknown_keys(body, ROOT_KEYS if body is root else CRD_SPEC_KEYS, issues)
    for key in PLUGIN_CHAINS[:2]:
        chain = body.get(key)
        if chain is not None:
            _refuse_plugin_chain(chain, issues)
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
        labels = {**options.extra_labels, **spec_labels}
        written = _convert_slo(slo, ("slos", index), labels, options, out, issues)
        if written is not None:
            slis.setdefault(name, []).append(written)


def _convert_slo(
    slo: Cursor,
    at: PathKey,
    inherited: dict[str, str],
    options: SlothOptions,
    out: OutFile,
    issues: list[SpecIssue],
) -> WrittenSli | None:
    """The SLO into `out` at `at`, and its SLI as written (None when refused)."""
    if not slo.is_map():
        issues.append(slo.issue("expected an SLO mapping (name, objective, sli, alerting)"))
        return None
    _unknown_keys(slo, SLO_KEYS, issues)
    out.set(at, {}, slo)
    labels = {**inherited, **_labels(slo.get("labels"), issues)}
    written = None
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
        elif key == "plugins":
            _refuse_plugin_chain(child, issues)
        elif key == "sli":
            if labels and "labels" not in slo.fields():
                out.set((*at, "labels"), labels)
            named = slo.get("name")
            name = (named.text() if named else None) or f"slos[{at[-1]}]"
            written = _convert_sli(child, name, (*at, "sli"), options, out, issues)
        elif key == "alerting":
            _convert_alerting(child, (*at, "alerting"), options, out, issues)
    if labels and "labels" not in out.data["slos"][at[-1]]:
        out.set((*at, "labels"), labels)
    _period_and_windows(slo, at, options, out, issues)
    return written


def _period_and_windows(
    slo: Cursor, at: PathKey, options: SlothOptions, out: OutFile, issues: list[SpecIssue]
) -> None:
    """Sloth's `--default-slo-period` and the alert windows Sloth uses for it."""
    if options.period != SLOTH_DEFAULT_PERIOD:
        out.set((*at, "period"), format_duration(options.period), slo)
    windows = options.windows.for_period(options.period)
    if windows is None:
        issues.append(slo.issue(options.windows.missing(options.period)))
    else:
        _set_windows(slo, at, windows or workbook_windows(options.period), bool(windows), out)


def _set_windows(
    slo: Cursor, at: PathKey, windows: list[dict[str, Any]], written: bool, out: OutFile
) -> None:
    """The SLO's alert windows (written out when not obsgen's defaults, or when one never fires:
    then it is left out, and a tier left without windows is disabled, with a note)."""
    objective = slo.get("objective")
    number = objective.value if objective is not None else None
    if isinstance(number, bool) or not isinstance(number, int | float) or not 0 < number < 100:
        kept, dropped = windows, []  # the objective's own issue is reported
    else:
        kept, dropped = fireable(windows, number)
    if not written and not dropped:
        return
    path = (*at, "alerting", "windows")
    out.set(path, kept, slo)
    for text in dropped:
        out.note(path, text)
    alerting = out.data["slos"][at[-1]]["alerting"]
    for tier in ("page", "ticket"):
        disabled = alerting.get(tier, {}).get("disabled") is True
        if not disabled and not any(w["severity"] == tier for w in kept):
            out.set((*at, "alerting", tier, "disabled"), True)
            out.note(path, f"with none of its windows left, the {tier} alert is disabled")


def _convert_sli(
    sli: Cursor, slo: str, at: PathKey, options: SlothOptions, out: OutFile, issues: list[SpecIssue]
) -> WrittenSli | None:
    """A native `ratio` SLI when the queries are of the standard shape, else `sli.query` (with
    the reason unless `raw_queries` asked for it); None when refused."""
    kinds = [k for k in sli.fields() if k in ("events", "raw", "plugin")]
    _unknown_keys(sli, ("events", "raw", "plugin"), issues)
    if len(kinds) != 1:
        issues.append(sli.issue("an SLI needs exactly one of `events`, `raw` or `plugin`"))
        return None
    kind = sli.get(kinds[0])
    assert kind is not None
    if kinds[0] == "plugin":
        issues.append(kind.issue(REFUSED["plugin"]))
        return None
    fields = QUERY_FIELDS[kinds[0]]
    _unknown_keys(kind, (*fields, *(CAMEL_SPELLING[f] for f in fields)), issues)
    _refuse_both_spellings(kind, issues)
    queries = _queries(kind, fields, issues)
    if queries is None:
        return None
    out.mark(at, sli)
    texts = {native: WINDOW_SPELLINGS.sub(WINDOW_PLACEHOLDER, str(q.value)) for native, q in queries.items()}
    found = None if options.raw_queries else _native_ratio(texts)
    ratio = found if isinstance(found, native_query.NativeRatio) else None
    reason = found.reason if isinstance(found, native_query.NotNative) else None
    raw = RawQueries({native: (texts[native], query) for native, query in queries.items()}, kind)
    written = WrittenSli(slo, at, kind, queries, raw, ratio, reason)
    written.write(out)
    return written


def _queries(kind: Cursor, fields: dict[str, str], issues: list[SpecIssue]) -> dict[str, Cursor] | None:
    """The SLI's query cursors by the native field they become; None (and `issues`) if any is
    missing or not text."""
    found = {native: _field(kind, source) for source, native in fields.items()}
    missing = [source for source, native in fields.items() if found[native] is None]
    if missing:
        issues.append(
            kind.issue(f"`{kind.path[-1]}` needs {' and '.join(fields)}; missing {', '.join(missing)}")
        )
        return None
    texts = {native: q for native, q in found.items() if q is not None}
    bad = [q for q in texts.values() if not isinstance(q.value, str)]
    issues += [q.issue("expected a PromQL query (text)") for q in bad]
    return None if bad else texts


def _native_ratio(texts: dict[str, str]) -> native_query.NativeRatio | native_query.NotNative:
    """The queries as a native ratio SLI that obsgen takes, or why they stay raw."""
    if "error_ratio" in texts:
        ratio = native_query.ratio_from_error_ratio(texts["error_ratio"])
    else:
        ratio = native_query.ratio_from_errors(texts["errors"], texts["total"])
    return native_query.accepted_ratio(ratio)


def _field(node: Cursor, name: str) -> Cursor | None:
    """A field in Sloth's prometheus/v1 spelling or its Kubernetes CRD's camelCase one."""
    return node.get(name) or node.get(CAMEL_SPELLING.get(name, name))


def _convert_alerting(
    alerting: Cursor, at: PathKey, options: SlothOptions, out: OutFile, issues: list[SpecIssue]
) -> None:
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
            _alert_name(child, at, options.keep_alert_names, out, issues)
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


def _refuse_plugin_chain(chain: Cursor, issues: list[SpecIssue]) -> None:
    """Sloth runs an SLO plugin chain while generating the rules; obsgen runs no Sloth plugin. An
    empty chain (no plugins, not overriding the defaults) changes nothing and passes."""
    spec = chain.value if chain.is_map() else {}
    if chain.value is None or (chain.is_map() and not spec.get("chain") and not spec.get("overridePrevious")):
        return
    ids = [str(p.get("id")) for p in spec.get("chain") or [] if isinstance(p, dict) and p.get("id")]
    which = f" ({', '.join(ids)})" if ids else ""
    issues.append(
        chain.issue(
            f"Sloth runs this SLO plugin chain{which} inside Sloth while generating the rules, and obsgen "
            "does not run Sloth plugins, so it cannot reproduce what they add or change; remove the chain "
            "to import the SLOs with the rules Sloth's default plugins generate (obsgen's own), and write "
            "what the plugins add in the native spec"
        )
    )


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


def _alert_name(name: Cursor, alerting: PathKey, keep: bool, out: OutFile, issues: list[SpecIssue]) -> None:
    """obsgen alert names are CamelCase (kubernetes-mixin); Sloth's are free. `keep` keeps them as
    written (`name_as_written`) when they are safe in URLs and matchers; say when one changes."""
    at = (*alerting, "name")
    if not isinstance(name.value, str):
        issues.append(name.issue("expected an alert name (text)"))
        return
    text = str(name.value)
    if ALERT_NAME.match(text):
        out.set(at, text, name)
        return
    if keep and KEPT_ALERT_NAME.match(text):
        out.set(at, text, name)
        out.set((*alerting, "name_as_written"), True, name)
        return
    words = re.split(r"[^A-Za-z0-9]+", text)
    camel = "".join(w[:1].upper() + w[1:] for w in words if w)
    out.set(at, camel, name)
    why = (
        "--keep-alert-names keeps only names of letters, digits and _ . : -, starting with a letter or _"
        if keep
        else "--keep-alert-names keeps it, so routes and silences that match it still do"
    )
    out.note(at, f"Sloth's alert name was {text!r}; obsgen alert names are CamelCase ({why})")


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
