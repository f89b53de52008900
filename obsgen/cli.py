"""The `obsgen` command line: the generator's commands and the runtime's, in one group.

The commands raise SpecError for a spec that cannot be loaded (generator.loader.load_spec) and
end with a generator.exit_codes.ExitCode; this group prints a SpecError, whichever command
raised it, and exits with ExitCode.USAGE. Commands import what they need only when they run,
so `obsgen --help` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from generator.cli import COMMANDS as GENERATOR_COMMANDS
from generator.errors import SpecError
from generator.exit_codes import ExitCode
from runtime.cli import autotune, bench, down, run, scenario, up
from runtime.dr_commands import dr
from runtime.session_commands import component, restore, smoke

RUNTIME_COMMANDS: tuple[click.Command, ...] = (
    run,
    up,
    down,
    scenario,
    dr,
    bench,
    autotune,
    restore,
    component,
    smoke,
)
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def package_version() -> str:
    """The installed package's version; in a source tree without metadata, pyproject.toml's."""
    import tomllib  # here, not at the top: only --version needs them (30 ms of every command)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("obsgen")
    except PackageNotFoundError:
        pass
    try:
        return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, tomllib.TOMLDecodeError, KeyError):
        return "unknown"


def print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """--version: `obsgen <version>`, read only when asked (so --help stays fast)."""
    if value and not ctx.resilient_parsing:
        click.echo(f"obsgen {package_version()}")
        ctx.exit(0)


class ObsgenGroup(click.Group):
    """The root group: a SpecError from any command is printed and ends it with ExitCode.USAGE,
    and a Ctrl-C with ExitCode.INTERRUPTED (click alone would exit 1, CHECK_FAILED's code)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SpecError as exc:
            for issue in exc.issues:
                click.echo(f"error: {issue}", err=True)
            click.echo(f"obsgen: {len(exc.issues)} problem(s) in the spec; nothing was written.", err=True)
            ctx.exit(ExitCode.USAGE)
        except KeyboardInterrupt:
            click.echo("obsgen: interrupted", err=True)
            ctx.exit(ExitCode.INTERRUPTED)


@click.group(cls=ObsgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=print_version,
    help="Print `obsgen <version>` and exit.",
)
def main() -> None:
    """obsgen: observability as code for Prometheus.

    Typed specs in spec/ become Prometheus recording and alerting rules, promtool unit tests
    that prove them, prometheus.yml and a JSON Schema, all under generated/.

    \b
    Exit codes, each with one meaning for every command (a command's --help lists its own):
      0  success (a gate: GO)
      1  what the command checks is not so: `gen --check` found generated/ out of date
         (a diff is printed), lint findings, a target down, a routing mismatch, an
         error-budget policy broken, a reload's local check failed, a DR rehearsal failed
      2  the spec is invalid (each problem as file:line: field.path: message), or another
         bad option or input; refused before anything changed
      3  the output could not be written (what was on disk is left as it was)
      4  Prometheus refused or failed a reload, or the reload could not be verified
     10  HOLD         a gate may not be promoted yet
     11  ROLLBACK     a gate calls for a rollback
     12  NO DATA      a series the command needs is missing (not scraped, or its rules not loaded)
     13  UNREACHABLE  Prometheus, Alertmanager, Grafana or the runtime did not answer
     14  PORT IN USE  a port the runtime or the sandbox must listen on is taken
     20  AUTH         GRAFANA_TOKEN missing or refused (401), or lacking permission (403)
     21  PRECONDITION Grafana refused the save (412), or the folder title is taken
     22  REJECTED     Grafana rejected a request (400, another 4xx) or redirected it
    130  interrupted (Ctrl-C)
    """


for command in (*GENERATOR_COMMANDS, *RUNTIME_COMMANDS):
    main.add_command(command)
