"""Generated promtool tests for heartbeats: healthy at the worst phase for hours, a stall, a
vanished series, a target that is down — and the Watchdog.

The writer's beats and Prometheus's scrapes are simulated second by second, so the tests
feed the oldest beats a healthy heartbeat can show (a beat just missed by a scrape, that
scrape just missed by an evaluation) and predict `<base>_ok` from the same arithmetic.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from generator.alert_templates import expand
from generator.gate_rules import evaluations_in, held_range
from generator.heartbeat_rules import heartbeat_rules, missing_alert_name, missing_for, stale_alert_name
from generator.model import Heartbeat, Service, Spec
from generator.promtool_tests.series import (
    alert_case,
    duration,
    expected_alert,
    input_series,
    legacy_label_sets,
    series,
    values,
)
from generator.rules import WATCHDOG, watchdog_rules

HEALTHY_HOURS = 2
NODE_INSTANCE = "node-1"


@dataclass(frozen=True)
class Phases:
    """Second offsets of scrapes (mod scrape interval) and beats (mod period) that make a
    healthy heartbeat look as old as it can at evaluation time."""

    scrape: int
    beat: int


def worst_phases(heartbeat: Heartbeat, interval: int) -> Phases:
    scraped = interval - (heartbeat.scrape_interval - 1)  # 1 s after the previous scrape
    beat = scraped - (heartbeat.period - 1)  # 1 s after the scrape before took its value
    return Phases(scraped % heartbeat.scrape_interval, beat % heartbeat.period)


def scraped_beats(
    heartbeat: Heartbeat, phases: Phases, end: int, last_beat: int | None
) -> list[float | None]:
    """Per second up to `end`: the value a scrape reads (the newest beat so far), or None."""
    samples: list[float | None] = []
    for second in range(end + 1):
        if (second - phases.scrape) % heartbeat.scrape_interval:
            samples.append(None)
            continue
        newest = second - (second - phases.beat) % heartbeat.period
        if last_beat is not None:
            newest = min(newest, last_beat)
        samples.append(float(newest))
    return samples


def expected_ok(heartbeat: Heartbeat, samples: list[float | None], t: int, closed: bool) -> int:
    """`<base>_ok` at evaluation time t, for left-open (Prometheus 3) or closed (2) windows."""
    start = t - heartbeat.window
    seen = [
        v
        for second, v in enumerate(samples[: t + 1])
        if v is not None and (second >= start if closed else second > start)
    ]
    changed = sum(1 for a, b in itertools.pairwise(seen) if a != b) > 0
    latest = _newest(samples, t)
    fresh = latest is not None and t - latest < heartbeat.freshness
    return int(changed and fresh)


def _newest(samples: list[float | None], t: int) -> float | None:
    return next((v for v in reversed(samples[: t + 1]) if v is not None), None)


def _beats_input(service: Service, heartbeat: Heartbeat, samples: list[float | None]) -> dict[str, str]:
    labels = {"job": service.heartbeat_job(heartbeat), "instance": NODE_INSTANCE, **service.realm_matchers()}
    return input_series(heartbeat.metric, labels, values(samples))


def _legacy_beats(
    service: Service, heartbeat: Heartbeat, samples: list[float | None]
) -> list[dict[str, str]]:
    """Stray writers of another realm (or none) that keep beating: they must not count."""
    labels = {"job": service.heartbeat_job(heartbeat), "instance": NODE_INSTANCE, **service.realm_matchers()}
    return [
        input_series(heartbeat.metric, legacy, values(samples))
        for legacy in legacy_label_sets(service, labels)
    ]


def _ok(service: Service, heartbeat: Heartbeat) -> str:
    return series(heartbeat.ok_record(), service.realm_matchers())


def _settled(heartbeat: Heartbeat, samples: list[float | None], interval: int, end: int) -> int:
    """First evaluation from which ok stays 1 to `end` in Prometheus 2 and 3."""
    first = end
    for t in range(end, -1, -interval):
        if not all(expected_ok(heartbeat, samples, t, closed) for closed in (False, True)):
            break
        first = t
    return first


def healthy_test(subject: Subject) -> dict[str, Any]:
    service, heartbeat, interval = subject.service, subject.heartbeat, subject.interval
    end = HEALTHY_HOURS * 3600
    phases = worst_phases(heartbeat, interval)
    samples = scraped_beats(heartbeat, phases, end, None)
    start = _settled(heartbeat, samples, interval, end)
    if start > heartbeat.window + interval:
        raise ValueError(f"{heartbeat.metric}: a healthy heartbeat only settles after {start}s")
    oldest = max(t - _newest(samples, t) for t in range(start, end + 1, interval))
    window = held_range(end - start, interval)  # the evaluations from `start` to `end`, in 2 and 3
    evaluations = evaluations_in(end - start, interval)
    ok = _ok(service, heartbeat)
    return {
        "name": (
            f"{heartbeat.ok_record()} stays 1 for {HEALTHY_HOURS}h with beats up to {oldest}s old "
            f"(every {duration(heartbeat.period)}, scraped every {duration(heartbeat.scrape_interval)})"
        ),
        "interval": "1s",
        "input_series": [_beats_input(service, heartbeat, samples)],
        "promql_expr_test": [
            {
                "expr": f"min_over_time({ok}[{window}]) + count_over_time({ok}[{window}])",
                "eval_time": duration(end),
                "exp_samples": [
                    {"labels": series("", service.realm_matchers()) or "{}", "value": 1 + evaluations}
                ],
            }
        ],
        "alert_rule_test": [alert_case(end, stale_alert_name(heartbeat), [])],
    }


def stall_test(subject: Subject) -> dict[str, Any]:
    """The writer stops; strays of other realms keep beating. ok turns 0 (and the alert fires)
    at the first evaluation the last beat is `freshness` old, within the changes() window."""
    service, heartbeat, interval = subject.service, subject.heartbeat, subject.interval
    phases = worst_phases(heartbeat, interval)
    last_beat = phases.beat + heartbeat.window + heartbeat.period * (1 + interval // heartbeat.period)
    end = last_beat + heartbeat.window + 2 * interval
    samples = scraped_beats(heartbeat, phases, end, last_beat)
    strays = scraped_beats(heartbeat, phases, end, None)
    stopped = next(
        t
        for t in range(last_beat - last_beat % interval, end + 1, interval)
        if not any(expected_ok(heartbeat, samples, t, closed) for closed in (False, True))
    )
    if stopped - interval < last_beat or stopped - last_beat > heartbeat.window:
        raise ValueError(f"{heartbeat.metric}: a stall is seen after {stopped - last_beat}s")
    ok = _ok(service, heartbeat)
    labels = {**service.realm_matchers(), **_alert_labels(service, heartbeat)}
    return {
        "name": (
            f"{heartbeat.ok_record()} turns 0 {duration(stopped - last_beat)} after the last beat "
            f"(freshness {duration(heartbeat.freshness)}, window {duration(heartbeat.window)})"
        ),
        "interval": "1s",
        "input_series": [
            _beats_input(service, heartbeat, samples),
            *_legacy_beats(service, heartbeat, strays),
        ],
        "promql_expr_test": [
            {"expr": ok, "eval_time": duration(t), "exp_samples": [{"labels": ok, "value": value}]}
            for t, value in ((stopped - interval, 1), (stopped, 0))
        ],
        "alert_rule_test": [
            alert_case(stopped - interval, stale_alert_name(heartbeat), []),
            alert_case(
                stopped,
                stale_alert_name(heartbeat),
                [subject.expected(stale_alert_name(heartbeat), labels)],
            ),
        ],
    }


def vanished_test(subject: Subject) -> dict[str, Any]:
    """No heartbeat series at all (only strays): ok reads 0, not nothing; both alerts fire."""
    service, heartbeat, interval = subject.service, subject.heartbeat, subject.interval
    end = missing_for(heartbeat, interval) + interval
    strays = scraped_beats(heartbeat, worst_phases(heartbeat, interval), end, None)
    ok = _ok(service, heartbeat)
    job = {"job": service.heartbeat_job(heartbeat)}
    missing = missing_alert_name(heartbeat)
    return {
        "name": f"without {heartbeat.metric}, {heartbeat.ok_record()} reads 0 and {missing} fires",
        "interval": "1s",
        "input_series": _legacy_beats(service, heartbeat, strays),
        "promql_expr_test": [
            {"expr": ok, "eval_time": duration(t), "exp_samples": [{"labels": ok, "value": 0}]}
            for t in (0, end)
        ],
        "alert_rule_test": [
            alert_case(
                0,
                stale_alert_name(heartbeat),
                [
                    subject.expected(
                        stale_alert_name(heartbeat),
                        {**service.realm_matchers(), **_alert_labels(service, heartbeat)},
                    )
                ],
            ),
            alert_case(missing_for(heartbeat, interval) - interval, missing, []),
            alert_case(
                end, missing, [subject.expected(missing, {**job, **_alert_labels(service, heartbeat)})]
            ),
        ],
    }


def target_down_test(subject: Subject) -> dict[str, Any]:
    """node_exporter is down (up == 0): the companion alert fires after two scrapes."""
    service, heartbeat, interval = subject.service, subject.heartbeat, subject.interval
    wait = missing_for(heartbeat, interval)
    end = wait + 2 * interval
    target = {"job": service.heartbeat_job(heartbeat), "instance": NODE_INSTANCE}
    missing = missing_alert_name(heartbeat)
    return {
        "name": f"{missing} fires {duration(wait)} after the textfile collector's target goes down",
        "interval": duration(interval),
        "input_series": [input_series("up", target, f"0x{end // interval}")],
        "alert_rule_test": [
            alert_case(wait - interval, missing, []),
            alert_case(
                wait, missing, [subject.expected(missing, {**target, **_alert_labels(service, heartbeat)})]
            ),
        ],
    }


def _alert_labels(service: Service, heartbeat: Heartbeat) -> dict[str, str]:
    return {**service.labels, "severity": heartbeat.severity, "service": service.service}


@dataclass(frozen=True)
class Subject:
    """One heartbeat and what its tests need to know around it."""

    spec: Spec
    service: Service
    heartbeat: Heartbeat
    interval: int

    def expected(self, alert: str, labels: dict[str, str]) -> dict[str, Any]:
        """The firing alert as promtool must see it: rule labels and expanded annotations."""
        rule = next(r for r in heartbeat_rules(self.spec, self.service) if r.get("alert") == alert)
        external = self.spec.settings.external_labels
        annotations = {k: expand(v, labels, None, external) for k, v in rule["annotations"].items()}
        return expected_alert({**labels, **rule["labels"]}, annotations)


def heartbeat_tests(spec: Spec, service: Service) -> list[dict[str, Any]]:
    interval = spec.settings.evaluation_interval
    tests: list[dict[str, Any]] = []
    for heartbeat in service.heartbeats:
        subject = Subject(spec, service, heartbeat, interval)
        tests += [build(subject) for build in (healthy_test, stall_test, vanished_test, target_down_test)]
    return tests


def watchdog_test(spec: Spec) -> dict[str, Any]:
    (rule,) = watchdog_rules(spec)
    external = spec.settings.external_labels
    annotations = {k: expand(v, rule["labels"], None, external) for k, v in rule["annotations"].items()}
    return {
        "name": f"{WATCHDOG} fires from the first evaluation, with no input at all",
        "interval": duration(spec.settings.evaluation_interval),
        "input_series": [],
        "alert_rule_test": [alert_case(0, WATCHDOG, [expected_alert(rule["labels"], annotations)])],
    }
