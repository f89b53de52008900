"""Generated promtool tests for heartbeats, and the Watchdog.

The writer's beats and Prometheus's scrapes are simulated second by second and `<base>_ok` is
predicted from the same arithmetic (for Prometheus 2's closed and 3's left-open windows):
  healthy   the worst phase (a beat just missed by a scrape, that scrape just missed by an
            evaluation) for hours, with one failed scrape: ok never drops, nothing fires
  stall     the writer stops while strays of other realms keep beating: ok turns 0 exactly
            when the last beat is `freshness` old (and one second later, not before)
  stuck     the writer repeats one timestamp from the future: changes() runs dry
  missing   no heartbeat series, no `up` at all, or the target down: the companion fires
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from generator import promql
from generator.alert_contract import AlertContract, heartbeat_alerts, watchdog
from generator.alert_templates import expand
from generator.conventions import WATCHDOG
from generator.gate_rules import evaluations_in, held_range
from generator.heartbeat_timing import missing_for
from generator.model import Heartbeat, Service, Spec
from generator.promtool_tests.series import (
    STALE,
    Sample,
    ScenarioError,
    alert_case,
    duration,
    expected_alert,
    input_series,
    legacy_label_sets,
    series,
    values,
)

HEALTHY_HOURS = 2
NODE_INSTANCE = "node-1"


@dataclass(frozen=True)
class Subject:
    """One heartbeat and what its tests need to know around it."""

    spec: Spec
    service: Service
    heartbeat: Heartbeat
    interval: int

    @property
    def ok(self) -> str:
        return series(self.heartbeat.ok_record(), self.service.realm_matchers())

    @property
    def target(self) -> dict[str, str]:
        return {"job": self.service.heartbeat_job(self.heartbeat), "instance": NODE_INSTANCE}

    def beats(self, samples: list[Sample]) -> dict[str, str]:
        labels = {**self.target, **self.service.realm_matchers()}
        return input_series(self.heartbeat.metric, labels, values(samples))

    def strays(self, samples: list[Sample]) -> list[dict[str, str]]:
        """Writers of another realm (or none) that keep beating: they must not count."""
        labels = {**self.target, **self.service.realm_matchers()}
        return [
            input_series(self.heartbeat.metric, legacy, values(samples))
            for legacy in legacy_label_sets(self.service, labels, self.heartbeat.metric)
        ]

    def up(self, samples: list[Sample]) -> dict[str, str]:
        return input_series("up", self.target, values(samples))

    @property
    def alerts(self) -> tuple[AlertContract, AlertContract]:
        """The stale and the missing alert, as the spec says they must look."""
        selector = promql.selector(self.heartbeat.metric, self.service.realm_matchers())
        return heartbeat_alerts(self.spec, self.service, self.heartbeat, selector, self.interval)

    def firing(self, alert: AlertContract) -> dict[str, Any]:
        """The alert as promtool must see it: its labels and expanded annotations."""
        labels = {**self.service.realm_matchers(), **alert.labels}
        external = self.spec.settings.external_labels
        annotations = {k: expand(v, labels, None, external) for k, v in alert.annotations.items()}
        return expected_alert(labels, annotations)

    def ok_at(self, t: int, value: int) -> dict[str, Any]:
        return {
            "expr": self.ok,
            "eval_time": duration(t),
            "exp_samples": [{"labels": self.ok, "value": value}],
        }


def scrape_phase(heartbeat: Heartbeat, interval: int) -> int:
    """Scrapes one second after the previous evaluation's: each evaluation reads a sample
    scrape_interval − 1 seconds old."""
    return (1 - heartbeat.scrape_interval) % heartbeat.scrape_interval


def scraped(
    heartbeat: Heartbeat, interval: int, end: int, beat_phase: int, last_beat: int | None
) -> list[Sample]:
    """Per second up to `end`: the newest beat a scrape reads then, or None between scrapes."""
    phase = scrape_phase(heartbeat, interval)
    samples: list[Sample] = []
    for second in range(end + 1):
        if (second - phase) % heartbeat.scrape_interval:
            samples.append(None)
            continue
        newest = second - (second - beat_phase) % heartbeat.period
        samples.append(float(newest if last_beat is None else min(newest, last_beat)))
    return samples


def worst_beat_phase(heartbeat: Heartbeat, interval: int) -> int:
    """Beats one second after a scrape that an evaluation reads: that scrape saw a beat
    period − 1 seconds old."""
    read = interval - (heartbeat.scrape_interval - 1)
    return (read - (heartbeat.period - 1)) % heartbeat.period


def expected_ok(heartbeat: Heartbeat, samples: list[Sample], t: int, closed: bool) -> int:
    """`<base>_ok` at t: changed within the window, newest beat within freshness younger than it."""

    def window(seconds: int) -> list[float]:
        first = max(0, t - seconds if closed else t - seconds + 1)
        return [v for v in samples[first : t + 1] if isinstance(v, float)]

    changed = any(a != b for a, b in itertools.pairwise(window(heartbeat.window)))
    recent = window(heartbeat.freshness)
    return int(changed and bool(recent) and t - max(recent) < heartbeat.freshness)


def _newest(samples: list[Sample], t: int) -> float:
    """The value of the newest scrape at or before t (beats only grow)."""
    return next(v for v in reversed(samples[: t + 1]) if isinstance(v, float))


def _agreed(heartbeat: Heartbeat, samples: list[Sample], t: int) -> int | None:
    """ok at t if Prometheus 2 and 3 agree, else None."""
    first, second = (expected_ok(heartbeat, samples, t, closed) for closed in (False, True))
    return first if first == second else None


def healthy_test(subject: Subject) -> dict[str, Any]:
    heartbeat, e = subject.heartbeat, subject.interval
    end = HEALTHY_HOURS * 3600
    samples = scraped(heartbeat, e, end, worst_beat_phase(heartbeat, e), None)
    evaluations = range(0, end + 1, e)
    states = [_agreed(heartbeat, samples, t) for t in evaluations]
    settled = max((t + e for t, ok in zip(evaluations, states, strict=True) if ok != 1), default=0)
    if settled > heartbeat.window + e:
        raise ScenarioError(f"a healthy heartbeat only settles after {settled}s")
    # One failed scrape (a stale marker) right before an evaluation in the middle.
    samples[end // 2 - (heartbeat.scrape_interval - 1)] = STALE
    if any(_agreed(heartbeat, samples, t) != 1 for t in evaluations[settled // e :]):
        raise ScenarioError("one failed scrape would already drop the heartbeat")
    oldest = max(t - _newest(samples, t) for t in evaluations[settled // e :])
    span = held_range(end - settled, e)  # the evaluations from `settled` to `end`, in 2 and 3
    names = "|".join(alert.name for alert in subject.alerts)
    alerts = f'ALERTS{{alertstate="firing", alertname=~"{names}"}}'
    up = [None if v is None else (0.0 if v == STALE else 1.0) for v in samples]
    return {
        "name": (
            f"{heartbeat.ok_record()} stays 1 for {HEALTHY_HOURS}h with beats up to {oldest:.0f}s old and "
            f"one failed scrape (every {duration(heartbeat.period)}, scraped every "
            f"{duration(heartbeat.scrape_interval)})"
        ),
        "interval": "1s",
        "input_series": [subject.beats(samples), subject.up(up)],
        "promql_expr_test": [
            {
                "expr": f"min_over_time({subject.ok}[{span}]) + count_over_time({subject.ok}[{span}])",
                "eval_time": duration(end),
                "exp_samples": [
                    {
                        "labels": series("", subject.service.realm_matchers()) or "{}",
                        "value": 1 + evaluations_in(end - settled, e),
                    }
                ],
            },
            {
                "expr": f"max_over_time({alerts}[{span}])",
                "eval_time": duration(end),
                "exp_samples": [],
            },
        ],
    }


def stall_test(subject: Subject, late: int) -> dict[str, Any]:
    """The last beat is `freshness − late` seconds old at a chosen evaluation t."""
    heartbeat, e = subject.heartbeat, subject.interval
    t = e * -(-(heartbeat.window + heartbeat.freshness + 2 * heartbeat.period) // e)
    last_beat = t - heartbeat.freshness + late
    end = t + 3 * e
    samples = scraped(heartbeat, e, end, last_beat % heartbeat.period, last_beat)
    strays = scraped(heartbeat, e, end, last_beat % heartbeat.period, None)
    drops = t if late == 0 else t + e
    if (_agreed(heartbeat, samples, drops - e), _agreed(heartbeat, samples, drops)) != (1, 0):
        raise ScenarioError("the stall scenario does not isolate the freshness threshold")
    stale = subject.alerts[0]
    age = duration(heartbeat.freshness - late)
    return {
        "name": (
            f"{heartbeat.ok_record()} with the last beat {age} old: "
            f"{'0 (freshness is ' + duration(heartbeat.freshness) + ')' if late == 0 else 'still 1'}; "
            "strays of other realms keep beating"
        ),
        "interval": "1s",
        "input_series": [subject.beats(samples), *subject.strays(strays)],
        "promql_expr_test": [subject.ok_at(drops - e, 1), subject.ok_at(drops, 0)],
        "alert_rule_test": [
            alert_case(drops, stale.name, []),
            alert_case(drops + e, stale.name, [subject.firing(stale)]),
        ],
    }


def stuck_test(subject: Subject) -> dict[str, Any]:
    """A writer repeating one timestamp from the future (a clock jump) looks fresh for ever:
    changes() is what notices."""
    heartbeat, e = subject.heartbeat, subject.interval
    stuck_from = e * -(-heartbeat.window // e) + e
    end = stuck_from + heartbeat.window + 3 * e
    samples = scraped(heartbeat, e, end, worst_beat_phase(heartbeat, e), None)
    future = float(end + 100 * heartbeat.freshness)
    samples = [v if i < stuck_from or v is None else future for i, v in enumerate(samples)]
    states = [(t, _agreed(heartbeat, samples, t)) for t in range(stuck_from, end + 1, e)]
    last_one = max(t for t, ok in states if ok == 1)
    first_zero = min(t for t, ok in states if ok == 0 and t > last_one)
    return {
        "name": (
            f"{heartbeat.ok_record()} turns 0 when one future timestamp repeats for "
            f"{duration(heartbeat.window)}"
        ),
        "interval": "1s",
        "input_series": [subject.beats(samples)],
        "promql_expr_test": [subject.ok_at(last_one, 1), subject.ok_at(first_zero, 0)],
    }


def missing_tests(subject: Subject) -> list[dict[str, Any]]:
    """The companion alert fires after `for` whichever way the heartbeat cannot be read."""
    heartbeat, e = subject.heartbeat, subject.interval
    wait = missing_for(heartbeat, e)
    end = wait + 2 * e
    beats = scraped(heartbeat, e, end, worst_beat_phase(heartbeat, e), None)
    up, down = [1.0] * (end + 1), [0.0] * (end + 1)
    missing = subject.alerts[1]
    cases = {
        f"without {heartbeat.metric}": [subject.up(up), *subject.strays(beats)],
        "without any `up` of its job": [subject.beats(beats)],
        "with its target down": [subject.beats(beats), subject.up(down)],
    }
    tests = []
    for what, inputs in cases.items():
        test: dict[str, Any] = {
            "name": f"{missing.name} fires {duration(wait)} after the heartbeat is unreadable: {what}",
            "interval": "1s",
            "input_series": inputs,
            "alert_rule_test": [
                alert_case(wait - e, missing.name, []),
                alert_case(wait, missing.name, [subject.firing(missing)]),
            ],
        }
        if what.startswith("without " + heartbeat.metric):
            test["promql_expr_test"] = [subject.ok_at(0, 0), subject.ok_at(end, 0)]
        tests.append(test)
    return tests


def heartbeat_tests(
    spec: Spec, service: Service, heartbeat: Heartbeat, interval: int
) -> list[dict[str, Any]]:
    subject = Subject(spec, service, heartbeat, interval)
    tests = [healthy_test(subject), stall_test(subject, 0), stall_test(subject, 1), stuck_test(subject)]
    return tests + missing_tests(subject)


def watchdog_test(spec: Spec, interval: int) -> dict[str, Any]:
    alert = watchdog(spec)
    external = spec.settings.external_labels
    annotations = {k: expand(v, alert.labels, None, external) for k, v in alert.annotations.items()}
    return {
        "name": f"{WATCHDOG} fires from the first evaluation, with no input at all",
        "interval": duration(interval),
        "input_series": [],
        "alert_rule_test": [alert_case(0, WATCHDOG, [expected_alert(alert.labels, annotations)])],
    }
