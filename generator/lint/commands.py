"""`obsgen lint` (obs-lint): offline checks of Prometheus rule files against the spec."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from generator.cli_options import spec_dir_option
from generator.exit_codes import ExitCode

DEFAULT_RULES = "generated/prometheus/rules"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path())
@spec_dir_option("Spec directory: catalog types, realms, ratios, scrape intervals and heartbeats.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="text: file:line: [check-id] rule: message (fix: …); github: workflow annotations.",
)
def lint(paths: tuple[str, ...], spec_dir: Path, fmt: str) -> None:
    """Lint Prometheus rule files (obs-lint), offline, against the spec.

    PATHS are rule files or directories (their *.yml and *.yaml); `generated/` means
    generated/prometheus/rules, which is also the default. Every finding names its file,
    the line of its rule, the rule, the check id, what is wrong and a one-line fix.

    \b
    Checks:
      promql-parse          the expression is not valid PromQL
      rate-on-gauge         rate/irate/increase over a series the spec types as a gauge
      missing-realm         a series of a service with a realm selected without
                            metric_realm="<realm>" (slo:* by slo_id, canary:* by gate)
      unclamped-ratio       a recording rule reads a `ratio: true` metric without
                            clamp(…, 0, ≤1), or sums a ratio or a signal of one
      record-name           a record name that is not level:metric:operations
                            (spec contracts and heartbeat records aside)
      alert-metadata        an alert without label severity or annotations summary,
                            description, runbook_url
      absent-for-too-short  an absent()/absent_over_time()/up == 0 alert with `for`
                            shorter than two scrape intervals of its job
      duplicate-group       a group name used twice across the linted files
      duplicate-rule        the same record (same labels) or alert twice in a group
      record-comparison     a recording rule that filters with a comparison (use bool)
      unknown-series        a series nothing in the spec or the linted files declares
                            or records (up, ALERTS, scrape_* are built in)
      dropped-label         a rule matches on a label that the rule recording that
                            series aggregates away
      heartbeat-window      changes() over a heartbeat with a window
                            ≤ period + 2 × scrape interval
      heartbeat-freshness   a heartbeat age threshold
                            ≤ period + scrape interval + evaluation interval

    \b
    Exit codes:
      0  no findings
      1  findings (printed on stdout)
      2  usage, an invalid spec, or a path that is unreadable or not a rule file
    """
    from generator.errors import SpecError
    from generator.lint.engine import lint_files, render
    from generator.lint.rulefiles import LintInputError, rule_paths
    from generator.loader import load_spec

    try:
        files = rule_paths([Path(p) for p in paths or (DEFAULT_RULES,)])
        spec = load_spec(spec_dir)
        findings = lint_files(files, spec)
    except LintInputError as exc:
        _usage_error(str(exc))
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        _usage_error(f"{len(exc.issues)} problem(s) in the spec {spec_dir}/")
    except OSError as exc:
        _usage_error(f"{exc.filename or spec_dir}: {exc.strerror or exc}")
    click.echo(render(findings, fmt), nl=False)
    if findings:
        click.echo(f"obs-lint: {len(findings)} finding(s) in {len(files)} file(s).", err=True)
        raise SystemExit(ExitCode.CHECK_FAILED)
    click.echo(f"obs-lint: {len(files)} file(s), no findings.", err=True)


def _usage_error(message: str) -> NoReturn:
    click.echo(f"obs-lint: error: {message}", err=True)
    raise SystemExit(ExitCode.USAGE)
