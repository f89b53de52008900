"""`obsgen alert | secrets`: the commands about Alertmanager, its routing and its receivers' secrets.

A SpecError they raise is printed by the `obsgen` group (obsgen/cli.py) and ends the command
with ExitCode.USAGE; nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.cli_options import Seconds, generated_dir_option, spec_dir_option, timeout_option
from generator.exit_codes import ExitCode


def _routing(spec):
    if spec.alertmanager is None:
        click.echo("error: the spec has no `alertmanager:` file, so it names no receivers", err=True)
        sys.exit(ExitCode.USAGE)
    return spec.alertmanager


@click.group()
def alert() -> None:
    """Alertmanager: check the generated routing, audit a running Alertmanager."""


@alert.command("routes-test")
@generated_dir_option(
    "--dir", "The generated tree holding alertmanager/alertmanager.yml and routing-tests.yml."
)
def routes_test(out_dir: Path) -> None:
    """Check every alert the rules can emit reaches the receivers the spec says, with amtool.

    Runs `amtool config routes test` on generated/alertmanager/alertmanager.yml for each case
    of generated/alertmanager/routing-tests.yml (which `obsgen gen` computes from the spec).
    A page must also reach one of the spec's pagers in amtool's answer, never chat only.

    \b
    Exit codes: 0 every alert routed as expected, 1 some not, 2 files or amtool missing.
    """
    from generator.amtool import AmtoolMissing, check_routes

    config, tests = out_dir / "alertmanager/alertmanager.yml", out_dir / "alertmanager/routing-tests.yml"
    for path in (config, tests):
        if not path.is_file():
            click.echo(
                f"error: {path} not found; run `obsgen gen` (the spec needs an `alertmanager:` file)",
                err=True,
            )
            sys.exit(ExitCode.USAGE)
    try:
        checks = check_routes(config, tests, click.echo)
    except AmtoolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    failed = [c for c in checks if not c.ok]
    click.echo(f"obsgen: {len(checks) - len(failed)} of {len(checks)} alerts routed as the spec says.")
    unpaged = sorted({c.labels.get("alertname", "?") for c in checks if not c.paged})
    if unpaged:
        click.echo(f"obsgen: {len(unpaged)} page alert(s) reach no pager, only chat: {', '.join(unpaged)}")
    sys.exit(ExitCode.CHECK_FAILED if failed else ExitCode.OK)


@alert.command("test")
@spec_dir_option()
@click.option(
    "--alertmanager",
    "alertmanager_url",
    metavar="URL",
    envvar="ALERTMANAGER_URL",
    show_envvar=True,
    help="Alertmanager base URL. Default: $ALERTMANAGER_URL, else the first of settings.alertmanagers.",
)
@click.option(
    "--wait",
    type=Seconds(),
    default=30.0,
    show_default=True,
    help="How long Alertmanager may take to route, inhibit and group the alerts: seconds or a duration.",
)
@timeout_option("How long to wait for each answer of Alertmanager.")
def alert_test(spec_dir: Path, alertmanager_url: str | None, wait: float, timeout: float) -> None:
    """Audit a running Alertmanager's routing once, with synthetic alerts.

    Posts (API v2) one synthetic alert per route of the spec, chosen among the alerts the rules
    can emit (the Watchdog included), the page and the ticket of one SLO, and a second instance
    of one alert; all labelled obsgen_audit="<run id>", annotated as a routing audit that is
    safe to ignore, and resolving a few minutes after --wait. They are real alerts: their
    receivers are notified after group_wait. Then reads them back until everything settled or
    --wait passed, and prints a line per alert: ok or FAIL, its labels, the receivers expected
    and those Alertmanager chose, and its inhibition (the ticket must be muted by the page) or
    grouping (both instances in one group per receiver); then a summary.

    \b
    Exit codes:
       0  every alert routed, inhibited and grouped as the spec says
       1  a mismatch
      13  UNREACHABLE  Alertmanager did not answer (connection, timeout, HTTP or API error)
       2  bad URL or invalid spec
    """
    from generator.live.alertmanager import Alertmanager, audit
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    _routing(spec)
    try:
        client = Alertmanager(alertmanager_url or f"http://{spec.settings.alertmanagers[0]}", timeout)
    except ValueError as exc:
        click.echo(f"error: --alertmanager: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    sys.exit(audit(client, spec, wait, click.echo))


@click.group("secrets")
def secrets_group() -> None:
    """Deploy-time secrets of the Alertmanager receivers."""


@secrets_group.command("write")
@spec_dir_option()
@click.option(
    "--dir",
    "secrets_dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory for one file per variable: the spec's secrets_dir where Alertmanager runs.",
)
def secrets_write(spec_dir: Path, secrets_dir: Path) -> None:
    """Write each receiver secret from the environment into DIR/<VARIABLE>, mode 0600.

    The variables are those the spec's receivers name (webhook_env, routing_key_env,
    bearer_token_env), e.g. ALERT_SLACK_WEBHOOK and ALERT_PAGERDUTY_ROUTING_KEY. Every value is
    checked before anything is written: a Slack webhook must be an https URL with a host (http
    only for 127.0.0.1, localhost or ::1), a PagerDuty routing key 32 letters and digits, a
    bearer token free of whitespace. Values are never printed. Each file is replaced atomically;
    DIR is created with mode 0700 if missing.

    \b
    Exit codes:
      0  every file written
      2  a variable is unset, empty or malformed (nothing written), or the spec is invalid
      3  a file could not be written
    """
    import os

    from generator.loader import load_spec
    from generator.secrets import check_secrets, loose_mode, write_secrets

    routing = _routing(load_spec(spec_dir))
    values, refusals = check_secrets(routing, os.environ)
    if refusals:
        for refusal in refusals:
            click.echo(f"error: {refusal}", err=True)
        click.echo(f"obsgen: {len(refusals)} secret(s) refused; nothing was written.", err=True)
        sys.exit(ExitCode.USAGE)
    if not values:
        click.echo("obsgen: the spec's receivers need no secrets; nothing to write.")
        return
    try:
        written = write_secrets(secrets_dir, values)
        mode = loose_mode(secrets_dir)
    except OSError as exc:
        reason = f"{exc.strerror} ({exc.filename or secrets_dir})" if exc.strerror else str(exc)
        click.echo(f"error: cannot write the secrets to {secrets_dir}/: {reason}", err=True)
        sys.exit(ExitCode.WRITE_FAILED)
    for path in written:
        click.echo(f"wrote {path} (mode 0600)")
    if mode is not None:
        click.echo(f"warning: {secrets_dir}/ is open to group or others (mode {mode:04o})", err=True)
    click.echo(f"obsgen: {len(written)} secret file(s) written in {secrets_dir}/.")
