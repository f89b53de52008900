"""The series an imported SLO reads, declared in its service's `metrics:` catalog.

Another job scrapes them (`external: true`), but declaring them tells `obsgen lint` and the
reader what the SLOs depend on, and a native `ratio` SLI must name catalog counters. The type
follows from use: under rate(), irate() or increase() (and every `ratio` selector) a counter,
`<base>_bucket` (with its `_count` and `_sum`) a histogram, anything else a gauge. When every
`ratio` selector of a metric matches one `job="X"`, the metric declares `job: X`: the job the
generated tests give its series.

Both importers write their SLIs as `WrittenSli`: native `ratio` where native_query.py recognises
the queries, else raw `sli.query`. Once a service file holds every SLO, `settle_native_slis`
puts back to raw PromQL each native SLI whose generated tests could not feed its selectors (the
job its series get, from this catalog, or an `instance` matcher), and says why each raw SLI is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from generator import promql
from generator.conventions import EVENTS_BASE_WINDOW
from generator.importers.document import OutFile
from generator.importers.source import Cursor, PathKey
from generator.lint import promql_ast as ast
from generator.model.selectors import Matcher, parse_selector
from generator.rules import query_at

if TYPE_CHECKING:
    from generator.importers.native_query import NativeRatio

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
    known = _declared(out.data)
    missing = [
        {"name": name, "type": kind, "help": HELP, "external": True, **_job(jobs.get(name))}
        for name, kind in sorted(found.items())
        if name not in known
    ]
    if missing:
        out.set(("metrics",), [*out.data.get("metrics", []), *missing])


def series_jobs(data: dict[str, Any]) -> dict[str, str]:
    """Series name → the `job` its catalog metric names, for the series a native service file's
    `ratio` selectors read: a declared metric's own, else the one declare_query_metrics will give
    it. A series without one is given the service's job by the generated tests."""
    queries, selectors = _reads(data)
    histograms = _histograms({**_used_by_queries(queries), **_used_by_selectors(selectors)})
    jobs = ratio_jobs(selectors, histograms)
    declared = _declared(data)
    found: dict[str, str | None] = {}
    for name, _ in _parsed_selectors(selectors):
        entry = declared.get(name)
        found[name] = entry.get("job") if entry is not None else jobs.get(_folded(name, histograms))
    return {name: job for name, job in found.items() if job is not None}


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


def target_problem(ratio: NativeRatio, jobs: dict[str, str], service: str) -> str | None:
    """Why the generated tests could not feed a native SLI's selectors, or None. The test series
    carry one job per metric (`jobs`, from series_jobs; else the service's name) and obsgen's
    instances."""
    for selector in ratio.selectors():
        name, matchers = parse_selector(selector)
        job = jobs.get(name or "", service)
        equal = [m.value for m in matchers if m.label == "job" and m.op == "="]
        if any(m.label == "instance" for m in matchers):
            return f"{selector} matches `instance`, which the generated tests cannot give its series"
        if equal and not CATALOG_JOB.match(equal[0]):
            return (
                f"{selector} matches job {equal[0]!r}, which a catalog metric cannot name as its job "
                "(lowercase letters, digits and dashes)"
            )
        if not all(m.selects(job) for m in matchers if m.label == "job"):
            return (
                f"{selector} matches a `job` the generated tests cannot give its series: they carry one "
                f'job per catalog metric, and {name} is read from other jobs too (or not by job="…")'
            )
    return None


@dataclass(frozen=True)
class RawQueries:
    """The `sli.query` an SLI is written as while it stays raw PromQL."""

    fields: dict[str, tuple[str, Cursor]]
    """each `sli.query` field: its text, and the source query it comes from"""
    mark: Cursor | None = None
    """the source of `query:` itself (its comments go above it)"""


@dataclass
class WrittenSli:
    """An SLI as an import wrote it: native (`ratio`), or raw PromQL and then `reason` says why
    (None when the import was asked to keep it raw)."""

    slo: str
    at: PathKey
    """the SLO's `sli`"""
    source: Cursor
    """the source SLI (Sloth's events or raw, OpenSLO's ratio): where `sli.ratio` and `by` come from"""
    queries: dict[str, Cursor]
    """the source query of each native part (errors, good, total); the first stands in for a part
    written from none of them (good of `total − good`, the parts of an error ratio)"""
    raw: RawQueries
    ratio: NativeRatio | None
    reason: str | None = None

    def write(self, out: OutFile) -> None:
        """`sli.ratio` (and the SLO's `by`), else `sli.query`; each value remembers its source."""
        if self.ratio is None:
            if self.raw.mark is not None:
                out.mark((*self.at, "query"), self.raw.mark)
            for field, (text, origin) in self.raw.fields.items():
                out.set((*self.at, "query", field), text, origin)
            return
        out.mark((*self.at, "ratio"), self.source)
        first = next(iter(self.queries.values()))
        for part, selector in self.ratio.sli().items():
            out.set((*self.at, "ratio", part), selector, self.queries.get(part, first))
        if self.ratio.by:
            out.set((*self.at[:-1], "by"), list(self.ratio.by), self.source)

    def back_to_raw(self, out: OutFile, reason: str) -> None:
        """Undo the native SLI: `sli.query` in its place, no `by`."""
        slo = out.data["slos"][self.at[-2]]
        slo["sli"].clear()
        slo.pop("by", None)
        self.ratio, self.reason = None, reason
        self.write(out)


def settle_native_slis(out: OutFile, slis: list[WrittenSli]) -> list[str]:
    """Put each native SLI of the service file `out` whose generated tests could not feed its
    selectors (target_problem) back to raw PromQL; then why each raw SLI is raw, `[slo] reason`."""
    jobs = series_jobs(out.data)
    for written in slis:
        problem = written.ratio and target_problem(written.ratio, jobs, out.data["service"])
        if problem:
            written.back_to_raw(out, problem)
    return [f"[{written.slo}] {written.reason}" for written in slis if written.reason]


def raw_note(reasons: list[str], read: str) -> str:
    """The one note of a service whose SLIs stay raw (`reasons` from settle_native_slis); `read`:
    how the raw queries are read over each window, e.g. `as Sloth reads it`."""
    return (
        f"kept as raw PromQL (sli.query), read over each window {read}, so `obsgen gen` writes no "
        f"promtool tests for it: {' '.join(reasons)}"
    )


def _declared(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Series name → the catalog entry a service file declares it with (a histogram's parts too)."""
    declared = data.get("metrics") or []
    histograms = [m for m in declared if m.get("type") == "histogram"]
    parts = {m["name"] + suffix: m for m in histograms for suffix in HISTOGRAM_SUFFIXES}
    return {**parts, **{m["name"]: m for m in declared}}


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
