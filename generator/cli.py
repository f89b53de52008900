"""The `obsgen` command line."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.cli_options import generated_dir_option
from generator.durations import parse_duration
from generator.errors import SpecError
from generator.importers.commands import import_group
from generator.lint.commands import lint
from generator.live.grafana_commands import grafana
from runtime.cli import down, run, scenario, up
from runtime.dr_commands import dr

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

PROMETHEUS_OPTION = click.option(
    "--prometheus",
    "prometheus_url",
    metavar="URL",
    envvar="PROMETHEUS_URL",
    show_envvar=True,
    help="Prometheus base URL. Default: $PROMETHEUS_URL, else settings.prometheus_url of the spec.",
)

TIMEOUT_OPTION = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for Prometheus to answer a query.",
)


class Seconds(click.ParamType):
    """A number of seconds (`300`, `0.5`) or a Prometheus duration (`5m`)."""

    name = "seconds"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
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
    \b
    The live commands (`gate decide`, `gate watch`, `targets verify`) read a running
    Prometheus and also exit with:
      1  `targets verify`: a job has a target down, or no targets
     10  HOLD        a gate may not be promoted yet
     11  ROLLBACK    a gate calls for a rollback
     12  NO DATA     a gate's series are missing (not scraped, or its rules not loaded)
     13  UNREACHABLE Prometheus did not answer
    130  `gate watch` was interrupted (Ctrl-C)
    \b
    `reload` exits 1 when a local check failed (nothing sent) and 4 when Prometheus refused
    or failed the reload or the verification failed.
    \b
    `grafana import` reads GRAFANA_URL and GRAFANA_TOKEN and also exits with:
      2  GRAFANA_URL missing or malformed, no dashboards found
     13  UNREACHABLE  Grafana did not answer (connection, timeout, 5xx) after 3 attempts
     20  AUTH         GRAFANA_TOKEN missing or refused (401), or lacking permission (403)
     21  PRECONDITION Grafana refused the save (412), or the folder title is taken
     22  REJECTED     Grafana rejected a request (400, another 4xx) or redirected it
    """


@main.command()
@SPEC_OPTION
@generated_dir_option("--out", "Output directory; replaced as a whole, atomically.")
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
        from generator.errors import unknown

        click.echo(f"error: {unknown(f'no SLO with id {slo_id!r}', slo_id, all_slo_ids(spec))}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    click.echo(explain_slo(*found), nl=False)


@main.command()
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


@main.command()
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
        sys.exit(EXIT_SPEC_ERROR)
    try:
        if occupied:
            present = {name for name in project if (directory / name).exists()}
            changed = set(write_files(directory, project, overwrite=True))
        else:
            present, changed = set(), set(project)
            create_tree(directory, project)
    except NotEmpty as exc:
        click.echo(f"error: {exc}; nothing was written.", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    except OSError as exc:
        reason = f"{exc.strerror} ({exc.filename or directory})" if exc.strerror else str(exc)
        click.echo(f"error: cannot write {directory}/: {reason}", err=True)
        sys.exit(EXIT_WRITE_ERROR)
    status = {
        name: "unchanged" if name not in changed else "replaced" if name in present else "wrote"
        for name in project
    }
    for line in report(str(directory), service, status):
        click.echo(line)


def _prometheus(spec, url: str | None, timeout: float):
    """The client for --prometheus (or $PROMETHEUS_URL, which click reads), else the spec's."""
    from generator.live.prom import Prometheus

    try:
        return Prometheus(url or spec.settings.prometheus_url, timeout)
    except ValueError as exc:
        click.echo(f"error: --prometheus: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)


def _gates(spec, name: str | None):
    from generator.live.commands import UsageError, select_gates

    try:
        return select_gates(spec, name)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)


@main.group()
def gate() -> None:
    """Canary gates: read their verdict from a running Prometheus."""


@gate.command()
@SPEC_OPTION
@PROMETHEUS_OPTION
@TIMEOUT_OPTION
@click.argument("gate_name", metavar="[GATE]", required=False)
def decide(spec_dir: Path, prometheus_url: str | None, timeout: float, gate_name: str | None) -> None:
    """Print GATE's verdict (every gate's, one block each, without GATE).

    Reads the gate's canary:* series, recorded by the rules `obsgen gen` writes (the ones
    Argo reads too, selected as Argo selects them: gate and the service's realm), with one
    instant query. Prints each condition in spec order with what it
    requires, the value read and ok / VIOLATED / NO DATA; then the counts; then one verdict
    line: [GO], [HOLD], [ROLLBACK], [NO DATA] or [UNREACHABLE] and why. A gate is never GO
    while any of its series is missing; ROLLBACK wins even then. With several gates the most
    severe verdict sets the exit code: UNREACHABLE > NO DATA > ROLLBACK > HOLD > GO.

    \b
    Exit codes:
       0  GO           every condition has held for promote.after
      10  HOLD         not yet
      11  ROLLBACK     canary:rollback:bool is 1
      12  NO DATA      a series is missing (not scraped, or the gate rules not loaded)
      13  UNREACHABLE  Prometheus did not answer (connection, timeout, HTTP or API error)
       2  unknown gate, bad URL or invalid spec
    """
    from generator.live.commands import decide_gates

    spec = _load(spec_dir)
    chosen = _gates(spec, gate_name)
    verdict = decide_gates(_prometheus(spec, prometheus_url, timeout), chosen, click.echo)
    sys.exit(verdict.code)


@gate.command()
@SPEC_OPTION
@PROMETHEUS_OPTION
@TIMEOUT_OPTION
@click.option(
    "--for",
    "total",
    type=Seconds(),
    required=True,
    help="How long to watch: seconds (300) or a duration (5m).",
)
@click.option(
    "--interval",
    type=Seconds(),
    default=None,
    help="Time between lines. Default: settings.evaluation_interval.",
)
@click.argument("gate_name", metavar="GATE")
def watch(
    spec_dir: Path,
    prometheus_url: str | None,
    timeout: float,
    total: float,
    interval: float | None,
    gate_name: str,
) -> None:
    """Print a line for GATE now and after every interval until --for has passed.

    Each line: UTC time (HH:MM:SS), every condition's value (! violated, ? no data), the
    violations/promote/rollback counts and the verdict tag, e.g. to watch a trend for 300 s:
    `obsgen gate watch duri-l4 --for 300`.

    \b
    Exit codes: those of `gate decide` for the last verdict; 130 when interrupted (Ctrl-C).
    """
    from generator.live import EXIT_INTERRUPTED
    from generator.live.commands import watch_gate

    try:
        spec = _load(spec_dir)
        [(service, chosen)] = _gates(spec, gate_name)
        prometheus = _prometheus(spec, prometheus_url, timeout)
        every = interval or float(spec.settings.evaluation_interval)
        verdict = watch_gate(prometheus, service, chosen, total, every, click.echo)
    except KeyboardInterrupt:
        click.echo("obsgen: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(verdict.code)


@main.group()
def targets() -> None:
    """Scrape targets: check them in a running Prometheus."""


@targets.command()
@SPEC_OPTION
@PROMETHEUS_OPTION
@TIMEOUT_OPTION
def verify(spec_dir: Path, prometheus_url: str | None, timeout: float) -> None:
    """Check that every scrape job of the spec has targets and all of them are up.

    The jobs are those prometheus.yml gets: each service's, each blackbox probe's and each
    heartbeat's textfile-collector job. Reads `up` with one instant query.

    \b
    Exit codes:
       0  every job has at least one target, and all are up
       1  a job has a target down, or no targets at all
      13  UNREACHABLE  Prometheus did not answer
       2  bad URL or invalid spec
    """
    from generator.live.commands import verify_targets

    spec = _load(spec_dir)
    sys.exit(verify_targets(_prometheus(spec, prometheus_url, timeout), spec, click.echo))


@main.group()
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
            sys.exit(EXIT_SPEC_ERROR)
    try:
        checks = check_routes(config, tests, click.echo)
    except AmtoolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    failed = [c for c in checks if not c.ok]
    click.echo(f"obsgen: {len(checks) - len(failed)} of {len(checks)} alerts routed as the spec says.")
    unpaged = sorted({c.labels.get("alertname", "?") for c in checks if not c.paged})
    if unpaged:
        click.echo(f"obsgen: {len(unpaged)} page alert(s) reach no pager, only chat: {', '.join(unpaged)}")
    sys.exit(1 if failed else 0)


def _routing(spec):
    if spec.alertmanager is None:
        click.echo("error: the spec has no `alertmanager:` file, so it names no receivers", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    return spec.alertmanager


@alert.command("test")
@SPEC_OPTION
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
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for each answer of Alertmanager.",
)
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

    spec = _load(spec_dir)
    _routing(spec)
    try:
        client = Alertmanager(alertmanager_url or f"http://{spec.settings.alertmanagers[0]}", timeout)
    except ValueError as exc:
        click.echo(f"error: --alertmanager: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    sys.exit(audit(client, spec, wait, click.echo))


@main.group("secrets")
def secrets_group() -> None:
    """Deploy-time secrets of the Alertmanager receivers."""


@secrets_group.command("write")
@SPEC_OPTION
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

    from generator.secrets import check_secrets, loose_mode, write_secrets

    routing = _routing(_load(spec_dir))
    values, refusals = check_secrets(routing, os.environ)
    if refusals:
        for refusal in refusals:
            click.echo(f"error: {refusal}", err=True)
        click.echo(f"obsgen: {len(refusals)} secret(s) refused; nothing was written.", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    if not values:
        click.echo("obsgen: the spec's receivers need no secrets; nothing to write.")
        return
    try:
        written = write_secrets(secrets_dir, values)
        mode = loose_mode(secrets_dir)
    except OSError as exc:
        reason = f"{exc.strerror} ({exc.filename or secrets_dir})" if exc.strerror else str(exc)
        click.echo(f"error: cannot write the secrets to {secrets_dir}/: {reason}", err=True)
        sys.exit(EXIT_WRITE_ERROR)
    for path in written:
        click.echo(f"wrote {path} (mode 0600)")
    if mode is not None:
        click.echo(f"warning: {secrets_dir}/ is open to group or others (mode {mode:04o})", err=True)
    click.echo(f"obsgen: {len(written)} secret file(s) written in {secrets_dir}/.")


main.add_command(grafana)
for command in (run, up, down, scenario, lint, dr, import_group):
    main.add_command(command)


@main.command("reload")
@SPEC_OPTION
@PROMETHEUS_OPTION
@TIMEOUT_OPTION
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=Path("generated/prometheus/prometheus.yml"),
    show_default=True,
    help="The configuration file Prometheus was started with (its --config.file), on this host.",
)
@click.option(
    "--rules-dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    metavar="DIR",
    default=None,
    help="Check and compare the rule files of DIR (*.yml, *.yaml). Default: those the config lists.",
)
def reload_command(
    spec_dir: Path, prometheus_url: str | None, timeout: float, config_file: Path, rules_dir: Path | None
) -> None:
    """Reload a running Prometheus safely (the seed's reload_safe), one line per step.

    \b
    1 check config  promtool check config FILE (also checks the rule files it lists)
    2 check rules   promtool check rules --lint-fatal on the rule files
    3 read state    prometheus_config_last_reload_successful and its success timestamp,
                    from Prometheus's own /metrics
    4 reload        POST /-/reload (Prometheus needs --web.enable-lifecycle)
    5 verify        the reload succeeded, its timestamp advanced, and the rule groups of
                    /api/v1/rules (names, and each group's rule names) are those on disk

    The first failing step stops the chain and is named. Run it on the Prometheus host with
    the configuration file Prometheus was started with: promtool checks the files here, and
    Prometheus reloads its own; step 3 warns when Prometheus names another file. --timeout
    applies to each request, the reload's at least 30s (Prometheus answers once it is done).

    \b
    Exit codes:
       0  reloaded and verified
       1  a local check failed (promtool, or a file unreadable): nothing was sent to Prometheus
       4  Prometheus refused the reload (lifecycle API off) or failed it, or the verification
          failed (reload unsuccessful, timestamp unchanged, rule groups not those on disk)
      13  UNREACHABLE  Prometheus did not answer
       2  bad URL or option, promtool missing, or the spec invalid (read only without --prometheus)
    """
    from generator.live.reload import Lifecycle, PromtoolMissing, promtool_path, reload_safe

    try:
        promtool = promtool_path()
    except PromtoolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_SPEC_ERROR)
    client = _prometheus(None if prometheus_url else _load(spec_dir), prometheus_url, timeout)
    prometheus = Lifecycle(client.url, client.timeout)
    sys.exit(reload_safe(prometheus, promtool, config_file, rules_dir, click.echo))


@main.group()
def budget() -> None:
    """Error budgets: check them against the spec's policy in a running Prometheus."""


@budget.command("check")
@SPEC_OPTION
@PROMETHEUS_OPTION
@TIMEOUT_OPTION
def budget_check(spec_dir: Path, prometheus_url: str | None, timeout: float) -> None:
    """Every SLO's budget left for its period and current burn rate, against the policy.

    Reads slo:period_error_budget_remaining:ratio and slo:current_burn_rate:ratio (the 5m
    error ratio over the budget) of each SLO's id in its service's realm, as its rules and
    dashboards select them. The policy is settings.error_budget_policy: freeze risky
    changes below `freeze_below` of the budget left (default 25 %), hold while the burn rate
    is above `max_burn_rate` (default 2×). The CI check error-budget-burn-ok.

    \b
    Exit codes:
       0  every SLO within the policy
       1  an SLO violates it (named)
      12  NO DATA      an SLO's budget series is missing
      13  UNREACHABLE  Prometheus did not answer
       2  bad URL or invalid spec
    """
    from generator.live.budget import check_budgets

    spec = _load(spec_dir)
    sys.exit(check_budgets(_prometheus(spec, prometheus_url, timeout), spec, click.echo))
