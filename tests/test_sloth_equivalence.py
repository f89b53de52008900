"""Sloth equivalence (issue 8, item 2): obsgen's rules for an imported Sloth spec compute what
Sloth's rules compute, sample for sample and alert for alert.

For every Sloth example without plugins, `obsgen import` the spec (with Sloth's
`--extra-labels cmd=examplesgen.sh`, as Sloth generated its examples), `obsgen gen` the rules,
then run ONE real `promtool test rules` with Sloth's shipped rules and ours over the same input
series, and a compare group that checks every slo:* series and every alert at every tick. How
the comparison works: tests/sloth_equivalence.py. The input and what it exercises:
tests/fixtures/sloth_equivalence/<example>.series.yml.

`obsgen import sloth` and `obsgen import openslo` make queries of the shape
sum(rate(counter[{{.window}}])) native ratio SLIs by default, which read the counters once over
5m and sum those rates over longer windows (and weigh the 30-day ratio by traffic): close to
Sloth's values, not equal at every tick. The equivalence is the claim of `--raw-queries`, which
keeps Sloth's queries over every window, so the Sloth specs and Sloth's OpenSLO examples are
imported with it here; the native import is proven by its own generated promtool tests
(test_import_sloth.py, test_import_openslo.py).

Documented differences that are mapped, not hidden: Sloth's identity labels `sloth_*` are ours
`slo_*` (`sloth_slo` is `slo_name`); Sloth's current/period burn rate and budget remaining keep
`sloth_window` through `group_left`, ours do not, so the window label is left out on those
three; `sloth_slo_info` is not an slo:* series and is not compared. Our burn alerts carry
`service` (and `severity` where Sloth sets none) besides Sloth's labels.

Not covered on purpose: an error ratio exactly at factor × budget. Sloth's thresholds come from
1 − 0.999 in floating point (6 × 0.0009999999999999432), ours from exact decimals (0.006), so a
steady error ratio of exactly 0.6 % pages with Sloth's rules and not with ours. The fixtures keep
their ratios away from every threshold.

Mutation tests show the harness fails when one number or label of ours is off.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import obsgen
from sloth_equivalence import EXTRA_LABELS, Fixture, Run, static_differences, write_run
from sloth_peers import PLUGIN_FREE, SLOTH

EXAMPLES = list(PLUGIN_FREE)


def import_and_generate(example: str, work: Path) -> list[Path]:
    """`obsgen import` Sloth's spec, `obsgen gen` it: our rule files. Both importers run with
    `--raw-queries`, the import that computes what Sloth computes (see the module docstring)."""
    kind = "openslo" if example.startswith("openslo-") else "sloth"
    spec, out = work / "spec", work / "generated"
    source = SLOTH / f"{example}.in.yml"
    imported = obsgen("import", kind, source, "--out", spec, "--extra-labels", EXTRA_LABELS, "--raw-queries")
    assert imported.returncode == 0, f"obsgen import {kind} {source}:\n{imported.stdout}{imported.stderr}"
    generated = obsgen("gen", "--spec", spec, "--out", out)
    assert generated.returncode == 0, f"obsgen gen --spec {spec}:\n{generated.stdout}{generated.stderr}"
    return sorted((out / "prometheus" / "rules").glob("*.yml"))


@dataclass(frozen=True)
class Outcome:
    run: Run
    promtool: subprocess.CompletedProcess[str]
    seconds: float

    def report(self) -> str:
        return (
            f"`promtool test rules {self.run.test_file}` ({self.seconds:.1f}s) failed: Sloth's and "
            "obsgen's rules disagree, or did not evaluate (equiv:first_time: seconds from the start):\n"
            f"{self.promtool.stdout}{self.promtool.stderr}"
        )


def promtool_run(promtool: str, run: Run) -> Outcome:
    started = time.monotonic()
    process = subprocess.run(
        [promtool, "test", "rules", str(run.test_file)], capture_output=True, text=True, timeout=600
    )
    return Outcome(run, process, time.monotonic() - started)


def equivalence(example: str, work: Path, promtool: str) -> Outcome:
    rules = import_and_generate(example, work)
    run = write_run(work / "run", SLOTH / f"{example}.out.yml", rules, Fixture.load(example))
    return promtool_run(promtool, run)


class Runs:
    """Each example's import, generation and promtool run, started together on every core:
    promtool evaluates one test file on one core, and the examples are independent."""

    def __init__(self, root: Path, promtool: str) -> None:
        self.root, self.promtool = root, promtool
        self.pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2)
        self.futures: dict[str, Future[Outcome]] = {}

    def start(self, example: str) -> Future[Outcome]:
        if example not in self.futures:
            work = self.root / example
            self.futures[example] = self.pool.submit(equivalence, example, work, self.promtool)
        return self.futures[example]

    def result(self, example: str) -> Outcome:
        return self.start(example).result()


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, promtool: str
) -> Iterator[Runs]:
    runs = Runs(tmp_path_factory.mktemp("sloth-equivalence"), promtool)
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.module is request.module and callspec is not None and "example" in callspec.params:
            runs.start(callspec.params["example"])
    yield runs
    runs.pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize("example", EXAMPLES)
def test_obsgen_rules_compute_what_sloths_compute(example: str, runs: Runs) -> None:
    outcome = runs.result(example)
    differences = static_differences(outcome.run.sloth, outcome.run.ours)
    assert not differences, "\n".join(differences)
    assert outcome.promtool.returncode == 0, outcome.report()


# --- the harness can fail ----------------------------------------------------------------------

OUR_RULES = "myservice.requests-availability.yml"
# name: (text in our getting-started rules, replacement, what the failure must name)
MUTATIONS = {
    "unchanged": None,
    # an objective one step off: slo:objective:ratio disagrees at every tick
    "objective": ("vector(0.999)", "vector(0.998)", ['series="slo:objective:ratio"', "9.98E-01"]),
    # the 1h/5m page threshold ten times too high: our page fires later than Sloth's
    "page threshold": (
        "> 0.0144)",
        "> 0.144)",
        ['alertname="MyServiceHighErrorRate"', 'alertstate="firing"', 'slo_severity="page"'],
    ),
    # one label value off: every series is on one side only
    "label": ('tier: "2"', 'tier: "3"', ['series="slo:sli_error:ratio_rate5m"', 'tier="3"']),
}


@pytest.fixture(scope="module")
def getting_started(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return import_and_generate("getting-started", tmp_path_factory.mktemp("getting-started"))


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_a_mutated_rule_file_is_reported(
    mutation: str, getting_started: list[Path], promtool: str, tmp_path: Path
) -> None:
    rules = []
    for path in getting_started:
        rules.append(tmp_path / path.name)
        shutil.copyfile(path, rules[-1])
    change = MUTATIONS[mutation]
    if change is not None:
        target = tmp_path / OUR_RULES
        text, replacement, _ = change
        assert text in target.read_text(), f"{text!r} is not in {OUR_RULES} any more; update the mutation"
        target.write_text(target.read_text().replace(text, replacement))
    # The first 8 hours hold the healthy stretch, the burst (page and ticket) and some mild errors.
    fixture = dataclasses.replace(Fixture.load("getting-started"), duration="8h")
    outcome = promtool_run(
        promtool, write_run(tmp_path / "run", SLOTH / "getting-started.out.yml", rules, fixture)
    )
    if change is None:
        assert outcome.promtool.returncode == 0, outcome.report()
        return
    assert outcome.promtool.returncode == 1, outcome.report()
    output = outcome.promtool.stdout + outcome.promtool.stderr
    for needle in change[2]:
        assert needle in output, f"{needle} not named:\n{outcome.report()}"
