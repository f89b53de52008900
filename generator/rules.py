"""Model → Prometheus rule files, one per service, as plain dicts.

Files and groups, in evaluation order:
  <svc>.yml        <svc>-signals           recorded signals (the seeds' bridge:phase_diff_mean_5m)
                   <svc>-heartbeats        <base>_changes_<window>, <base>_ok and their alerts
                   <svc>-alerts            threshold and raw-PromQL alerts
  <svc>.<slo>.yml  <svc>-slo-<slo>         at the SLO's time slice: the per-slice (or per-base-
                                           window) series, every alerting window's error ratio,
                                           the burn-rate alerts
                   <svc>-slo-<slo>-period  slower: the period window and Sloth's metadata series
  <svc>.gate.<g>   <svc>-gate-<g>          a canary gate's canary:* series (see gate_rules)
  _watchdog.yml    obsgen-watchdog         the always-firing Watchdog
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import partial
from typing import Any

from generator import promql
from generator import rule_parts as parts
from generator.alert_contract import burn_alerts, spec_alert, watchdog
from generator.conventions import (
    BUDGET_REMAINING,
    CURRENT_BURN,
    ERROR_BUDGET,
    EVENTS_BASE_WINDOW,
    NO_TRAFFIC_FLOOR,
    OBJECTIVE,
    PERIOD_BURN,
    PERIOD_DAYS,
    PERIOD_GROUP_INTERVAL,
    PERIOD_TILE,
    SLI_ERRORS,
    SLI_ERRORS_HOURLY,
    SLI_TOTAL,
    SLI_TOTAL_HOURLY,
    TIME_SLICE_ERROR,
    TIME_SLICE_ERRORS_HOURLY,
    TIME_SLICES_HOURLY,
    WATCHDOG_FILE,
    identity_labels,
    sli_error_ratio,
    slo_id,
    slo_labels,
    window_name,
)
from generator.durations import format_duration
from generator.gate_rules import gate_file, gate_group, gate_rules
from generator.heartbeat_rules import heartbeat_rules
from generator.model import SLO, Gate, Service, Signal, Spec, ThresholdAlert
from generator.model.selectors import Selector
from generator.model.slo import WINDOW_PLACEHOLDER, QuerySLI, ThresholdSLI
from generator.rule_parts import Rule
from generator.sli_events import events_of
from generator.slo_math import BurnWindow, enabled_windows, error_budget, objective_ratio, sli_windows


def compile_rules(spec: Spec) -> dict[str, dict[str, Any]]:
    """Rule file name → document (`{"groups": [...]}`): `<service>` holds the signals, heartbeats
    and threshold alerts, `<service>.<slo>` one SLO (so a test of one SLO evaluates only it),
    `<service>.gate.<gate>` one canary gate, `_watchdog` the dead-man alert."""
    return {**service_rule_files(spec, spec.services), **spec_rule_files(spec)}


def service_rule_files(spec: Spec, services: Sequence[Service]) -> dict[str, dict[str, Any]]:
    """The rule files of `services` alone: each depends on its own service and the settings."""
    files: dict[str, dict[str, Any]] = {}
    for service in services:
        groups = _build(service_plan(spec, service))
        if groups:
            files[service.service] = {"groups": groups}
        for slo in service.slos:
            files[slo_file(service, slo)] = {"groups": _build(slo_plan(spec, service, slo))}
        for gate in service.gates:
            files[gate_file(service, gate)] = {"groups": _build(gate_plan(spec, service, gate))}
    return files


def spec_rule_files(spec: Spec) -> dict[str, dict[str, Any]]:
    """The rule files of no one service: the watchdog's."""
    if not spec.settings.watchdog:
        return {}
    return {WATCHDOG_FILE: {"groups": _build(watchdog_plan(spec))}}


GroupPlan = list[tuple[str, int, Callable[[int], list[Rule]]]]
"""(group name, its evaluation interval, the rules given that interval) per group."""


def slo_file(service: Service, slo: SLO) -> str:
    """Service names cannot hold a dot, so `<service>.<slo>` never clashes with a service."""
    return f"{service.service}.{slo.name}"


def service_plan(spec: Spec, service: Service) -> GroupPlan:
    """(name, interval, rule builder) of the service's non-empty groups, in evaluation order."""
    name, interval = service.service, spec.settings.evaluation_interval
    plan: GroupPlan = []
    if service.signals:
        plan.append((f"{name}-signals", interval, lambda _: signal_rules(service)))
    if service.heartbeats:
        plan.append((f"{name}-heartbeats", interval, partial(heartbeat_rules, spec, service)))
    if service.alerts:
        plan.append((f"{name}-alerts", interval, lambda _: alert_rules(spec, service)))
    return plan


def gate_plan(spec: Spec, service: Service, gate: Gate) -> GroupPlan:
    return [
        (
            gate_group(service, gate),
            spec.settings.evaluation_interval,
            partial(gate_rules, spec, service, gate),
        )
    ]


def watchdog_plan(spec: Spec) -> GroupPlan:
    return [("obsgen-watchdog", spec.settings.evaluation_interval, lambda _: watchdog_rules(spec))]


def slo_plan(spec: Spec, service: Service, slo: SLO) -> GroupPlan:
    group = f"{service.service}-slo-{slo.name}"
    return [
        (group, slo.time_slice, lambda _: slo_fast_rules(spec, service, slo)),
        (f"{group}-period", PERIOD_GROUP_INTERVAL, lambda _: slo_period_rules(service, slo)),
    ]


def group_names(plan: GroupPlan) -> list[str]:
    return [name for name, _, _ in plan]


def _build(plan: GroupPlan) -> list[dict[str, Any]]:
    return [parts.group(name, interval, build(interval)) for name, interval, build in plan]


# --- signals ---------------------------------------------------------------------------------


def signal_expr(service: Service, signal: Signal) -> str:
    """The derived gauge, realm-filtered and explicitly aggregated over instances."""
    realm = list(service.realm_matchers())
    scope = service.scope(signal.metric)
    if signal.function == "histogram_quantile":
        bucket = promql.scoped(f"{signal.metric}_bucket", signal.matchers, scope)
        summed = promql.aggregate(
            "sum",
            promql.call("rate", promql.range_vector(bucket, signal.window)),
            by=["le", *realm, *signal.by],
        )
        return promql.call("histogram_quantile", promql.number(signal.quantile or 0), summed)
    inner = promql.over_time(
        signal.function, promql.scoped(signal.metric, signal.matchers, scope), signal.window, signal.quantile
    )
    derived = promql.aggregate(signal.aggregate, inner, by=[*realm, *signal.by])
    if service.clamps(signal):
        # A stray series reading 3 cannot push a share past 1 (the seeds' GREEN-uptime fix).
        return promql.call("clamp", derived, "0", "1")
    return derived


def signal_rules(service: Service) -> list[Rule]:
    return [parts.record(s.record, signal_expr(service, s)) for s in service.signals]


# --- SLOs ------------------------------------------------------------------------------------


def slo_matchers(service: Service, slo: SLO) -> dict[str, str]:
    """What selects one SLO's series: its id (and the realm)."""
    return {identity_labels(service).id: slo_id(service, slo), **service.realm_matchers()}


def slo_selector(name: str, service: Service, slo: SLO) -> str:
    return promql.selector(name, slo_matchers(service, slo))


def slice_error_expr(service: Service, sli: ThresholdSLI) -> str:
    """1 when the slice is bad, 0 when good; a slice without data counts as the spec says."""
    signal = promql.selector(sli.signal, service.realm_matchers())
    bad = promql.aggregate("max", promql.compare(signal, promql.NEGATED[sli.op], sli.value, as_bool=True))
    if sli.missing_data == "ignore":
        return bad
    return f"{bad} or on () vector({1 if sli.missing_data == 'bad' else 0})"


def event_selector(service: Service, events: Selector) -> str:
    """The user's selector of a counter, scoped to the service's realm and job."""
    return promql.scoped(events.metric, events.matchers, service.scope(events.metric))


def events_exprs(service: Service, slo: SLO) -> tuple[str, str]:
    """Error and total event rates over the base window, read once from the raw counters, one
    pair per group of `by` (none: one for the whole SLO)."""
    events = events_of(slo.sli)

    def summed_rate(part: Selector) -> str:
        rate = promql.call("rate", promql.range_vector(event_selector(service, part), EVENTS_BASE_WINDOW))
        return promql.aggregate("sum", rate, by=slo.by)

    # A counter without series yet (no error so far, or no success so far) counts as zero: for
    # the whole SLO a plain 0, for a grouped one 0 in every group that has traffic.
    total = summed_rate(events.total)
    none_yet = f"(0 * {total})" if slo.by else "on () vector(0)"
    counted = f"{summed_rate(events.part)} or {none_yet}"
    if events.counts_errors:
        return counted, total
    return promql.call("clamp_min", f"{total} - ({counted})", "0"), total


def query_at(query: str, window: int) -> str:
    """The user's query over `window`: its nominal spelling first, then every literal duration
    scaled at once (the window with the rest), so under a time scale nothing is scaled twice."""
    return promql.scale_durations(query.replace(WINDOW_PLACEHOLDER, format_duration(window)))


def query_ratio_expr(sli: QuerySLI, window: int) -> str:
    """The user's queries over one window, shaped as Sloth shapes them (so values match Sloth's)."""
    if sli.error_ratio is not None:
        return query_at(sli.error_ratio, window)
    assert sli.errors is not None and sli.total is not None
    return f"({query_at(sli.errors, window).strip()})\n/\n({query_at(sli.total, window).strip()})"


def mean_of_base_ratio_expr(service: Service, slo: SLO, window: int) -> str:
    """A long window as the mean of the recorded 5m ratios: one read of a small series."""
    base = slo_selector(sli_error_ratio(EVENTS_BASE_WINDOW), service, slo)
    over = [promql.call(f, promql.range_vector(base, window)) for f in ("sum_over_time", "count_over_time")]
    return f"{over[0]}\n/ ignoring ({identity_labels(service).window})\n{over[1]}"


def window_ratio_expr(service: Service, slo: SLO, window: int) -> str:
    """An alerting window's error ratio (the period's is `period_ratio_expr`)."""
    if slo.sli.query is not None:
        return query_ratio_expr(slo.sli.query, window)
    if slo.sli.threshold is not None:
        return promql.call(
            "avg_over_time", promql.range_vector(slo_selector(TIME_SLICE_ERROR, service, slo), window)
        )
    if window == EVENTS_BASE_WINDOW:
        errors, total = slo_selector(SLI_ERRORS, service, slo), slo_selector(SLI_TOTAL, service, slo)
    else:
        errors, total = (
            promql.call("sum_over_time", promql.range_vector(slo_selector(name, service, slo), window))
            for name in (SLI_ERRORS, SLI_TOTAL)
        )
    return events_ratio(errors, total)


def events_ratio(errors: str, total: str) -> str:
    """No traffic is not an error: with no events the errors are 0 too, and 0 over a floor far
    below any real event rate (one event per window is ≥ 1/300 per second) reads as 0."""
    return promql.call("clamp", f"{errors} / {promql.call('clamp_min', total, NO_TRAFFIC_FLOOR)}", "0", "1")


def hour_tiles(service: Service, slo: SLO) -> list[tuple[str, str, str]]:
    """(tile series, function, per-evaluation series) of the period's numerator and denominator:
    each hour's sum of the errors and of the total (events), of the bad slices and count of all
    slices (time slices). Empty for a raw-PromQL SLI, whose period stays Sloth's mean of the
    5m ratios so that its figures equal Sloth's value by value."""
    if slo.sli.query is not None:
        return []
    if slo.sli.threshold is not None:
        return [
            (TIME_SLICE_ERRORS_HOURLY, "sum_over_time", TIME_SLICE_ERROR),
            (TIME_SLICES_HOURLY, "count_over_time", TIME_SLICE_ERROR),
        ]
    return [(SLI_ERRORS_HOURLY, "sum_over_time", SLI_ERRORS), (SLI_TOTAL_HOURLY, "sum_over_time", SLI_TOTAL)]


def hour_tile_rules(service: Service, slo: SLO) -> list[Rule]:
    labels = slo_labels(service, slo)
    return [
        parts.record(
            tile,
            promql.call(
                function,
                promql.tile_range_vector(slo_selector(source, service, slo), PERIOD_TILE, slo.time_slice),
            ),
            labels,
        )
        for tile, function, source in hour_tiles(service, slo)
    ]


def period_ratio_expr(service: Service, slo: SLO) -> str:
    """The period's error ratio as the sum of its hour tiles: 720 samples of each tile series for
    30 days, however many source series and evaluations the period held (30 days of 1m samples
    are 43,200 per series).

    The subquery reads each tile series at the whole hours of the period (Prometheus aligns
    subquery steps to the epoch); the tile recorded at hour h holds the evaluations of
    (h − 1h − s, h − s], s the time slice (the per-evaluation series comes from the SLO's other
    group, which may still be writing its newest sample when the tile is taken), so the tiles
    add up to exactly the evaluations of the 30 days that end a time slice before the last
    whole hour: the figure is exact, and up to an hour behind the alerting windows. Until a
    whole hour has passed since the data began there is no tile at a whole hour yet; then the
    newest tile, which holds every evaluation so far but the last, is the figure. An hour whose
    tile was not taken (Prometheus down at the whole hour) borrows the tile before it, up to the
    5m lookback, or is left out.
    """
    if slo.sli.query is not None:
        return mean_of_base_ratio_expr(service, slo, slo.period)
    tiles = [slo_selector(tile, service, slo) for tile, _, _ in hour_tiles(service, slo)]
    whole_hours = [
        promql.call("sum_over_time", promql.tile_subquery(tile, slo.period, PERIOD_TILE)) for tile in tiles
    ]
    return f"{tiles_ratio(slo, *whole_hours)}\nor\n{tiles_ratio(slo, *tiles)}"


def tiles_ratio(slo: SLO, numerator: str, denominator: str) -> str:
    if slo.sli.threshold is not None:
        return f"{numerator} / {denominator}"
    return events_ratio(numerator, denominator)


def slo_fast_rules(spec: Spec, service: Service, slo: SLO) -> list[Rule]:
    labels = slo_labels(service, slo)
    if slo.sli.threshold is not None:
        rules = [parts.record(TIME_SLICE_ERROR, slice_error_expr(service, slo.sli.threshold), labels)]
    elif slo.sli.query is not None:
        rules = []
    else:
        errors, total = events_exprs(service, slo)
        rules = [parts.record(SLI_ERRORS, errors, labels), parts.record(SLI_TOTAL, total, labels)]
    for window in sli_windows(slo)[:-1]:
        rules.append(
            parts.record(
                sli_error_ratio(window),
                window_ratio_expr(service, slo, window),
                {**labels, identity_labels(service).window: format_duration(window)},
            )
        )
    rules.extend(burn_alert_rules(spec, service, slo))
    return rules


def slo_period_rules(service: Service, slo: SLO) -> list[Rule]:
    labels = slo_labels(service, slo)
    period = window_name(slo.period, service)

    def constant(value: Fraction | int) -> str:
        return promql.call("vector", promql.number(float(value)))

    def over_budget(name: str) -> str:
        """Per group when grouped: the budget (one series) is matched to every group's ratio."""
        budget = slo_selector(ERROR_BUDGET, service, slo)
        window = identity_labels(service).window
        if not slo.by:
            return f"{slo_selector(name, service, slo)} / ignoring ({window}) {budget}"
        ratio = promql.aggregate("max", slo_selector(name, service, slo), without=[window])
        return f"{ratio} / ignoring ({', '.join(slo.by)}) group_left {budget}"

    return [
        parts.record(OBJECTIVE, constant(objective_ratio(slo)), labels),
        parts.record(ERROR_BUDGET, constant(error_budget(slo)), labels),
        parts.record(PERIOD_DAYS, constant(Fraction(slo.period, 86400)), labels),
        *hour_tile_rules(service, slo),
        parts.record(
            sli_error_ratio(slo.period, service),
            period_ratio_expr(service, slo),
            {**labels, identity_labels(service).window: period},
        ),
        parts.record(CURRENT_BURN, over_budget(sli_error_ratio(sli_windows(slo)[0])), labels),
        parts.record(PERIOD_BURN, over_budget(sli_error_ratio(slo.period, service)), labels),
        parts.record(
            BUDGET_REMAINING,
            f"1 - {slo_selector(PERIOD_BURN, service, slo)}",
            labels,
        ),
    ]


def burn_condition(service: Service, slo: SLO, window: BurnWindow) -> str:
    threshold = float(window.threshold(error_budget(slo)))
    both = [
        promql.aggregate(
            "max",
            promql.compare(slo_selector(sli_error_ratio(w), service, slo), ">", threshold),
            without=[identity_labels(service).window],
        )
        for w in (window.short, window.long)
    ]
    return promql.group(" and ".join(both))


def burn_alert_rules(spec: Spec, service: Service, slo: SLO) -> list[Rule]:
    rules = []
    for severity, contract in burn_alerts(spec, service, slo).items():
        windows = [w for w in enabled_windows(slo) if w.severity == severity]
        rules.append(parts.alert(contract, "\nor\n".join(burn_condition(service, slo, w) for w in windows)))
    return rules


# --- threshold and raw alerts ----------------------------------------------------------------


def threshold_expr(service: Service, alert: ThresholdAlert) -> str:
    name = alert.signal or alert.metric or ""
    return promql.compare(promql.scoped(name, alert.matchers, service.scope(name)), alert.op, alert.value)


def alert_rules(spec: Spec, service: Service) -> list[Rule]:
    rules = []
    for alert in service.alerts:
        if isinstance(alert, ThresholdAlert):
            expr = threshold_expr(service, alert)
        else:
            expr = promql.scale_durations(alert.expr)
        rules.append(parts.alert(spec_alert(spec, service, alert), expr))
    return rules


def watchdog_rules(spec: Spec) -> list[Rule]:
    """Always firing: when it stops arriving at the dead-man's switch, the pipeline is broken."""
    return [parts.alert(watchdog(spec), "vector(1)")]
