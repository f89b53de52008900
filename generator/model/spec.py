"""The whole spec: settings plus every service, each remembering the file it came from."""

from __future__ import annotations

from dataclasses import dataclass

from generator.loader import SourceDoc
from generator.model.alertmanager import AlertmanagerSpec
from generator.model.service import Service
from generator.model.settings import Settings


@dataclass(frozen=True)
class RunbookTemplate:
    """The Jinja2 source of the runbook pages and where it was read from (for located errors)."""

    source: str
    origin: str


@dataclass(frozen=True)
class Spec:
    settings: Settings
    services: tuple[Service, ...]
    sources: dict[str, SourceDoc]
    """service name (or `settings`, `alertmanager`) → the document it was read from."""
    alertmanager: AlertmanagerSpec | None = None
    runbook_template: RunbookTemplate | None = None
    """The project's own templates/runbook.md.j2; None: obsgen's bundled one."""

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.service == name)

    @property
    def scraped_services(self) -> tuple[Service, ...]:
        """Services with their own scrape address: the ones the bundled runtime serves."""
        return tuple(s for s in self.services if s.scrape is not None)
