"""The series an imported SLO reads, declared in its service's `metrics:` catalog.

Another job scrapes them (`external: true`), but declaring them tells `obsgen lint` and the
reader what the SLOs depend on, and a native `ratio` SLI must name catalog counters. The type
follows from use: under rate(), irate() or increase() (and every `ratio` selector) a counter,
`<base>_bucket` (with its `_count` and `_sum`) a histogram, anything else a gauge. When every
`ratio` selector of a metric matches one `job="X"`, the metric declares `job: X`: the job the
generated tests give its series.
"""

from __future__ import annotations

import re
from typing import Any

from generator import promql
from generator.conventions import EVENTS_BASE_WINDOW
from generator.importers.document import OutFile
from generator.lint import promql_ast as ast
from generator.model.selectors import Matcher, parse_selector
from generator.rules import query_at

COUNTING = ("rate", "irate", "increase")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")
HELP = "read by an imported SLO query; another job scrapes it"
CATALOG_JOB = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
"""what a catalog `job` must be (model.common.Slug)"""


def declare_query_metrics(out: OutFile) -> None:
    """Add to `out`'s catalog every series its `sli.query` and `sli.ratio` SLOs read that it does
    not declare."""
    queries, selectors = _reads(out.data)
    used = {**_used_by_queries(queries), **_used_by_selectors(selectors)}
    found = _catalog(used)
    if not found:
        return
    jobs = ratio_jobs(selectors, _histograms(used))
    declared = out.data.get("metrics", [])
    known = {m["name"] for m in declared} | {
        m["name"] + suffix for m in declared if m.get("type") == "histogram" for suffix in HISTOGRAM_SUFFIXES
    }
    missing = [
        {"name": name, "type": kind, "help": HELP, "external": True, **_job(jobs.get(name))}
        for name, kind in sorted(found.items())
        if name not in known
    ]
    if missing:
        out.set(("metrics",), [*declared, *missing])


def series_jobs(data: dict[str, Any]) -> dict[str, str]:
    """Series name → the `job` declare_query_metrics will give its metric, for the series a native
    service file's `ratio` selectors read."""
    queries, selectors = _reads(data)
    histograms = _histograms({**_used_by_queries(queries), **_used_by_selectors(selectors)})
    jobs = ratio_jobs(selectors, histograms)
    names = {name for name, _ in _parsed_selectors(selectors)}
    return {name: jobs[_folded(name, histograms)] for name in names if _folded(name, histograms) in jobs}


def query_metrics(queries: list[str]) -> dict[str, str]:
    """Metric name → catalog type, for the selectors of raw `{{.window}}` queries."""
    return _catalog(_used_by_queries(queries))


def selector_metrics(selectors: list[str]) -> dict[str, str]:
    """Metric name → catalog type, for the counters of native `ratio` selectors."""
    return _catalog(_used_by_selectors(selectors))


def ratio_jobs(selectors: list[str], histograms: set[str]) -> dict[str, str]:
    """Catalog metric → X when every `ratio` selector of it matches `job="X"` (a slug, as `job:`
    must be); `histograms` are the histograms whose parts fold into them."""
    jobs: dict[str, set[str | None]] = {}
    for name, matchers in _parsed_selectors(selectors):
        equal = [m.value for m in matchers if m.label == "job" and m.op == "="]
        jobs.setdefault(_folded(name, histograms), set()).add(equal[0] if len(equal) == 1 else None)
    agreed = {metric: found.pop() for metric, found in jobs.items() if len(found) == 1}
    return {metric: job for metric, job in agreed.items() if job is not None and CATALOG_JOB.match(job)}


def _job(job: str | None) -> dict[str, str]:
    return {"job": job} if job is not None else {}


def _reads(data: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The raw queries and the ratio selectors of a native service file's SLOs."""
    slis = [slo.get("sli", {}) for slo in data.get("slos", [])]
    queries = [q for sli in slis for q in (sli.get("query") or {}).values() if isinstance(q, str)]
    selectors = [s for sli in slis for s in (sli.get("ratio") or {}).values() if isinstance(s, str)]
    return queries, selectors


def _parsed_selectors(selectors: list[str]) -> list[tuple[str, tuple[Matcher, ...]]]:
    parsed = []
    for selector in selectors:
        try:
            name, matchers = parse_selector(selector)
        except ValueError:
            continue  # the model's validation reports it, at its line
        if name is not None:
            parsed.append((name, matchers))
    return parsed


def _used_by_selectors(selectors: list[str]) -> dict[str, str]:
    return {name: "counter" for name, _ in _parsed_selectors(selectors)}


def _used_by_queries(queries: list[str]) -> dict[str, str]:
    """Series name → counter (read by a counting function somewhere) or gauge."""
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
    return used


def _catalog(used: dict[str, str]) -> dict[str, str]:
    """Catalog entries: the parts of a histogram (a `_bucket` is read) folded into it."""
    histograms = _histograms(used)
    catalog: dict[str, str] = {}
    for name, kind in used.items():
        folded = _folded(name, histograms)
        catalog[folded] = "histogram" if folded != name else kind
    return catalog


def _histograms(used: dict[str, str]) -> set[str]:
    """The histograms among the series read: those whose `_bucket` is read."""
    return {name.removesuffix("_bucket") for name in used if name.endswith("_bucket")}


def _folded(name: str, histograms: set[str]) -> str:
    """The catalog name of a series: its histogram's for `_bucket`, `_count`, `_sum` of one."""
    base = next((name.removesuffix(s) for s in HISTOGRAM_SUFFIXES if name.endswith(s)), None)
    return base if base in histograms else name
