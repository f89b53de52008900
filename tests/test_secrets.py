"""`obsgen secrets write`: every receiver secret into a 0600 file, or nothing at all; no value
ever printed; and no secret from the environment ever reaches generated/."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import EXTRAS, SPEC, obsgen

from generator.secrets import bearer_token_problem, pagerduty_key_problem, slack_webhook_problem

SLACK = "https://hooks.slack.com/services/T000/B000/SECRETxyzLumen0001"
SLACK_DURI = "https://hooks.slack.com/services/T000/B000/SECRETxyzDuri0002"
PAGERDUTY = "R0UT1NGkeySECRET0123456789abcdef"
GRAFANA = "glsa_SECRETgrafanaToken0123456789_abcdef"
VALID = {
    "ALERT_SLACK_WEBHOOK": SLACK,
    "ALERT_SLACK_WEBHOOK_DURI": SLACK_DURI,
    "ALERT_PAGERDUTY_ROUTING_KEY": PAGERDUTY,
}


def environment(**values: str | None) -> dict[str, str]:
    """The caller's environment without any real secret, with `values` (None: unset)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALERT_", "WEB_", "DEADMAN_"))}
    merged = {**VALID, **values}
    return {**env, **{k: v for k, v in merged.items() if v is not None}}


def write(directory: Path, spec: Path = SPEC, **values: str | None):
    return obsgen("secrets", "write", "--dir", directory, "--spec", spec, env=environment(**values))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_each_secret_lands_in_its_own_0600_file(tmp_path: Path) -> None:
    target = tmp_path / "etc" / "secrets"
    result = write(target)
    assert result.returncode == 0, result.stderr
    assert mode(target) == 0o700
    assert sorted(p.name for p in target.iterdir()) == sorted(VALID)
    for name, value in VALID.items():
        assert mode(target / name) == 0o600
        assert (target / name).read_text() == value
        assert f"wrote {target / name} (mode 0600)" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == f"obsgen: 3 secret file(s) written in {target}/."
    assert result.stderr == ""
    for value in VALID.values():
        assert value not in result.stdout + result.stderr


def test_an_existing_file_is_replaced_whole_and_tightened(tmp_path: Path) -> None:
    target = tmp_path / "secrets"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    old = target / "ALERT_SLACK_WEBHOOK"
    old.write_text("https://hooks.slack.com/services/old")
    old.chmod(0o644)
    result = write(target)
    assert result.returncode == 0, result.stderr
    assert old.read_text() == SLACK and mode(old) == 0o600
    assert sorted(p.name for p in target.iterdir()) == sorted(VALID), "no temporary file left behind"
    assert result.stderr == f"warning: {target}/ is open to group or others (mode 0755)\n"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ALERT_SLACK_WEBHOOK": None}, "ALERT_SLACK_WEBHOOK is not set (the Slack webhook URL)"),
        ({"ALERT_SLACK_WEBHOOK": ""}, "ALERT_SLACK_WEBHOOK is empty (the Slack webhook URL)"),
        ({"ALERT_SLACK_WEBHOOK_DURI": "  "}, "ALERT_SLACK_WEBHOOK_DURI is empty (the Slack webhook URL)"),
        (
            {"ALERT_SLACK_WEBHOOK": SLACK.replace("https:", "http:")},
            "ALERT_SLACK_WEBHOOK is not an https URL (http is accepted only for 127.0.0.1, localhost and "
            "::1)",
        ),
        (
            {"ALERT_SLACK_WEBHOOK": SLACK.removeprefix("https://")},
            "ALERT_SLACK_WEBHOOK is not an https URL",
        ),
        (
            {"ALERT_SLACK_WEBHOOK": "https:///services/SECRETxyz"},
            "ALERT_SLACK_WEBHOOK is an https URL without a host",
        ),
        (
            {"ALERT_SLACK_WEBHOOK": SLACK + "\n"},
            "ALERT_SLACK_WEBHOOK contains whitespace or control characters",
        ),
        (
            {"ALERT_PAGERDUTY_ROUTING_KEY": PAGERDUTY[:-1]},
            "ALERT_PAGERDUTY_ROUTING_KEY is not a PagerDuty routing key: expected 32 letters and digits, "
            "got 31 characters",
        ),
        (
            {"ALERT_PAGERDUTY_ROUTING_KEY": PAGERDUTY[:-1] + "-"},
            "ALERT_PAGERDUTY_ROUTING_KEY is not a PagerDuty routing key: expected only letters and digits",
        ),
        (
            {"ALERT_PAGERDUTY_ROUTING_KEY": None},
            "ALERT_PAGERDUTY_ROUTING_KEY is not set (the PagerDuty routing key)",
        ),
    ],
)
def test_a_bad_value_is_refused_and_nothing_is_written(
    tmp_path: Path, values: dict[str, str | None], message: str
) -> None:
    target = tmp_path / "secrets"
    result = write(target, **values)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0].startswith(f"error: {message}"), result.stderr
    assert result.stderr.splitlines()[-1] == "obsgen: 1 secret(s) refused; nothing was written."
    assert result.stdout == ""
    assert not target.exists()
    for value in [*VALID.values(), *(v for v in values.values() if v and v.strip())]:
        assert value.strip() not in result.stdout + result.stderr
    assert "SECRET" not in result.stdout + result.stderr


def test_every_refusal_is_reported_and_an_existing_directory_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "secrets"
    target.mkdir()
    (target / "ALERT_SLACK_WEBHOOK").write_text("previous")
    result = write(target, ALERT_SLACK_WEBHOOK_DURI="", ALERT_PAGERDUTY_ROUTING_KEY="nope")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert [e.split()[1] for e in errors] == ["ALERT_PAGERDUTY_ROUTING_KEY", "ALERT_SLACK_WEBHOOK_DURI"]
    assert [p.name for p in target.iterdir()] == ["ALERT_SLACK_WEBHOOK"]
    assert (target / "ALERT_SLACK_WEBHOOK").read_text() == "previous"


def test_bearer_tokens_and_a_webhook_shared_by_two_receivers(tmp_path: Path) -> None:
    values = {
        "WEB_SLACK_WEBHOOK": "http://127.0.0.1:8080/slack",
        "WEB_PAGERDUTY_KEY": "0123456789abcdef0123456789abcdef",
        "DEADMAN_TOKEN": "tok.SECRET-123",
    }
    result = write(tmp_path / "s", EXTRAS, **values)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(values)
    refused = write(tmp_path / "t", EXTRAS, **{**values, "DEADMAN_TOKEN": "two words"})
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: DEADMAN_TOKEN contains whitespace or control characters\n")
    assert not (tmp_path / "t").exists()


def test_an_unwritable_directory_exits_3(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = write(tmp_path / "file" / "secrets")
    assert result.returncode == 3
    assert result.stderr.startswith(f"error: cannot write the secrets to {tmp_path / 'file' / 'secrets'}/: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/services/T0/B0/x",
        "https://chat.example.com:8443/hooks/abc",
        "http://127.0.0.1:8080/slack",
        "http://localhost/slack",
        "http://[::1]:9/slack",
    ],
)
def test_webhooks_accepted(url: str) -> None:
    assert slack_webhook_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/x",
        "http://10.0.0.1/slack",
        "http://127.0.0.1.example.com/slack",
        "ftp://hooks.slack.com/x",
        "hooks.slack.com/services/x",
        "https://",
        "https://:443/x",
        "https://hooks.slack.com:99999/x",
        "https://[::1/x",
        "https://hooks.slack.com/a b",
        "https://hooks.slack.com/\tx",
    ],
)
def test_webhooks_refused(url: str) -> None:
    problem = slack_webhook_problem(url)
    assert problem is not None
    assert url not in problem and "slack.com" not in problem


def test_routing_keys_and_tokens() -> None:
    assert pagerduty_key_problem("a" * 32) is None
    assert pagerduty_key_problem("a" * 33) is not None
    assert pagerduty_key_problem("a" * 31 + "é") is not None
    assert bearer_token_problem("abc.def-ghi_jkl") is None
    assert bearer_token_problem("abc def") is not None
    assert bearer_token_problem("abc\n") is not None


def test_no_secret_from_the_environment_reaches_generated(tmp_path: Path) -> None:
    env = environment(GRAFANA_TOKEN=GRAFANA, ALERT_WEBHOOK_TOKEN="SECRETbearer")
    out = tmp_path / "generated"
    result = obsgen("gen", "--out", out, env=env)
    assert result.returncode == 0, result.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "alertmanager.yml" for p in files)
    planted = [*VALID.values(), GRAFANA, "SECRETbearer", "SECRETxyz"]
    for path in files:
        text = path.read_text(errors="replace")
        for value in planted:
            assert value not in text, f"{path.relative_to(out)} holds a secret from the environment"
    assert not any(value in result.stdout + result.stderr for value in planted)
    config = (out / "alertmanager/alertmanager.yml").read_text()
    assert "api_url_file: /etc/alertmanager/secrets/ALERT_SLACK_WEBHOOK\n" in config
    assert "routing_key_file: /etc/alertmanager/secrets/ALERT_PAGERDUTY_ROUTING_KEY\n" in config
