"""What obs-lint reports: one finding per problem, with its place, its check and a fix."""

from __future__ import annotations

from dataclasses import dataclass

from generator.lint.rulefiles import Rule

CHECKS: dict[str, str] = {
    "promql-parse": "the expression is not valid PromQL",
    "rate-on-gauge": "rate/irate/increase over a series the spec types as a gauge",
    "missing-realm": 'a series of a service with a realm selected without metric_realm="<realm>"',
    "unclamped-ratio": "a recording rule reads a ratio without clamping it to ≤ 1, or sums it",
    "record-name": "a recording rule name that is not level:metric:operations (spec contracts aside)",
    "alert-metadata": "an alert without label severity or annotations summary, description, runbook_url",
    "absent-for-too-short": "an absent()/up == 0 alert whose `for` is shorter than two scrape intervals",
    "duplicate-group": "a group name used twice in one rule file (or one PrometheusRule)",
    "duplicate-rule": "two rules of one file writing one series (same name and labels, selectors overlap)",
    "record-comparison": "a recording rule that filters with a comparison instead of recording a value",
    "unknown-series": "a series nothing in the spec, the linted files or a --catalog declares or records",
    "dropped-label": "a rule matches on a label that every rule recording that series aggregates away",
    "heartbeat-window": "changes() over a heartbeat with a window ≤ period + 2 × scrape interval",
    "heartbeat-freshness": "a heartbeat age threshold ≤ period + scrape interval + evaluation interval",
}
"""Check id → what it catches. Ids are stable: CI configurations and tests refer to them."""


@dataclass(frozen=True, order=True)
class Finding:
    file: str
    line: int
    check: str
    rule: str
    message: str
    fix: str

    def text(self) -> str:
        return f"{self.file}:{self.line}: [{self.check}] {self.rule}: {self.message} (fix: {self.fix})"

    def github(self) -> str:
        """A GitHub Actions workflow command; it shows as an annotation on the rule's line."""
        return (
            f"::error file={_property(self.file)},line={self.line},title=obs-lint {self.check}::"
            f"{_data(f'{self.message} (fix: {self.fix})')}"
        )


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding], fmt: str) -> str:
    """The findings, one line each, in the order given; `fmt` is `text` or `github`."""
    return "".join((f.github() if fmt == "github" else f.text()) + "\n" for f in findings)


def at_rule(rule: Rule, check: str, message: str, fix: str, line: int | None = None) -> Finding:
    """A finding on `rule`, at its `record:`/`alert:` line unless a more precise line is given."""
    assert check in CHECKS, check
    return Finding(rule.file, line or rule.line, check, rule.name, message, fix)
