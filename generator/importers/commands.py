"""`obsgen import sloth|openslo|pyrra`: the click commands; converters load only when one runs."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from generator.exit_codes import ExitCode

if TYPE_CHECKING:
    from generator.importers.run import Converter
    from generator.importers.windows import WindowSets

FILES = click.argument(
    "files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
OUT = click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write native spec files into (one per service, plus obsgen.yaml if it has none).",
)
LABEL_NAMES = click.option(
    "--label-names",
    type=click.Choice(["obsgen", "sloth"]),
    default="obsgen",
    show_default=True,
    help="Identity labels of the SLO series: obsgen's slo_id/slo_service/slo_name/slo_window, or "
    "Sloth's sloth_id/sloth_service/sloth_slo/sloth_window so Sloth dashboards keep working.",
)
FORCE = click.option("--force", is_flag=True, help="Replace files in --out that differ from the import.")
EXTRA_LABELS = click.option(
    "-l",
    "--extra-labels",
    "extra_labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="Labels for every SLO's series and alerts, as Sloth's --extra-labels (repeatable).",
)
WINDOWS = click.option(
    "--windows",
    "windows",
    multiple=True,
    type=click.Path(path_type=Path, exists=True),
    metavar="PATH",
    help="Sloth AlertWindows spec file, or a directory of them (Sloth's --slo-period-windows-path); "
    "needed for periods other than 30d (for Sloth specs: other than 30d and 28d, whose windows "
    "Sloth ships).",
)


@click.group("import", context_settings={"help_option_names": ["-h", "--help"]})
def import_group() -> None:
    """Turn Sloth, OpenSLO or Pyrra specs into native obsgen spec files.

    \b
    The result is ready for `obsgen gen --spec DIR`. Comments and order of the source are
    kept; anything obsgen cannot express is refused with its file and line, never dropped.
    Exit codes: 0 written, 2 refused (each problem as file:line: field: reason, nothing
    written), 3 a file in --out differs and --force was not given, or writing failed.
    """


@import_group.command("sloth")
@FILES
@OUT
@EXTRA_LABELS
@click.option(
    "--default-slo-period",
    "period",
    default="30d",
    show_default=True,
    metavar="DURATION",
    help="SLO period of every SLO, as Sloth's flag of the same name.",
)
@WINDOWS
@LABEL_NAMES
@click.option(
    "--raw-queries",
    is_flag=True,
    help="Keep every SLI as raw {{.window}} PromQL (sli.query), computed exactly as Sloth computes "
    "it, instead of native ratio SLIs where the queries are sum(rate(counter[{{.window}}])).",
)
@click.option(
    "--keep-alert-names",
    is_flag=True,
    help="Keep alert names as written (e.g. myServiceAlert, marked name_as_written) instead of "
    "making them CamelCase, so routes and silences that match them still do.",
)
@FORCE
def sloth_command(
    files: tuple[Path, ...],
    out_dir: Path,
    extra_labels: tuple[str, ...],
    period: str,
    windows: tuple[Path, ...],
    label_names: str,
    raw_queries: bool,
    keep_alert_names: bool,
    force: bool,
) -> None:
    """Import Sloth specs (version: prometheus/v1, multi-document files, or Sloth's
    PrometheusServiceLevel CRD). `events` and `raw` SLIs of the standard shape,
    sum(rate(counter[{{.window}}])), become native ratio SLIs with generated promtool tests;
    the others become `sli.query` with their {{.window}} queries verbatim (a note says which
    and why). Labels, page/ticket alert labels and annotations carry over; 30d and 28d periods
    use Sloth's shipped alert windows, others need --windows.

    \b
    Example:
      obsgen import sloth slos/*.yml --out spec/ && obsgen gen
    """
    from generator.durations import parse_duration
    from generator.importers import sloth

    try:
        seconds = parse_duration(period)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--default-slo-period") from None
    options = sloth.SlothOptions(
        _labels(extra_labels),
        seconds,
        _window_sets(windows),
        label_names,
        raw_queries=raw_queries,
        keep_alert_names=keep_alert_names,
    )
    _run(list(files), out_dir, lambda roots: sloth.convert(roots, options), force)


@import_group.command("openslo")
@FILES
@OUT
@EXTRA_LABELS
@WINDOWS
@LABEL_NAMES
@click.option(
    "--raw-queries",
    is_flag=True,
    help="Keep every ratio written over {{.window}} as raw PromQL (sli.query), computed exactly as "
    "Sloth computes it, instead of native ratio SLIs where the queries are "
    "sum(rate(counter[{{.window}}])).",
)
@FORCE
def openslo_command(
    files: tuple[Path, ...],
    out_dir: Path,
    extra_labels: tuple[str, ...],
    windows: tuple[Path, ...],
    label_names: str,
    raw_queries: bool,
    force: bool,
) -> None:
    """Import OpenSLO specs: v1 (SLO, SLI, AlertPolicy, AlertCondition; ratio and threshold
    metrics; Occurrences and Timeslices budgeting) and v1alpha (as Sloth reads it, and
    ratioMetrics.incremental). A file holds documents, or one YAML list of objects. Ratios
    whose {{.window}} queries are of the standard shape, sum(rate(counter[{{.window}}])),
    become native ratio SLIs with generated promtool tests; other {{.window}} queries become
    `sli.query` verbatim (a note says which and why).

    Each SLO imports, or is left out with every reason obsgen cannot express it (a calendar
    window, a non-Prometheus source, Timeslices over a ratio, …; also in an object it uses):
    the rest is written and each object left out is a note (file:line: field: reason) and a
    line in the written file's header. An error in the input (a malformed or unknown field, a
    reference to nothing, an unused object) or nothing to import refuses it all: exit 2, every
    problem listed, nothing written.

    \b
    Example:
      obsgen import openslo openslo/*.yaml --out spec/ && obsgen gen
    """
    from generator.importers import openslo

    options = openslo.OpenSLOOptions(
        _labels(extra_labels), _window_sets(windows), label_names, raw_queries=raw_queries
    )
    _run(list(files), out_dir, lambda roots: openslo.convert(roots, options), force)


@import_group.command("pyrra")
@FILES
@OUT
@click.option(
    "--service",
    metavar="NAME",
    help="Put every SLO in service NAME. Default: each SLO's metadata.namespace is its service "
    "(one file each), `default` for an SLO without one, as kubectl would place it.",
)
@FORCE
def pyrra_command(files: tuple[Path, ...], out_dir: Path, service: str | None, force: bool) -> None:
    """Import Pyrra ServiceLevelObjectives (pyrra.dev/v1alpha1; multi-document files and
    `kubectl get -o yaml` Lists): ratio and latency indicators become events SLIs with their
    selectors verbatim, an ungrouped bool_gauge the same sample-count queries as Pyrra's, grouping
    becomes `by`, Pyrra's burn-rate windows for the SLO window become alerting.windows, and
    `pyrra.dev/` labels and annotations go on the SLO's series and alerts. An SLO's id is
    <service>-<name>. Refused: latencyNative (native histograms), a grouped bool_gauge,
    ruleOutput. Not kept (said in each file's header): the alerts' `for:` delays and Pyrra's
    SLOMetricAbsent alerts.

    \b
    Example:
      obsgen import pyrra slos/*.yaml --out spec/ && obsgen gen
    """
    from generator.importers import pyrra

    if service is not None and not re.fullmatch(r"[a-z][a-z0-9-]{0,61}[a-z0-9]", service):
        raise click.BadParameter(
            "a service name is lowercase letters, digits and dashes, starting with a letter",
            param_hint="--service",
        )
    options = pyrra.PyrraOptions(service)
    _run(list(files), out_dir, lambda roots: pyrra.convert(roots, options), force)


def _labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--extra-labels")
        labels[key] = value
    return labels


def _window_sets(paths: tuple[Path, ...]) -> WindowSets:
    from generator.errors import SpecError
    from generator.importers.windows import load_window_files

    files = [f for p in paths for f in (sorted(p.glob("*.y*ml")) if p.is_dir() else [p])]
    try:
        return load_window_files(files)
    except SpecError as exc:
        _refused(exc)


def _run(files: list[Path], out_dir: Path, convert: Converter, force: bool) -> None:
    from generator.errors import SpecError
    from generator.importers.run import import_files
    from generator.writer import WouldOverwrite, write_files

    try:
        imported = import_files(files, out_dir, convert, force)
    except SpecError as exc:
        _refused(exc)
    for note in imported.notes:
        click.echo(f"note: {note}", err=True)
    try:
        changed = write_files(out_dir, imported.files, overwrite=force)
    except WouldOverwrite as exc:
        click.echo(f"error: {exc}; pass --force to replace them. Nothing was written.", err=True)
        sys.exit(ExitCode.WRITE_FAILED)
    except OSError as exc:
        click.echo(f"error: cannot write into {out_dir}/: {exc.strerror or exc}", err=True)
        sys.exit(ExitCode.WRITE_FAILED)
    for name in imported.files:
        click.echo(f"{'wrote' if name in changed else 'unchanged'} {out_dir / name}")
    click.echo(f"obsgen: imported into {out_dir}/; next: obsgen gen --spec {out_dir}")


def _refused(error: Exception) -> NoReturn:
    for issue in getattr(error, "issues", [error]):
        click.echo(f"error: {issue}", err=True)
    click.echo("obsgen: the import was refused; nothing was written.", err=True)
    sys.exit(ExitCode.USAGE)
