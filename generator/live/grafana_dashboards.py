"""The generated dashboards as `obsgen grafana import` reads and sends them: the files of
`<out>/grafana/dashboards/`, checked, and how one is compared with what Grafana holds (all but
the `id` and `version` Grafana manages) and saved (`POST /api/dashboards/db`'s body)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.exit_codes import ExitCode
from generator.live.grafana_client import ImportFailure

MIN_UID = "lumen-min"
MANAGED_BY_GRAFANA = ("id", "version")
UID_RE = re.compile(r"[A-Za-z0-9_-]{1,40}")


@dataclass(frozen=True)
class Dashboard:
    path: Path
    model: dict[str, Any]

    @property
    def uid(self) -> str:
        return self.model["uid"]

    @property
    def title(self) -> str:
        return self.model["title"]


def dashboards_dir(out_dir: Path) -> Path:
    return out_dir / "grafana" / "dashboards"


def load_dashboard(path: Path) -> Dashboard:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFailure(ExitCode.USAGE, f"{path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise ImportFailure(ExitCode.USAGE, f"{path}: not JSON: {exc}") from None
    if not isinstance(model, dict):
        raise ImportFailure(
            ExitCode.USAGE, f"{path}: expected a dashboard object, got {type(model).__name__}"
        )
    uid, title = model.get("uid"), model.get("title")
    if not isinstance(uid, str) or not UID_RE.fullmatch(uid):
        raise ImportFailure(
            ExitCode.USAGE, f"{path}: uid: expected 1 to 40 letters, digits, '-' or '_', got {uid!r}"
        )
    if not isinstance(title, str) or not title.strip():
        raise ImportFailure(ExitCode.USAGE, f"{path}: title: expected a non-empty string, got {title!r}")
    return Dashboard(path, model)


def find_dashboards(out_dir: Path, only_uid: str | None = None) -> list[Dashboard]:
    """Every `<out_dir>/grafana/dashboards/*.json` (or only the one with uid `only_uid`)."""
    folder = dashboards_dir(out_dir)
    found = [load_dashboard(p) for p in sorted(folder.glob("*.json"))]
    seen: dict[str, Path] = {}
    for dashboard in found:
        if dashboard.uid in seen:
            raise ImportFailure(
                ExitCode.USAGE,
                f"{dashboard.path}: uid {dashboard.uid!r} is also the uid of {seen[dashboard.uid]}",
            )
        seen[dashboard.uid] = dashboard.path
    if only_uid is not None:
        found = [d for d in found if d.uid == only_uid]
    if not found:
        which = f"no dashboard with uid {only_uid!r}" if only_uid else "no dashboards (*.json)"
        raise ImportFailure(ExitCode.USAGE, f"{which} in {folder}/: run `make gen` first")
    return found


def comparable(model: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in model.items() if k not in MANAGED_BY_GRAFANA}


def content_hash(model: Mapping[str, Any]) -> str:
    canonical = json.dumps(comparable(model), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def panel_count(model: Mapping[str, Any]) -> int:
    """Panels, rows not counted, those inside collapsed rows (and legacy `rows`) counted."""

    def count(panels: Any) -> int:
        if not isinstance(panels, list):
            return 0
        return sum(
            count(p.get("panels")) if p.get("type") == "row" else 1 for p in panels if isinstance(p, dict)
        )

    rows = model.get("rows") if isinstance(model.get("rows"), list) else []
    return count(model.get("panels")) + sum(count(r.get("panels")) for r in rows if isinstance(r, dict))


def save_body(dashboard: Dashboard, folder: str) -> dict[str, Any]:
    """What `POST /api/dashboards/db` gets: ours with `id` null, so Grafana matches it by uid."""
    return {
        "dashboard": {**dashboard.model, "id": None},
        "folderUid": folder,
        "overwrite": True,
        "message": f"obsgen import {content_hash(dashboard.model)}",
    }
