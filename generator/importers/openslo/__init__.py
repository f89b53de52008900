"""OpenSLO specs (`openslo/v1` and `openslo/v1alpha`) → native service files.

Objects are read from every document of every file, and a document that is a YAML list (as
oslo's and the go-sdk's examples are written) holds one object per item.

**v1alpha** is read as Sloth reads it: every objective becomes one SLO named
`<metadata.name>-<index>` (so its id is Sloth's `<service>-<name>-<index>`), its good/total
`{{.window}}` queries become a native ratio SLI when they are of the standard shape (as v1's,
below), else (and always with `raw_queries`) Sloth's raw error ratio `1 - (good / total)`
(`sli.query.error_ratio`, same text as Sloth's template), and both alert tiers are disabled, as
Sloth writes no alerts for OpenSLO. The period is the one time window's `count` days; a period
other than 30d needs its alert windows from `--windows`, as in Sloth. Beyond Sloth:
`ratioMetrics.incremental: true` (v1alpha's name for v1's `counter`) over plain counter selectors
becomes an events SLI.

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
| SLO `metadata.labels`, `--extra-labels`           | SLO `labels` (every SLO series and alert); a       |
|                                                   | value given as a one-item list (`env: [prod]`) is  |
|                                                   | that value                                         |
| `timeWindow: [{duration, isRolling: true}]`       | `period` (30d is the default and is left out)      |
| objective `target` × 100 or `targetPercent`       | `objective`                                        |
| ratio, Occurrences, queries with `{{.window}}`    | `sli.ratio` selectors (and `by`), counters added   |
| `sum [by] (rate(counter{…}[{{.window}}]))`        | to `metrics`: bad → `errors`, good → `good`; raw   |
| (native_query.py)                                 | `E / T`, `1 - G / T` (rawType success: `G / T`)    |
| ratio, Occurrences, other `{{.window}}` queries   | `sli.query` (noted): bad → `errors`/`total`; good  |
| (or all of them with `raw_queries`)               | → `error_ratio` `1 - (good / total)`; raw → ratio  |
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

Display names and descriptions without a native field become comments in the written file, as
do a Prometheus source's `spec` fields besides `query` (settings of the tool that queries it). A
`metricSourceRef` no imported DataSource answers is fine when the source gives its `type`.

What obsgen cannot express refuses the object it is found in (`Import.unsupported`): calendar-
aligned windows; months, quarters and years; Timeslices over a ratio, Occurrences over a
threshold, RatioTimeslices; non-Prometheus metric sources; query shapes above not matched;
`notificationTargets` and AlertNotificationTargets (routing lives in spec/alertmanager.yaml);
alerting on no data or on resolution, burn-rate conditions below a threshold;
`metadata.annotations` (implementation metadata of another tool); labels on anything but an SLO
or Service, labels of several values; names obsgen cannot use; other apiVersions. An SLO found
with such a problem (in itself, or in an SLI, DataSource, AlertPolicy, AlertCondition or Service
it uses) is left out, and so is a Service all of whose SLOs are: the rest imports, and each
object left out is noted with every reason at its line, on stderr and in the header of the file
written. An error in the input (`Import.refuse`: a missing or malformed field, a field this
import does not know, a reference to no object, a name defined twice, an object no SLO uses, a
Service without SLOs, a period without `--windows`) refuses the whole import, and so does an
import from which nothing can be imported; either way every problem found is reported at once.

Modules: objects.py reads the objects and resolves their references, service.py makes each
service's file, slo.py holds what both dialects' SLOs share, v1alpha.py and v1.py convert the
SLOs, queries.py reads metric sources' PromQL, ratio.py and threshold.py turn it into the SLI,
alerting.py turns AlertPolicies into alert windows.
"""

from __future__ import annotations

from generator.errors import Location, SpecIssue
from generator.importers.catalog import WrittenSli, raw_note, settle_native_slis
from generator.importers.document import OutFile
from generator.importers.openslo.objects import (
    ROUTING,
    V1ALPHA,
    Import,
    ObjectKey,
    OpenSLOOptions,
    Problem,
    object_key,
)
from generator.importers.openslo.service import convert_service, note, written_data
from generator.importers.openslo.v1 import convert_v1_slo
from generator.importers.openslo.v1alpha import convert_v1alpha_slo
from generator.importers.source import Cursor

__all__ = ["OpenSLOOptions", "convert"]

LEFT_OUT = ("~not-imported",)
"""Where a written file keeps the notes on objects left out (a path no spec key has)"""


def convert(roots: list[Cursor], options: OpenSLOOptions) -> tuple[dict[str, OutFile], list[SpecIssue]]:
    """One native file per service (SLOs of the same service merge), and the issues refusing the import.

    Converted once to find every problem; when some objects use what obsgen cannot express (and
    nothing is in error), converted again without them, and each is noted with its reasons."""
    objects = openslo_objects(roots)
    found = _converted(objects, options, left_out=set())
    if found.errors():
        return {}, _issues(found.problems)
    left_out = found.owners_refused() | _services_left_without_slos(found)
    imp = _converted(objects, options, left_out) if left_out else found
    if imp.problems:  # the objects left out took every problem with them; this is a safeguard
        return {}, _issues(found.problems + imp.problems)
    if not imp.files:
        return {}, _issues(found.problems) + _nothing_imported(roots, objects)
    _note_left_out(imp, found, objects, left_out)
    _note_files_left_out(imp, objects)
    for name, out in imp.files.items():
        _settle_window_slis(out, imp.written_slis.get(name, []))
        out.data = written_data(out)
    return imp.files, []


def _settle_window_slis(out: OutFile, slis: list[WrittenSli]) -> None:
    """The service's `{{.window}}` ratio SLIs settled (catalog.py), and one note, at the service,
    naming those kept as raw PromQL and why."""
    reasons = settle_native_slis(out, slis)
    if reasons:
        note(out, ("service",), raw_note(reasons, "as written"))


def openslo_objects(roots: list[Cursor]) -> list[Cursor]:
    """The OpenSLO objects of every document: a document that is a list (as oslo and the go-sdk
    write them) holds one object per item."""
    return [item for root in roots for item in (root.items() if isinstance(root.value, list) else [root])]


def _converted(objects: list[Cursor], options: OpenSLOOptions, left_out: set[ObjectKey]) -> Import:
    """One conversion of every object but those `left_out`; the first one also refuses unused objects."""
    imp = Import(options)
    slos: list[tuple[str, Cursor]] = []
    services: list[Cursor] = []
    for root in objects:
        if object_key(root) in left_out:
            continue
        imp.owner = object_key(root)
        kind = imp.api_and_kind(root)
        if kind is None:
            continue
        version, name = kind
        if name == "SLO":
            slos.append((version, root))
        elif name == "Service":
            services.append(root)
        elif name == "AlertNotificationTarget":
            imp.unsupported(root, ROUTING.format(what="this AlertNotificationTarget"))
        else:
            imp.register(name, root)
    for root in services:
        imp.owner = object_key(root)
        found_before = len(imp.problems)
        name = convert_service(imp, root)
        if name is not None and any(p.unsupported for p in imp.problems[found_before:]):
            imp.refused_services.add(name)
    for version, root in slos:
        imp.owner = object_key(root)
        if version == V1ALPHA:
            convert_v1alpha_slo(imp, root)
        else:
            convert_v1_slo(imp, root)
    imp.owner = None
    # An object an SLO refused above never got to use reads as unused: report those only after.
    if not left_out and not imp.errors():
        imp.refuse_unused()
        _refuse_services_without_slos(imp)
    return imp


def _refuse_services_without_slos(imp: Import) -> None:
    """A Service no SLO of the imported files belongs to would be a file without SLOs."""
    with_slos = set(imp.slo_services.values())
    for name, root in imp.services.items():
        if name not in with_slos:
            imp.owner = object_key(root)
            imp.refuse(
                root,
                f"Service {name!r} has no SLO in the imported files, so nothing would be written for "
                "it; import it together with its SLOs, or leave it out",
            )
    imp.owner = None


def _services_left_without_slos(found: Import) -> set[ObjectKey]:
    """The Services whose every SLO is refused: nothing is written for them either."""
    refused = found.owners_refused()
    imported = {name for slo, name in found.slo_services.items() if slo not in refused}
    return {object_key(root) for name, root in found.services.items() if name not in imported}


def _issues(problems: list[Problem]) -> list[SpecIssue]:
    return [problem.issue for problem in problems]


def _nothing_imported(roots: list[Cursor], objects: list[Cursor]) -> list[SpecIssue]:
    """The refusal of each file when nothing at all can be imported."""
    holding = {root.source.name for root in objects}
    return [
        SpecIssue(
            Location(name),
            "nothing in this file can be imported: each of its objects is refused, or used only by "
            "what is refused (the reasons are given with their lines)"
            if name in holding
            else "nothing in this file can be imported: it holds no OpenSLO object",
        )
        for name in dict.fromkeys(root.source.name for root in roots)
    ]


def _note_left_out(imp: Import, found: Import, objects: list[Cursor], left_out: set[ObjectKey]) -> None:
    """Each object left out, with its reasons: a note (printed with its source line) and a line in
    the header of its service's file (else of the first file written)."""
    roots = {object_key(root): root for root in objects}
    reasons: dict[ObjectKey, list[tuple[Cursor, str]]] = {owner: [] for owner in left_out}
    for problem in found.problems:
        if problem.owner is not None:
            reasons.setdefault(problem.owner, []).append((problem.where, problem.message))
    for owner, found_here in sorted(reasons.items(), key=lambda item: item[0][:2]):  # file, line
        root = roots[owner]
        if not found_here:  # a Service whose every SLO is refused
            found_here = [(root, "none of its SLOs can be imported")]
        out = imp.files.get(_service_of(found, owner, root)) or next(iter(imp.files.values()))
        what = _kind_and_name(root)
        told: set[str] = set()  # an object another SLO also used reports its problems to each
        for where, message in found_here:
            text = f"{where.location()}: {message}"
            if text not in told:
                told.add(text)
                path = (*LEFT_OUT, f"{len(out.notes):05d}")
                out.origins[path] = where
                note(out, path, f"{what} is not imported: {message}")
                out.header.append(f"Not imported: {what} ({text})")


def _note_files_left_out(imp: Import, objects: list[Cursor]) -> None:
    """A note for each file nothing is imported from (while other files are)."""
    used = [named.root for named in imp.named.values() if named.users]
    imported = {root.source.name for root in [*imp.services.values(), *used]}
    imported |= {owner[0] for owner in imp.slo_services}
    out = next(iter(imp.files.values()))
    firsts: dict[str, Cursor] = {}
    for root in objects:
        firsts.setdefault(root.source.name, root)
    for name, first in firsts.items():
        if name not in imported:
            path = (*LEFT_OUT, f"{len(out.notes):05d}")
            out.origins[path] = first
            note(
                out,
                path,
                "nothing in this file is imported: each of its objects is refused (see their notes)",
            )


def _service_of(found: Import, owner: ObjectKey, root: Cursor) -> str:
    """The service an object left out belongs to: an SLO's spec.service, a Service's name."""
    if owner in found.slo_services:
        return found.slo_services[owner]
    return next((name for name, service in found.services.items() if object_key(service) == owner), "")


def _kind_and_name(root: Cursor) -> str:
    """`SLO 'name'`, as the object calls itself; `the object` when it does not say."""
    kind = root.get("kind") if root.is_map() else None
    metadata = root.get("metadata") if root.is_map() else None
    name = metadata.get("name") if metadata is not None else None
    shown = str(kind.value) if kind is not None and isinstance(kind.value, str) else "the object"
    return f"{shown} {name.value!r}" if name is not None and isinstance(name.value, str) else shown
