"""`obsgen reload` (the seed's reload_safe) against the real Prometheus and promtool.

A module fixture copies generated/prometheus/{prometheus.yml,rules/} into a temporary
generated/prometheus/ and starts the Debian `prometheus` on a free loopback port with
--web.enable-lifecycle (the Alertmanager and scrape targets it names are not running, which
is harmless). Each test changes the rule files, runs the real CLI in a subprocess, and the
fixture puts the original files back and reloads Prometheus afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import GENERATED, free_port, installed, obsgen, stop_process, wait_until_ready

from generator.exit_codes import ExitCode
from generator.live.reload import group_differences
from generator.live.reload_checks import describe, groups_in_files, listed_rule_files, problems
from generator.live.reload_client import ReloadState, groups_in_answer, parse_reload_state

DEADLINE = 20.0
STEPS = ("check config", "check rules", "read state", "reload", "verify")
BROKEN = """groups:
- name: broken
  rules:
  - record: broken:rate5m
    expr: sum(rate(bridge_ticks_total[5m])
"""
DUPLICATED = """groups:
- name: duplicated
  rules:
  - record: duplicated:one
    expr: vector(1)
  - record: duplicated:one
    expr: vector(1)
"""


# ---------------------------------------------------------------- the real Prometheus


def copy_generated(root: Path) -> Path:
    """A copy of the generated prometheus.yml and rules/ under root/generated/prometheus/."""
    target = root / "generated" / "prometheus"
    target.mkdir(parents=True)
    shutil.copy2(GENERATED / "prometheus" / "prometheus.yml", target)
    shutil.copytree(GENERATED / "prometheus" / "rules", target / "rules")
    return target


@dataclass
class Server:
    url: str
    root: Path
    """the temporary directory whose generated/prometheus/ Prometheus reads"""
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def config(self) -> Path:
        return self.root / "generated" / "prometheus" / "prometheus.yml"

    @property
    def rules(self) -> Path:
        return self.config.parent / "rules"

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:
            return response.read()

    def state(self) -> ReloadState:
        state = parse_reload_state(self.get("/metrics").decode())
        assert state is not None
        return state

    def groups(self) -> dict[str, list[tuple[str, ...]]]:
        return groups_in_answer(json.loads(self.get("/api/v1/rules")))

    def reload(self) -> None:
        request = urllib.request.Request(f"{self.url}/-/reload", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass


def start(root: Path, *, lifecycle: bool) -> Server:
    binary = installed("prometheus")
    copy_generated(root)
    url = f"http://127.0.0.1:{free_port()}"
    log = root / "prometheus.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={root / 'generated/prometheus/prometheus.yml'}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address={url.removeprefix('http://')}",
                "--log.level=warn",
                *(["--web.enable-lifecycle"] if lifecycle else []),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(url, root, process, log)
    try:
        wait_ready(server)
    except BaseException:
        stop(server)
        raise
    return server


def wait_ready(server: Server) -> None:
    wait_until_ready(server.url, server.process, server.log, DEADLINE)


def stop(server: Server) -> None:
    stop_process(server.process)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start(tmp_path_factory.mktemp("reload"), lifecycle=True)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture
def prometheus(running: Server) -> Iterator[Server]:
    """The module's Prometheus; afterwards its original rule files are back, and loaded."""
    yield running
    shutil.rmtree(running.rules)
    shutil.copytree(GENERATED / "prometheus" / "rules", running.rules)
    running.reload()
    assert running.state().successful


@pytest.fixture
def without_lifecycle(tmp_path: Path) -> Iterator[Server]:
    server = start(tmp_path, lifecycle=False)
    try:
        yield server
    finally:
        stop(server)


# ---------------------------------------------------------------- running the CLI


def reload(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`obsgen reload` in a process of its own, without the caller's PROMETHEUS_URL unless given."""
    environ = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_URL"}
    environ.update(env or {})
    extra = {"cwd": cwd} if cwd is not None else {}
    result = obsgen("reload", *args, env=environ, timeout=60, **extra)
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def steps(out: str) -> dict[str, str]:
    """step name → ok / FAILED, for the steps that ran."""
    found = {}
    for line in out.splitlines():
        for name in STEPS:
            if line.startswith(f"  {STEPS.index(name) + 1} {name} "):
                found[name] = line[len(f"  1 {'':12}") :].split()[0]
    return found


def last_line(out: str) -> str:
    return out.rstrip("\n").splitlines()[-1]


def copied_group(source: Path, name: str, record: str) -> str:
    """The first group of `source` under another name, its first rule recording `record`."""
    group = yaml.safe_load(source.read_text())["groups"][0]
    group["name"] = name
    group["rules"] = [{**group["rules"][0], "record": record}]
    return yaml.safe_dump({"groups": [group]}, sort_keys=False)


# ---------------------------------------------------------------- against the real Prometheus


def test_a_good_change_is_loaded(prometheus: Server) -> None:
    before = prometheus.state()
    assert "ure-signals-next" not in prometheus.groups()
    (prometheus.rules / "ure-next.yml").write_text(
        copied_group(prometheus.rules / "ure.yml", "ure-signals-next", "ure:residual_stddev_10m_next")
    )

    result = reload("--prometheus", prometheus.url, "--config", prometheus.config)

    assert result.returncode == ExitCode.OK, result.stdout
    assert result.stdout.splitlines()[0] == (
        f"safe reload of Prometheus at {prometheus.url} with {prometheus.config}"
    )
    assert steps(result.stdout) == dict.fromkeys(STEPS, "ok")
    assert last_line(result.stdout) == (
        f"[RELOADED] Prometheus at {prometheus.url} serves the checked configuration and rules"
    )
    assert prometheus.groups()["ure-signals-next"] == [("ure:residual_stddev_10m_next",)]
    after = prometheus.state()
    assert after.successful and after.timestamp > before.timestamp
    assert result.stderr == ""


def test_a_broken_rule_file_never_reaches_prometheus(prometheus: Server) -> None:
    before, served = prometheus.state(), prometheus.groups()
    (prometheus.rules / "broken.yml").write_text(BROKEN)

    result = reload("--prometheus", prometheus.url, "--config", prometheus.config)

    assert result.returncode == ExitCode.CHECK_FAILED, result.stdout
    # promtool check config also parses the rule files it lists, so the first step stops it.
    assert steps(result.stdout) == {"check config": "FAILED"}
    assert "promtool check config exited 1" in result.stdout
    assert "broken.yml" in result.stdout and "parse error" in result.stdout
    assert last_line(result.stdout) == "[NOT SENT] check config failed; Prometheus was not asked to reload"
    # Never reloaded: same success timestamp, still serving the old rules.
    assert prometheus.state() == before
    assert prometheus.groups() == served
    assert "broken" not in served


def test_a_lint_error_stops_at_check_rules(prometheus: Server) -> None:
    """`check config` lets duplicated rules pass with a warning; `check rules --lint-fatal` does not."""
    before = prometheus.state()
    (prometheus.rules / "duplicated.yml").write_text(DUPLICATED)

    result = reload("--prometheus", prometheus.url, "--config", prometheus.config)

    assert result.returncode == ExitCode.CHECK_FAILED, result.stdout
    assert steps(result.stdout) == {"check config": "ok", "check rules": "FAILED"}
    assert "promtool check rules exited 3" in result.stdout
    assert "duplicate rule" in result.stdout
    assert last_line(result.stdout) == "[NOT SENT] check rules failed; Prometheus was not asked to reload"
    assert prometheus.state() == before


def test_a_reload_prometheus_fails_exits_4_and_it_keeps_the_old_rules(
    prometheus: Server, tmp_path: Path
) -> None:
    """Checking other files than those Prometheus reads: why the command runs on its host."""
    checked = copy_generated(tmp_path) / "prometheus.yml"  # good files
    served = prometheus.groups()
    (prometheus.rules / "broken.yml").write_text(BROKEN)  # what Prometheus reads

    result = reload("--prometheus", prometheus.url, "--config", checked)

    assert result.returncode == ExitCode.RELOAD_FAILED, result.stdout
    assert steps(result.stdout) == {
        **dict.fromkeys(("check config", "check rules", "read state"), "ok"),
        "reload": "FAILED",
    }
    assert (
        f"warning: Prometheus was started with --config.file={prometheus.config}, not {checked}"
        in result.stdout
    )
    assert "Prometheus failed the reload (HTTP 500: failed to reload config" in result.stdout
    assert last_line(result.stdout) == "[FAILED] reload failed: Prometheus did not reload"
    assert not prometheus.state().successful
    assert prometheus.groups() == served


def test_verify_names_the_groups_that_differ(prometheus: Server, tmp_path: Path) -> None:
    """--rules-dir with a group Prometheus's config does not load: the reload works, the check
    does not. The URL comes from $PROMETHEUS_URL, the config is the default, under cwd."""
    rules = tmp_path / "rules"
    shutil.copytree(prometheus.rules, rules)
    (rules / "ure-next.yml").write_text(
        copied_group(rules / "ure.yml", "ure-signals-next", "ure:residual_stddev_10m_next")
    )
    before, served = prometheus.state(), describe(prometheus.groups())
    on_disk = describe(groups_in_files(sorted(rules.glob("*.yml"))))

    result = reload("--rules-dir", rules, cwd=prometheus.root, env={"PROMETHEUS_URL": prometheus.url})

    assert result.returncode == ExitCode.RELOAD_FAILED, result.stdout
    assert result.stdout.splitlines()[0].endswith(" with generated/prometheus/prometheus.yml")
    assert steps(result.stdout) == {**dict.fromkeys(STEPS[:4], "ok"), "verify": "FAILED"}
    assert f"({served}) are not those on disk ({on_disk})" in result.stdout
    assert "      group ure-signals-next: on disk, not loaded" in result.stdout.splitlines()
    assert last_line(result.stdout) == (
        "[FAILED] verify failed: Prometheus reloaded, but not into what was checked"
    )
    assert prometheus.state().timestamp > before.timestamp


def test_lifecycle_disabled_is_a_clear_refusal(without_lifecycle: Server) -> None:
    before = without_lifecycle.state()

    result = reload("--prometheus", without_lifecycle.url, "--config", without_lifecycle.config)

    assert result.returncode == ExitCode.RELOAD_FAILED, result.stdout
    assert steps(result.stdout) == {**dict.fromkeys(STEPS[:3], "ok"), "reload": "FAILED"}
    assert (
        "FAILED  the lifecycle API is off (HTTP 403: Lifecycle API is not enabled.): start Prometheus "
        "with --web.enable-lifecycle" in result.stdout
    )
    assert last_line(result.stdout) == "[FAILED] reload failed: Prometheus did not reload"
    assert without_lifecycle.state() == before


# ---------------------------------------------------------------- without a Prometheus


def test_a_closed_port_is_unreachable_without_a_traceback(tmp_path: Path) -> None:
    copy_generated(tmp_path)
    url = f"http://127.0.0.1:{free_port()}"

    result = reload("--prometheus", url, cwd=tmp_path)

    assert result.returncode == ExitCode.UNREACHABLE, result.stdout
    assert steps(result.stdout) == {"check config": "ok", "check rules": "ok", "read state": "FAILED"}
    assert f"FAILED  cannot query Prometheus at {url}: Connection refused" in result.stdout
    assert last_line(result.stdout) == "[UNREACHABLE] read state failed: Prometheus did not answer"
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--prometheus", "ftp://x"), "error: --prometheus: expected a Prometheus base URL"),
        (("--prometheus", "http://127.0.0.1:9", "--config", "missing.yml"), "Usage: "),
        (("--prometheus", "http://127.0.0.1:9", "--rules-dir", "missing"), "Usage: "),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    result = reload(*args)
    assert result.returncode == ExitCode.USAGE
    assert result.stderr.startswith(message), result.stderr
    assert result.stdout == ""


def test_help_documents_the_steps_and_exit_codes() -> None:
    text = reload("--help").stdout
    for code in (
        ExitCode.OK,
        ExitCode.CHECK_FAILED,
        ExitCode.RELOAD_FAILED,
        ExitCode.UNREACHABLE,
        ExitCode.USAGE,
    ):
        assert f"\n    {code:>2}  " in text, text
    for number, name in enumerate(STEPS, 1):
        assert f"\n  {number} {name} " in text, text
    assert "--web.enable-lifecycle" in text and "Prometheus host" in text


# ---------------------------------------------------------------- pure logic


def test_the_reload_state_comes_from_the_exposition() -> None:
    text = (
        "# HELP prometheus_config_last_reload_successful Whether ...\n"
        "# TYPE prometheus_config_last_reload_successful gauge\n"
        "prometheus_config_last_reload_successful 0\n"
        "prometheus_config_last_reload_success_timestamp_seconds_total 9\n"
        "prometheus_config_last_reload_success_timestamp_seconds 1.7953089648103187e+09\n"
    )
    assert parse_reload_state(text) == ReloadState(False, 1.7953089648103187e09)
    assert parse_reload_state("prometheus_config_last_reload_successful 1\n") is None
    assert parse_reload_state("") is None


def test_group_differences() -> None:
    disk = {"a": [("x", "y")], "b": [("z",)], "c": [("p", "q")], "d": [("r",), ("s",)]}
    loaded = {"a": [("x", "y")], "c": [("q", "p", "t")], "d": [("r",)], "e": [("u",)]}
    assert group_differences(disk, disk) == []
    assert group_differences(disk, loaded) == [
        "group b: on disk, not loaded",
        "group e: loaded, not on disk",
        "group c: loaded, not on disk: t",
        "group d: 2 such group(s) on disk, 1 loaded",
    ]
    assert group_differences({"a": [("x", "y")]}, {"a": [("y", "x")]}) == [
        "group a: the same rules in another order"
    ]


def test_rule_files_are_resolved_like_prometheus_does(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    for name in ("a.yml", ".hidden.yml", "b.yaml"):
        (tmp_path / "rules" / name).write_text("groups: []\n")
    elsewhere = tmp_path / "elsewhere.yml"
    elsewhere.write_text("groups: []\n")
    config = tmp_path / "prometheus.yml"
    config.write_text(f"rule_files: ['rules/*.yml', '{elsewhere}', 'absent/*.yml']\n")
    assert listed_rule_files(config) == sorted(
        [tmp_path / "rules/.hidden.yml", tmp_path / "rules/a.yml", elsewhere]
    )
    config.write_text("global: {}\n")
    assert listed_rule_files(config) == []


def test_promtool_progress_lines_are_left_out() -> None:
    output = (
        "Checking a.yml\n  SUCCESS: 1 rules found\n\nChecking b.yml\n  FAILED:\nb.yml: 5:11: parse error\n"
    )
    assert problems(output) == ["FAILED:", "b.yml: 5:11: parse error"]
