"""`obsgen grafana …`: the click group; the client is imported only when a command runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from generator.cli_options import generated_dir_option, session_env_option

if TYPE_CHECKING:
    from generator.live.session_env import SessionEnv


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def grafana() -> None:
    """Grafana: import the generated dashboards through its HTTP API."""


@grafana.command("import")
@click.option("--min", "only_min", is_flag=True, help="Import only the lumen-min dashboard.")
@click.option(
    "--folder",
    default="obsgen",
    show_default=True,
    metavar="NAME",
    help="Grafana folder title; its uid is the title in lower case, other characters as '-'.",
)
@generated_dir_option(
    "--dir", "The generated tree; dashboards are read from <dir>/grafana/dashboards/*.json."
)
@click.option("--dry-run", is_flag=True, help="Print what would be sent; contact nothing, need no token.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for each answer of Grafana.",
)
@session_env_option()
def import_command(
    only_min: bool, folder: str, out_dir: Path, dry_run: bool, timeout: float, session: SessionEnv | None
) -> None:
    """Create or update the generated dashboards in Grafana, in one folder.

    Creates the folder when it does not exist (GET/POST /api/folders), then per dashboard reads
    what Grafana holds (GET /api/dashboards/uid/:uid): when it equals ours but for the id and
    version Grafana manages, and sits in the folder, it is left alone ("unchanged"); otherwise it
    is saved with POST /api/dashboards/db (overwrite: true, message "obsgen import <hash>").
    Importing twice changes nothing the second time. Stops at the first failure. A 5xx answer,
    a refused connection or a timeout is tried 3 times in all (after 0.5 s, then 1 s).

    \b
    Environment:
      GRAFANA_URL    Grafana's base URL, http(s)://host[:port][/sub-path] (required)
      GRAFANA_TOKEN  a service-account token (Editor role), sent as
                     "Authorization: Bearer ..." and never printed (not needed for --dry-run)
    With --env, GRAFANA_URL comes from the session env file and the token from the file
    its GRAFANA_TOKEN_FILE names.

    \b
    Exit codes:
       0  every dashboard imported or already unchanged (or the --dry-run plan printed)
       2  usage: GRAFANA_URL missing or malformed, no dashboards found, a malformed file
      13  UNREACHABLE  no usable answer (connection, timeout, 5xx) after the retries
      20  AUTH         GRAFANA_TOKEN missing or refused (401), or lacking permission (403)
      21  PRECONDITION Grafana refused the save (412: version-mismatch, name-exists,
                       plugin-dashboard), or the folder title is taken by another folder
      22  REJECTED     Grafana rejected a request (400 or another 4xx) or redirected it
     130  interrupted (Ctrl-C)
    """
    from generator.exit_codes import ExitCode
    from generator.live.grafana import import_dashboards
    from generator.live.grafana_client import ImportFailure
    from generator.live.grafana_dashboards import MIN_UID, find_dashboards

    def warn(line: str) -> None:
        click.echo(line, err=True)

    try:
        try:
            dashboards = find_dashboards(out_dir, MIN_UID if only_min else None)
        except ImportFailure as exc:
            warn(f"error: {exc}")
            sys.exit(exc.code)
        code = import_dashboards(
            [d.path for d in dashboards],
            folder,
            dry_run,
            environ={**os.environ, **session.grafana_environ()} if session else os.environ,
            timeout=timeout,
            echo=click.echo,
            warn=warn,
        )
    except KeyboardInterrupt:
        warn("obsgen: interrupted")
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(code)
