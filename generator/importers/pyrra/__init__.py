"""Pyrra's `ServiceLevelObjective` (pyrra.dev/v1alpha1) → native service files.

Read from Pyrra's own code (kubernetes/api/v1alpha1/servicelevelobjective_types.go, slo/rules.go)
and its golden rules (slo/rules_test.go); what each part becomes:

| Pyrra                                          | native spec                                         |
|------------------------------------------------|-----------------------------------------------------|
| `metadata.namespace` (none: `default`, where   | `service`, the file `<service>.yaml`; `--service`   |
| kubectl puts it)                               | puts every SLO in one service instead               |
| `metadata.name`                                | SLO `name` (its id: `<service>-<name>`)             |
| `metadata.labels` `pyrra.dev/<k>`              | SLO `labels` `<k>` (every SLO series and alert)     |
| `metadata.annotations` `pyrra.dev/<k>`         | `alerting.annotations` `<k>`                        |
| other labels and annotations (Kubernetes'),    | a note in the file; not kept                        |
| `status`, server-set metadata                  | ignored                                             |
| `spec.description`                             | `description`                                       |
| `spec.target` ("99.5", a string)               | `objective: 99.5`                                   |
| `spec.window` (y, w, d, h, m, s)               | `period` (30d, the default, left out)               |
| `indicator.ratio` errors/total                 | `sli.ratio` errors/total, the selectors verbatim    |
| `indicator.latency` success (bucket `le`)/total| `sli.latency` histogram/below (selector from total);|
|                                                | `sli.ratio` good/total when they select apart       |
| `indicator.bool_gauge` (ungrouped)             | `sli.query` errors/total: Pyrra's sample counts     |
| `grouping`                                     | `by`                                                |
| Pyrra's four burn-rate windows for the window  | `alerting.windows`: critical → page, warning →      |
|                                                | ticket; a pair that can never fire is left out      |
| `alerting.disabled: true`, `burnrates: false`  | page and ticket `disabled: true`                    |
| `alerting.name`                                | `alerting.name` (CamelCase, said when changed)      |
| `alerting.severities` fast/medium, slow/long   | page / ticket `labels.severity` (each pair alike)   |
| `alerting.absent`, `absentName`, `severities.  | no counterpart: obsgen writes no SLOMetricAbsent;   |
| absent`; the alerts' `for:`                    | said in the file's header                           |
| `performanceOverAccuracy`                      | obsgen's rules read counters over 5m already        |
| `partial_response_strategy` abort / ""         | nothing (Prometheus has no partial responses)       |

The selectors' series go into the service's `metrics` as external counters (a latency SLI's
histogram with the bucket it reads), with the `job` every selector of theirs matches, if one, as
the job that exports them. Refused, with file, line and reason: `latencyNative` (a
native histogram), a grouped `bool_gauge`, `ruleOutput`, `partial_response_strategy: warn`,
alert severities that differ within a tier, a window whose Pyrra alert windows round to 0s,
names obsgen cannot use, and any field Pyrra's ServiceLevelObjective does not have.

Modules: context.py holds the import's state and field checks, slo.py converts one object,
indicator.py its SLI, alerting.py its windows and alerting.
"""

from __future__ import annotations

from generator.errors import SpecIssue
from generator.importers.document import OutFile
from generator.importers.pyrra.context import FILE_HEADER, KIND, Import, PyrraOptions
from generator.importers.pyrra.slo import api_and_kind, convert_slo
from generator.importers.source import Cursor

__all__ = ["PyrraOptions", "convert"]


def convert(roots: list[Cursor], options: PyrraOptions) -> tuple[dict[str, OutFile], list[SpecIssue]]:
    """One native file per service (SLOs of the same namespace merge), and the issues found."""
    imp = Import(options)
    for root in roots:
        kind = api_and_kind(imp, root, lists=True)
        if kind == "List":
            items = root.get("items")
            assert items is not None
            if not isinstance(items.value, list):
                imp.refuse(items, f"expected a list of {KIND}s under `items`")
            for item in items.items():
                if api_and_kind(imp, item, lists=False) is not None:
                    convert_slo(imp, item)
        elif kind is not None:
            convert_slo(imp, root)
    if roots and not imp.files and not imp.issues:
        imp.refuse(roots[0], f"no {KIND} to import in these files")
    for out in imp.files.values():
        imp.declare_jobs(out)
        out.header += FILE_HEADER
    return imp.files, imp.issues
