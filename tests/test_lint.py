"""obs-lint (`obsgen lint`): the generated rules are clean, every corpus file is caught by its
check at the marked line, and the output formats and exit codes hold.

Corpus: tests/fixtures/lint/<check-id>.yml, one bad rule file per check; a comment says what is
wrong and `# <-` marks the line the finding must point at. Each is linted alone against spec/.
Real rule files: tests/fixtures/lint/real/ (kubernetes-mixin and node-mixin, see its README.md).
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
from generator.lint.engine import CHECKS, ExternalSeries, Finding, LintInputError, lint_files
from generator.lint.external import STRICT, read_catalog
from generator.lint.rulefiles import read_rules
from generator.model import Spec
from generator.pipeline import load

CORPUS = ROOT / "tests" / "fixtures" / "lint"
REAL = CORPUS / "real"
REAL_CATALOG = REAL / "external-series.txt"
NODE_MIXIN = REAL / "node-mixin" / "prometheusrule.yaml"
EXTERNAL_OK = ExternalSeries(everything=True)
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


def lint_text(
    tmp_path: Path,
    spec: Spec,
    text: str,
    name: str = "rules.yml",
    external: ExternalSeries = STRICT,
) -> list[Finding]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return lint_files([path], spec, external)


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
    result = invoke(*CORPUS_FILES)
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


# --- real rule files: PrometheusRule manifests, directories, mixins -----------------------------


def test_generated_kubernetes_manifests_have_no_findings_in_a_real_process() -> None:
    result = obs_lint("generated/kubernetes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "obs-lint: 4 file(s), no findings." in result.stderr
    assert read_rules([GENERATED / "kubernetes"]).groups, "the manifests' groups must be read"


MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: not-rules}
data: {groups: "a ConfigMap is passed over"}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: bridge
spec:
  groups:
    - name: bridge-extra
      rules:
        - record: bridge:phase_diff:max
          expr: max by (metric_realm) (bridge_phase_diff{metric_realm="prod"})
        - record: bridge:temp_celsius:rate5m
          expr: rate(bridge_temp_celsius{metric_realm="prod"}[5m])
"""


def test_a_bad_rule_in_a_prometheus_rule_manifest_is_found_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "prometheusrule.yaml"
    path.write_text(MANIFEST)
    result = invoke(path)
    assert result.exit_code == 1, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{path}:17: [rate-on-gauge] bridge:temp_celsius:rate5m: rate() over bridge_temp")


def test_a_planted_typo_in_the_real_node_mixin_manifest_is_found_at_its_line(
    tmp_path: Path, spec: Spec
) -> None:
    text = NODE_MIXIN.read_text()
    assert text.count("node_md_disks_required{") == 1
    planted = tmp_path / "prometheusrule.yaml"
    planted.write_text(text.replace("node_md_disks_required{", "ndoe_md_disks_required{"))
    rows = planted.read_text().splitlines()
    typo = next(n for n, row in enumerate(rows, 1) if "ndoe_md_disks_required" in row)
    assert rows[typo - 2].strip() == '"expr": |'  # a finding points at the `expr:` key
    findings = [
        f for f in lint_files([planted], spec, read_catalog(REAL_CATALOG)) if f.check == "unknown-series"
    ]
    assert [(f.file, f.line, f.rule) for f in findings] == [(str(planted), typo - 1, "NodeRAIDDegraded")]
    assert findings[0].message.startswith("ndoe_md_disks_required is neither declared")


def test_a_directory_is_walked_recursively_and_non_rule_yaml_is_skipped_with_a_note(tmp_path: Path) -> None:
    nested = tmp_path / "mixins" / "bridge" / "rules"
    nested.mkdir(parents=True)
    (nested / "prometheusrule.yaml").write_text(MANIFEST)
    (tmp_path / "mixins" / "kustomization.yaml").write_text("resources: [bridge/rules/prometheusrule.yaml]\n")
    (tmp_path / "mixins" / "README.md").write_text("groups: [\n")  # not YAML by its name: never read
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "broken.yml").write_text("groups: [\n")  # hidden directories are not walked
    result = invoke(tmp_path)
    assert result.exit_code == 1, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"{nested / 'prometheusrule.yaml'}:17: [rate-on-gauge] ")
    assert f"note: skipped {tmp_path / 'mixins' / 'kustomization.yaml'}: not a rule file" in result.stderr
    assert "1 finding(s) in 1 file(s)" in result.stderr
    named = invoke(tmp_path / "mixins" / "kustomization.yaml")
    assert named.exit_code == 2 and "not a rule file" in named.stderr


def test_a_directory_without_a_rule_file_and_a_broken_one_exit_2(tmp_path: Path) -> None:
    (tmp_path / "values.yaml").write_text("replicas: 2\n")
    result = invoke(tmp_path)
    assert result.exit_code == 2
    assert "note: skipped" in result.stderr and "no rule files" in result.stderr
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "rules.yml").write_text("groups:\n  - name: g\n    rules:\n      - expr: up\n")
    broken = invoke(tmp_path)
    assert broken.exit_code == 2 and f"{tmp_path / 'deep' / 'rules.yml'}:4: a rule needs" in broken.stderr


def test_a_second_plain_rule_document_is_linted_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(
        RECORD.format(name="lint:x:y", expr="vector(1)")
        + "---\n"
        + RECORD.format(name="lint:z:y", expr="nope{")
    )
    result = invoke(path)
    assert result.exit_code == 1
    assert checks_of(result.stdout) == ["promql-parse"]
    assert f"note: {path}:7: Prometheus reads only the first YAML document" in result.stderr


def checks_of(stdout: str) -> list[str]:
    return [TEXT_LINE.match(line)["check"] for line in stdout.splitlines()]


def test_a_group_name_may_repeat_across_files_and_manifests_but_not_within_one(
    tmp_path: Path, spec: Spec
) -> None:
    body = (
        "groups:\n  - name: shared\n    rules:\n      - record: bridge:phase_diff:max\n"
        '        expr: max by (metric_realm) (bridge_phase_diff{metric_realm="prod"})\n'
    )
    (tmp_path / "a.yml").write_text(body)
    (tmp_path / "b.yml").write_text(body)
    manifest = "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n" + textwrap.indent(
        body, "  "
    )
    (tmp_path / "two-manifests.yaml").write_text(manifest + "---\n" + manifest)
    assert lint_files([tmp_path], spec) == []
    twice = body + body.removeprefix("groups:\n").replace(":max", ":min").replace("max by", "min by")
    findings = lint_text(tmp_path, spec, twice, name="twice.yml")
    assert [(f.check, f.line) for f in findings] == [("duplicate-group", 6)]
    assert "line 2 of this rule file" in findings[0].message


PAIR = """\
groups:
  - name: g
    rules:
      - record: job:x:rate5m
        expr: '{first}'
        labels: {{{first_labels}}}
      - record: job:x:rate5m
        expr: '{second}'
        labels: {{{second_labels}}}
"""


@pytest.mark.parametrize(
    ("first", "second", "duplicate"),
    [
        ('sum by (job) (rate(x_total{job="a"}[5m]))', 'sum by (job) (rate(x_total{job="b"}[5m]))', False),
        ('sum by (job) (rate(x_total{job="a"}[5m]))', 'sum by (job) (rate(x_total{job="a"}[5m]))', True),
        ('sum(rate(x_total{job="a"}[5m]))', 'sum(rate(x_total{job="b"}[5m]))', True),  # job summed away
        ('sum by (code) (x_total{code=~"2.."})', 'sum by (code) (x_total{code=~"3.."})', False),
        ('sum by (code) (x_total{code=~"5.."})', 'sum by (code) (x_total{code=~"5.*"})', True),
        ('sum by (verb) (x_total{verb=~"LIST|GET"})', 'sum by (verb) (x_total{verb=~"POST|PUT"})', False),
        ('sum by (verb) (x_total{verb=~"LIST|GET"})', 'sum by (verb) (x_total{verb="GET"})', True),
        ('x_total{job="a"}', 'x_total{job!="a"}', False),
        ('sum without (instance) (x_total{job="a"})', 'sum without (instance) (x_total{job="b"})', False),
        ('sum without (job) (x_total{job="a"})', 'sum without (job) (x_total{job="b"})', True),
        ('x_total{job="a"} or y_total{job="a"}', 'x_total{job="b"}', False),
        ('x_total{job="a"} or y_total{job="c"}', 'x_total{job="b"}', True),
        (
            'label_replace(x_total{job="a"}, "job", "z", "", "")',
            'label_replace(x_total{job="b"}, "job", "z", "", "")',
            True,
        ),
        ('absent(x_total{job="a"})', 'absent(x_total{job="b"})', False),
        (
            'sum by (job) (x_total{job="a"}) / on (job) sum by (job) (y_total)',
            'sum by (job) (x_total{job="b"})',
            False,
        ),
        ('x_total{job="a"} / on (instance) y_total', 'x_total{job="b"}', False),  # one has no job
        ('x_total{job="a"} / on (instance) y_total', 'x_total{job="b"} / on (instance) y_total', True),
        ("vector(1)", "vector(2)", True),
        ("nope{", 'x_total{job="b"}', True),  # unparsable: may write anything
    ],
)
def test_rules_of_one_name_are_duplicates_only_when_their_series_can_coincide(
    tmp_path: Path, spec: Spec, first: str, second: str, duplicate: bool
) -> None:
    text = PAIR.format(first=first, second=second, first_labels="", second_labels="")
    findings = [
        f for f in lint_text(tmp_path, spec, text, external=EXTERNAL_OK) if f.check == "duplicate-rule"
    ]
    assert [f.line for f in findings] == ([7] if duplicate else [])


def test_static_labels_tell_rules_apart(tmp_path: Path, spec: Spec) -> None:
    expr = "sum(rate(x_total[5m]))"
    apart = PAIR.format(first=expr, second=expr, first_labels="verb: read", second_labels="verb: write")
    assert lint_text(tmp_path, spec, apart, external=EXTERNAL_OK) == []
    same = PAIR.format(first=expr, second=expr, first_labels="verb: read", second_labels="verb: read")
    assert checks(lint_text(tmp_path, spec, same, external=EXTERNAL_OK)) == ["duplicate-rule"]


def test_duplicate_rules_are_found_across_the_groups_of_one_file_only(tmp_path: Path, spec: Spec) -> None:
    rule = "      - record: job:x:rate5m\n        expr: sum(rate(x_total[5m]))\n"
    two_groups = "groups:\n  - name: g\n    rules:\n" + rule + "  - name: h\n    rules:\n" + rule
    findings = lint_text(tmp_path, spec, two_groups, external=EXTERNAL_OK)
    assert [(f.check, f.line) for f in findings] == [("duplicate-rule", 8)]
    assert "as line 4 (group 'g')" in findings[0].message
    (tmp_path / "other.yml").write_text("groups:\n  - name: g\n    rules:\n" + rule)
    (tmp_path / "rules.yml").write_text("groups:\n  - name: g\n    rules:\n" + rule)
    assert lint_files([tmp_path], spec, EXTERNAL_OK) == []


def test_alerts_with_disjoint_selectors_are_not_duplicates(tmp_path: Path, spec: Spec) -> None:
    rule = ALERT.split("    rules:\n", 1)[1]
    head = "groups:\n  - name: g\n    rules:\n"
    on_a = rule.format(expr='up{job="a"} == 0', for_="5m")
    on_b = rule.format(expr='up{job="b"} == 0', for_="5m")
    assert lint_text(tmp_path, spec, head + on_a + on_b) == []
    assert checks(lint_text(tmp_path, spec, head + on_a + on_a)) == ["duplicate-rule"]


def test_group_labels_apply_to_every_rule_of_the_group(tmp_path: Path, spec: Spec) -> None:
    text = (
        "groups:\n  - name: g\n    labels: {severity: page}\n    rules:\n      - alert: A\n"
        "        expr: vector(1)\n"
        "        annotations: {summary: s, description: d, runbook_url: https://r.example/A}\n"
    )
    assert lint_text(tmp_path, spec, text) == []
    assert checks(lint_text(tmp_path, spec, text.replace("    labels: {severity: page}\n", ""))) == [
        "alert-metadata"
    ]


# --- foreign series: --external-ok and --catalog ------------------------------------------------


def unknown_names(findings: list[Finding]) -> set[str]:
    return {f.message.split(" ", 1)[0] for f in findings if f.check == "unknown-series"}


def test_the_real_mixins_lint_to_their_known_findings_with_the_catalog(spec: Spec) -> None:
    findings = lint_files([REAL], spec, read_catalog(REAL_CATALOG))
    counts = {check: checks(findings).count(check) for check in set(checks(findings))}
    assert counts == {"alert-metadata": 26, "record-comparison": 2, "record-name": 2}
    assert {Path(f.file).parent.name for f in findings} == {"kubernetes-mixin", "node-mixin"}
    assert lint_files([REAL], spec, EXTERNAL_OK) == findings


def test_without_a_catalog_every_exporter_series_is_unknown(spec: Spec) -> None:
    strict = unknown_names(lint_files([REAL], spec))
    assert len(strict) > 50
    assert {"node_cpu_seconds_total", "kube_pod_info", "apiserver_request_total"} <= strict
    catalog = read_catalog(REAL_CATALOG)
    assert all(catalog.declares(name) for name in strict)


def test_a_catalog_declares_names_and_prefixes_only(tmp_path: Path, spec: Spec) -> None:
    catalog = tmp_path / "catalog.txt"
    catalog.write_text("# exporters\n\nkube_*   # kube-state-metrics\napiserver_request_total\n")
    declared = read_catalog(catalog)
    assert declared.declares("kube_pod_info") and declared.declares("apiserver_request_total")
    assert not declared.declares("apiserver_request_total_x") and not declared.declares("kubelet_node_name")
    left = unknown_names(lint_files([REAL], spec, declared))
    assert "node_cpu_seconds_total" in left and "kubelet_node_name" in left
    assert not any(name.startswith("kube_") or name == "apiserver_request_total" for name in left)


def test_external_ok_and_catalog_on_the_command_line(tmp_path: Path) -> None:
    strict = invoke(REAL)
    assert strict.exit_code == 1 and "[unknown-series]" in strict.stdout
    for args in (["--external-ok"], ["--catalog", REAL_CATALOG]):
        result = invoke(*args, REAL)
        assert result.exit_code == 1, args
        assert "[unknown-series]" not in result.stdout and "[alert-metadata]" in result.stdout
    bad = tmp_path / "catalog.yaml"
    bad.write_text("- node_cpu_seconds_total\n")
    result = invoke("--catalog", bad, REAL)
    assert (
        result.exit_code == 2 and f"{bad}:1: '- node_cpu_seconds_total' is not a metric name" in result.stderr
    )
    missing = invoke("--catalog", tmp_path / "nope.txt", REAL)
    assert missing.exit_code == 2 and "cannot read the catalog" in missing.stderr
