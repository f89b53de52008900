"""Click options and parameter types several command modules share; no heavy imports (`obsgen --help`
loads this)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

SPEC_HELP = "Directory of spec files (*.yaml, *.yml, *.jsonnet)."


def generated_dir_option(flag: str, help: str) -> Callable[[Any], Any]:
    """`--out`/`--dir`: the generated tree (default `generated/`), passed as `out_dir`."""
    return click.option(
        flag,
        "out_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("generated"),
        show_default=True,
        help=help,
    )


def spec_dir_option(help: str = SPEC_HELP) -> Callable[[Any], Any]:
    """`--spec DIR`: the spec directory (default `spec/`), passed as `spec_dir`."""
    return click.option(
        "--spec",
        "spec_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("spec"),
        show_default=True,
        help=help,
    )


def prometheus_option() -> Callable[[Any], Any]:
    """`--prometheus URL` (or $PROMETHEUS_URL), passed as `prometheus_url`; None when neither is given."""
    return click.option(
        "--prometheus",
        "prometheus_url",
        metavar="URL",
        envvar="PROMETHEUS_URL",
        show_envvar=True,
        help="Prometheus base URL. Default: $PROMETHEUS_URL, else settings.prometheus_url of the spec.",
    )


def timeout_option(help: str) -> Callable[[Any], Any]:
    """`--timeout SECONDS` (default 5): how long to wait for a server's answer, passed as `timeout`."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=5.0,
        show_default=True,
        metavar="SECONDS",
        help=help,
    )


class Seconds(click.ParamType):
    """A number of seconds (`300`, `0.5`) or a Prometheus duration (`5m`)."""

    name = "seconds"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from generator.durations import parse_duration

        if isinstance(value, int | float):
            seconds = float(value)
        else:
            try:
                seconds = float(str(value))
            except ValueError:
                try:
                    seconds = float(parse_duration(str(value)))
                except ValueError:
                    self.fail(f"expected seconds (300) or a duration (5m), got {value!r}", param, ctx)
        if not 0 < seconds < float("inf"):
            self.fail(f"expected a time longer than zero, got {value!r}", param, ctx)
        return seconds


def _read_session(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Any:
    """The session env file read and checked; its problems printed, located, and exit 2."""
    if value is None:
        return None
    from generator.errors import SpecError
    from generator.exit_codes import ExitCode
    from generator.live.session_env import read_session_env

    try:
        return read_session_env(value)
    except SpecError as exc:
        for issue in exc.issues:
            click.echo(f"error: {issue}", err=True)
        click.echo(
            f"obsgen: {len(exc.issues)} problem(s) in the session env {value}; nothing was done.", err=True
        )
        ctx.exit(ExitCode.USAGE)


def session_env_option(required: bool = False) -> Callable[[Any], Any]:
    """`--env FILE`: a deployment's session env (SESSION_RESTORE.env.example), passed as `session`
    (a generator.live.session_env.SessionEnv, or None)."""
    return click.option(
        "--env",
        "session",
        type=click.Path(path_type=Path, dir_okay=False),
        required=required,
        callback=_read_session,
        metavar="FILE",
        help="The session env file of the deployment (see SESSION_RESTORE.env.example): ports, URLs, "
        "realm, state and snapshot paths, the paths of secret files.",
    )
