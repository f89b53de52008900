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
@click.option(
    "--external-ok",
    is_flag=True,
    help="Take every series that neither the spec nor the linted files know as served by another "
    "exporter: no unknown-series findings (for mixins).",
)
@click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Series other exporters serve, not unknown-series: plain text, one metric name a line, "
    "`name*` for a prefix, `#` comments. Repeatable.",
)
def lint(
    paths: tuple[str, ...], spec_dir: Path, fmt: str, external_ok: bool, catalogs: tuple[Path, ...]
) -> None:
    """Lint Prometheus rule files (obs-lint), offline, against the spec.

    PATHS are rule files, PrometheusRule manifests (monitoring.coreos.com/v1, spec.groups; one
    file may hold several YAML documents) or directories, walked recursively for *.yml and
    *.yaml; a YAML file found there that holds no rules is skipped with a note. `generated/`
    (any obsgen output directory) means its prometheus/rules, which is also the default.
    Every finding names its file, the line of its rule, the rule, the check id, what is
    wrong and a one-line fix.

    Series from exporters the spec does not declare (a mixin's node_*, kube_*, …) are
    unknown-series unless declared with --catalog FILE or waved through with --external-ok.

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
      duplicate-group       a group name used twice in one rule file or one
                            PrometheusRule (across files it is fine)
      duplicate-rule        two rules of one rule file that write the same series:
                            same record or alert name and labels, and selectors
                            that can match the same series (job="a" vs job="b",
                            code=~"2.." vs code=~"3.." cannot)
      record-comparison     a recording rule that filters with a comparison (use bool)
      unknown-series        a series nothing in the spec, the linted files or a
                            --catalog declares or records (up, ALERTS, scrape_*
                            are built in)
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
      2  usage, an invalid spec or catalog, a path that is unreadable, a broken
         rule file, a named file that is not a rule file, or no rule file at all
    """
    from generator.errors import SpecError
    from generator.lint.engine import lint_groups, render
    from generator.lint.external import external_series
    from generator.lint.rulefiles import LintInputError, read_rules
    from generator.loader import load_spec

    targets = [Path(p) for p in paths or (DEFAULT_RULES,)]
    try:
        external = external_series(list(catalogs), external_ok)
        rules = read_rules(targets)
        _print_notes(rules.notes)
        if not rules.files:
            _usage_error(f"no rule files in {', '.join(map(str, targets))}")
        spec = load_spec(spec_dir)
        findings = lint_groups(rules.groups, spec, external)
    except LintInputError as exc:
        _usage_error(str(exc))
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        _usage_error(f"{len(exc.issues)} problem(s) in the spec {spec_dir}/")
    except OSError as exc:
        _usage_error(f"{exc.filename or spec_dir}: {exc.strerror or exc}")
    click.echo(render(findings, fmt), nl=False)
    files = len(rules.files)
    if findings:
        click.echo(f"obs-lint: {len(findings)} finding(s) in {files} file(s).", err=True)
        raise SystemExit(ExitCode.CHECK_FAILED)
    click.echo(f"obs-lint: {files} file(s), no findings.", err=True)


def _print_notes(notes: tuple[str, ...]) -> None:
    for note in notes:
        click.echo(f"obs-lint: note: {note}", err=True)


def _usage_error(message: str) -> NoReturn:
    click.echo(f"obs-lint: error: {message}", err=True)
    raise SystemExit(ExitCode.USAGE)
