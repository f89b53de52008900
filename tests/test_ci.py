"""The six checks of the L4 readiness report: one workflow job each, named as the seed names
them, each calling one make target that exists; `make ci` runs them in order."""

from __future__ import annotations

import re
import subprocess

import yaml
from conftest import ROOT

SEED_CHECKS = [
    "obs-lint",
    "promql-unit",
    "sandbox-smoke-60s",
    "error-budget-burn-ok",
    "canary-quorum-pass",
    "dr-rehearsal-24h-pass",
]


def workflow() -> dict:
    return yaml.safe_load((ROOT / ".github/workflows/observability.yml").read_text())


def test_workflow_has_exactly_the_six_jobs_each_one_make_target() -> None:
    jobs = workflow()["jobs"]
    assert sorted(jobs) == sorted(SEED_CHECKS)
    targets = {}
    for name, job in jobs.items():
        runs = [step["run"] for step in job["steps"] if "run" in step]
        assert len(runs) == 1 and re.fullmatch(r"make [\w.-]+", runs[0]), (name, runs)
        targets[name] = runs[0].split()[1]
    for target in targets.values():
        dry = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True)
        assert dry.returncode == 0, dry.stderr


def test_make_ci_runs_the_same_targets_in_order() -> None:
    makefile = (ROOT / "Makefile").read_text()
    checks = re.search(r"^CI_CHECKS := (.+)$", makefile, re.M)
    assert checks is not None
    jobs = workflow()["jobs"]
    order = [jobs[name]["steps"][-1]["run"].split()[1] for name in SEED_CHECKS]
    assert checks.group(1).split() == order
    test_recipe = re.search(r"^test:.*\n((?:\t.*\n)+)", makefile, re.M)
    assert test_recipe is not None and "$(MAKE) --no-print-directory ci" in test_recipe.group(1)


def test_every_make_target_the_alerts_and_runbooks_cite_exists() -> None:
    """An operator paged at night runs what the alert says: each `make X` in the generated
    rules' annotations and runbooks must be a target of the Makefile."""
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([\w.-]+):", makefile, re.M))
    texts = [p.read_text() for p in sorted((ROOT / "generated/prometheus/rules").glob("*.yml"))]
    texts += [p.read_text() for p in sorted((ROOT / "generated/runbooks").glob("*.md"))]
    cited = {name for text in texts for name in re.findall(r"`make ([\w.-]+)", text)}
    assert {"autotune.bridge", "dr.recover", "ure.sync", "bridge.adaptive.start"} <= cited
    assert sorted(cited - targets) == []
