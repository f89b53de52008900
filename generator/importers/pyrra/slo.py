"""One ServiceLevelObjective → an SLO of its service's file: name, description, objective, period,
labels, then the indicator and alerting."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

from generator.durations import format_duration, parse_duration
from generator.importers.document import OutFile
from generator.importers.pyrra.alerting import set_alerting, set_windows
from generator.importers.pyrra.context import API_VERSION, DEFAULT_NAMESPACE, KIND, Import
from generator.importers.pyrra.indicator import convert_indicator
from generator.importers.source import Cursor, PathKey

ROOT_KEYS = ("apiVersion", "kind", "metadata", "spec")
IGNORED_ROOT = ("status",)
"""written by Pyrra's operator, not by the user"""
METADATA_KEYS = ("name", "namespace", "labels", "annotations")
SERVER_SET = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "finalizers",
    "ownerReferences",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
"""metadata Kubernetes sets (as `kubectl get -o yaml` shows it), with no meaning for the SLO"""
SPEC_KEYS = (
    "description",
    "target",
    "window",
    "indicator",
    "alerting",
    "partial_response_strategy",
    "performanceOverAccuracy",
    "ruleOutput",
)
PROPAGATED = "pyrra.dev/"
"""Pyrra puts labels (and annotations) with this prefix on its rules, the prefix stripped"""
TARGET = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
PROMETHEUS_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?"
)
DEFAULT_PERIOD = 30 * 86400
"""obsgen's SLO period when none is given"""
DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, Fraction(1, 1000))
"""seconds in y, w, d, h, m, s and ms, as Prometheus's model.ParseDuration reads them"""


def convert_slo(imp: Import, root: Cursor) -> None:
    imp.check_keys(root, ROOT_KEYS, IGNORED_ROOT)
    metadata, spec = imp.mapping(root, "metadata"), imp.mapping(root, "spec")
    if metadata is None or spec is None:
        return
    imp.check_keys(metadata, METADATA_KEYS, SERVER_SET)
    imp.check_keys(spec, SPEC_KEYS)
    name = imp.text(metadata, "name", "the SLO's name")
    service = _service(imp, metadata)
    named = name is not None and imp.slug(name, "SLO name") is not None
    # Without a usable name or service the SLO is still read (into a file never written), so
    # every problem of the import is reported at once.
    out = imp.service_file(*service, root) if named and service else OutFile("refused.yaml", {"slos": []})
    at: PathKey = ("slos", len(out.data["slos"]))
    out.set(at, {}, root)
    out.set((*at, "name"), name.value if name else "", name)
    description = spec.get("description")
    if description is not None and description.text():
        out.set((*at, "description"), description.text(), description)
    target = _objective(imp, out, at, spec)
    period = _period(imp, out, at, spec)
    labels = _propagated(imp, out, at, metadata, "labels")
    if labels:
        out.set((*at, "labels"), labels, metadata.get("labels"))
    indicator = imp.mapping(spec, "indicator")
    if indicator is not None:
        convert_indicator(imp, indicator, at, out)
    _rule_options(imp, out, at, spec)
    set_alerting(imp, out, at, spec.get("alerting"), _propagated(imp, out, at, metadata, "annotations"))
    if period is not None:
        set_windows(imp, out, (*at, "alerting"), period[0], period[1], target)


def api_and_kind(imp: Import, root: Cursor, lists: bool) -> str | None:
    """The kind of a Pyrra object: ServiceLevelObjective, or (with `lists`) a List of them as
    `kubectl get -o yaml` writes it; None when refused."""
    if not root.is_map():
        imp.refuse(root, f"expected a mapping (a Pyrra {KIND} with apiVersion {API_VERSION})")
        return None
    api, kind = root.get("apiVersion"), root.get("kind")
    if lists and kind is not None and kind.value in ("List", f"{KIND}List") and root.get("items") is not None:
        imp.check_keys(root, ("apiVersion", "kind", "items"), ("metadata",))
        return "List"
    if api is None or api.value != API_VERSION or kind is None or kind.value != KIND:
        hint = ""
        if root.get("version") is not None or (api is not None and str(api.value).startswith("sloth.")):
            hint = "; for Sloth specs use `obsgen import sloth`"
        elif api is not None and str(api.value).startswith("openslo/"):
            hint = "; for OpenSLO use `obsgen import openslo`"
        imp.refuse(api or root, f"expected apiVersion: {API_VERSION} and kind: {KIND}{hint}")
        return None
    return KIND


def _service(imp: Import, metadata: Cursor) -> tuple[str, Cursor | None] | None:
    """The SLO's service: `--service`, else its namespace, else Kubernetes' default namespace."""
    if imp.options.service is not None:
        return imp.options.service, None
    namespace = metadata.get("namespace")
    if namespace is None:
        return DEFAULT_NAMESPACE, None
    name = imp.slug(namespace, "namespace", "; or give the service with --service NAME")
    return (name, namespace) if name is not None else None


def _objective(imp: Import, out: OutFile, at: PathKey, spec: Cursor) -> Fraction | None:
    """`target`, Pyrra's percentage as a string, → the SLO's objective; the percentage, or None."""
    target = spec.get("target")
    if target is None:
        imp.refuse(spec, '`target` is required: the percentage of good events, e.g. target: "99.5"')
        return None
    if not isinstance(target.value, str):
        imp.refuse(
            target,
            f'Pyrra\'s target is a string (Kubernetes CRDs have no floats): write target: "{target.text()}"',
        )
        return None
    text = target.value.strip()
    if not TARGET.fullmatch(text):
        imp.refuse(target, f'expected a percentage such as "99.5", got {target.value!r}')
        return None
    value = Decimal(text)
    out.set((*at, "objective"), int(value) if value == value.to_integral_value() else float(value), target)
    return Fraction(value)


def _period(imp: Import, out: OutFile, at: PathKey, spec: Cursor) -> tuple[int, Cursor] | None:
    """`window` → the SLO's `period` (left out when 30d, obsgen's default); its seconds and source."""
    window = spec.get("window")
    if window is None:
        imp.refuse(spec, "`window` is required: the SLO window, e.g. window: 4w")
        return None
    seconds = prometheus_seconds(str(window.value)) if isinstance(window.value, str) else None
    if seconds is None or seconds <= 0 or seconds != int(seconds):
        imp.refuse(
            window,
            f"expected a Prometheus duration of whole seconds such as 7d, 2w or 4w, got {window.text()!r}",
        )
        return None
    period = int(seconds)
    if period != DEFAULT_PERIOD:
        written = window.value if _native_duration(window.value) else format_duration(period)
        out.set((*at, "period"), written, window)
    return period, window


def prometheus_seconds(text: str) -> Fraction | None:
    """Seconds of a duration as Prometheus's model.ParseDuration reads it (y is 365d); None if not one."""
    match = PROMETHEUS_DURATION.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        return None
    return sum(
        (int(n) * Fraction(unit) for n, unit in zip(match.groups(), DURATION_UNITS, strict=True) if n),
        Fraction(0),
    )


def _native_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except ValueError:
        return False
    return True


def _propagated(imp: Import, out: OutFile, at: PathKey, metadata: Cursor, key: str) -> dict[str, str]:
    """metadata.labels (or annotations) Pyrra propagates, `pyrra.dev/` stripped; the others, which
    only Kubernetes reads, are named in a note."""
    given = metadata.get(key)
    if given is None:
        return {}
    if not given.is_map():
        imp.refuse(given, f"expected a mapping of {key}")
        return {}
    native: PathKey = (*at, "labels") if key == "labels" else (*at, "alerting", "annotations")
    found: dict[str, str] = {}
    others: list[str] = []
    for name in given.fields():
        child = given.get(name)
        assert child is not None
        text = child.text()
        if not name.startswith(PROPAGATED):
            others.append(name)
        elif text is None:
            imp.refuse(child, "expected one value (text), not a mapping or list")
        else:
            found[name.removeprefix(PROPAGATED)] = text
            out.mark((*native, name.removeprefix(PROPAGATED)), child)
    if others:
        what = (
            "select the PrometheusRule Pyrra writes; obsgen's PrometheusRules carry "
            "settings.kubernetes.rule_labels"
            if key == "labels"
            else "are Kubernetes metadata; Pyrra puts only pyrra.dev/ annotations on its alerts"
        )
        out.note(at, f"metadata.{key} {', '.join(others)} {what}, so they are not kept")
    return found


def _rule_options(imp: Import, out: OutFile, at: PathKey, spec: Cursor) -> None:
    """Pyrra's options about how its rules run: kept where obsgen's rules behave alike, else refused."""
    strategy = spec.get("partial_response_strategy")
    if strategy is not None and strategy.value not in ("", "abort", None):
        imp.refuse(
            strategy,
            f"partial_response_strategy {strategy.value} applies to Thanos Ruler only; obsgen's rules run in "
            "Prometheus, which has no partial responses (abort, the default, is kept)",
        )
    fast = spec.get("performanceOverAccuracy")
    if fast is not None and fast.value is True:
        out.note(
            at,
            "performanceOverAccuracy: obsgen reads counters once over 5m and sums those for every "
            "longer window already, as Pyrra's option does",
        )
    elif fast is not None and fast.value is not False:
        imp.refuse(fast, f"expected true or false, got {fast.text()!r}")
    rule_output = spec.get("ruleOutput")
    if rule_output is not None:
        imp.refuse(
            rule_output,
            "ruleOutput labels Pyrra's split PrometheusRules; obsgen writes one rule file per SLO, and "
            "its PrometheusRules carry settings.kubernetes.rule_labels",
        )
