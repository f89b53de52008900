"""OpenSLO specs (`openslo/v1`, and Sloth's `openslo/v1alpha` dialect) → native service files.

**v1alpha** is read exactly as Sloth reads it: every objective becomes one SLO named
`<metadata.name>-<index>` (so its id is Sloth's `<service>-<name>-<index>`), its good/total
`{{.window}}` queries become Sloth's raw error ratio `1 - (good / total)` (`sli.query.error_ratio`,
same text as Sloth's template), and both alert tiers are disabled, as Sloth writes no alerts for
OpenSLO. The period is the one time window's `count` days; a period other than 30d needs its
alert windows from `--windows`, as in Sloth.

**v1** objects reference each other by name across every document of every file given: an SLO's
`indicatorRef` names an SLI, `alertPolicies` name AlertPolicies (or inline them), a policy's
`conditions` name AlertConditions (or inline them), a metric source's `metricSourceRef` names a
Prometheus DataSource. What each becomes:

| OpenSLO v1                                        | native spec                                        |
|---------------------------------------------------|----------------------------------------------------|
| `Service` name, `spec.description`, labels        | `service`, `description`, `labels` (every alert)   |
| SLO `spec.service`                                | the file `<service>.yaml`                          |
| SLO `metadata.name` (one objective)               | SLO `name`; several objectives: `<name>-<index>`   |
| SLO `spec.description` (else `displayName`)       | SLO `description`                                  |
| SLO `metadata.labels`, `--extra-labels`           | SLO `labels` (every SLO series and alert)          |
| `timeWindow: [{duration, isRolling: true}]`       | `period` (30d is the default and is left out)      |
| objective `target` × 100 or `targetPercent`       | `objective`                                        |
| ratio, Occurrences, queries with `{{.window}}`    | `sli.query`: bad → `errors`/`total`; good →        |
|                                                   | `error_ratio` `1 - (good / total)`; raw → ratio    |
| ratio, Occurrences, `counter: true`, plain        | `sli.ratio` events ({errors or good, total}:       |
| selectors `name{label="value"}`                   | metric + matchers), counters added to `metrics`    |
| threshold, Timeslices: `op`, `value`              | `sli.threshold` (lt <, lte <=, gt >, gte >=)       |
| `timeSliceWindow` (a bare number: minutes)        | `time_slice`; a slice longer than obsgen records   |
|                                                   | (2m30s) is checked over the trailing slice every   |
|                                                   | 2m30s or less, on the 5m grid                      |
| threshold query `[agg(]fn_over_time(m{…}[w])[)]`  | a recorded `signals` entry (fn, w, agg, matchers), |
|                                                   | `m` added to `metrics` as an external gauge        |
| threshold query, a plain selector `m{…}`          | signal `max` (lt/lte) or `min` (gt/gte) over the   |
|                                                   | time slice: the slice is good only if every        |
|                                                   | sample in it was                                   |
| AlertCondition `burnrate` `threshold`             | `alerting.windows[].factor`                        |
| `lookbackWindow`, `alertAfter`                    | `long`, `short` (no alertAfter: lookback / 12)     |
| `severity` page, critical, high / anything else   | `severity: page` / `ticket`                        |
| no `alertPolicies`                                | page and ticket tiers disabled (nothing alerts)    |

Display names and descriptions without a native field become comments in the written file.
Refused, each with its file, line and reason: calendar-aligned windows; months, quarters and
years; Timeslices over a ratio, Occurrences over a threshold, RatioTimeslices; non-Prometheus
metric sources; query shapes above not matched; `notificationTargets` and
AlertNotificationTargets (routing lives in spec/alertmanager.yaml); alerting on no data or
on resolution; `metadata.annotations` (implementation metadata of another tool); labels on
anything but an SLO or Service; objects no SLO uses; and any field this import does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from math import gcd
from pathlib import PurePath
from typing import Any

from generator import promql
from generator.durations import format_duration, parse_duration
from generator.errors import SpecIssue
from generator.importers.document import OutFile
from generator.importers.source import Cursor, PathKey, document_header, imported_header
from generator.importers.windows import SLOTH_DEFAULT_PERIOD, WindowSets
from generator.rules import EVENTS_BASE_WINDOW
from generator.validate import MAX_RECORDING_INTERVAL

V1, V1ALPHA = "openslo/v1", "openslo/v1alpha"
DAY = 86400
SLOTH_ERROR_RATIO = "\n  1 - (\n    (\n      {good}\n    )\n    /\n    (\n      {total}\n    )\n  )\n"
"""Sloth's errorRatioRawQueryTpl, with Go's `{{ .good }}`/`{{ .total }}` as Python fields"""
WINDOW = "{{.window}}"
WINDOW_SPELLINGS = re.compile(r"\{\{-?\s*\.window\s*-?\}\}")
OPS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
PAGE_SEVERITIES = ("page", "critical", "high")
OVER_TIME = {
    "avg_over_time": "mean",
    "max_over_time": "max",
    "min_over_time": "min",
    "stddev_over_time": "stddev",
    "quantile_over_time": "quantile",
}
AGGREGATES = {"max": "max", "min": "min", "avg": "avg", "sum": "sum"}
SERVICE_KEYS = ("service", "description", "labels", "slo_label_names", "slos", "signals", "metrics")
"""Key order of a written service file: the SLOs first, so the source's comments land on them"""
HEADER_KEYS = ("apiVersion", "kind", "metadata", "spec")
METADATA_KEYS = ("name", "displayName", "labels", "annotations")
ANNOTATIONS = (
    "OpenSLO annotations are implementation metadata of another tool and have no obsgen meaning; "
    "remove them (alert annotations go in the written spec's alerting.annotations)"
)
CALENDAR = (
    "calendar-aligned time windows cannot be imported: obsgen's SLO periods are rolling windows; "
    "use a rolling window (isRolling: true, no calendar)"
)
ROUTING = (
    "notification targets cannot be imported: obsgen routes alerts with Alertmanager, configured "
    "in spec/alertmanager.yaml (route on the alerts' severity, service and slo_id labels); "
    "remove {what} here and write the route there"
)


@dataclass(frozen=True)
class OpenSLOOptions:
    extra_labels: dict[str, str] = field(default_factory=dict)
    """`--extra-labels`: added to every SLO's series and alerts"""
    windows: WindowSets = field(default_factory=WindowSets)
    """alert windows of SLO periods other than 30d (`--windows`)"""
    label_names: str = "obsgen"
    """`sloth` keeps Sloth's sloth_id/sloth_service/sloth_slo/sloth_window label names"""


def convert(roots: list[Cursor], options: OpenSLOOptions) -> tuple[dict[str, OutFile], list[SpecIssue]]:
    """One native file per service (SLOs of the same service merge), and the issues found."""
    converter = _Converter(options)
    converter.run(roots)
    return converter.files, converter.issues


@dataclass
class _Named:
    """A v1 object other SLOs refer to by name."""

    root: Cursor
    used: bool = False


@dataclass
class _Window:
    """One burn-rate window pair of an AlertCondition, and where its parts came from."""

    origin: Cursor
    value: dict[str, Any]
    notes: list[str]
    fields: dict[str, Cursor]


@dataclass
class _Query:
    """One PromQL query of a metric source, and the notes its source adds."""

    cursor: Cursor
    text: str
    notes: list[str] = field(default_factory=list)


class _Converter:
    def __init__(self, options: OpenSLOOptions) -> None:
        self.options = options
        self.files: dict[str, OutFile] = {}
        self.issues: list[SpecIssue] = []
        self.named: dict[tuple[str, str], _Named] = {}
        self.headers_placed: set[tuple[str, int]] = set()

    # --- documents ---------------------------------------------------------------------------

    def run(self, roots: list[Cursor]) -> None:
        slos: list[tuple[str, Cursor]] = []
        services: list[Cursor] = []
        for root in roots:
            kind = self._kind(root)
            if kind is None:
                continue
            version, name = kind
            if name == "SLO":
                slos.append((version, root))
            elif name == "Service":
                services.append(root)
            elif name == "AlertNotificationTarget":
                self.issues.append(root.issue(ROUTING.format(what="this AlertNotificationTarget")))
            else:
                self._register(name, root)
        for root in services:
            self._service(root)
        for version, root in slos:
            if version == V1ALPHA:
                self._v1alpha_slo(root)
            else:
                self._v1_slo(root)
        # An object an SLO refused above never got to use reads as unused: report those only after.
        for (kind, name), named in self.named.items() if not self.issues else ():
            if not named.used:
                self.issues.append(
                    named.root.issue(
                        f"{kind} {name!r} is not used by any SLO of the imported files, so nothing would be "
                        "written for it; import it together with the SLO that uses it, or leave it out"
                    )
                )
        for out in self.files.values():
            out.data = {key: out.data[key] for key in SERVICE_KEYS if out.data.get(key) not in (None, [])}

    def _kind(self, root: Cursor) -> tuple[str, str] | None:
        if not root.is_map():
            self.issues.append(root.issue("expected a mapping (an OpenSLO object with apiVersion and kind)"))
            return None
        api, kind = root.get("apiVersion"), root.get("kind")
        if api is None or str(api.value) not in (V1, V1ALPHA):
            hint = "; for Sloth's own spec use `obsgen import sloth`" if root.get("version") else ""
            self.issues.append((api or root).issue(f"expected apiVersion: {V1} or {V1ALPHA}{hint}"))
            return None
        kinds = ("SLO", "Service") if api.value == V1ALPHA else _V1_KINDS
        if kind is None or kind.value not in kinds:
            self.issues.append(
                (kind or root).issue(f"expected kind: one of {', '.join(kinds)} ({api.value})")
            )
            return None
        return str(api.value), str(kind.value)

    def _register(self, kind: str, root: Cursor) -> None:
        name = self._name(root)
        if name is None:
            return
        if (kind, name) in self.named:
            first = self.named[(kind, name)].root.location()
            self.issues.append(root.issue(f"{kind} {name!r} is defined twice (first at {first})"))
            return
        self.named[(kind, name)] = _Named(root)

    def _name(self, root: Cursor) -> str | None:
        metadata = root.get("metadata")
        name = metadata.get("name") if metadata else None
        if name is None or not isinstance(name.value, str) or not name.value:
            self.issues.append((metadata or root).issue("metadata.name is required"))
            return None
        return name.value

    def _resolve(self, kind: str, ref: Cursor) -> Cursor | None:
        named = self.named.get((kind, str(ref.value)))
        if named is None:
            known = sorted(name for k, name in self.named if k == kind)
            hint = f" (defined: {', '.join(known)})" if known else " (none is defined in the imported files)"
            self.issues.append(ref.issue(f"no {kind} named {ref.value!r}{hint}"))
            return None
        named.used = True
        return named.root

    def _header(self, root: Cursor) -> list[str]:
        """The opening comments of a referenced document, once: they go where it is first used."""
        key = (root.source.name, root.line)
        if root.path or key in self.headers_placed:
            return []
        self.headers_placed.add(key)
        lines = [re.sub(r"^# ?", "", line) for line in document_header(root)]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        return lines

    def _out(self, service: Cursor, root: Cursor) -> OutFile:
        name = str(service.value)
        out = self.files.get(name)
        if out is None:
            out = self.files[name] = OutFile(f"{name}.yaml")
            out.set(("service",), name, service)
            if self.options.label_names == "sloth":
                out.set(("slo_label_names",), "sloth")
            out.set(("metrics",), [])
            out.set(("signals",), [])
            out.set(("slos",), [])
        out.header += [line for line in imported_header(root) if line not in out.header]
        return out

    # --- Service -------------------------------------------------------------------------------

    def _service(self, root: Cursor) -> None:
        self._keys(root, HEADER_KEYS)
        metadata, spec = root.get("metadata"), root.get("spec")
        name = self._name(root)
        if name is None or metadata is None:
            return
        name_cursor = metadata.get("name")
        assert name_cursor is not None
        out = self._out(name_cursor, root)
        self._keys(metadata, METADATA_KEYS, refused={"annotations": ANNOTATIONS})
        display = metadata.get("displayName")
        description = spec.get("description") if spec is not None and spec.is_map() else None
        if spec is not None:
            self._keys(spec, ("description",))
        if description is not None:
            out.set(("description",), str(description.value), description)
        if display is not None:
            if description is None:
                out.set(("description",), str(display.value), display)
            else:
                _note(out, ("service",), f"OpenSLO displayName: {display.value}")
        labels = metadata.get("labels")
        if labels is not None:
            self._set_labels(out, ("labels",), labels, {})

    # --- v1alpha (Sloth's dialect) -----------------------------------------------------------

    def _v1alpha_slo(self, root: Cursor) -> None:
        self._keys(root, HEADER_KEYS)
        metadata, spec = root.get("metadata"), root.get("spec")
        name = self._name(root)
        if spec is None or not spec.is_map():
            self.issues.append(root.issue("an SLO needs a `spec` mapping"))
            return
        if name is None or metadata is None:
            return
        self._keys(metadata, ("name", "displayName"))
        self._keys(
            spec,
            ("service", "description", "budgetingMethod", "objectives", "timeWindows"),
            refused={
                "indicator": "Sloth's OpenSLO (v1alpha) import reads ratioMetrics objectives only; a "
                "thresholdMetric indicator needs openslo/v1 (SLI thresholdMetric, Timeslices)"
            },
        )
        service = self._service_name(spec)
        objectives = self._objectives(spec)
        method = spec.get("budgetingMethod")
        if method is None or method.value != "Occurrences":
            self.issues.append(
                (method or spec).issue(
                    "budgetingMethod must be Occurrences: Sloth's OpenSLO (v1alpha) import counts events only"
                )
            )
        period = self._v1alpha_period(spec)
        if service is None or objectives is None:
            return
        out = self._out(service, root)
        windows = self.options.windows.for_period(period[0]) if period else []
        if period is not None and windows is None:
            self.issues.append(period[1].issue(self.options.windows.missing(period[0])))
        description = spec.get("description")
        display = metadata.get("displayName")
        for index, objective in enumerate(objectives):
            at: PathKey = ("slos", len(out.data["slos"]))
            out.set(at, {}, objective)
            slo_name = metadata.get("name")
            assert slo_name is not None
            out.set((*at, "name"), f"{name}-{index}", slo_name)
            if display is not None:
                _note(out, at, f"OpenSLO displayName: {display.value}")
            if description is not None:
                out.set((*at, "description"), str(description.value), description)
            self._v1alpha_objective(objective, at, out, period, windows)

    def _v1alpha_period(self, spec: Cursor) -> tuple[int, Cursor] | None:
        windows = spec.get("timeWindows")
        items = windows.items() if windows is not None else []
        if len(items) != 1:
            self.issues.append(
                (windows or spec).issue("timeWindows needs exactly one time window (as in Sloth)")
            )
            return None
        window = items[0]
        self._keys(window, ("count", "unit", "isRolling"), refused={"calendar": CALENDAR})
        count, unit, rolling = window.get("count"), window.get("unit"), window.get("isRolling")
        if rolling is not None and not _truthy(rolling.value) and window.get("calendar") is None:
            self.issues.append(rolling.issue(CALENDAR))
        if unit is None or str(unit.value).lower() != "day":
            self.issues.append(
                (unit or window).issue(
                    "the time window's unit must be Day (Sloth counts SLO periods in days)"
                )
            )
            return None
        if count is None or not _is_int(count.value) or int(count.value) <= 0:
            self.issues.append(
                (count or window).issue("the time window needs a whole number of days as count")
            )
            return None
        return int(count.value) * DAY, count

    def _v1alpha_objective(
        self,
        objective: Cursor,
        at: PathKey,
        out: OutFile,
        period: tuple[int, Cursor] | None,
        windows: list[dict[str, Any]] | None,
    ) -> None:
        self._keys(
            objective,
            ("displayName", "value", "ratioMetrics", "target"),
            refused={
                key: f"`{key}` applies to threshold metrics, which Sloth's OpenSLO (v1alpha) import ignores"
                for key in ("op", "timeSliceTarget")
            },
        )
        for key in ("displayName", "value"):
            child = objective.get(key)
            if child is not None:
                _note(
                    out, at, f"OpenSLO objective {key}: {child.value} (not used by a ratio SLO, nor by Sloth)"
                )
        self._objective_target(objective, at, out, ("target",))
        if period is not None and period[0] != SLOTH_DEFAULT_PERIOD:
            out.set((*at, "period"), format_duration(period[0]), period[1])
        if self.options.extra_labels:
            out.set((*at, "labels"), dict(self.options.extra_labels))
        ratio = objective.get("ratioMetrics")
        if ratio is None or not ratio.is_map():
            self.issues.append(
                (ratio or objective).issue("Sloth's OpenSLO import needs ratioMetrics (good, total)")
            )
            return
        self._keys(ratio, ("good", "total", "counter"))
        queries = {part: self._v1alpha_query(ratio, part) for part in ("good", "total")}
        good, total = queries["good"], queries["total"]
        if good is None or total is None:
            return
        out.mark((*at, "sli"), ratio)
        error_ratio = SLOTH_ERROR_RATIO.format(good=good.text, total=total.text)
        out.set((*at, "sli", "query", "error_ratio"), error_ratio, good.cursor)
        out.mark((*at, "sli", "query"), total.cursor)  # the total query's comments go above `query:`
        for query in (good, total):
            for note in query.notes:
                _note(out, (*at, "sli"), note)
        out.set((*at, "alerting"), {"page": {"disabled": True}, "ticket": {"disabled": True}}, objective)
        _note(
            out,
            (*at, "alerting"),
            "Sloth writes no alerts for OpenSLO SLOs; enable page/ticket for obsgen's burn-rate alerts",
        )
        if windows and period is not None:
            out.set((*at, "alerting", "windows"), windows, period[1])

    def _v1alpha_query(self, ratio: Cursor, part: str) -> _Query | None:
        source = ratio.get(part)
        if source is None or not source.is_map():
            self.issues.append(
                (source or ratio).issue(f"ratioMetrics needs `{part}` (source, queryType, query)")
            )
            return None
        self._keys(source, ("source", "queryType", "query"))
        kind, query_type, query = source.get("source"), source.get("queryType"), source.get("query")
        if kind is None or str(kind.value) not in ("prometheus", "sloth"):
            self.issues.append(
                (kind or source).issue("the source must be prometheus (or sloth), as Sloth requires")
            )
        if query_type is None or query_type.value != "promql":
            self.issues.append((query_type or source).issue("queryType must be promql"))
        if query is None or not isinstance(query.value, str) or not query.value.strip():
            self.issues.append((query or source).issue("a PromQL `query` is required"))
            return None
        return self._window_query(query)

    def _window_query(self, query: Cursor) -> _Query:
        """The query with `{{.window}}` spelled as obsgen reads it (Go templates allow spaces)."""
        text = str(query.value)
        normal = WINDOW_SPELLINGS.sub(WINDOW, text)
        notes = [f"{WINDOW} was spelled differently in the source; obsgen reads exactly {WINDOW}"]
        return _Query(query, normal, notes if normal != text else [])

    # --- v1 SLO --------------------------------------------------------------------------------

    def _v1_slo(self, root: Cursor) -> None:
        self._keys(root, HEADER_KEYS)
        metadata, spec = root.get("metadata"), root.get("spec")
        name = self._name(root)
        if spec is None or not spec.is_map():
            self.issues.append(root.issue("an SLO needs a `spec` mapping"))
            return
        if name is None or metadata is None:
            return
        self._keys(metadata, METADATA_KEYS, refused={"annotations": ANNOTATIONS})
        self._keys(
            spec,
            (
                "description",
                "service",
                "indicator",
                "indicatorRef",
                "budgetingMethod",
                "timeWindow",
                "objectives",
                "alertPolicies",
            ),
        )
        service = self._service_name(spec)
        objectives = self._objectives(spec)
        indicator = self._indicator(spec)
        method = self._budgeting(spec)
        period = self._v1_period(spec)
        policies = self._alert_policies(spec)
        if service is None or objectives is None or indicator is None or method is None:
            return
        out = self._out(service, root)
        sli_spec, sli_meta, sli_root = indicator
        if sli_spec.get("thresholdMetric") is not None and len(objectives) != 1:
            self.issues.append(
                objectives[1].issue("an SLO over a thresholdMetric has exactly one objective (OpenSLO)")
            )
            return
        labels = {**self.options.extra_labels}
        meta_labels = metadata.get("labels")
        description = spec.get("description")
        display = metadata.get("displayName")
        for index, objective in enumerate(objectives):
            at: PathKey = ("slos", len(out.data["slos"]))
            out.set(at, {}, objective)
            slo_name = metadata.get("name")
            assert slo_name is not None
            out.set((*at, "name"), name if len(objectives) == 1 else f"{name}-{index}", slo_name)
            if description is not None:
                out.set((*at, "description"), str(description.value), description)
                if display is not None:
                    _note(out, at, f"OpenSLO displayName: {display.value}")
            elif display is not None:
                out.set((*at, "description"), str(display.value), display)
            self._objective_target(objective, (*at,), out, ("target", "targetPercent"))
            if period is None:
                _note(out, at, "the source gives no timeWindow; obsgen's default period (30d) applies")
            elif isinstance(period, tuple) and period[0] != SLOTH_DEFAULT_PERIOD:
                out.set((*at, "period"), format_duration(period[0]), period[1])
            if meta_labels is not None:
                self._set_labels(out, (*at, "labels"), meta_labels, labels)
            elif labels:
                out.set((*at, "labels"), labels)
            for line in self._header(sli_root):
                _note(out, (*at, "sli"), line)
            self._v1_sli(objective, at, out, sli_spec, sli_meta, method, service)
            self._v1_alerting(spec, at, out, policies, period)

    def _indicator(self, spec: Cursor) -> tuple[Cursor, Cursor | None, Cursor] | None:
        """The SLI's `spec` mapping (inline or referenced), and its metadata."""
        inline, ref = spec.get("indicator"), spec.get("indicatorRef")
        if (inline is None) == (ref is None):
            self.issues.append(spec.issue("give exactly one of `indicator` (inline SLI) or `indicatorRef`"))
            return None
        if ref is not None:
            root = self._resolve("SLI", ref)
            if root is None:
                return None
            self._keys(root, HEADER_KEYS)
            metadata = root.get("metadata")
            if metadata is not None:
                self._keys(metadata, METADATA_KEYS, refused=_LABELS_REFUSED)
            body = root.get("spec")
        else:
            assert inline is not None
            if not inline.is_map():
                self.issues.append(inline.issue("expected an inline SLI (metadata, spec)"))
                return None
            self._keys(inline, HEADER_KEYS)
            metadata = inline.get("metadata")
            if metadata is not None:
                self._keys(metadata, METADATA_KEYS, refused=_LABELS_REFUSED)
            body = inline.get("spec")
            root = inline
        if body is None or not body.is_map():
            self.issues.append(root.issue("an SLI needs a `spec` with thresholdMetric or ratioMetric"))
            return None
        self._keys(body, ("description", "thresholdMetric", "ratioMetric"))
        if (body.get("thresholdMetric") is None) == (body.get("ratioMetric") is None):
            self.issues.append(body.issue("an SLI needs exactly one of `thresholdMetric` or `ratioMetric`"))
            return None
        return body, metadata, root

    def _budgeting(self, spec: Cursor) -> str | None:
        method = spec.get("budgetingMethod")
        if method is None or method.value not in ("Occurrences", "Timeslices", "RatioTimeslices"):
            self.issues.append(
                (method or spec).issue("budgetingMethod must be Occurrences, Timeslices or RatioTimeslices")
            )
            return None
        if method.value == "RatioTimeslices":
            self.issues.append(
                method.issue(
                    "RatioTimeslices (the mean of every slice's good/total ratio) has no obsgen equivalent: "
                    "obsgen counts events (Occurrences over a ratio) or good slices (Timeslices over a "
                    "threshold); choose one of those"
                )
            )
            return None
        return str(method.value)

    def _v1_period(self, spec: Cursor) -> tuple[int, Cursor] | bool | None:
        """(seconds, cursor); None when the source gives none (obsgen's 30d); False when refused."""
        windows = spec.get("timeWindow")
        if windows is None:
            return None
        items = windows.items()
        if len(items) != 1:
            self.issues.append(windows.issue("timeWindow holds exactly one time window"))
            return False
        window = items[0]
        self._keys(window, ("duration", "isRolling"), refused={"calendar": CALENDAR})
        rolling = window.get("isRolling")
        if window.get("calendar") is not None:
            return False
        if rolling is not None and not _truthy(rolling.value):
            self.issues.append(rolling.issue(CALENDAR))
            return False
        duration = window.get("duration")
        if duration is None:
            self.issues.append(window.issue("the time window needs a duration, e.g. 30d"))
            return False
        seconds = self._duration(duration, "the SLO period")
        return False if seconds is None else (seconds, duration)

    def _objective_target(self, objective: Cursor, at: PathKey, out: OutFile, keys: tuple[str, ...]) -> None:
        given = [objective.get(k) for k in keys if objective.get(k) is not None]
        if len(given) != 1:
            what = " or ".join(f"`{k}`" for k in keys)
            self.issues.append(objective.issue(f"an objective needs exactly one of {what}"))
            return
        target = given[0]
        assert target is not None
        try:
            value = Decimal(str(target.value))
        except InvalidOperation:
            self.issues.append(target.issue(f"expected a number, got {target.value!r}"))
            return
        percent = value * 100 if target.path[-1] == "target" else value
        if not 0 < percent < 100:
            shown = "between 0 and 1" if target.path[-1] == "target" else "between 0 and 100"
            self.issues.append(target.issue(f"the target must be {shown} (exclusive), got {target.value}"))
            return
        out.set((*at, "objective"), float(percent), target)

    # --- v1 SLI ------------------------------------------------------------------------------------

    def _v1_sli(
        self,
        objective: Cursor,
        at: PathKey,
        out: OutFile,
        sli: Cursor,
        sli_meta: Cursor | None,
        method: str,
        service: Cursor,
    ) -> None:
        out.mark((*at, "sli"), sli)
        description = sli.get("description")
        if description is not None:
            _note(out, (*at, "sli"), f"OpenSLO SLI description: {description.value}")
        display = sli_meta.get("displayName") if sli_meta else None
        if display is not None:
            _note(out, (*at, "sli"), f"OpenSLO SLI displayName: {display.value}")
        ratio, threshold = sli.get("ratioMetric"), sli.get("thresholdMetric")
        if ratio is not None:
            self._keys(
                objective, ("displayName", "target", "targetPercent"), refused=_RATIO_OBJECTIVE_REFUSED
            )
            if method != "Occurrences":
                self.issues.append(
                    ratio.issue(
                        f"a ratioMetric SLO with budgetingMethod {method} cannot be imported: obsgen counts "
                        "a ratio's events over the period (Occurrences), not good slices; use "
                        "Occurrences, or a thresholdMetric for a time-slice SLO"
                    )
                )
                return
            self._objective_note(objective, at, out)
            self._ratio(ratio, at, out)
        elif threshold is not None:
            self._keys(
                objective,
                (
                    "displayName",
                    "op",
                    "value",
                    "target",
                    "targetPercent",
                    "timeSliceTarget",
                    "timeSliceWindow",
                ),
            )
            if method != "Timeslices":
                self.issues.append(
                    threshold.issue(
                        f"a thresholdMetric SLO with budgetingMethod {method} cannot be imported: a "
                        "threshold has no events to count; obsgen counts good time slices "
                        "(budgetingMethod: Timeslices)"
                    )
                )
                return
            self._objective_note(objective, at, out)
            self._threshold(objective, threshold, at, out, service)

    def _objective_note(self, objective: Cursor, at: PathKey, out: OutFile) -> None:
        display = objective.get("displayName")
        if display is not None:
            _note(out, (*at, "objective"), f"OpenSLO objective displayName: {display.value}")

    def _ratio(self, ratio: Cursor, at: PathKey, out: OutFile) -> None:
        self._keys(ratio, ("counter", "good", "bad", "total", "raw", "rawType"))
        parts = {k: ratio.get(k) for k in ("good", "bad", "total", "raw")}
        present = [k for k, v in parts.items() if v is not None]
        if present not in (["good", "total"], ["bad", "total"], ["raw"]):
            self.issues.append(
                ratio.issue("a ratioMetric needs good and total, bad and total, or raw (with rawType)")
            )
            return
        raw_type = ratio.get("rawType")
        if raw_type is not None and "raw" not in present:
            self.issues.append(raw_type.issue("rawType only applies to a `raw` ratio; remove it"))
        queries = {k: self._metric_query(part) for k in present if (part := parts[k]) is not None}
        if any(q is None for q in queries.values()):
            return
        found = {k: q for k, q in queries.items() if q is not None}
        windowed = [k for k, q in found.items() if WINDOW in q.text]
        if windowed and len(windowed) != len(found):
            plain = next(k for k in found if k not in windowed)
            self.issues.append(
                found[plain].cursor.issue(
                    f"the {' and '.join(windowed)} query reads {WINDOW} but this one does not; give every "
                    f"query of the ratio over {WINDOW}, or every one as a plain counter selector"
                )
            )
            return
        for query in found.values():
            for note in query.notes:
                _note(out, (*at, "sli"), note)
        if windowed:
            self._ratio_queries(ratio, found, at, out)
        else:
            self._ratio_events(ratio, found, at, out)

    def _ratio_queries(self, ratio: Cursor, found: dict[str, _Query], at: PathKey, out: OutFile) -> None:
        base = (*at, "sli", "query")
        if "raw" in found:
            raw_type = ratio.get("rawType")
            if raw_type is None or raw_type.value not in ("success", "failure"):
                self.issues.append((raw_type or ratio).issue("rawType must be success or failure with raw"))
                return
            raw = found["raw"]
            if raw_type.value == "failure":
                out.set((*base, "error_ratio"), raw.text, raw.cursor)
            else:
                out.set((*base, "error_ratio"), f"\n  1 - (\n    {raw.text}\n  )\n", raw.cursor)
        elif "bad" in found:
            out.set((*base, "errors"), found["bad"].text, found["bad"].cursor)
            out.set((*base, "total"), found["total"].text, found["total"].cursor)
        else:
            text = SLOTH_ERROR_RATIO.format(good=found["good"].text, total=found["total"].text)
            out.set((*base, "error_ratio"), text, found["good"].cursor)
            out.mark(base, found["total"].cursor)  # the total query's comments go above `query:`

    def _ratio_events(self, ratio: Cursor, found: dict[str, _Query], at: PathKey, out: OutFile) -> None:
        counter = ratio.get("counter")
        if counter is None or not _truthy(counter.value):
            self.issues.append(
                (counter or ratio).issue(
                    "queries without {{.window}} are read as counters, which needs `counter: true`; for "
                    "gauges or other shapes write each query over {{.window}}, e.g. "
                    "sum(rate(x[{{.window}}])), and they are imported verbatim"
                )
            )
            return
        if "raw" in found:
            self.issues.append(
                found["raw"].cursor.issue(
                    f"a raw ratio must be read over {WINDOW} (e.g. avg_over_time(x[{WINDOW}])) to be imported"
                )
            )
            return
        selected: dict[str, tuple[str, dict[str, str]]] = {}
        for part, query in found.items():
            selector = self._plain_selector(query, "an events (counter) SLI")
            if selector is None:
                return
            selected[part] = selector
        native = {"bad": "errors", "good": "good", "total": "total"}
        for part, (metric, matchers) in selected.items():
            event: dict[str, Any] = {"metric": metric}
            if matchers:
                event["matchers"] = matchers
            source = ratio.get(part)
            assert source is not None
            out.set((*at, "sli", "ratio", native[part]), event, source)
            out.mark((*at, "sli", "ratio", native[part], "metric"), found[part].cursor)
            self._metric(out, metric, "counter", found[part].cursor)

    def _plain_selector(self, query: _Query, what: str) -> tuple[str, dict[str, str]] | None:
        """(metric, equality matchers) of a query that is one vector selector, else refused."""
        import promql_parser

        node = self._parse(query)
        if node is None:
            return None
        while isinstance(node, promql_parser.ParenExpr):
            node = node.expr
        if not isinstance(node, promql_parser.VectorSelector):
            self.issues.append(
                query.cursor.issue(
                    f"{what} needs the query to be one series selector such as "
                    f'http_requests_total{{code="500"}}, or each query written over {WINDOW}; '
                    f"cannot import {query.text!r}"
                )
            )
            return None
        return self._selector_parts(node, query)

    def _selector_parts(self, node: Any, query: _Query) -> tuple[str, dict[str, str]] | None:
        import promql_parser

        if not node.name:
            self.issues.append(query.cursor.issue(f"the selector needs a metric name: {query.text!r}"))
            return None
        if node.offset is not None or node.at is not None:
            self.issues.append(
                query.cursor.issue(f"offset and @ modifiers cannot be imported: {query.text!r}")
            )
            return None
        matchers: dict[str, str] = {}
        for matcher in [*node.matchers.matchers, *[m for group in node.matchers.or_matchers for m in group]]:
            if matcher.name == "__name__":
                continue
            if matcher.op != promql_parser.MatchOp.Equal or node.matchers.or_matchers:
                self.issues.append(
                    query.cursor.issue(
                        f"obsgen matches labels by equality here; {matcher.name}{_MATCH_OPS[str(matcher.op)]}"
                        f"{promql.quote(matcher.value)} cannot be imported as a matcher (write the ratio's "
                        f"queries over {WINDOW} to keep it verbatim)"
                    )
                )
                return None
            matchers[matcher.name] = matcher.value
        return str(node.name), matchers

    def _parse(self, query: _Query) -> Any:
        if WINDOW in query.text:
            self.issues.append(
                query.cursor.issue(f"{WINDOW} only applies to ratio queries read over every window")
            )
            return None
        try:
            return promql.parse(query.text)
        except promql.PromQLError as exc:
            self.issues.append(query.cursor.issue(str(exc)))
            return None

    def _metric_query(self, metric: Cursor) -> _Query | None:
        """The PromQL query of one `{metricSource: {...}}` (Prometheus sources only)."""
        if not metric.is_map():
            self.issues.append(metric.issue("expected {metricSource: {type, spec}}"))
            return None
        self._keys(metric, ("metricSource",))
        source = metric.get("metricSource")
        if source is None or not source.is_map():
            self.issues.append(metric.issue("expected metricSource (type: Prometheus, spec: {query})"))
            return None
        self._keys(source, ("metricSourceRef", "type", "spec"))
        kind, ref, spec = source.get("type"), source.get("metricSourceRef"), source.get("spec")
        notes: list[str] = []
        source_type = str(kind.value) if kind is not None else None
        if ref is not None:
            data_source = self._resolve("DataSource", ref)
            if data_source is None:
                return None
            ds_type = self._data_source(data_source)
            if ds_type is None:
                return None
            if kind is not None and str(kind.value).lower() != ds_type.lower():
                self.issues.append(
                    kind.issue(f"type {kind.value} differs from DataSource {ref.value}'s {ds_type}")
                )
                return None
            source_type = ds_type
            notes.append(
                f"metric source {ref.value}: obsgen's rules run in the Prometheus that loads them; the "
                "DataSource's connection details are not used"
            )
        if source_type is None or source_type.lower() != "prometheus":
            where = kind or ref or source
            shown = "no type" if source_type is None else f"type {source_type}"
            self.issues.append(
                where.issue(
                    f"metric source with {shown} cannot be imported: obsgen's rules run in Prometheus, so "
                    "the source must be type: Prometheus with a PromQL `query`"
                )
            )
            return None
        if spec is None or not spec.is_map():
            self.issues.append(source.issue("a Prometheus metric source needs spec: {query: <PromQL>}"))
            return None
        self._keys(spec, ("query",))
        query = spec.get("query")
        if query is None or not isinstance(query.value, str) or not query.value.strip():
            self.issues.append((query or spec).issue("a PromQL `query` is required"))
            return None
        found = self._window_query(query)
        found.notes += notes
        return found

    def _data_source(self, root: Cursor) -> str | None:
        self._keys(root, HEADER_KEYS)
        metadata, spec = root.get("metadata"), root.get("spec")
        if metadata is not None:
            self._keys(metadata, METADATA_KEYS, refused=_LABELS_REFUSED)
        if spec is None or not spec.is_map():
            self.issues.append(root.issue("a DataSource needs a `spec` with its type"))
            return None
        self._keys(spec, ("type", "description", "connectionDetails"))
        kind = spec.get("type")
        if kind is None:
            self.issues.append(spec.issue("a DataSource needs a type (Prometheus)"))
            return None
        return str(kind.value)

    # --- threshold metrics -------------------------------------------------------------------

    def _threshold(
        self, objective: Cursor, metric: Cursor, at: PathKey, out: OutFile, service: Cursor
    ) -> None:
        op, value = objective.get("op"), objective.get("value")
        window, target = objective.get("timeSliceWindow"), objective.get("timeSliceTarget")
        if op is None or str(op.value) not in OPS:
            self.issues.append(
                (op or objective).issue(
                    "a threshold objective needs op: lt, lte, gt or gte (the good condition)"
                )
            )
            return
        if value is None or not _is_number(value.value):
            self.issues.append((value or objective).issue("a threshold objective needs a numeric `value`"))
            return
        if window is None:
            self.issues.append(objective.issue("a Timeslices objective needs timeSliceWindow, e.g. 1m or 5m"))
            return
        slice_seconds = self._duration(window, "timeSliceWindow", minutes_if_number=True)
        if target is None or not _is_number(target.value) or not 0 < float(target.value) <= 1:
            self.issues.append(
                (target or objective).issue("a Timeslices objective needs timeSliceTarget in (0, 1]")
            )
            return
        query = self._metric_query(metric)
        if slice_seconds is None or query is None:
            return
        for note in query.notes:
            _note(out, (*at, "sli"), note)
        native_op = OPS[str(op.value)]
        signal = self._signal(query, native_op, slice_seconds, float(target.value), target)
        if signal is None:
            return
        signal_def, notes = signal
        time_slice = _time_slice(slice_seconds)
        if time_slice != slice_seconds:
            shown, every = format_duration(slice_seconds), format_duration(time_slice)
            plain = signal_def["window"] == shown and "quantile" not in signal_def
            notes.append(
                f"obsgen records a time slice at most every {format_duration(MAX_RECORDING_INTERVAL)}: "
                + (
                    f"it checks the trailing {shown} every {every}, so a bad sample counts for {shown} of "
                    f"bad time, as it does in one fixed {shown} slice on average"
                    if plain
                    else f"it checks the query every {every}, each check counting for {every} of time"
                )
            )
        record = self._add_signal(out, service, signal_def, query.cursor)
        self._metric(out, signal_def["metric"], "gauge", query.cursor)
        out.set((*at, "time_slice"), format_duration(time_slice), window)
        base = (*at, "sli", "threshold")
        out.set((*base, "signal"), record, query.cursor)
        out.set((*base, "op"), native_op, op)
        out.set((*base, "value"), _number(value.value), value)
        for note in notes:
            _note(out, (*base, "signal"), note)

    def _signal(
        self, query: _Query, op: str, slice_seconds: int, slice_target: float, target: Cursor
    ) -> tuple[dict[str, Any], list[str]] | None:
        """A native signal reading the threshold query, and notes on how it was read."""
        import promql_parser

        node = self._parse(query)
        if node is None:
            return None
        worst = "max" if op in ("<", "<=") else "min"
        aggregate, by = None, []
        while isinstance(node, promql_parser.ParenExpr):
            node = node.expr
        if isinstance(node, promql_parser.AggregateExpr) and str(node.op) in AGGREGATES:
            if node.modifier is not None and node.modifier.type != promql_parser.AggModifierType.By:
                self.issues.append(
                    query.cursor.issue(f"`without` cannot be imported; use `by`: {query.text!r}")
                )
                return None
            aggregate, by = AGGREGATES[str(node.op)], list(node.modifier.labels if node.modifier else [])
            node = node.expr
            while isinstance(node, promql_parser.ParenExpr):
                node = node.expr
        notes: list[str] = []
        if isinstance(node, promql_parser.VectorSelector):
            if slice_target != 1:
                self.issues.append(
                    target.issue(
                        f"timeSliceTarget {target.value} over a plain series cannot be imported: obsgen's "
                        "slice is good when one derived value meets the objective, not a share of the "
                        "slice's samples; give timeSliceTarget: 1 (every sample of the slice good), or "
                        f"write the query as e.g. quantile_over_time({target.value}, <series>[<slice>]) "
                        "to decide on that quantile instead"
                    )
                )
                return None
            function, window, quantile = worst, slice_seconds, None
            notes.append(
                f"the source's query is a plain series: obsgen records its {worst} over each "
                f"{format_duration(slice_seconds)} time slice, so a slice is good only if the value held "
                "the objective through all of it (timeSliceTarget 1)"
            )
            selector_node = node
        elif isinstance(node, promql_parser.Call) and node.func.name in OVER_TIME:
            function = OVER_TIME[node.func.name]
            args = list(node.args)
            quantile = None
            if function == "quantile":
                if len(args) != 2 or not isinstance(args[0], promql_parser.NumberLiteral):
                    self.issues.append(
                        query.cursor.issue(f"expected quantile_over_time(<q>, …): {query.text!r}")
                    )
                    return None
                quantile = float(args[0].val)
                args = args[1:]
            matrix = args[0] if len(args) == 1 else None
            if not isinstance(matrix, promql_parser.MatrixSelector):
                self.issues.append(
                    query.cursor.issue(f"expected {node.func.name}(<series>[<range>]): {query.text!r}")
                )
                return None
            window = int(matrix.range.total_seconds())
            selector_node = matrix.vector_selector
            if slice_target != 1:
                notes.append(
                    f"timeSliceTarget {slice_target:g}: obsgen checks the query's value once per time slice, "
                    "so the slice's share of good values is 0 or 1 and meets the target exactly when that "
                    "value is good"
                )
        else:
            self.issues.append(
                query.cursor.issue(
                    "cannot import this threshold query: obsgen records a series selector, "
                    "<fn>_over_time(<series>[<range>]) with fn avg, max, min, stddev or quantile, optionally "
                    f"inside max, min, avg or sum (by …); got {query.text!r}"
                )
            )
            return None
        parts = self._selector_parts(selector_node, query)
        if parts is None:
            return None
        if aggregate is None:
            aggregate = worst
            notes.append(
                f"several series of the query combine with {worst} (the worst for op {op}), as obsgen "
                "aggregates every signal"
            )
        metric, matchers = parts
        signal: dict[str, Any] = {"metric": metric, "function": function, "window": format_duration(window)}
        if quantile is not None:
            signal["quantile"] = quantile
        signal["aggregate"] = aggregate
        if by:
            signal["by"] = by
        if matchers:
            signal["matchers"] = matchers
        return signal, notes

    def _add_signal(self, out: OutFile, service: Cursor, signal: dict[str, Any], origin: Cursor) -> str:
        """The signal's record name; an identical signal is shared, a different one gets its own name."""
        operation = signal["function"]
        if signal["function"] == "quantile":
            operation = "p" + _quantile_digits(signal["quantile"])
        level = re.sub(r"[^a-zA-Z0-9_]", "_", str(service.value))
        base = f"{level}:{signal['metric']}:{operation}_{signal['window']}"
        record, suffix = base, 1
        while True:
            existing = next((s for s in out.data["signals"] if s["record"] == record), None)
            if existing is None:
                break
            if {k: v for k, v in existing.items() if k != "record"} == signal:
                return record
            suffix += 1
            record = f"{base}_{suffix}"
        out.set(("signals", len(out.data["signals"])), {"record": record, **signal}, origin)
        return record

    def _metric(self, out: OutFile, name: str, kind: str, origin: Cursor) -> None:
        existing = next((m for m in out.data["metrics"] if m["name"] == name), None)
        if existing is not None:
            if existing["type"] != kind:
                self.issues.append(
                    origin.issue(
                        f"metric {name!r} is read as a {kind} here and as a {existing['type']} elsewhere"
                    )
                )
            return
        entry = {
            "name": name,
            "type": kind,
            "help": f"imported from OpenSLO: {PurePath(origin.source.name).name}",
            "external": True,
        }
        out.set(("metrics", len(out.data["metrics"])), entry, origin)

    # --- alert policies ------------------------------------------------------------------------

    def _alert_policies(self, spec: Cursor) -> list[_Window] | None:
        """(origin, window, notes) of every burn-rate condition; None when the SLO has no policies."""
        policies = spec.get("alertPolicies")
        if policies is None or not policies.items():
            return None
        windows: list[_Window] = []
        for item in policies.items():
            policy = self._policy(item)
            if policy is None:
                continue
            found = self._policy_windows(policy)
            if found:
                found[0].notes[:0] = self._header(policy)
            windows += found
        return windows

    def _policy(self, item: Cursor) -> Cursor | None:
        """The AlertPolicy object: referenced by name (a string or alertPolicyRef) or inline."""
        if isinstance(item.value, str):
            return self._resolve("AlertPolicy", item)
        if item.is_map() and item.get("alertPolicyRef") is not None:
            self._keys(item, ("alertPolicyRef",))
            ref = item.get("alertPolicyRef")
            assert ref is not None
            return self._resolve("AlertPolicy", ref)
        if item.is_map() and item.get("spec") is not None:
            kind = item.get("kind")
            if kind is not None and kind.value != "AlertPolicy":
                self.issues.append(kind.issue("expected kind: AlertPolicy"))
                return None
            return item
        self.issues.append(
            item.issue("expected an AlertPolicy name, {alertPolicyRef: name} or an inline AlertPolicy")
        )
        return None

    def _policy_windows(self, policy: Cursor) -> list[_Window]:
        self._keys(policy, HEADER_KEYS)
        metadata, spec = policy.get("metadata"), policy.get("spec")
        if metadata is not None:
            self._keys(metadata, METADATA_KEYS, refused=_LABELS_REFUSED)
        if spec is None or not spec.is_map():
            self.issues.append(policy.issue("an AlertPolicy needs a `spec` with conditions"))
            return []
        targets = spec.get("notificationTargets")
        self._keys(
            spec,
            ("description", "alertWhenBreaching", "alertWhenResolved", "alertWhenNoData", "conditions"),
            refused={"notificationTargets": ROUTING.format(what="notificationTargets")}
            if targets is not None and targets.value
            else {},
        )
        for key, wanted, reason in (
            ("alertWhenBreaching", True, "obsgen's burn-rate alerts fire while the condition breaches"),
            (
                "alertWhenResolved",
                False,
                "notifications on resolution are Alertmanager's send_resolved, set on the receivers in "
                "spec/alertmanager.yaml",
            ),
            (
                "alertWhenNoData",
                False,
                "obsgen does not alert on a burn rate without data; a time-slice SLI counts a slice "
                "without data as bad (missing_data), and heartbeats alert on absent targets",
            ),
        ):
            flag = spec.get(key)
            if flag is not None and _truthy(flag.value) != wanted:
                self.issues.append(
                    flag.issue(f"{key}: {str(flag.value).lower()} cannot be imported: {reason}")
                )
        notes = []
        for key, where in (("displayName", metadata), ("description", spec)):
            child = where.get(key) if where is not None else None
            if child is not None:
                notes.append(f"OpenSLO AlertPolicy {key}: {child.value}")
        conditions = spec.get("conditions")
        if conditions is None or not conditions.items():
            self.issues.append((conditions or spec).issue("an AlertPolicy needs at least one condition"))
            return []
        found = []
        for item in conditions.items():
            condition = self._condition(item)
            if condition is not None:
                window = self._burn_window(condition)
                if window is not None:
                    window.notes[:0] = notes + self._header(condition)
                    found.append(window)
                    notes = []
        return found

    def _condition(self, item: Cursor) -> Cursor | None:
        if item.is_map() and item.get("conditionRef") is not None:
            self._keys(item, ("conditionRef",))
            ref = item.get("conditionRef")
            assert ref is not None
            return self._resolve("AlertCondition", ref)
        if item.is_map() and item.get("spec") is not None:
            kind = item.get("kind")
            if kind is not None and kind.value != "AlertCondition":
                self.issues.append(kind.issue("expected kind: AlertCondition"))
                return None
            return item
        self.issues.append(item.issue("expected {conditionRef: name} or an inline AlertCondition"))
        return None

    def _burn_window(self, condition: Cursor) -> _Window | None:
        self._keys(condition, HEADER_KEYS)
        metadata, spec = condition.get("metadata"), condition.get("spec")
        if metadata is not None:
            self._keys(metadata, METADATA_KEYS, refused=_LABELS_REFUSED)
        if spec is None or not spec.is_map():
            self.issues.append(condition.issue("an AlertCondition needs a `spec` (severity, condition)"))
            return None
        self._keys(spec, ("description", "severity", "condition"))
        severity, body = spec.get("severity"), spec.get("condition")
        if severity is None or not str(severity.value):
            self.issues.append(spec.issue("an AlertCondition needs a severity"))
            return None
        if body is None or not body.is_map():
            self.issues.append(spec.issue("an AlertCondition needs a `condition` (kind: burnrate, …)"))
            return None
        self._keys(body, ("kind", "op", "threshold", "lookbackWindow", "alertAfter"))
        kind, op = body.get("kind"), body.get("op")
        if kind is not None and kind.value != "burnrate":
            self.issues.append(kind.issue(f"condition kind {kind.value!r} cannot be imported: only burnrate"))
            return None
        notes: list[str] = []
        if op is not None and op.value not in ("gt", "gte"):
            self.issues.append(
                op.issue("a burn-rate condition fires above its threshold: op must be gt or gte")
            )
            return None
        if op is not None and op.value == "gte":
            notes.append("op gte: obsgen fires when the burn rate is above the factor (>)")
        threshold, lookback, after = body.get("threshold"), body.get("lookbackWindow"), body.get("alertAfter")
        if threshold is None or not _is_number(threshold.value) or float(threshold.value) <= 0:
            self.issues.append((threshold or body).issue("a burn-rate condition needs a threshold above 0"))
            return None
        if lookback is None:
            self.issues.append(body.issue("a burn-rate condition needs a lookbackWindow, e.g. 1h"))
            return None
        long = self._duration(lookback, "lookbackWindow")
        if long is None:
            return None
        if after is not None:
            short = self._duration(after, "alertAfter")
            if short is None:
                return None
            notes.append(f"alertAfter {after.value} → the short window of the pair")
        else:
            short = max(1, round(long / 12))
            notes.append(f"no alertAfter: the short window is lookbackWindow / 12 ({format_duration(short)})")
        tier = "page" if str(severity.value).lower() in PAGE_SEVERITIES else "ticket"
        notes.append(
            f"OpenSLO severity {severity.value!r} → {tier} (page, critical and high page; any other severity "
            "is a ticket)"
        )
        for key, where in (("displayName", metadata), ("description", spec)):
            child = where.get(key) if where is not None else None
            if child is not None:
                notes.append(f"OpenSLO AlertCondition {key}: {child.value}")
        window = {
            "severity": tier,
            "long": format_duration(long),
            "short": format_duration(short),
            "factor": _number(threshold.value),
        }
        fields = {"severity": severity, "long": lookback, "short": after, "factor": threshold}
        return _Window(condition, window, notes, {k: v for k, v in fields.items() if v is not None})

    def _v1_alerting(
        self,
        spec: Cursor,
        at: PathKey,
        out: OutFile,
        policies: list[_Window] | None,
        period: tuple[int, Cursor] | bool | None,
    ) -> None:
        base = (*at, "alerting")
        if policies is None:
            out.set(
                base,
                {"page": {"disabled": True}, "ticket": {"disabled": True}},
                spec.get("alertPolicies") or spec,
            )
            _note(
                out,
                base,
                "the source has no alertPolicies, so nothing alerts; remove these lines for obsgen's "
                "default burn-rate alerts (the SRE workbook's windows)",
            )
            seconds = period[0] if isinstance(period, tuple) else SLOTH_DEFAULT_PERIOD
            custom = self.options.windows.custom.get(seconds)
            if custom:
                out.set((*base, "windows"), custom)
            return
        if not policies:
            return
        policy_cursor = spec.get("alertPolicies")
        assert policy_cursor is not None
        out.mark(base, policy_cursor)
        for index, window in enumerate(policies):
            at_window = (*base, "windows", index)
            out.set(at_window, window.value, window.origin)
            for key, origin in window.fields.items():
                out.mark((*at_window, key), origin)
            for note in window.notes:
                _note(out, at_window, note)

    # --- helpers -------------------------------------------------------------------------------

    def _service_name(self, spec: Cursor) -> Cursor | None:
        service = spec.get("service")
        if service is None or not isinstance(service.value, str) or not service.value:
            self.issues.append(
                (service or spec).issue("spec.service is required: the service the SLO belongs to")
            )
            return None
        return service

    def _objectives(self, spec: Cursor) -> list[Cursor] | None:
        objectives = spec.get("objectives")
        items = objectives.items() if objectives is not None else []
        if not items:
            self.issues.append((objectives or spec).issue("an SLO needs at least one objective"))
            return None
        bad = [item for item in items if not item.is_map()]
        for item in bad:
            self.issues.append(item.issue("expected an objective mapping"))
        return None if bad else items

    def _duration(self, node: Cursor, what: str, minutes_if_number: bool = False) -> int | None:
        value = node.value
        if minutes_if_number and _is_int(value) and int(value) > 0:
            return int(value) * 60
        text = str(value)
        if re.fullmatch(r"\d+[MQY]", text):
            self.issues.append(
                node.issue(
                    f"{what} {text}: months, quarters and years vary in length and cannot be a Prometheus "
                    "range; give days or weeks, e.g. 30d or 4w"
                )
            )
            return None
        try:
            seconds = parse_duration(text)
        except ValueError as exc:
            self.issues.append(node.issue(f"{what}: {exc}"))
            return None
        if seconds <= 0:
            self.issues.append(node.issue(f"{what} must be longer than zero"))
            return None
        return seconds

    def _set_labels(self, out: OutFile, at: PathKey, labels: Cursor, inherited: dict[str, str]) -> None:
        if not labels.is_map():
            self.issues.append(labels.issue("expected a mapping of label names to values"))
            return
        found = dict(inherited)
        for key in labels.fields():
            child = labels.get(key)
            assert child is not None
            if isinstance(child.value, list | dict):
                self.issues.append(
                    child.issue(f"label {key!r} has several values; a Prometheus label has one value")
                )
                continue
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key) or key.startswith("__"):
                self.issues.append(
                    child.issue(
                        f"{key!r} is not a Prometheus label name (letters, digits and _, not starting with a "
                        "digit or __); rename it"
                    )
                )
                continue
            found[key] = "" if child.value is None else str(child.value)
        out.set(at, found, labels)
        for key in labels.fields():
            child = labels.get(key)
            assert child is not None
            out.mark((*at, key), child)

    def _keys(self, node: Cursor, known: tuple[str, ...], refused: dict[str, str] | None = None) -> None:
        refused = refused or {}
        for key in node.fields():
            child = node.get(key)
            assert child is not None
            if key in refused:
                self.issues.append(child.issue(refused[key]))
            elif key not in known:
                self.issues.append(
                    child.issue(
                        f"unknown field {key!r} cannot be imported (expected one of {', '.join(known)})"
                    )
                )


_V1_KINDS = (
    "SLO",
    "SLI",
    "AlertPolicy",
    "AlertCondition",
    "DataSource",
    "Service",
    "AlertNotificationTarget",
)
_LABELS_REFUSED = {
    "annotations": ANNOTATIONS,
    "labels": "labels here have no place in obsgen; put them on the SLO's metadata.labels (they then go on "
    "every SLO series and alert) or on the Service's (every alert of the service)",
}
_RATIO_OBJECTIVE_REFUSED = {
    "op": "op and value apply to threshold metrics; a ratio SLO's objective is its target",
    "value": "op and value apply to threshold metrics; a ratio SLO's objective is its target",
    "timeSliceTarget": "timeSliceTarget applies to Timeslices budgeting, which a ratio SLO cannot use here",
    "timeSliceWindow": "timeSliceWindow applies to Timeslices budgeting, which a ratio SLO cannot use here",
}
_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true" if not isinstance(value, int) else bool(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and type(value).__name__ != "ScalarBoolean"


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


def _number(value: Any) -> int | float:
    return int(value) if _is_int(value) else float(value)


def _time_slice(seconds: int) -> int:
    """obsgen's time_slice for an OpenSLO slice: itself, or (longer than obsgen records a slice)
    the longest divisor of it on the 5m grid every SLI window lies on."""
    if seconds <= MAX_RECORDING_INTERVAL:
        return seconds
    grid = gcd(seconds, EVENTS_BASE_WINDOW)
    return max((d for d in range(1, MAX_RECORDING_INTERVAL + 1) if grid % d == 0), default=seconds)


def _quantile_digits(quantile: float) -> str:
    """0.95 → `95`, 0.999 → `99_9`, 0.5 → `50`."""
    text = format(Decimal(str(quantile)) * 100, "f").rstrip("0").rstrip(".")
    return text.replace(".", "_")


def _note(out: OutFile, path: PathKey, text: str) -> None:
    """A comment obsgen adds above `path`, once."""
    if text not in out.notes.get(path, []):
        out.note(path, text)
