"""`obsgen gate | targets | probe | budget | reload`: the commands that read or reload a running Prometheus.

Their bodies live in generator/live/, imported only when a command runs. A SpecError they raise
is printed by the `obsgen` group (obsgen/cli.py) and ends the command with ExitCode.USAGE.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from generator.cli_options import Seconds, prometheus_option, spec_dir_option, timeout_option
from generator.exit_codes import ExitCode

QUERY_TIMEOUT = "How long to wait for Prometheus to answer a query."


def _prometheus(spec, url: str | None, timeout: float):
    """The client for --prometheus (or $PROMETHEUS_URL, which click reads), else the spec's."""
    from generator.live.prom import Prometheus

    try:
        return Prometheus(url or spec.settings.prometheus_url, timeout)
    except ValueError as exc:
        click.echo(f"error: --prometheus: {exc}", err=True)
        sys.exit(ExitCode.USAGE)


def _gates(spec, name: str | None):
    from generator.live.commands import UsageError, select_gates

    try:
        return select_gates(spec, name)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)


@click.group()
def gate() -> None:
    """Canary gates: read their verdict from a running Prometheus."""


@gate.command()
@spec_dir_option()
@prometheus_option()
@timeout_option(QUERY_TIMEOUT)
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
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    chosen = _gates(spec, gate_name)
    verdict = decide_gates(_prometheus(spec, prometheus_url, timeout), chosen, click.echo)
    sys.exit(verdict.code)


@gate.command()
@spec_dir_option()
@prometheus_option()
@timeout_option(QUERY_TIMEOUT)
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
    from generator.live.commands import watch_gate
    from generator.loader import load_spec

    try:
        spec = load_spec(spec_dir)
        [(service, chosen)] = _gates(spec, gate_name)
        prometheus = _prometheus(spec, prometheus_url, timeout)
        every = interval or float(spec.settings.evaluation_interval)
        verdict = watch_gate(prometheus, service, chosen, total, every, click.echo)
    except KeyboardInterrupt:
        click.echo("obsgen: interrupted", err=True)
        sys.exit(ExitCode.INTERRUPTED)
    sys.exit(verdict.code)


@click.group()
def targets() -> None:
    """Scrape targets: check them in a running Prometheus."""


@targets.command()
@spec_dir_option()
@prometheus_option()
@timeout_option(QUERY_TIMEOUT)
def verify(spec_dir: Path, prometheus_url: str | None, timeout: float) -> None:
    """Check every scrape job of the spec: targets up, declared metrics exposed.

    The jobs are those prometheus.yml gets: each service's, each blackbox probe's and each
    heartbeat's textfile-collector job. A target that is up must expose every metric the spec
    declares for its job: a service's own catalog metrics (a histogram as _bucket, _count and
    _sum; a summary as _count and _sum), an `external` metric on the job it names, a heartbeat's
    metric on its job. Each target lacking some is listed with the names it lacks. Reads `up`
    and the exposed names with one instant query.

    \b
    Exit codes:
       0  every job has at least one target, all are up and expose their declared metrics
       1  a job has a target down, or no targets at all (DOWN), or a target up lacks a
          declared metric (MISSING)
      13  UNREACHABLE  Prometheus did not answer
       2  bad URL or invalid spec
    """
    from generator.live.commands import verify_targets
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    sys.exit(verify_targets(_prometheus(spec, prometheus_url, timeout), spec, click.echo))


@click.command("reload")
@spec_dir_option()
@prometheus_option()
@timeout_option(QUERY_TIMEOUT)
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
    from generator.live.reload import reload_safe
    from generator.live.reload_checks import PromtoolMissing, promtool_path
    from generator.live.reload_client import Lifecycle
    from generator.loader import load_spec

    try:
        promtool = promtool_path()
    except PromtoolMissing as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    client = _prometheus(None if prometheus_url else load_spec(spec_dir), prometheus_url, timeout)
    prometheus = Lifecycle(client.url, client.timeout)
    sys.exit(reload_safe(prometheus, promtool, config_file, rules_dir, click.echo))


@click.group()
def budget() -> None:
    """Error budgets: check them against the spec's policy in a running Prometheus."""


@budget.command("check")
@spec_dir_option()
@prometheus_option()
@timeout_option(QUERY_TIMEOUT)
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
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    sys.exit(check_budgets(_prometheus(spec, prometheus_url, timeout), spec, click.echo))


class _Budget(click.ParamType):
    """A latency budget: `150ms`, `0.15s` or `150` (milliseconds); converted to milliseconds."""

    name = "time"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from generator.live.probe import parse_budget_ms

        if isinstance(value, float):
            return value
        try:
            return parse_budget_ms(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command("probe")
@spec_dir_option()
@prometheus_option()
@timeout_option("How long to wait for Prometheus to answer, and for each scrape of a target.")
@click.option(
    "--scrapes",
    type=click.IntRange(1, 10000),
    default=50,
    show_default=True,
    help="Scrapes of each target, one after the other, a new connection each.",
)
@click.option(
    "--window",
    type=Seconds(),
    default="5m",
    show_default=True,
    help="The jitter histogram's rate window: seconds (300) or a duration (5m).",
)
@click.option(
    "--scrape-budget",
    type=_Budget(),
    default="150ms",
    show_default=True,
    help="Largest scrape p95 per target (the seed's §7: 150 ms).",
)
@click.option(
    "--jitter-budget",
    type=_Budget(),
    default="25ms",
    show_default=True,
    help="Largest tick-jitter p95 per loop (the seed's §7: 25 ms).",
)
def probe_command(
    spec_dir: Path,
    prometheus_url: str | None,
    timeout: float,
    scrapes: int,
    window: float,
    scrape_budget: float,
    jitter_budget: float,
) -> None:
    """Measure the latency budgets end to end: scrape p95 per target, tick-jitter p95 per loop.

    \b
    scrape  every active target Prometheus has for the spec's service jobs (its scrapeUrl,
            from /api/v1/targets, matched by job and realm) is scraped --scrapes times in a
            row, a new connection each; the p95 (nearest rank) against --scrape-budget
    jitter  every service with a `loop:`: histogram_quantile(0.95, sum by (le) (rate(
            <jitter_metric>_bucket{<job and realm>}[--window]))) against --jitter-budget

    The spec has no field for either budget; the defaults are the seed's (§7).
    Prints a table (check, target or loop, p95, budget, ok / MISSED / NO DATA /
    UNREACHABLE), then [OK], [MISSED], [NO DATA] or [UNREACHABLE] naming what failed.

    \b
    Exit codes:
       0  every p95 within its budget
       1  MISSED       a p95 above its budget (the target or loop is named)
      12  NO DATA      a loop's jitter histogram has no observations in the window, or a
                       service job has no active target
      13  UNREACHABLE  Prometheus did not answer, or a target could not be scraped
       2  bad URL or option, or invalid spec
    """
    from generator.live.commands import probe_budgets
    from generator.loader import load_spec

    spec = load_spec(spec_dir)
    prometheus = _prometheus(spec, prometheus_url, timeout)
    code = probe_budgets(
        prometheus,
        spec,
        click.echo,
        scrapes=scrapes,
        window=window,
        scrape_budget_ms=scrape_budget,
        jitter_budget_ms=jitter_budget,
    )
    sys.exit(code)
