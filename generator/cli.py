"""The `obsgen` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.errors import SpecError

EXIT_SPEC_ERROR = 2
EXIT_WRITE_ERROR = 3

SPEC_OPTION = click.option(
    "--spec",
    "spec_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("spec"),
    show_default=True,
    help="Directory of spec files (*.yaml, *.yml, *.jsonnet).",
)


def _fail(error: SpecError) -> None:
    for issue in error.issues:
        click.echo(f"error: {issue}", err=True)
    click.echo(f"obsgen: {len(error.issues)} problem(s) in the spec; nothing was written.", err=True)
    sys.exit(EXIT_SPEC_ERROR)


def _load(spec_dir: Path):
    from generator.pipeline import load

    try:
        return load(spec_dir)
    except SpecError as exc:
        _fail(exc)
    except OSError as exc:
        click.echo(f"error: {exc.filename or spec_dir}: {exc.strerror}", err=True)
        sys.exit(EXIT_SPEC_ERROR)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="obsgen")
def main() -> None:
    """obsgen: observability as code for Prometheus.

    Typed specs in spec/ become Prometheus recording and alerting rules, promtool unit tests
    that prove them, prometheus.yml and a JSON Schema, all under generated/.

    \b
    Exit codes:
      0  success
      1  `gen --check` found generated/ out of date (a diff is printed)
      2  the spec is invalid (each problem as file:line: field.path: message)
      3  the output could not be written (generated/ is left as it was)
    """


@main.command()
@SPEC_OPTION
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("generated"),
    show_default=True,
    help="Output directory; replaced as a whole, atomically.",
)
@click.option("--check", is_flag=True, help="Write nothing; print a diff and exit 1 if out of date.")
def gen(spec_dir: Path, out_dir: Path, check: bool) -> None:
    """Compile the spec into every generated file."""
    from generator.pipeline import render_outputs
    from generator.writer import diff_tree, with_marker, write_tree

    spec = _load(spec_dir)
    try:
        rendered = render_outputs(spec)
    except SpecError as exc:
        _fail(exc)
    for note in rendered.notes:
        click.echo(f"note: {note}", err=True)
    outputs = with_marker(rendered.outputs)
    if check:
        diff = diff_tree(out_dir, outputs)
        if diff:
            click.echo(diff, nl=False)
            click.echo(f"obsgen: {out_dir}/ is out of date; run `make gen`.", err=True)
            sys.exit(1)
        click.echo(f"obsgen: {out_dir}/ is up to date ({len(outputs)} files).")
        return
    try:
        changed = write_tree(out_dir, outputs)
    except OSError as exc:
        reason = f"{exc.strerror} ({exc.filename or out_dir})" if exc.strerror else str(exc)
        click.echo(f"error: cannot write {out_dir}/: {reason}", err=True)
        sys.exit(EXIT_WRITE_ERROR)
    state = "written" if changed else "already up to date"
    click.echo(f"obsgen: {len(outputs)} files {state} in {out_dir}/.")


@main.command()
@SPEC_OPTION
def validate(spec_dir: Path) -> None:
    """Check the spec without writing anything."""
    spec = _load(spec_dir)
    slos = sum(len(s.slos) for s in spec.services)
    click.echo(f"obsgen: spec is valid ({len(spec.services)} services, {slos} SLOs).")


@main.command()
@SPEC_OPTION
@click.argument("slo_id")
def explain(spec_dir: Path, slo_id: str) -> None:
    """Show one SLO's rules, burn-rate factors, thresholds and detection times."""
    from generator.explain import all_slo_ids, find_slo
    from generator.explain import explain as explain_slo

    spec = _load(spec_dir)
    found = find_slo(spec, slo_id)
    if found is None:
        known = ", ".join(all_slo_ids(spec)) or "none"
        click.echo(f"error: no SLO with id {slo_id!r}; known: {known}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    click.echo(explain_slo(*found), nl=False)


@main.command()
def schema() -> None:
    """Print the JSON Schema of spec files (also written to generated/schema/)."""
    from generator.render import to_json
    from generator.schema import compile_schema

    click.echo(to_json(compile_schema()), nl=False)
