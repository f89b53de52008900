"""Model → promtool unit-test files (`generated/prometheus/tests/*.yml`).

One file per service (recorded signals and threshold/raw alerts, at the evaluation interval)
and one per SLO (at its time slice, which the rules evaluate on). Every number in them is
computed from the model; see `slo_expectations` for the theory of expected alert times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import partial
from typing import Any

from generator.conventions import WATCHDOG_FILE, slo_id
from generator.durations import format_duration, time_scale
from generator.errors import Location, SpecIssue
from generator.gate_rules import gate_file
from generator.model import Service, Spec
from generator.promtool_tests.alert_cases import alert_tests, clamp_test, signal_test
from generator.promtool_tests.gate_cases import gate_tests
from generator.promtool_tests.heartbeat_cases import heartbeat_tests, watchdog_test
from generator.promtool_tests.series import ScenarioError
from generator.promtool_tests.slo_cases import UNTESTED_QUERY_SLI, slo_tests
from generator.rules import GroupPlan, gate_plan, group_names, service_plan, slo_file, slo_plan, watchdog_plan


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


@dataclass(frozen=True)
class PromtoolTests:
    files: dict[str, dict[str, Any]]
    """test file name (without .yml) → document"""
    notes: list[SpecIssue]
    """scenarios that cannot exist for an SLO, and why (printed by `obsgen gen`, not errors)"""
    refusals: list[SpecIssue]
    """spec elements no test scenario can prove; `validate` refuses the spec with these"""


class _Design:
    """Collects test cases; a spec element that admits no scenario becomes a refusal at its
    location instead of a test that would not prove anything."""

    def __init__(self) -> None:
        self.notes: list[SpecIssue] = []
        self.refusals: list[SpecIssue] = []

    def cases(self, location: Location, build: Callable[[], Cases]) -> Cases:
        try:
            return build()
        except ScenarioError as exc:
            self.refusals.append(SpecIssue(location, f"cannot generate tests that prove this: {exc}"))
            return [], []


def _without_notes(build: Callable[[], list[dict[str, Any]]]) -> Callable[[], Cases]:
    return lambda: (build(), [])


_last: tuple[Spec, Fraction, PromtoolTests] | None = None


def design_promtool_tests(spec: Spec) -> PromtoolTests:
    """Every test file, the notes and the refusals. `validate` designs the scenarios to refuse a
    spec none can prove; `obsgen gen` then compiles the same spec, so the last design is kept
    (per time scale: the tests quote rule expressions, whose ranges a sandbox compile scales)."""
    global _last
    scale = time_scale()
    if _last is None or _last[0] is not spec or _last[1] != scale:
        _last = (spec, scale, _design(spec))
    return _last[2]


def keep_design(designed: Spec, same: Spec) -> Spec:
    """`same` is `designed` with only what the tests do not read changed (the runbook template,
    set after `validate`): it keeps the design already made rather than making it again."""
    global _last
    if _last is not None and _last[0] is designed:
        _last = (same, _last[1], _last[2])
    return same


def compile_promtool_tests(spec: Spec) -> PromtoolTests:
    """One test file per rule file: `<service>` and `<service>.<slo>`. Assumes a spec `validate`
    accepted, which designed these same scenarios."""
    tests = design_promtool_tests(spec)
    if tests.refusals:
        raise RuntimeError(f"compile_promtool_tests of a spec validate refuses: {tests.refusals[0]}")
    return tests


def _design(spec: Spec) -> PromtoolTests:
    tests = design_service_tests(spec, spec.services)
    return replace(tests, files={**tests.files, **spec_test_files(spec)})


def spec_test_files(spec: Spec) -> dict[str, dict[str, Any]]:
    """The test files of no one service: the watchdog's."""
    if not spec.settings.watchdog:
        return {}
    interval = spec.settings.evaluation_interval
    return {
        WATCHDOG_FILE: _file(
            spec, {WATCHDOG_FILE: watchdog_plan(spec)}, interval, [watchdog_test(spec, interval)]
        )
    }


def design_service_tests(spec: Spec, services: Sequence[Service]) -> PromtoolTests:
    """The test files, notes and refusals of `services` alone: each depends on its own service
    and the settings, so `obsgen gen` can design a large spec's services in several processes."""
    files: dict[str, dict[str, Any]] = {}
    design = _Design()
    interval = spec.settings.evaluation_interval
    for service in services:
        doc = spec.sources[service.service]
        tests = [signal_test(service, signal, interval) for signal in service.signals]
        tests += [t for signal in service.signals if (t := clamp_test(service, signal, interval))]
        for i, heartbeat in enumerate(service.heartbeats):
            build = partial(heartbeat_tests, spec, service, heartbeat, interval)
            tests += design.cases(doc.location(("heartbeats", i)), _without_notes(build))[0]
        tests += alert_tests(spec, service, interval)
        plan = service_plan(spec, service)
        own = {service.service: plan} if plan else {}
        if tests:
            files[service.service] = _file(spec, own, interval, tests)
        untested: list[tuple[Location, str]] = []
        for i, slo in enumerate(service.slos):
            location = doc.location(("slos", i))
            cases, notes = design.cases(location, partial(slo_tests, spec, service, slo))
            if UNTESTED_QUERY_SLI in notes:
                untested.append((location, slo.name))
            named = [f"{slo_id(service, slo)}: {note}" for note in notes if note != UNTESTED_QUERY_SLI]
            design.notes += [SpecIssue(location, note) for note in named]
            rule_files = {**own, slo_file(service, slo): slo_plan(spec, service, slo)}
            if cases:
                files[slo_file(service, slo)] = _file(spec, rule_files, slo.time_slice, cases)
        if untested:
            names = ", ".join(name for _, name in untested)
            design.notes.append(
                SpecIssue(untested[0][0], f"{service.service} SLOs {names}: {UNTESTED_QUERY_SLI}")
            )
        for i, gate in enumerate(service.gates):
            location = doc.location(("gates", i))
            cases, notes = design.cases(location, partial(gate_tests, spec, service, gate, interval))
            design.notes += [SpecIssue(location, note) for note in notes]
            plan = {gate_file(service, gate): gate_plan(spec, service, gate)}
            files[gate_file(service, gate)] = _file(spec, plan, interval, cases)
    return PromtoolTests(files, design.notes, design.refusals)
