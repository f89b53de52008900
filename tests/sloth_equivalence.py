"""Harness of the Sloth equivalence tests: one promtool run over Sloth's rules and ours.

For one Sloth example, `promtool test rules` loads three rule sets over the same input series
(tests/fixtures/sloth_equivalence/<example>.series.yml): Sloth's generated rules exactly as
shipped (one file per YAML document), the rules `obsgen gen` wrote for the imported spec, and
a compare group written here, listed last in `group_eval_order` so that it runs after both at
every tick (promtool evaluates every group at every tick of the test file's
evaluation_interval). At every tick the compare group records

  equiv:obsgen / equiv:sloth      every slo:* series of one side, its name in label `series`,
                                  Sloth's identity labels renamed to ours (nested label_replace);
                                  and, as series="ALERTS", the active alerts counted by
                                  (alertname, alertstate, slo_id, slo_severity)
  equiv:disagree{side=...}        each side's samples without an equal partner on the other:
                                  equal means |a − b| ≤ 1e-9, a == b (±Inf), or both NaN
  equiv:mismatch:count{series}    how many samples disagree (0 when all agree)
  equiv:pairs:count{series}       how many label sets are present on both sides
  equiv:first_value, first_time   latches: each disagreeing label set's first value and the
                                  time it first disagreed (seconds), kept to the end

and the test file asserts at the end of the run: no tick disagreed, the comparison ran at
every tick, something was compared at every tick and every series of every SLO at the end,
and every alert rule of Sloth's fired at some point on both sides.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sloth_equivalence"

# Sloth ran its examples with `--extra-labels cmd=examplesgen.sh`; the import offers the same.
EXTRA_LABELS = "cmd=examplesgen.sh"

# Sloth's identity labels → ours.
RENAMES: dict[str, str] = {
    "sloth_id": "slo_id",
    "sloth_service": "slo_service",
    "sloth_slo": "slo_name",
    "sloth_window": "slo_window",
    "sloth_severity": "slo_severity",
}
# Sloth divides with `on(...) group_left`, which keeps the 5m/30d ratio's `sloth_window` on
# these; ours divide with `ignoring (slo_window)`, which drops it. A documented difference:
# the window label is left out on both sides for these three.
WINDOWLESS = (
    "slo:current_burn_rate:ratio",
    "slo:period_burn_rate:ratio",
    "slo:period_error_budget_remaining:ratio",
)
ALERT_KEY = ("alertname", "alertstate", "slo_id", "slo_severity")
ALERTS = "ALERTS"
TOLERANCE = "1e-9"
COMPARE_GROUP = "sloth-equivalence-compare"
OURS, THEIRS = "equiv:obsgen", "equiv:sloth"


# --- rule files --------------------------------------------------------------------------------


def split_documents(text: str) -> list[str]:
    """The YAML documents of a rule file, each exactly as written: Sloth writes one document per
    input document, and promtool reads only the first document of a rule file."""
    return [doc for doc in re.split(r"(?m)^---[ \t]*\n", text) if yaml.safe_load(doc)]


def groups_of(texts: Iterable[str]) -> list[dict[str, Any]]:
    return [group for text in texts for group in (yaml.safe_load(text) or {}).get("groups", [])]


@dataclass(frozen=True)
class RuleSet:
    """One side's SLO rules, by SLO id (the value of `sloth_id` or `slo_id`)."""

    records: dict[str, set[str]] = field(default_factory=dict)
    """SLO id → its slo:* record names"""
    alerts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """SLO id → its alerting rules"""

    def counts(self) -> Counter[str]:
        """slo:* name → how many SLOs record it."""
        return Counter(name for names in self.records.values() for name in names)


def rule_set(groups: list[dict[str, Any]], id_label: str) -> RuleSet:
    rules = RuleSet()
    selected_id = re.compile(rf'\b{id_label}="([^"]+)"')
    for group in groups:
        for rule in group["rules"]:
            if "record" in rule:
                if rule["record"].startswith("slo:"):
                    rules.records.setdefault(rule["labels"][id_label], set()).add(rule["record"])
                continue
            ids = set(selected_id.findall(rule["expr"]))
            assert len(ids) <= 1, f"alert {rule['alert']} reads several SLOs: {sorted(ids)}"
            if ids:
                rules.alerts.setdefault(ids.pop(), []).append(rule)
    return rules


def static_differences(sloth: RuleSet, ours: RuleSet) -> list[str]:
    """What differs without running anything: SLOs, slo:* names per SLO, alert rules and their
    labels (every label of Sloth's alert, renamed, must be on ours with the same value)."""
    problems = []
    if set(sloth.records) != set(ours.records):
        problems.append(f"SLO ids: Sloth {sorted(sloth.records)}, obsgen {sorted(ours.records)}")
    for slo in sorted(set(sloth.records) & set(ours.records)):
        if sloth.records[slo] != ours.records[slo]:
            only_sloth = sorted(sloth.records[slo] - ours.records[slo])
            only_ours = sorted(ours.records[slo] - sloth.records[slo])
            problems.append(f"{slo}: slo:* series only Sloth's {only_sloth}, only ours {only_ours}")
    for slo in sorted(set(sloth.alerts) | set(ours.alerts)):
        mine = {rule["labels"].get("slo_severity"): rule for rule in ours.alerts.get(slo, [])}
        theirs = sloth.alerts.get(slo, [])
        if sorted(mine, key=str) != sorted(r["labels"]["sloth_severity"] for r in theirs):
            tiers = [(r["alert"], r["labels"]["sloth_severity"]) for r in theirs]
            problems.append(
                f"{slo}: alert tiers: Sloth {tiers}, obsgen {[(r['alert'], t) for t, r in mine.items()]}"
            )
            continue
        for rule in theirs:
            labels = {RENAMES.get(k, k): v for k, v in rule["labels"].items()}
            ours_rule = mine[labels["slo_severity"]]
            missing = {k: v for k, v in labels.items() if ours_rule["labels"].get(k) != v}
            if ours_rule["alert"] != rule["alert"] or missing:
                problems.append(
                    f"{slo} {labels['slo_severity']}: Sloth's {rule['alert']} {labels}, "
                    f"ours {ours_rule['alert']} {ours_rule['labels']}"
                )
    return problems


# --- the compare group -------------------------------------------------------------------------


def drop_label(expr: str, label: str) -> str:
    return f'label_replace({expr}, "{label}", "", "", "")'


def rename_label(expr: str, src: str, dst: str) -> str:
    return drop_label(f'label_replace({expr}, "{dst}", "$1", "{src}", "(.*)")', src)


def renamed(expr: str, renames: dict[str, str]) -> str:
    for src, dst in renames.items():
        expr = rename_label(expr, src, dst)
    return expr


def side(id_label: str, renames: dict[str, str]) -> str:
    """Every slo:* series of one side, identity labels ours, the series name in label `series`."""
    expr = renamed(f'{{__name__=~"slo:.+", {id_label}!=""}}', renames)
    expr = f'label_replace({expr}, "series", "$1", "__name__", "(.+)")'
    windowless = "|".join(re.escape(name) for name in WINDOWLESS)
    return f'label_replace({expr}, "slo_window", "", "series", "{windowless}")'


def alert_side(id_label: str, renames: dict[str, str]) -> str:
    alerts = renamed(f'ALERTS{{{id_label}!=""}}', renames)
    return f"count by ({', '.join(ALERT_KEY)}) ({alerts})"


def compare_document(names: Iterable[str], run: str) -> dict[str, Any]:
    o, s = OURS, THEIRS
    agree = f"(abs({o} - {s}) <= {TOLERANCE}) or ({o} == {s}) or (({o} != {o}) and ({s} != {s}))"
    # One zero per expected series, so each has a count at every tick even with nothing to compare.
    rules: list[dict[str, Any]] = [
        {"record": "equiv:expected", "expr": "vector(0)", "labels": {"series": name}}
        for name in [*names, ALERTS]
    ]
    rules += [
        {"record": OURS, "expr": side("slo_id", {})},
        {"record": THEIRS, "expr": side("sloth_id", RENAMES)},
        {"record": OURS, "expr": alert_side("slo_id", {}), "labels": {"series": ALERTS}},
        {"record": THEIRS, "expr": alert_side("sloth_id", RENAMES), "labels": {"series": ALERTS}},
        {"record": "equiv:agree", "expr": agree},
        {"record": "equiv:disagree", "expr": f"{o} unless equiv:agree", "labels": {"side": "obsgen"}},
        {"record": "equiv:disagree", "expr": f"{s} unless equiv:agree", "labels": {"side": "sloth"}},
        {"record": "equiv:mismatch:count", "expr": "count by (series) (equiv:disagree) or equiv:expected"},
        {"record": "equiv:pairs:count", "expr": f"count by (series) ({o} and {s}) or equiv:expected"},
        {"record": "equiv:pairs:total", "expr": f'sum(equiv:pairs:count{{series!="{ALERTS}"}})'},
        {
            "record": "equiv:first_value",
            "expr": f"last_over_time(equiv:first_value[{run}]) or equiv:disagree",
        },
        {
            "record": "equiv:first_time",
            "expr": f"last_over_time(equiv:first_time[{run}]) or timestamp(equiv:disagree)",
        },
    ]
    return {"groups": [{"name": COMPARE_GROUP, "rules": rules}]}


# --- the promtool test file --------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> int:
    if not re.fullmatch(r"(\d+[smhd])+", duration):
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNITS[unit] for n, unit in re.findall(r"(\d+)([smhd])", duration))


@dataclass(frozen=True)
class Fixture:
    """<example>.series.yml: promtool input series, their interval, and how long to evaluate."""

    interval: str
    evaluation_interval: str
    duration: str
    input_series: list[dict[str, str]]

    @classmethod
    def load(cls, example: str) -> Fixture:
        return cls(**yaml.safe_load((FIXTURES / f"{example}.series.yml").read_text()))

    @property
    def evaluations(self) -> int:
        """Ticks from 0 to the end, both included (range selectors are closed in Prometheus 2)."""
        return seconds(self.duration) // seconds(self.evaluation_interval) + 1


def sample(labels: dict[str, str], value: float) -> dict[str, Any]:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"labels": f"{{{inner}}}", "value": value}


def fired(sloth: RuleSet) -> list[dict[str, Any]]:
    """Every alert rule of Sloth's, as its SLO's page or ticket alert, once firing."""
    return [
        sample(
            {
                "alertname": rule["alert"],
                "alertstate": "firing",
                "series": ALERTS,
                "slo_id": slo,
                "slo_severity": rule["labels"]["sloth_severity"],
            },
            1,
        )
        for slo, rules in sorted(sloth.alerts.items())
        for rule in rules
    ]


def promtool_test_document(
    rule_files: list[Path], order: list[str], fixture: Fixture, sloth: RuleSet
) -> dict[str, Any]:
    run, counts = fixture.duration, sloth.counts()
    every = [*sorted(counts), ALERTS]
    checks = [
        # No tick disagreed, for any series or alert ...
        (f"sum_over_time(equiv:mismatch:count[{run}])", [sample({"series": n}, 0) for n in every]),
        # ... and the comparison ran at every tick.
        (
            f"count_over_time(equiv:mismatch:count[{run}])",
            [sample({"series": n}, fixture.evaluations) for n in every],
        ),
        # Not vacuous: something was compared at every tick, every series of every SLO at the end,
        (f"min_over_time(equiv:pairs:total[{run}]) > bool 0", [sample({}, 1)]),
        (
            f'sum without () (equiv:pairs:count{{series!="{ALERTS}"}})',
            [sample({"series": n}, counts[n]) for n in sorted(counts)],
        ),
        # and every alert rule of Sloth's fired at some point, on both sides.
        (f'max_over_time({OURS}{{series="{ALERTS}"}}[{run}])', fired(sloth)),
        (f'max_over_time({THEIRS}{{series="{ALERTS}"}}[{run}])', fired(sloth)),
        # Empty when everything agreed; else each disagreeing label set's first value and time.
        ("equiv:first_value", []),
        ("equiv:first_time", []),
    ]
    return {
        "rule_files": [str(p) for p in rule_files],
        "evaluation_interval": fixture.evaluation_interval,
        "group_eval_order": [*order, COMPARE_GROUP],
        "tests": [
            {
                "interval": fixture.interval,
                "input_series": fixture.input_series,
                "promql_expr_test": [
                    {"expr": expr, "eval_time": run, "exp_samples": expected} for expr, expected in checks
                ],
            }
        ],
    }


@dataclass(frozen=True)
class Run:
    test_file: Path
    sloth: RuleSet
    ours: RuleSet


def write_run(work: Path, sloth_out: Path, our_rules: list[Path], fixture: Fixture) -> Run:
    """Sloth's documents, the compare group and the promtool test file, under `work`."""
    work.mkdir(parents=True, exist_ok=True)
    documents = split_documents(sloth_out.read_text())
    sloth_files = [work / f"sloth-{i}.yml" for i in range(len(documents))]
    for path, document in zip(sloth_files, documents, strict=True):
        path.write_text(document)
    sloth_groups, our_groups = groups_of(documents), groups_of(p.read_text() for p in our_rules)
    sloth, ours = rule_set(sloth_groups, "sloth_id"), rule_set(our_groups, "slo_id")
    compare = work / "compare.yml"
    compare.write_text(yaml.safe_dump(compare_document(sorted(sloth.counts()), fixture.duration)))
    order = [group["name"] for group in sloth_groups + our_groups]
    document = promtool_test_document([*sloth_files, *our_rules, compare], order, fixture, sloth)
    test_file = work / "equivalence.test.yml"
    test_file.write_text(yaml.safe_dump(document, sort_keys=False, width=1000, allow_unicode=True))
    return Run(test_file, sloth, ours)
