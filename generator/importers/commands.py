"""`obsgen import sloth|openslo`: the click commands; converters load only when one runs."""

from __future__ import annotations

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
    "needed for SLO periods other than 30d.",
)


@click.group("import", context_settings={"help_option_names": ["-h", "--help"]})
def import_group() -> None:
    """Turn Sloth or OpenSLO specs into native obsgen spec files.

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
@FORCE
def sloth_command(
    files: tuple[Path, ...],
    out_dir: Path,
    extra_labels: tuple[str, ...],
    period: str,
    windows: tuple[Path, ...],
    label_names: str,
    force: bool,
) -> None:
    """Import Sloth specs (version: prometheus/v1, multi-document files, or Sloth's
    PrometheusServiceLevel CRD): `events` and `raw` SLIs become `sli.query` with their
    {{.window}} queries verbatim; labels, page/ticket alert labels and annotations carry over.

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
    options = sloth.SlothOptions(_labels(extra_labels), seconds, _window_sets(windows), label_names)
    _run(list(files), out_dir, lambda roots: sloth.convert(roots, options), force)


@import_group.command("openslo")
@FILES
@OUT
@EXTRA_LABELS
@WINDOWS
@LABEL_NAMES
@FORCE
def openslo_command(
    files: tuple[Path, ...],
    out_dir: Path,
    extra_labels: tuple[str, ...],
    windows: tuple[Path, ...],
    label_names: str,
    force: bool,
) -> None:
    """Import OpenSLO specs: v1 (SLO, SLI, AlertPolicy, AlertCondition; ratio and threshold
    metrics; Occurrences and Timeslices budgeting) and Sloth's v1alpha dialect.

    \b
    Example:
      obsgen import openslo openslo/*.yaml --out spec/ && obsgen gen
    """
    from generator.importers import openslo

    options = openslo.OpenSLOOptions(_labels(extra_labels), _window_sets(windows), label_names)
    _run(list(files), out_dir, lambda roots: openslo.convert(roots, options), force)


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
