"""The series an imported raw query reads, declared in its service's `metrics:` catalog.

Another job scrapes them (`external: true`), but declaring them tells `obsgen lint` and the
reader what the SLOs depend on. The type follows from use: under rate(), irate() or increase()
a counter, `<base>_bucket` (with its `_count` and `_sum`) a histogram, anything else a gauge.
"""

from __future__ import annotations

from typing import Any

from generator import promql
from generator.conventions import EVENTS_BASE_WINDOW
from generator.importers.document import OutFile
from generator.lint import promql_ast as ast
from generator.rules import query_at

COUNTING = ("rate", "irate", "increase")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
HELP = "read by an imported SLO query; another job scrapes it"


def declare_query_metrics(out: OutFile) -> None:
    """Add to `out`'s catalog every series its `sli.query` SLOs read that it does not declare."""
    queries = [
        query
        for slo in out.data.get("slos", [])
        for query in (slo.get("sli", {}).get("query") or {}).values()
        if isinstance(query, str)
    ]
    found = query_metrics(queries)
    if not found:
        return
    declared = out.data.get("metrics", [])
    known = {m["name"] for m in declared} | {
        m["name"] + suffix for m in declared if m.get("type") == "histogram" for suffix in HISTOGRAM_SUFFIXES
    }
    missing = [
        {"name": name, "type": kind, "help": HELP, "external": True}
        for name, kind in sorted(found.items())
        if name not in known
    ]
    if missing:
        out.set(("metrics",), [*declared, *missing])


def query_metrics(queries: list[str]) -> dict[str, str]:
    """Metric name → catalog type, for the selectors of raw `{{.window}}` queries."""
    used: dict[str, str] = {}
    for query in queries:
        try:
            root: Any = promql.parse(query_at(query, EVENTS_BASE_WINDOW))
        except promql.PromQLError:
            continue  # the model's validation reports it, at its line
        for selector, ancestors in ast.selectors(root):
            name = ast.name(selector)
            if name is None:
                continue
            if any(ast.function(a) in COUNTING for a in ancestors):
                used[name] = "counter"
            else:
                used.setdefault(name, "gauge")
    histograms = {n.removesuffix("_bucket") for n in used if n.endswith("_bucket")}
    catalog: dict[str, str] = {}
    for name, kind in used.items():
        base = next((name.removesuffix(s) for s in HISTOGRAM_SUFFIXES if name.endswith(s)), None)
        if base in histograms:
            catalog[base] = "histogram"
        else:
            catalog[name] = kind
    return catalog
