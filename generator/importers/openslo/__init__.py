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

Modules: objects.py reads the objects and resolves their references, service.py makes each
service's file, slo.py holds what both dialects' SLOs share, v1alpha.py and v1.py convert the
SLOs, queries.py reads metric sources' PromQL, ratio.py and threshold.py turn it into the SLI,
alerting.py turns AlertPolicies into alert windows.
"""

from __future__ import annotations

from generator.errors import SpecIssue
from generator.importers.document import OutFile
from generator.importers.openslo.objects import ROUTING, V1ALPHA, Import, OpenSLOOptions
from generator.importers.openslo.service import convert_service, written_data
from generator.importers.openslo.v1 import convert_v1_slo
from generator.importers.openslo.v1alpha import convert_v1alpha_slo
from generator.importers.source import Cursor

__all__ = ["OpenSLOOptions", "convert"]


def convert(roots: list[Cursor], options: OpenSLOOptions) -> tuple[dict[str, OutFile], list[SpecIssue]]:
    """One native file per service (SLOs of the same service merge), and the issues found."""
    imp = Import(options)
    slos: list[tuple[str, Cursor]] = []
    services: list[Cursor] = []
    for root in roots:
        kind = imp.api_and_kind(root)
        if kind is None:
            continue
        version, name = kind
        if name == "SLO":
            slos.append((version, root))
        elif name == "Service":
            services.append(root)
        elif name == "AlertNotificationTarget":
            imp.refuse(root, ROUTING.format(what="this AlertNotificationTarget"))
        else:
            imp.register(name, root)
    for root in services:
        convert_service(imp, root)
    for version, root in slos:
        if version == V1ALPHA:
            convert_v1alpha_slo(imp, root)
        else:
            convert_v1_slo(imp, root)
    # An object an SLO refused above never got to use reads as unused: report those only after.
    if not imp.issues:
        imp.issues += imp.unused_issues()
    for out in imp.files.values():
        out.data = written_data(out)
    return imp.files, imp.issues
