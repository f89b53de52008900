"""Model → promtool unit-test files (`generated/prometheus/tests/*.yml`).

One file per service (recorded signals and threshold/raw alerts, at the evaluation interval)
and one per SLO (at its time slice, which the rules evaluate on). Every number in them is
computed from the model; see `slo_cases` for the theory of expected alert times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from generator.durations import format_duration
from generator.errors import Location, SpecError, SpecIssue
from generator.gate_rules import gate_file
from generator.model import Spec
from generator.promtool_tests.alert_cases import alert_tests, clamp_test, signal_test
from generator.promtool_tests.gate_cases import gate_tests
from generator.promtool_tests.heartbeat_cases import heartbeat_tests, watchdog_test
from generator.promtool_tests.series import ScenarioError
from generator.promtool_tests.slo_cases import UNTESTED_QUERY_SLI, slo_tests
from generator.rules import (
    WATCHDOG_FILE,
    GroupPlan,
    gate_plan,
    group_names,
    service_plan,
    slo_file,
    slo_plan,
    watchdog_plan,
)
from generator.slo_math import slo_id


def _file(
    spec: Spec, rule_files: dict[str, GroupPlan], interval: int, tests: list[dict[str, Any]]
) -> dict[str, Any]:
    """Groups are evaluated in the order the rule files list them, as a reader expects
    (promtool's own order is not guaranteed)."""
    if spec.settings.external_labels:
        labels = dict(sorted(spec.settings.external_labels.items()))
        tests = [{**test, "external_labels": labels} for test in tests]
    return {
        "rule_files": [f"../rules/{name}.yml" for name in rule_files],
        "evaluation_interval": format_duration(interval),
        "group_eval_order": [group for plan in rule_files.values() for group in group_names(plan)],
        "tests": tests,
    }


Cases = tuple[list[dict[str, Any]], list[str]]


def _scenarios(location: Location, build: Callable[[], Cases]) -> Cases:
    """Test cases and notes; a spec that admits no scenario is an error at its location."""
    try:
        return build()
    except ScenarioError as exc:
        raise SpecError([SpecIssue(location, f"cannot generate tests: {exc}")]) from None


@dataclass(frozen=True)
class PromtoolTests:
    files: dict[str, dict[str, Any]]
    """test file name (without .yml) → document"""
    notes: list[SpecIssue]
    """scenarios that cannot exist for an SLO, and why (printed by `obsgen gen`, not errors)"""


def compile_promtool_tests(spec: Spec) -> PromtoolTests:
    """One test file per rule file: `<service>` and `<service>.<slo>`."""
    files: dict[str, dict[str, Any]] = {}
    notes: list[SpecIssue] = []
    interval = spec.settings.evaluation_interval
    for service in spec.services:
        tests = [signal_test(service, signal, interval) for signal in service.signals]
        tests += [t for signal in service.signals if (t := clamp_test(service, signal, interval))]
        tests += heartbeat_tests(spec, service)
        tests += alert_tests(spec, service)
        own = {service.service: service_plan(spec, service)} if service_plan(spec, service) else {}
        if tests:
            files[service.service] = _file(spec, own, interval, tests)
        untested: list[tuple[Location, str]] = []
        for i, slo in enumerate(service.slos):
            location = spec.sources[service.service].location(("slos", i))
            cases, slo_notes = _scenarios(location, partial(slo_tests, spec, service, slo))
            if UNTESTED_QUERY_SLI in slo_notes:
                untested.append((location, slo.name))
            slo_notes = [note for note in slo_notes if note != UNTESTED_QUERY_SLI]
            notes += [SpecIssue(location, f"{slo_id(service, slo)}: {note}") for note in slo_notes]
            rule_files = {**own, slo_file(service, slo): slo_plan(spec, service, slo)}
            if cases:
                files[slo_file(service, slo)] = _file(spec, rule_files, slo.time_slice, cases)
        if untested:
            names = ", ".join(name for _, name in untested)
            notes.append(SpecIssue(untested[0][0], f"{service.service} SLOs {names}: {UNTESTED_QUERY_SLI}"))
        for i, gate in enumerate(service.gates):
            location = spec.sources[service.service].location(("gates", i))
            cases, gate_notes = _scenarios(location, partial(gate_tests, spec, service, gate))
            notes += [SpecIssue(location, note) for note in gate_notes]
            plan = {gate_file(service, gate): gate_plan(spec, service, gate)}
            files[gate_file(service, gate)] = _file(spec, plan, interval, cases)
    if spec.settings.watchdog:
        files[WATCHDOG_FILE] = _file(
            spec, {WATCHDOG_FILE: watchdog_plan(spec)}, interval, [watchdog_test(spec)]
        )
    return PromtoolTests(files, notes)
