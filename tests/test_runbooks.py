"""Runbook pages: one per alert the rules emit, linked by its runbook_url, stating the detection
times `obsgen explain` prints and the spec's own steps in order, rendered from a template a
project may override; a broken template is a located error that writes nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import GENERATED, SPEC, obsgen, tree_bytes

from generator.explain import explain, find_slo
from generator.pipeline import load
from generator.slo_math import burn_alert_name

RUNBOOKS = GENERATED / "runbooks"


@pytest.fixture(scope="module")
def spec():
    return load(SPEC)


def rule_alerts() -> dict[str, set[str]]:
    """Alert name → the runbook_url annotations its rules carry, from generated/prometheus/rules."""
    found: dict[str, set[str]] = {}
    for path in sorted((GENERATED / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    found.setdefault(rule["alert"], set()).add(rule["annotations"]["runbook_url"])
    return found


def test_every_alert_has_exactly_one_page_its_runbook_url_names(spec) -> None:
    alerts = rule_alerts()
    pages = {path.stem for path in RUNBOOKS.glob("*.md")}
    assert pages == set(alerts)
    base = spec.settings.runbook_base_url.rstrip("/")
    for name, urls in alerts.items():
        assert urls == {f"{base}/{name}"}, name
        assert (RUNBOOKS / f"{name}.md").read_text().startswith(f"# {name}\n")


def explain_fire_times(text: str) -> list[tuple[str, str, str]]:
    """(severity, long/short, fires after) of each window row `obsgen explain` prints."""
    rows = re.findall(r"^  (page|ticket)\s+(\S+)\s+\S+\s+\S+\s+(\S+)\s+\S+%$", text, re.MULTILINE)
    assert rows, text
    return rows


def page_fire_times(text: str) -> list[tuple[str, str, str]]:
    rows = re.findall(
        r"^\| (page|ticket) \| (\S+) \| [^|]+ \| [^|]+ \| (\S+) \| [^|]+ \|$", text, re.MULTILINE
    )
    return rows


@pytest.mark.parametrize("wanted", ["bridge-phase-diff", "bridge-sync-quality", "ure-residual-stddev"])
def test_burn_rate_page_states_the_detection_times_explain_prints(spec, wanted: str) -> None:
    service, slo = find_slo(spec, wanted)
    page = (RUNBOOKS / f"{burn_alert_name(service, slo)}.md").read_text()
    assert page_fire_times(page) == explain_fire_times(explain(service, slo))
    assert f"`obsgen explain {wanted}`" in page


def test_explain_command_prints_what_the_page_states() -> None:
    result = obsgen("explain", "bridge-phase-diff")
    assert result.returncode == 0, result.stderr
    page = (RUNBOOKS / "BridgePhaseDriftBudgetBurn.md").read_text()
    assert ("page", "1h/5m", "8m38s") in page_fire_times(page)
    assert page_fire_times(page) == explain_fire_times(result.stdout)


def test_steps_from_the_spec_appear_in_order(spec) -> None:
    alert = next(a for a in spec.service("bridge").alerts if a.name == "BridgeNotReady")
    steps = list(alert.runbook.steps)
    assert any("make restore.from SNAP=" in s for s in steps)
    page = (RUNBOOKS / "BridgeNotReady.md").read_text()
    own = page.split("This alert's own steps, from the spec:", 1)[1]
    numbered = re.findall(r"^(\d+)\. (.*)$", own, re.MULTILINE)
    assert numbered == [(str(i), step) for i, step in enumerate(steps, 1)]


def test_a_page_names_the_services_dashboard() -> None:
    page = (RUNBOOKS / "BridgePhaseDriftBudgetBurn.md").read_text()
    dashboards = page.split("## Dashboard", 1)[1].split("## Steps", 1)[0]
    assert dashboards.lstrip().startswith("- **bridge SLOs**: Grafana `/d/bridge-slos`")


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new `obsgen init` project, generated once for the module."""
    directory = tmp_path_factory.mktemp("init") / "project"
    assert obsgen("init", directory, cwd=directory.parent).returncode == 0
    result = obsgen("gen", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory


@pytest.fixture()
def project(initialised: Path, tmp_path: Path) -> Path:
    """A copy of the generated init project, for one test to change."""
    return Path(shutil.copytree(initialised, tmp_path / "project"))


def test_an_init_project_gets_a_page_per_alert(project: Path) -> None:
    pages = sorted(p.name for p in (project / "generated" / "runbooks").glob("*.md"))
    assert "Watchdog.md" in pages
    assert any(name.endswith("ErrorBudgetBurn.md") for name in pages)


def test_the_projects_template_overrides_the_bundled_one(project: Path) -> None:
    (project / "templates").mkdir()
    (project / "templates" / "runbook.md.j2").write_text("Ours: {{ name }} ({{ kind }})\n")
    result = obsgen("gen", cwd=project)
    assert result.returncode == 0, result.stderr
    page = (project / "generated" / "runbooks" / "Watchdog.md").read_text()
    assert page == "Ours: Watchdog (watchdog)\n"


@pytest.mark.parametrize(
    ("template", "line", "message"),
    [
        ("# {{ name }}\n\n{{ name | }}\nmore\n", 3, "expected token"),
        ("# {{ name }}\n{{ no_such_variable }}\n", 2, "no_such_variable"),
    ],
    ids=["syntax", "undefined"],
)
def test_a_template_error_is_located_exits_2_and_writes_nothing(
    project: Path, template: str, line: int, message: str
) -> None:
    before = tree_bytes(project / "generated")
    (project / "templates").mkdir()
    (project / "templates" / "runbook.md.j2").write_text(template)
    result = obsgen("gen", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"runbook.md.j2:{line}" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_bytes(project / "generated") == before
