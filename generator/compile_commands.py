"""`obsgen gen | validate | explain | schema | init`: the commands that compile or check the spec.

A SpecError they raise is printed by the `obsgen` group (obsgen/cli.py) and ends the command
with ExitCode.USAGE; nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from generator.cli_options import generated_dir_option, spec_dir_option
from generator.exit_codes import ExitCode

if TYPE_CHECKING:
    from generator.model import Spec


def fewer_collections() -> None:
    """Compiling allocates millions of small objects that are not garbage cycles: at Python's
    default threshold (700) the cyclic collector runs thousands of times for nothing, about a
    fifth of a 1,000-SLO `gen`. Reference counting still frees them; cycles are collected later."""
    import gc

    gc.set_threshold(100_000, 50, 100)


PARALLEL_FROM_SLOS = 100
"""Below this many SLOs a generation takes a few tenths of a second and forking would not pay."""
MAX_JOBS = 8


def jobs_for(spec: Spec, jobs: int | None) -> int:
    """--jobs when given, else one process per usable core for a spec of PARALLEL_FROM_SLOS or more."""
    from generator.forked import usable_cpus

    if jobs is not None:
        return jobs
    slos = sum(len(service.slos) for service in spec.services)
    return min(usable_cpus(), MAX_JOBS) if slos >= PARALLEL_FROM_SLOS else 1


@click.command()
@spec_dir_option()
@generated_dir_option("--out", "Output directory; replaced as a whole, atomically.")
@click.option("--check", is_flag=True, help="Write nothing; print a diff and exit 1 if out of date.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help=f"Processes that design and render the services (default: one per core from "
    f"{PARALLEL_FROM_SLOS} SLOs, else 1). The files are the same for any number.",
)
def gen(spec_dir: Path, out_dir: Path, check: bool, jobs: int | None) -> None:
    """Compile the spec into every generated file."""
    fewer_collections()
    from generator.loader import load_spec
    from generator.pipeline import render_outputs
    from generator.writer import diff_tree, with_marker, write_tree

    spec = load_spec(spec_dir, scenarios=False)
    rendered = render_outputs(spec, jobs_for(spec, jobs))
    for note in rendered.notes:
        click.echo(f"note: {note}", err=True)
    outputs = with_marker(rendered.outputs)
    if check:
        diff = diff_tree(out_dir, outputs)
        if diff:
            click.echo(diff, nl=False)
            click.echo(f"obsgen: {out_dir}/ is out of date; run `make gen`.", err=True)
            exit_now(ExitCode.CHECK_FAILED)
        click.echo(f"obsgen: {out_dir}/ is up to date ({len(outputs)} files).")
        exit_now(ExitCode.OK)
    try:
        changed = write_tree(out_dir, outputs)
    except OSError as exc:
        reason = f"{exc.strerror} ({exc.filename or out_dir})" if exc.strerror else str(exc)
        click.echo(f"error: cannot write {out_dir}/: {reason}", err=True)
        exit_now(ExitCode.WRITE_FAILED)
    state = "written" if changed else "already up to date"
    click.echo(f"obsgen: {len(outputs)} files {state} in {out_dir}/.")
    exit_now(ExitCode.OK)


def exit_now(code: ExitCode) -> NoReturn:
    """End the process here, output flushed, without freeing its objects one by one: after a
    1,000-SLO generation that alone takes half a second to a second."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


@click.command()
@spec_dir_option()
def validate(spec_dir: Path) -> None:
    """Check the spec without writing anything."""
    fewer_collections()
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    slos = sum(len(s.slos) for s in spec.services)
    click.echo(f"obsgen: spec is valid ({len(spec.services)} services, {slos} SLOs).")


@click.command()
@spec_dir_option()
@click.argument("slo_id")
def explain(spec_dir: Path, slo_id: str) -> None:
    """Show one SLO's rules, burn-rate factors, thresholds and detection times."""
    from generator.errors import unknown
    from generator.explain import all_slo_ids, find_slo
    from generator.explain import explain as explain_slo
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    found = find_slo(spec, slo_id)
    if found is None:
        click.echo(f"error: {unknown(f'no SLO with id {slo_id!r}', slo_id, all_slo_ids(spec))}", err=True)
        sys.exit(ExitCode.USAGE)
    click.echo(explain_slo(*found), nl=False)


@click.command()
def schema() -> None:
    """Print the JSON Schema of spec files (also written to generated/schema/)."""
    from generator.render import to_json
    from generator.schema import compile_schema

    click.echo(to_json(compile_schema()), nl=False)


def _service_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from generator.scaffold import service_name_problem

    problem = service_name_problem(value)
    if problem is not None:
        raise click.BadParameter(problem)
    return value


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--service",
    default="api",
    show_default=True,
    metavar="NAME",
    callback=_service_name,
    help="Name of the example service: its spec file, scrape job, SLO ids and alert names.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Write into a DIRECTORY that is not empty: files of the same names are replaced "
    "(each listed as such), all others left alone.",
)
def init(directory: Path, service: str, force: bool) -> None:
    """Write a new project into DIRECTORY, ready for `obsgen gen`.

    \b
    DIRECTORY/
      spec/obsgen.yaml        settings (evaluation interval, Alertmanager, runbook links)
      spec/<NAME>.yaml        an HTTP API: http_requests_total{code,handler} and the
                              histogram http_request_duration_seconds, an availability SLO
                              (code=~"5.." are errors) and a latency SLO (below 300ms)
      spec/alertmanager.yaml  a pager, a chat channel, a dead-man's switch; secrets as files
      Makefile                `make gen` (obsgen gen), `make test` (promtool, amtool,
                              the generated tests; needs obsgen, promtool, amtool on PATH)
      README.md, .gitignore
    \b
    Then, in DIRECTORY: edit the specs, `obsgen gen`, `make test`. The spec files are
    commented; the generated promtool tests pass on them unchanged. Without --force,
    DIRECTORY must be absent or empty, and a new project appears whole or not at all.

    \b
    Exit codes: 0 written; 2 DIRECTORY not empty (without --force) or a bad --service,
    nothing written; 3 a file could not be written.
    """
    from generator.scaffold import render_project, report
    from generator.writer import NotEmpty, create_tree, write_files

    project = render_project(service)
    occupied = directory.is_dir() and any(directory.iterdir())
    if occupied and not force:
        click.echo(
            f"error: {directory}/ is not empty; init writes into a new or empty directory. "
            "Pass --force to write into it anyway (files of the same names are replaced). "
            "Nothing was written.",
            err=True,
        )
        sys.exit(ExitCode.USAGE)
    try:
        if occupied:
            present = {name for name in project if (directory / name).exists()}
            changed = set(write_files(directory, project, overwrite=True))
        else:
            present, changed = set(), set(project)
            create_tree(directory, project)
    except NotEmpty as exc:
        click.echo(f"error: {exc}; nothing was written.", err=True)
        sys.exit(ExitCode.USAGE)
    except OSError as exc:
        reason = f"{exc.strerror} ({exc.filename or directory})" if exc.strerror else str(exc)
        click.echo(f"error: cannot write {directory}/: {reason}", err=True)
        sys.exit(ExitCode.WRITE_FAILED)
    status = {
        name: "unchanged" if name not in changed else "replaced" if name in present else "wrote"
        for name in project
    }
    for line in report(str(directory), service, status):
        click.echo(line)
