"""One Pyrra import's state: the service files written so far, the issues found, and field checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from generator.errors import SpecIssue
from generator.importers.document import OutFile
from generator.importers.source import Cursor, document_header

API_VERSION = "pyrra.dev/v1alpha1"
KIND = "ServiceLevelObjective"
DEFAULT_NAMESPACE = "default"
"""Where `kubectl apply` puts an object without a namespace, and so the service of such an SLO"""
SLUG = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
FILE_HEADER = [
    "Pyrra's burn-rate windows and factors are kept (alerting.windows); Pyrra's `for:` delay on",
    "each alert and its SLOMetricAbsent alerts have no obsgen counterpart and are not generated.",
]


@dataclass(frozen=True)
class PyrraOptions:
    service: str | None = None
    """`--service`: the service of every SLO, instead of each SLO's namespace"""


@dataclass
class Import:
    """One conversion: its options, the service files so far and the issues found."""

    options: PyrraOptions
    files: dict[str, OutFile] = field(default_factory=dict)
    """service name → its native file"""
    issues: list[SpecIssue] = field(default_factory=list)
    jobs: dict[tuple[str, str], set[str | None]] = field(default_factory=dict)
    """(file, metric) → the `job` each selector reading it matches: its value for job="x", None
    for no job matcher, "" for any other"""

    def refuse(self, where: Cursor, message: str) -> None:
        self.issues.append(where.issue(message))

    def check_keys(self, node: Cursor, known: tuple[str, ...], ignored: tuple[str, ...] = ()) -> None:
        """Refuse the fields of `node` that are neither `known` nor `ignored`."""
        for key in node.fields():
            if key not in known and key not in ignored:
                child = node.get(key)
                assert child is not None
                self.refuse(
                    child,
                    f"unknown field {key!r}: Pyrra's ServiceLevelObjective has no such field here "
                    f"(expected one of {', '.join(known)})",
                )

    def mapping(self, parent: Cursor, key: str) -> Cursor | None:
        """`parent[key]` when it is a mapping; refused when it is not, or is missing."""
        child = parent.get(key)
        if child is None:
            self.refuse(parent, f"`{key}` is required")
            return None
        if not child.is_map():
            self.refuse(child, f"expected a mapping under `{key}`")
            return None
        return child

    def text(self, parent: Cursor, key: str, what: str) -> Cursor | None:
        """`parent[key]` when it is non-empty text; refused otherwise."""
        child = parent.get(key)
        if child is None or not isinstance(child.value, str) or not child.value.strip():
            problem = "is required" if child is None or not child.text() else "must be text"
            self.refuse(child or parent, f"`{key}` {problem}: {what}")
            return None
        return child

    def slug(self, node: Cursor, what: str, hint: str = "") -> str | None:
        """The text of `node` when it is an obsgen name (a lowercase slug); refused otherwise."""
        text = node.text() or ""
        if SLUG.match(text) and len(text) <= 63:
            return text
        suggestion = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        if not SLUG.match(suggestion):
            suggestion = f"slo-{suggestion}".strip("-") if suggestion[:1].isdigit() else f"{suggestion}-slo"
        self.refuse(
            node,
            f"{what} {text!r}: obsgen names are lowercase letters, digits and dashes (at most 63), "
            f"starting with a letter; rename it (e.g. {suggestion!r}){hint}",
        )
        return None

    def service_file(self, service: str, origin: Cursor | None, root: Cursor) -> OutFile:
        """The file of `service` (made on first use), its header naming the sources it came from.

        A document's comments directly above its first key go above its SLO (the SLO's origin is
        the document); those set apart by a blank line open the file, as a file's header does."""
        out = self.files.get(service)
        if out is None:
            out = self.files[service] = OutFile(f"{service}.yaml")
            out.set(("service",), service, origin)
            out.set(("slos",), [])
        above = root.source.comments_above(root.line)
        header = document_header(root)
        lines = [f"Imported from {root.source.name} by `obsgen import pyrra`."]
        lines += header[: len(header) - len(above)] if above else header
        out.header += [line for line in lines if line not in out.header]
        return out

    def add_metric(
        self, out: OutFile, name: str, kind: str, read: tuple[Cursor, str | None], bucket: float | None = None
    ) -> None:
        """`name` in the file's catalog as an external `kind` (a histogram with `bucket` among its
        bounds), read at `read[0]` by a selector matching job `read[1]`; refused when another SLO
        reads it as another kind."""
        origin, job = read
        self.jobs.setdefault((out.name, name), set()).add(job)
        metrics: list[dict[str, Any]] = out.data.setdefault("metrics", [])
        existing = next((m for m in metrics if m["name"] == name), None)
        if existing is None:
            existing = {
                "name": name,
                "type": kind,
                "help": f"read by a Pyrra SLO ({PurePath(origin.source.name).name}); another job scrapes it",
                "external": True,
            }
            out.set(("metrics", len(metrics)), existing, origin)
        elif existing["type"] != kind:
            self.refuse(
                origin, f"metric {name!r} is read as a {kind} here and as a {existing['type']} elsewhere"
            )
            return
        if bucket is not None:
            existing["buckets"] = sorted(
                {*existing.get("buckets", []), int(bucket) if bucket.is_integer() else bucket}
            )

    def declare_jobs(self, out: OutFile) -> None:
        """`job` on each catalog metric every selector reads from one job="…": the job exporting
        it, so the generated tests feed its series from that job (obsgen scopes an external
        metric's series by the job its catalog entry names)."""
        for metric in out.data.get("metrics", []):
            jobs = self.jobs.get((out.name, metric["name"]), set())
            job = next(iter(jobs)) if len(jobs) == 1 else None
            if job and SLUG.match(job) and len(job) <= 63:
                metric["job"] = job
