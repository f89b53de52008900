"""`obsgen grafana import`: the generated dashboards into Grafana through its HTTP API.

The folder is made sure of first (its uid is a slug of its title), then each dashboard: one
Grafana already holds, equal to ours but for the `id` and `version` Grafana manages, and in the
same folder, is left alone, so importing twice changes nothing; any other is saved. `--dry-run`
prints the requests instead. The client and its errors are in grafana_client.py, the dashboard
files in grafana_dashboards.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from generator.exit_codes import ExitCode
from generator.live.grafana_client import RETRY_DELAYS, Echo, Grafana, ImportFailure, check_url
from generator.live.grafana_dashboards import Dashboard, comparable, load_dashboard, panel_count, save_body

DEFAULT_FOLDER = "obsgen"


def folder_uid(title: str) -> str:
    """A stable folder uid from its title: lower case, runs of other characters as one `-`."""
    uid = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].rstrip("-")
    if not uid:
        raise ImportFailure(ExitCode.USAGE, f"--folder {title!r}: a folder title needs a letter or a digit")
    return uid


# ---------------------------------------------------------------- the import


def ensure_folder(grafana: Grafana, uid: str, title: str, echo: Echo) -> None:
    found = grafana.get_folder(uid)
    if found is not None:
        name = found.get("title") if isinstance(found, dict) else None
        note = f" (titled {name!r} in Grafana)" if name and name != title else ""
        echo(f"folder {uid}: exists{note}")
        return
    answer = grafana.create_folder(uid, title)
    if answer.status == 200:
        echo(f"folder {uid}: created ({title!r})")
        return
    # 409/412: created meanwhile (a retried POST, another import), or another folder holds the title.
    if grafana.get_folder(uid) is not None:
        echo(f"folder {uid}: exists")
        return
    raise ImportFailure(
        ExitCode.PRECONDITION,
        f"Grafana at {grafana.url} refused to create folder {title!r} (uid {uid}): HTTP {answer.status}"
        f"{grafana.detail(answer)}: a folder titled {title!r} probably exists with another uid; rename or "
        "delete it in Grafana, or import into another --folder",
    )


def import_one(grafana: Grafana, dashboard: Dashboard, folder: str, echo: Echo) -> str:
    """Save one dashboard unless Grafana already holds it as it is; returns what happened."""
    label = f"dashboard {dashboard.uid} ({dashboard.title!r})"
    stored = grafana.get_dashboard(dashboard.uid)
    meta = stored.get("meta") if stored and isinstance(stored.get("meta"), dict) else {}
    if stored is not None:
        same = comparable(stored["dashboard"]) == comparable(dashboard.model)
        if same and (meta.get("folderUid") or "") == folder:
            echo(f"{label}: unchanged (version {stored['dashboard'].get('version', '?')})")
            return "unchanged"
    body = save_body(dashboard, folder)
    saved = grafana.save_dashboard(body, meta)
    if saved.get("uid") not in (None, dashboard.uid):
        # With overwrite: true Grafana saves a new dashboard over another one of the same title in
        # the folder, under that one's uid: ours would then never be found by its own uid.
        raise ImportFailure(
            ExitCode.PRECONDITION,
            f"Grafana saved {label} over dashboard uid {saved.get('uid')}, which had the same title in "
            f"folder {folder}: that dashboard now shows ours. Delete it (or rename it and restore its "
            "previous version) in Grafana, then import again",
        )
    what = "updated" if stored is not None else "created"
    echo(f"{label}: {what} (version {saved.get('version', '?')}) {saved.get('url', '')}".rstrip())
    return what


def plan(dashboards: Sequence[Dashboard], title: str, uid: str, url: str | None, echo: Echo) -> None:
    """--dry-run: the requests an import would send, and nothing is sent."""
    where = f"Grafana at {url}" if url else "Grafana (GRAFANA_URL is not set)"
    echo(f"dry run: nothing is sent to {where}")
    echo(f"folder {uid}:")
    echo(f"  GET  /api/folders/{uid}")
    echo(f"  POST /api/folders  {json.dumps({'uid': uid, 'title': title})}  (only if the GET answers 404)")
    for dashboard in dashboards:
        body = save_body(dashboard, uid)
        summary = {
            "folderUid": body["folderUid"],
            "overwrite": body["overwrite"],
            "message": body["message"],
            "dashboard": {
                "uid": dashboard.uid,
                "title": dashboard.title,
                "panels": panel_count(dashboard.model),
                "id": None,
            },
        }
        echo(f"dashboard {dashboard.uid} from {dashboard.path}:")
        echo(f"  GET  /api/dashboards/uid/{dashboard.uid}  (equal but for id and version: nothing more)")
        echo(f"  POST /api/dashboards/db  {json.dumps(summary, ensure_ascii=False)}")
    echo(
        f"obsgen: dry run: {len(dashboards)} dashboard(s) planned for folder {uid}; "
        "Grafana was not contacted."
    )


def import_dashboards(
    paths: Sequence[Path],
    folder: str = DEFAULT_FOLDER,
    dry_run: bool = False,
    *,
    environ: Mapping[str, str],
    timeout: float = 5.0,
    echo: Echo = print,
    warn: Echo = print,
    sleep: Callable[[float], None] = time.sleep,
    delays: Sequence[float] = RETRY_DELAYS,
) -> ExitCode:
    """Import the dashboard files `paths` into `folder`; returns the exit code. Progress goes to
    `echo`, retries and the final error to `warn`. Stops at the first failure."""
    try:
        dashboards = [load_dashboard(Path(p)) for p in paths]
        if not dashboards:
            raise ImportFailure(ExitCode.USAGE, "no dashboards to import")
        uid = folder_uid(folder)
        raw_url = environ.get("GRAFANA_URL", "").strip()
        if dry_run:
            plan(dashboards, folder, uid, check_url(raw_url) if raw_url else None, echo)
            return ExitCode.OK
        if not raw_url:
            raise ImportFailure(
                ExitCode.USAGE, "GRAFANA_URL is not set: export it, e.g. http://127.0.0.1:3000"
            )
        grafana = Grafana(raw_url, environ.get("GRAFANA_TOKEN"), timeout, delays, sleep, warn)
        echo(f"grafana {grafana.url}: {len(dashboards)} dashboard(s) into folder {folder!r} (uid {uid})")
        ensure_folder(grafana, uid, folder, echo)
        outcomes = [import_one(grafana, d, uid, echo) for d in dashboards]
    except ImportFailure as exc:
        warn(f"error: {exc}")
        return exc.code
    counts = {what: outcomes.count(what) for what in ("created", "updated", "unchanged")}
    if counts["unchanged"] == len(outcomes):
        echo(f"obsgen: nothing to do: {len(outcomes)} dashboard(s) already up to date in Grafana.")
    else:
        echo(
            f"obsgen: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged in folder {uid}."
        )
    return ExitCode.OK
