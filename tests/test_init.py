"""`obsgen init`: a new project that `obsgen gen` compiles as it is, whose generated promtool tests,
amtool config and routing tests pass, that says nothing of the bundled Lumen/DuRi system, and
that never overwrites a directory it was not asked to.

The two slow checks (the default project's generated promtool tests, and the whole `make test`
of a project renamed with --service) run side by side in the background while the rest runs."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, obsgen, tree_bytes

FILES = {"spec/obsgen.yaml", "spec/api.yaml", "spec/alertmanager.yaml", "Makefile", "README.md", ".gitignore"}
FOREIGN = re.compile(r"\b(lumen|duri|bridge|ure)\b", re.IGNORECASE)


def with_obsgen_on_path() -> dict[str, str]:
    """The environment a user has: obsgen (installed next to this interpreter) on PATH."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}


def tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; `make test` installs the Debian package {package}")
    return path


class Background:
    """A command started now; its result is read (once) when a test needs it."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.argv = argv
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=with_obsgen_on_path(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    @functools.cached_property
    def result(self) -> tuple[int, str]:
        output, _ = self.process.communicate(timeout=300)
        return self.process.returncode, output

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def init(directory: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return obsgen("init", directory, *options, cwd=directory.parent)


def new_project(directory: Path, *options: str) -> Path:
    result = init(directory, *options)
    assert result.returncode == 0, result.stderr
    generated = obsgen("gen", cwd=directory)  # spec/ and generated/ relative to the project
    assert generated.returncode == 0, generated.stderr
    return directory


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory, promtool: str) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("init")
    api = new_project(root / "p")
    checkout = new_project(root / "shop", "--service", "checkout")
    tool("make", "make")
    tool("amtool", "prometheus-alertmanager")
    tests = sorted(str(p.relative_to(api)) for p in (api / "generated/prometheus/tests").glob("*.yml"))
    jobs = {
        "api tests": Background([promtool, "test", "rules", *tests], api),
        "checkout make test": Background(["make", "--no-print-directory", "test"], checkout),
    }
    try:
        yield {"api": api, "checkout": checkout, **jobs}
    finally:
        for job in jobs.values():
            job.stop()


def test_init_writes_a_commented_project_and_says_what_next(projects: dict, tmp_path: Path) -> None:
    api: Path = projects["api"]
    written = {p for p in tree_bytes(api) if not p.startswith("generated/")}
    assert written == FILES
    assert "\nservice: api\n" in (api / "spec/api.yaml").read_text()
    assert (api / "spec/api.yaml").read_text().count("\n#") > 10  # commented for a newcomer
    out = init(tmp_path / "fresh")
    assert out.returncode == 0, out.stderr
    for step in (f"cd {tmp_path / 'fresh'}", "spec/api.yaml", "obsgen gen", "make test"):
        assert step in out.stdout
    steps = out.stdout.split("Next steps:\n")[1].splitlines()
    assert [line.split()[0] for line in steps] == ["cd", "$EDITOR", "obsgen", "make"]


def test_rules_select_5xx_and_the_bucket_scoped_to_the_job(projects: dict) -> None:
    rules = projects["api"] / "generated/prometheus/rules"
    availability = (rules / "api.availability.yml").read_text()
    assert 'rate(http_requests_total{code=~"5..", job="api"}[5m])' in availability
    assert 'rate(http_requests_total{job="api"}[5m])' in availability
    latency = (rules / "api.latency.yml").read_text()
    assert 'rate(http_request_duration_seconds_bucket{job="api", le="0.3"}[5m])' in latency
    assert 'rate(http_request_duration_seconds_count{job="api"}[5m])' in latency
    alerts = {
        rule["alert"]
        for text in (availability, latency)
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    assert alerts == {"ApiAvailabilityErrorBudgetBurn", "ApiLatencyErrorBudgetBurn"}
    # The project's README names what was generated.
    readme = (projects["api"] / "README.md").read_text()
    assert all(alert in readme for alert in alerts)


def test_promtool_checks_the_rules_and_the_generated_tests_pass(projects: dict, promtool: str) -> None:
    api: Path = projects["api"]
    rules = sorted(str(p) for p in (api / "generated/prometheus/rules").glob("*.yml"))
    check = subprocess.run(
        [promtool, "check", "rules", "--lint-fatal", *rules], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    tests = {p.name for p in (api / "generated/prometheus/tests").glob("*.yml")}
    assert tests == {"_watchdog.yml", "api.availability.yml", "api.latency.yml"}
    code, output = projects["api tests"].result
    assert code == 0, output
    assert output.count("SUCCESS") == len(tests)


def test_alertmanager_config_and_routing_tests_pass(projects: dict) -> None:
    api: Path = projects["api"]
    amtool = tool("amtool", "prometheus-alertmanager")
    check = subprocess.run(
        [amtool, "check-config", "generated/alertmanager/alertmanager.yml"],
        cwd=api,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    routes = obsgen("alert", "routes-test", cwd=api, env=with_obsgen_on_path())
    assert routes.returncode == 0, routes.stdout + routes.stderr
    assert "ApiAvailabilityErrorBudgetBurn {severity=page" in routes.stdout
    assert "→ oncall,team-chat" in routes.stdout
    config = (api / "generated/alertmanager/alertmanager.yml").read_text()
    assert "routing_key_file: /etc/alertmanager/secrets/PAGERDUTY_ROUTING_KEY" in config
    assert "api_url_file: /etc/alertmanager/secrets/SLACK_WEBHOOK_URL" in config


def test_nothing_of_the_bundled_system(projects: dict) -> None:
    api: Path = projects["api"]
    for name in FILES:
        text = (api / name).read_text()
        assert not FOREIGN.search(text), f"{name}: {FOREIGN.search(text)}"
    # The generated files too; the JSON Schema is the spec format's, its examples are the bundled spec's.
    for path in (api / "generated").rglob("*"):
        if path.is_file() and path.name != "spec.schema.json":
            assert not FOREIGN.search(path.read_text()), path


def test_service_renamed_everywhere_and_make_test_passes(projects: dict) -> None:
    shop: Path = projects["checkout"]
    written = {p for p in tree_bytes(shop) if not p.startswith("generated/")}
    assert written == FILES - {"spec/api.yaml"} | {"spec/checkout.yaml"}
    for name in written:
        assert not re.search(r"\bapi\b|\bApi[A-Z]|__SERVICE", (shop / name).read_text()), name
    availability = (shop / "generated/prometheus/rules/checkout.availability.yml").read_text()
    assert 'http_requests_total{code=~"5..", job="checkout"}' in availability
    assert "alert: CheckoutAvailabilityErrorBudgetBurn" in availability
    assert (
        "slo_id: checkout-latency" in (shop / "generated/prometheus/rules/checkout.latency.yml").read_text()
    )
    code, output = projects["checkout make test"].result
    assert code == 0, output
    for step in ("gen --check", "check rules", "test rules", "check-config", "routes-test", "lint"):
        assert step in output


def test_a_non_empty_directory_is_refused_untouched(projects: dict, tmp_path: Path) -> None:
    before = tree_bytes(projects["api"])
    again = init(projects["api"])
    assert again.returncode == 2
    assert "not empty" in again.stderr and "--force" in again.stderr
    assert tree_bytes(projects["api"]) == before
    (tmp_path / "notes.txt").write_text("mine\n")
    refused = init(tmp_path)
    assert refused.returncode == 2, refused.stdout
    assert tree_bytes(tmp_path) == {"notes.txt": b"mine\n"}


def test_force_replaces_the_project_files_only_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec/api.yaml").write_text("service: edited\n")
    (tmp_path / "notes.txt").write_text("mine\n")
    forced = init(tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr
    assert re.search(r"spec/api\.yaml +\(replaced\)", forced.stdout), forced.stdout
    assert (tmp_path / "notes.txt").read_text() == "mine\n"
    assert set(tree_bytes(tmp_path)) == FILES | {"notes.txt"}
    assert "\nservice: api\n" in (tmp_path / "spec/api.yaml").read_text()


@pytest.mark.parametrize("name", ["Checkout", "check_out", "-x", "alertmanager", "obsgen"])
def test_a_bad_service_name_is_refused(name: str, tmp_path: Path) -> None:
    result = init(tmp_path / "p", "--service", name)
    assert result.returncode == 2
    assert "--service" in result.stderr
    assert not (tmp_path / "p").exists()


def test_the_template_ships_in_the_wheel() -> None:
    """Every template file is matched by pyproject's package-data, so `pip install` carries it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["generator"]
    package = ROOT / "generator"
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    template = {p for p in (package / "project_template").rglob("*") if p.is_file()}
    assert template and template <= shipped


def test_the_readme_worked_example_is_what_gen_writes(tmp_path: Path) -> None:
    """README.md's worked HTTP example, as a spec of a new project, generates the rules it shows."""
    section = (ROOT / "README.md").read_text().split("### Worked example: an HTTP API", 1)[1]
    spec, rules = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)[:2]
    project = tmp_path / "p"
    assert init(project, "--service", "checkout").returncode == 0
    (project / "spec/checkout.yaml").write_text(spec)
    result = obsgen("gen", cwd=project)
    assert result.returncode == 0, result.stderr
    generated = "".join(p.read_text() for p in sorted((project / "generated/prometheus/rules").glob("*.yml")))
    shown = [rule["expr"] for rule in yaml.safe_load(rules)]
    assert len(shown) == 3
    for expr in shown:
        assert f"expr: {expr}\n" in generated, expr
    assert 'sum by (handler) (rate(http_requests_total{job="checkout"}[5m]))' in generated
    alerts = set(re.findall(r"`(Checkout\w+ErrorBudgetBurn)`", section))
    assert len(alerts) == 3
    for alert in alerts:
        assert f"alert: {alert}\n" in generated


@pytest.mark.parametrize("exists", [False, True])
def test_a_failed_init_leaves_the_directory_as_it_was(exists: bool, tmp_path: Path) -> None:
    from generator.writer import create_tree

    root = tmp_path / "p"
    if exists:
        root.mkdir()
    with pytest.raises(OSError):
        create_tree(root, {"a.txt": "x", "b": "y", "b/c": "clash: b is a file"})
    assert (list(root.iterdir()) == []) if exists else not root.exists()
