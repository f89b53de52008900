"""Series served by exporters obs-lint does not know, declared so that unknown-series stays quiet.

A mixin reads hundreds of series of node_exporter, kube-state-metrics, cAdvisor, … that no spec
declares. `--catalog FILE` lists them; `--external-ok` takes every series as external.

Catalog file format: plain text, one metric name per line; `#` starts a comment, blank lines
are ignored, and a name ending in `*` declares every series with that prefix (`node_*`). Names
are exact series names: a histogram's `_bucket`, `_sum` and `_count` are three names (or one
prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from generator.lint.rulefiles import LintInputError

CATALOG_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?P<prefix>\*?)$")


@dataclass(frozen=True)
class ExternalSeries:
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    everything: bool = False
    """--external-ok: any series the spec and the linted files do not know is external"""

    def declares(self, name: str) -> bool:
        return self.everything or name in self.names or name.startswith(self.prefixes)

    def merged(self, other: ExternalSeries) -> ExternalSeries:
        return ExternalSeries(
            self.names | other.names, self.prefixes + other.prefixes, self.everything or other.everything
        )


STRICT = ExternalSeries()
"""the default: every series must be declared in the spec or recorded by a linted file"""


def read_catalog(path: Path) -> ExternalSeries:
    """The series a catalog file declares; raises LintInputError (file:line) for a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LintInputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise LintInputError(f"{path}: cannot read the catalog: {exc.strerror or exc}") from None
    names: set[str] = set()
    prefixes: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = CATALOG_LINE.match(line)
        if match is None:
            raise LintInputError(
                f"{path}:{number}: {line!r} is not a metric name: a catalog lists one name per line "
                "(a trailing * for a prefix), `#` comments"
            )
        if match["prefix"]:
            prefixes.append(match["name"])
        else:
            names.add(match["name"])
    return ExternalSeries(frozenset(names), tuple(prefixes))


def external_series(catalogs: list[Path], external_ok: bool) -> ExternalSeries:
    """What the command line declares: every --catalog file, and --external-ok."""
    declared = ExternalSeries(everything=external_ok)
    for path in catalogs:
        declared = declared.merged(read_catalog(path))
    return declared
