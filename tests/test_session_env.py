"""The session env file (SESSION_RESTORE.env): the documented example is valid, and every bad
line is refused with its file, line and variable, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from generator.exit_codes import ExitCode
from generator.live.session_env import port_variable, read_session_env
from obsgen.cli import main

EXAMPLE = ROOT / "SESSION_RESTORE.env.example"

GOOD = """\
# a comment
export METRIC_REALM=prod
OBSGEN_COMPONENTS="ure, bridge"
URE_PORT=9305
BRIDGE_PORT='9306'   # the seed's port
PROMETHEUS_URL=http://127.0.0.1:9090/
ALERTMANAGER_URL=http://127.0.0.1:9093
GRAFANA_URL=https://grafana.example/sub
OBSGEN_STATE_DB=state/lumen.sqlite
GRAFANA_TOKEN_FILE=/etc/obsgen/grafana.token
"""


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "session.env"
    path.write_text(text)
    return path


def test_the_documented_example_is_valid_and_names_the_seed_ports() -> None:
    session = read_session_env(EXAMPLE)
    assert session.components == ("ure", "bridge")
    assert session.ports == {"ure": 9305, "bridge": 9306}
    assert session.realm == "prod"
    assert "TOKEN=" not in EXAMPLE.read_text().replace("TOKEN_FILE=", "")  # paths of secrets only


def test_a_good_file_is_read_with_defaults(tmp_path: Path) -> None:
    session = read_session_env(written(tmp_path, GOOD))
    assert session.components == ("ure", "bridge")
    assert session.ports == {"ure": 9305, "bridge": 9306}
    assert session.prometheus_url == "http://127.0.0.1:9090"
    assert session.state_db == tmp_path / "state/lumen.sqlite"  # relative to the env file
    assert session.snapshot_dir == tmp_path / "state/backups"  # backups/ beside the database
    assert session.run_dir == tmp_path / ".sandbox/components"
    assert session.spec_dir == tmp_path / "spec" and session.time_scale == 1.0
    assert session.grafana_token_file == Path("/etc/obsgen/grafana.token")
    assert session.lines["URE_PORT"] == 4


def test_port_variables_follow_the_service_name() -> None:
    assert port_variable("ure") == "URE_PORT"
    assert port_variable("checkout-api") == "CHECKOUT_API_PORT"


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("URE_PORT=9305", "URE_PORT=99999"), 4, "URE_PORT: expected a port number, 1 to 65535"),
        (
            ("PROMETHEUS_URL=http://127.0.0.1:9090/", "PROMETHEUS_URL=127.0.0.1:9090"),
            6,
            "PROMETHEUS_URL: expected an http(s) URL",
        ),
        (
            ("BRIDGE_PORT='9306'   # the seed's port", "BRIDGE_PORT='9306"),
            5,
            "BRIDGE_PORT: expected a closing '",
        ),
        (
            ("OBSGEN_STATE_DB=state/lumen.sqlite", "OBSGEN_STATE_DB=$HOME/lumen.sqlite"),
            9,
            "OBSGEN_STATE_DB: expected a literal value: no `$` expansion",
        ),
        (("METRIC_REALM=prod", "METRIC_REALM=pr od"), 2, "METRIC_REALM: expected a realm"),
        (("# a comment", "this is not a line"), 1, "expected KEY=VALUE"),
        (
            ("# a comment", "OBSGEN_STATE_DIR=x"),
            1,
            "OBSGEN_STATE_DIR: is not a session variable; did you mean OBSGEN_STATE_DB?",
        ),
        (("# a comment", "GRAFANA_TOKEN=glsa_abc"), 1, "GRAFANA_TOKEN: looks like a secret's value"),
        (
            ("# a comment", "ALERT_SLACK_WEBHOOK=https://hooks.slack.com/x"),
            1,
            "ALERT_SLACK_WEBHOOK: looks like",
        ),
        (("# a comment", "ALERT_PAGERDUTY_ROUTING_KEY=abc"), 1, "ALERT_PAGERDUTY_ROUTING_KEY: looks like"),
        (("URE_PORT=9305", "URE_PORT="), 4, "URE_PORT: is empty (the port of a component"),
        (("URE_PORT=9305", "URE_PORT=\u00b2"), 4, "URE_PORT: expected a port number"),
        (("URE_PORT=9305", "URE_PORT=9306"), 5, "BRIDGE_PORT: is URE_PORT's port too"),
        (("# a comment", "OBSGEN_LISTEN=::1"), 1, "OBSGEN_LISTEN: expected an IPv4 address"),
        (("# a comment", "URE_PORT=9000"), 4, "URE_PORT: set twice (first on line 1)"),
        (("# a comment", "OBSGEN_TIME_SCALE=0.5"), 1, "OBSGEN_TIME_SCALE: expected a number, at least 1"),
    ],
)
def test_each_bad_line_is_located(tmp_path: Path, change: tuple[str, str], line: int, message: str) -> None:
    path = written(tmp_path, GOOD.replace(*change))
    result = CliRunner().invoke(main, ["restore", "check", "--env", str(path)])
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert result.exit_code == ExitCode.USAGE, result.output
    assert f"error: {path}:{line}: {message}" in result.output
    assert "nothing was done" in result.output and "Traceback" not in result.output


def test_missing_variables_are_named_each(tmp_path: Path) -> None:
    text = "\n".join(
        line for line in GOOD.splitlines() if not line.startswith(("GRAFANA_URL", "BRIDGE_PORT"))
    )
    path = written(tmp_path, text)
    result = CliRunner().invoke(main, ["restore", "check", "--env", str(path)])
    assert result.exit_code == ExitCode.USAGE
    assert f"error: {path}: GRAFANA_URL: is not set (required)" in result.output
    assert "BRIDGE_PORT: is not set (the port of a component in OBSGEN_COMPONENTS)" in result.output


def test_a_missing_env_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["smoke", "--env", str(tmp_path / "nope.env")])
    assert result.exit_code == ExitCode.USAGE
    assert "cannot read the session env file" in result.output and "Traceback" not in result.output
