"""obs-lint (`obsgen lint`): the generated rules are clean, every corpus file is caught by its
check at the marked line, and the output formats and exit codes hold.

Corpus: tests/fixtures/lint/<check-id>.yml, one bad rule file per check; a comment says what is
wrong and `# <-` marks the line the finding must point at. Each is linted alone against spec/.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import GENERATED, ROOT, SPEC

from generator.lint.commands import lint
from generator.lint.engine import CHECKS, Finding, LintInputError, lint_files
from generator.model import Spec
from generator.pipeline import load

CORPUS = ROOT / "tests" / "fixtures" / "lint"
CORPUS_FILES = sorted(CORPUS.glob("*.yml"))
MARKER = "# <-"
TEXT_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): \[(?P<check>[a-z-]+)\] (?P<rule>\S+): .+ \(fix: .+\)$"
)
GITHUB_LINE = re.compile(
    r"^::error file=(?P<file>[^,]+),line=(?P<line>\d+),title=obs-lint (?P<check>[a-z-]+)::.+ \(fix: .+\)$"
)


def obs_lint(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The command in a fresh interpreter, as `obsgen lint` runs it."""
    code = "from generator.lint.commands import lint; lint(prog_name='obsgen lint')"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def invoke(*args: str | Path):
    return CliRunner().invoke(lint, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load(SPEC)


def lint_text(tmp_path: Path, spec: Spec, text: str, name: str = "rules.yml") -> list[Finding]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return lint_files([path], spec)


def checks(findings: list[Finding]) -> list[str]:
    return [f.check for f in findings]


# --- the generated rules and the corpus -------------------------------------------------------


def test_generated_rules_have_no_findings_in_a_real_process() -> None:
    result = obs_lint("generated/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "no findings" in result.stderr


def test_generated_rules_have_no_findings(spec: Spec) -> None:
    assert lint_files([GENERATED / "prometheus" / "rules"], spec) == []


def test_the_corpus_has_one_file_per_check() -> None:
    assert sorted(p.stem for p in CORPUS_FILES) == sorted(CHECKS)
    for path in CORPUS_FILES:
        first = path.read_text().splitlines()[0]
        assert first.startswith(f"# {path.stem}: "), f"{path.name} must say what is wrong on line 1"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=[p.stem for p in CORPUS_FILES])
def test_each_corpus_file_is_caught_by_its_check_at_the_marked_line(path: Path, spec: Spec) -> None:
    findings = lint_files([path], spec)
    marked = [n for n, line in enumerate(path.read_text().splitlines(), 1) if line.rstrip().endswith(MARKER)]
    assert checks(findings) == [path.stem], [f.text() for f in findings]
    assert [f.line for f in findings] == marked
    assert all(f.file == str(path) and f.message and f.fix for f in findings)


def test_the_whole_corpus_through_the_command_lists_every_check() -> None:
    result = invoke(CORPUS)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(TEXT_LINE.match(line) for line in lines), lines
    assert sorted({TEXT_LINE.match(line)["check"] for line in lines}) == sorted(CHECKS)


# --- formats and exit codes ---------------------------------------------------------------------


def test_text_format_names_file_line_check_rule_and_fix() -> None:
    path = CORPUS / "missing-realm.yml"
    result = invoke(path)
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:7: [missing-realm] UreResidualHigh: ure_residual ")
    assert result.stdout.rstrip().endswith('(fix: add metric_realm="prod" to the selector)')
    assert "1 finding(s) in 1 file(s)" in result.stderr


def test_github_format_prints_workflow_annotations() -> None:
    path = CORPUS.relative_to(ROOT) / "heartbeat-freshness.yml"
    result = obs_lint("--format", "github", path)
    assert result.returncode == 1, result.stderr
    (line,) = result.stdout.splitlines()
    match = GITHUB_LINE.match(line)
    assert match, line
    assert (match["file"], match["line"], match["check"]) == (str(path), "8", "heartbeat-freshness")
    assert "60s + 30s" not in line and "1m + scrape interval 30s + evaluation interval 1m" in line


def test_github_format_escapes_newlines_and_property_separators(spec: Spec) -> None:
    finding = Finding("a,b:c.yml", 3, "record-name", "x", "two\nlines 100%", "fix")
    assert (
        finding.github()
        == "::error file=a%2Cb%3Ac.yml,line=3,title=obs-lint record-name::two%0Alines 100%25 (fix: fix)"
    )


def test_help_documents_every_check_and_the_exit_codes() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for check in CHECKS:
        assert f"  {check} " in result.stdout, check
    assert "2  usage, an invalid spec" in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("groups:\n  - name: a\n    rules: [\n", "invalid YAML"),
        ("alerts: []\n", "not a rule file"),
        ("groups:\n  - name: a\n    rules:\n      - expr: up\n", "exactly one of `record` or `alert`"),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        for: soon\n",
            "duration",
        ),
    ],
    ids=["yaml", "no-groups", "no-name", "bad-for"],
)
def test_a_file_that_is_not_a_rule_file_exits_2_naming_it(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "broken.yml"
    path.write_text(content)
    result = invoke(path)
    assert result.exit_code == 2
    assert str(path) in result.stderr and expected in result.stderr
    assert result.stdout == ""


def test_an_unreadable_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"groups: []\n# caf\xe9\n")
    result = obs_lint(path)
    assert result.returncode == 2
    assert f"{path}: not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_missing_paths_an_empty_directory_and_a_bad_spec_exit_2(tmp_path: Path) -> None:
    assert invoke(tmp_path / "nope.yml").exit_code == 2
    assert "no rule files" in invoke(tmp_path).stderr
    result = invoke("--spec", tmp_path / "nospec", CORPUS / "record-name.yml")
    assert result.exit_code == 2 and "spec directory does not exist" in result.stderr
    assert invoke("--format", "xml").exit_code == 2


def test_an_empty_rule_file_is_clean(tmp_path: Path, spec: Spec) -> None:
    assert lint_text(tmp_path, spec, "") == []
    assert lint_text(tmp_path, spec, "groups: []\n") == []


# --- what the checks accept and refuse, beyond the corpus ---------------------------------------


def test_duplicate_groups_are_found_across_files(tmp_path: Path, spec: Spec) -> None:
    body = (
        "groups:\n  - name: shared\n    rules:\n      - record: bridge:phase_diff:max\n"
        '        expr: max by (metric_realm) (bridge_phase_diff{metric_realm="prod"})\n'
    )
    (tmp_path / "a.yml").write_text(body)
    (tmp_path / "b.yml").write_text(body)
    findings = lint_files([tmp_path], spec)
    assert [(Path(f.file).name, f.check) for f in findings] == [("b.yml", "duplicate-group")]
    assert f"{tmp_path / 'a.yml'}:2" in findings[0].message


def test_same_alert_name_with_other_labels_is_not_a_duplicate(tmp_path: Path, spec: Spec) -> None:
    rule = (
        "      - alert: BridgeHot\n"
        '        expr: bridge_temp_celsius{{metric_realm="prod"}} > {value}\n'
        "        for: 5m\n"
        "        labels: {{severity: {severity}}}\n"
        "        annotations: {{summary: s, description: d, runbook_url: https://r.example/x}}\n"
    )
    head = "groups:\n  - name: g\n    rules:\n"
    pair = rule.format(value=80, severity="ticket") + rule.format(value=90, severity="page")
    assert lint_text(tmp_path, spec, head + pair) == []
    same = rule.format(value=80, severity="page") * 2
    assert checks(lint_text(tmp_path, spec, head + same)) == ["duplicate-rule"]


RECORD = """\
groups:
  - name: g
    rules:
      - record: {name}
        expr: {expr}
"""


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('max by (metric_realm) (bridge_sync_quality{metric_realm="prod"})', ["unclamped-ratio"]),
        ('clamp(max by (metric_realm) (bridge_sync_quality{metric_realm="prod"}), 0, 1)', []),
        ('clamp_max(avg by (metric_realm) (bridge_sync_quality{metric_realm="prod"}), 1)', []),
        (
            'clamp(max by (metric_realm) (bridge_sync_quality{metric_realm="prod"}), 0, 2)',
            ["unclamped-ratio"],
        ),
        ('sum by (metric_realm) (bridge:sync_quality_p95_10m{metric_realm="prod"})', ["unclamped-ratio"]),
        ('clamp(sum by (metric_realm) (bridge:sync_quality_p95_10m{metric_realm="prod"}), 0, 1)', []),
        ('min by (metric_realm) (duri_green_uptime_ratio{metric_realm="prod"})', []),
        ('max by (metric_realm) (bridge_sync_quality{metric_realm="prod"} < bool 0.85)', []),
        ('count by (metric_realm) (bridge_sync_quality{metric_realm="prod"})', []),
    ],
)
def test_ratio_reads_in_recording_rules(tmp_path: Path, spec: Spec, expr: str, expected: list[str]) -> None:
    assert checks(lint_text(tmp_path, spec, RECORD.format(name="bridge:x:y", expr=f"'{expr}'"))) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('slo:sli_error:ratio_rate5m{slo_id="bridge-phase-diff"}', ["missing-realm"]),
        ('slo:sli_error:ratio_rate5m{metric_realm="prod", slo_id="bridge-phase-diff"}', []),
        ('canary:promote:bool{gate="duri-l4"}', ["missing-realm"]),
        ('duri_heartbeat_ok{metric_realm="staging"}', ["missing-realm"]),
        ('{__name__="bridge_tick_jitter_seconds_bucket"}', ["missing-realm"]),
        ('probe_success{job="bridge-readyz"}', []),
        ('up{job="bridge"}', []),
        ('sum by (job) (scrape_samples_post_metric_relabeling{job="bridge"})', []),
        ('ALERTS{alertname="BridgeNotReady"}', []),
        ('rate(bridge_tick_jitter_seconds_count{metric_realm="prod"}[5m])', []),
        ('deriv(bridge_phase_diff{metric_realm="prod"}[5m])', []),
        ('increase(bridge:phase_diff_mean_5m{metric_realm="prod"}[10m])', ["rate-on-gauge"]),
        ('irate(bridge_temp_celsius{metric_realm="prod"}[5m:1m])', ["rate-on-gauge"]),
        ('bridge_phase_diff_total{metric_realm="prod"}', ["unknown-series"]),
        ('bridge:phase_diff_mean_5m{metric_realm="prod"} > bool 0.02', []),
        ('(bridge:phase_diff_mean_5m{metric_realm="prod"} > 0.02) or on () vector(0)', ["record-comparison"]),
        ('max by () (bridge:phase_diff_mean_5m{metric_realm="prod"}) > bool 0', []),
        ("", ["promql-parse"]),
    ],
)
def test_series_reads_in_recording_rules(tmp_path: Path, spec: Spec, expr: str, expected: list[str]) -> None:
    assert checks(lint_text(tmp_path, spec, RECORD.format(name="lint:x:y", expr=f"'{expr}'"))) == expected


def test_spec_contracts_may_break_the_record_naming(tmp_path: Path, spec: Spec) -> None:
    expr = "'clamp(min by (metric_realm) (avg_over_time(duri_green{metric_realm=\"prod\"}[1h])), 0, 1)'"
    assert lint_text(tmp_path, spec, RECORD.format(name="duri_green_uptime_ratio", expr=expr)) == []
    for bad in (":bridge:x", "bridge:x:", "bridge_x"):
        assert checks(lint_text(tmp_path, spec, RECORD.format(name=f"'{bad}'", expr="vector(1)"))) == [
            "record-name"
        ]


ALERT = """\
groups:
  - name: g
    rules:
      - alert: A
        expr: '{expr}'
        for: {for_}
        labels: {{severity: page}}
        annotations: {{summary: s, description: d, runbook_url: https://r.example/A}}
"""


@pytest.mark.parametrize(
    ("expr", "for_", "expected"),
    [
        ('absent(up{job="duri-heartbeat"})', "59s", ["absent-for-too-short"]),  # scraped every 30s
        ('absent(up{job="duri-heartbeat"})', "1m", []),
        ('absent_over_time(bridge_phase_diff{metric_realm="prod"}[5m])', "0s", ["absent-for-too-short"]),
        ('sum by () (up{job="bridge"}) == 0', "29s", ["absent-for-too-short"]),
        ('(sum by () (up{job="duri-heartbeat"}) or on () vector(0)) == 0', "1m", []),
        ('up{job="bridge"} == 1', "0s", []),
        ('duri_heartbeat_changes_6m{metric_realm="prod"} == 0', "0s", []),
    ],
)
def test_absence_alerts_wait_two_scrape_intervals(
    tmp_path: Path, spec: Spec, expr: str, for_: str, expected: list[str]
) -> None:
    assert checks(lint_text(tmp_path, spec, ALERT.format(expr=expr, for_=for_))) == expected


def test_alert_metadata_lists_what_is_missing(tmp_path: Path, spec: Spec) -> None:
    text = "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: vector(1)\n"
    (finding,) = lint_text(tmp_path, spec, text)
    assert finding.check == "alert-metadata"
    for missing in ("severity", "summary", "description", "runbook_url"):
        assert missing in finding.message


HEARTBEAT = 'duri_heartbeat_timestamp_seconds{metric_realm="prod"}'


@pytest.mark.parametrize(
    ("expr", "interval", "expected"),
    [
        (f"changes({HEARTBEAT}[2m1s])", "1m", []),
        (f"changes({HEARTBEAT}[2m])", "1m", ["heartbeat-window"]),
        (f"time() - max by (metric_realm) ({HEARTBEAT}) < bool 151", "1m", []),
        (f"time() - max by (metric_realm) ({HEARTBEAT}) < bool 150", "1m", ["heartbeat-freshness"]),
        (f"time() - max by (metric_realm) ({HEARTBEAT}) < bool 151", "2m", ["heartbeat-freshness"]),
        (f"140 > bool (time() - max by (metric_realm) ({HEARTBEAT}))", "1m", ["heartbeat-freshness"]),
        ('time() - max by (metric_realm) (bridge_phase_diff{metric_realm="prod"}) < bool 10', "1m", []),
    ],
)
def test_heartbeat_timing(tmp_path: Path, spec: Spec, expr: str, interval: str, expected: list[str]) -> None:
    text = (
        f"groups:\n  - name: g\n    interval: {interval}\n    rules:\n"
        f"      - record: duri:heartbeat:x\n        expr: '{expr}'\n"
    )
    findings = lint_text(tmp_path, spec, text)
    assert checks(findings) == expected
    if expected == ["heartbeat-freshness"] and interval == "2m":
        assert "evaluation interval 2m = 3m30s (210s)" in findings[0].message


LABELS = """\
groups:
  - name: g
    rules:
      - record: lint:temp:max
        expr: '{record}'
        labels: {{site: a}}
      - alert: A
        expr: 'lint:temp:max{{{matchers}}} > 80'
        labels: {{severity: page}}
        annotations: {{summary: s, description: d, runbook_url: https://r.example/A}}
"""
TEMP = 'bridge_temp_celsius{metric_realm="prod"}'


@pytest.mark.parametrize(
    ("record", "matchers", "expected"),
    [
        (f"max by (metric_realm) ({TEMP})", 'instance="x"', ["dropped-label"]),
        (f"max by (metric_realm) ({TEMP})", 'instance!=""', ["dropped-label"]),
        (f"max by (metric_realm) ({TEMP})", 'instance=~"x.*"', ["dropped-label"]),
        (f"max by (metric_realm) ({TEMP})", 'instance=""', []),
        (f"max by (metric_realm) ({TEMP})", 'metric_realm="prod", site="a"', []),
        (f"max by (metric_realm) ({TEMP})", 'site="b"', []),  # another rule's series: not this one
        (f"max without (instance) ({TEMP})", 'job="bridge"', []),
        (f"max without (instance) ({TEMP})", 'instance="x"', ["dropped-label"]),
        (f"max by (metric_realm) ({TEMP}) or on () vector(0)", 'instance="x"', ["dropped-label"]),
        (f"max by (metric_realm) ({TEMP}) or {TEMP}", 'instance="x"', []),
        (f'label_replace(max by (metric_realm) ({TEMP}), "instance", "all", "", "")', 'instance="all"', []),
        (f"histogram_quantile(0.9, {TEMP})", 'le="1"', ["dropped-label"]),
        (
            f"{TEMP} * on (metric_realm) group_left (team) max by (metric_realm, team) ({TEMP})",
            'team="x"',
            [],
        ),
        (f"max by (metric_realm) ({TEMP}) * on (metric_realm) {TEMP}", 'instance="x"', ["dropped-label"]),
        (f"absent({TEMP})", 'instance="x"', ["dropped-label"]),
        (f"topk by (metric_realm) (1, {TEMP})", 'instance="x"', []),
    ],
)
def test_labels_dropped_by_a_recording_rule(
    tmp_path: Path, spec: Spec, record: str, matchers: str, expected: list[str]
) -> None:
    findings = lint_text(tmp_path, spec, LABELS.format(record=record, matchers=matchers))
    assert checks(findings) == expected
    assert all(f.rule == "A" and f.line == 8 for f in findings)


def test_lint_input_error_is_raised_for_a_missing_path(tmp_path: Path, spec: Spec) -> None:
    with pytest.raises(LintInputError, match="no such file"):
        lint_files([tmp_path / "nope"], spec)
