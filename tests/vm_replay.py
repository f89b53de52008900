"""Replay generated promtool tests on a real VictoriaMetrics and vmalert; compare with promtool.

For each generated promtool test file (generated/prometheus/tests/<file>.yml) this module

  1. expands every test's `input_series` (promtool's expanding notation: `a+bxN`, `axN`, `_`,
     `_xN`) into samples at the test's `interval`, each test shifted to its own base time
     (midnights in the past, `SPACING` apart, so that no window of one test, the 30d period
     window included, reaches another test's samples; VictoriaMetrics runs with a 10y retention);
  2. imports them into a real `victoria-metrics` on loopback (/api/v1/import/prometheus);
  3. replays the rules with a real `vmalert` (`-replay.timeFrom/-replay.timeTo`, results written
     back by remote write): only the rules the compared alerts and series depend on
     (`needed_rules`), in promtool's group order, cut into `batches` of rules that do not read
     each other, one vmalert per batch with /internal/force_flush between (vmalert's own
     `-replay.rulesDelay` would have to guess how long VictoriaMetrics takes to make rows
     searchable, more than its 1s default in 1.79); the tests' chains run at once;
  4. compares with the test file's expectations: each `alert_rule_test` case (alertname and
     labels of the firing alerts at `eval_time`; where they differ, the smallest shift of whole
     evaluation intervals at which vmalert fires exactly the expected alerts) and each
     `promql_expr_test` sample (relative tolerance `TOLERANCE`);
  5. compares with promtool's own values over the same inputs (`promtool_values`: a probe file
     that expects nothing, whose failures print what promtool computed): every recorded series
     every `PROBE_STEP` (and densely over the first minutes) and `ALERTS` at every interval, the
     firing start/stop edges paired (`Timeline`). promtool runs over `left_open` copies of the
     rules, whose `*_over_time` ranges read (t − W, t] as MetricsQL does (promtool 2.42 reads
     [t − W, t]), and with `as_written` over the rules as they are, to measure that difference.

All the test file's rules are loaded by `vmalert -dryRun` first: a rule MetricsQL cannot parse
fails the comparison. Not compared: annotations (replayed `ALERTS` series carry none). A test
whose input holds a `stale` sample is refused (the text import cannot carry a staleness marker).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import functools
import json
import math
import re
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from generator.durations import parse_duration
from generator.promql import durations_ms
from runtime.ports import LOOPBACK, free_port

DAY = 86_400
SPACING = 40 * DAY
"""Seconds between two tests' base times: more than the longest window (30d) plus a test."""
TOLERANCE = 1e-6
"""Relative tolerance of a value (absolute below 1)."""
MAX_SHIFT_STEPS = 5
"""How many evaluation intervals either side of `eval_time` the firing-time search looks."""

Labels = frozenset[tuple[str, str]]
_LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_NUMBER = r"(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|Inf|NaN)"
_TOKEN = re.compile(rf"(?P<start>[-+]?{_NUMBER})(?:(?P<sign>[+-])(?P<step>{_NUMBER}))?x(?P<count>\d+)")


class ReplayError(RuntimeError):
    """VictoriaMetrics or vmalert failed; the message holds the command's log."""


# --- promtool's input notation ------------------------------------------------------------


def expand(values: str) -> list[float | None]:
    """promtool's expanding notation as one value (or None: no sample) per interval.

    `a+bxN` is a, a+b, …, a+N·b (N+1 samples), `axN` is a N+1 times, `_xN` N missing samples.
    """
    samples: list[float | None] = []
    for token in values.split():
        samples.extend(_expand_token(token))
    return samples


def _expand_token(token: str) -> list[float | None]:
    if token == "stale":
        raise ValueError("a `stale` sample cannot be imported into VictoriaMetrics' text import")
    if token == "_":
        return [None]
    if token.startswith("_x"):
        return [None] * int(token[2:])
    match = _TOKEN.fullmatch(token)
    if match is None:
        return [float(token)]
    start, count = float(match["start"]), int(match["count"])
    step = float(match["step"] or 0) * (-1 if match["sign"] == "-" else 1)
    samples: list[float | None] = []
    for _ in range(count + 1):  # added up as promtool does, not multiplied
        samples.append(start)
        start += step
    return samples


def parse_labels(text: str) -> tuple[str, dict[str, str]]:
    """`name{a="1", b="2"}` (or `{...}`) as its name ("" when none) and labels."""
    name, _, rest = text.strip().partition("{")
    labels: dict[str, str] = {}
    body = rest.rstrip().removesuffix("}")
    position = 0
    while position < len(body):
        match = _LABEL.match(body, position)
        if match is None:
            raise ValueError(f"cannot read the labels of {text!r}")
        labels[match[1]] = json.loads(f'"{match[2]}"')
        position = match.end()
    return name.strip(), labels


# --- the test file ------------------------------------------------------------------------


@dataclass(frozen=True)
class PromtoolTest:
    """One test of a promtool test file, placed at `base` (Unix seconds)."""

    name: str
    interval: int
    input_series: list[dict[str, str]]
    alert_cases: list[dict[str, Any]]
    expr_cases: list[dict[str, Any]]
    base: int = 0

    @functools.cached_property
    def end(self) -> int:
        """Seconds from `base` to the last sample or eval time, whichever is later."""
        samples = max((len(expand(s["values"])) for s in self.input_series), default=1)
        evals = [parse_duration(c["eval_time"]) for c in self.alert_cases + self.expr_cases]
        return max([(samples - 1) * self.interval, *evals])


@dataclass(frozen=True)
class TestFile:
    path: Path
    rule_files: list[Path]
    evaluation_interval: int
    group_eval_order: list[str]
    tests: list[PromtoolTest]


def load_test_file(path: Path) -> TestFile:
    document = yaml.safe_load(path.read_text())
    interval = parse_duration(document.get("evaluation_interval", "1m"))
    tests = [
        PromtoolTest(
            name=t["name"],
            interval=parse_duration(t.get("interval", document.get("evaluation_interval", "1m"))),
            input_series=t.get("input_series", []),
            alert_cases=t.get("alert_rule_test", []),
            expr_cases=t.get("promql_expr_test", []),
        )
        for t in document["tests"]
    ]
    return TestFile(
        path=path,
        rule_files=[(path.parent / f).resolve() for f in document["rule_files"]],
        evaluation_interval=interval,
        group_eval_order=document.get("group_eval_order", []),
        tests=tests,
    )


def placed(tests: list[PromtoolTest], first_base: int) -> list[PromtoolTest]:
    """The tests at bases `SPACING` apart from `first_base`."""
    for test in tests:
        if test.end >= SPACING - 31 * DAY:
            raise ValueError(f"{test.name!r} is too long to be placed {SPACING // DAY}d from the next")
    return [dataclasses.replace(t, base=first_base + i * SPACING) for i, t in enumerate(tests)]


def first_base(count: int, now: float | None = None) -> int:
    """A midnight (UTC) far enough in the past that `count` tests end at least two days ago:
    VictoriaMetrics refuses samples from the future."""
    now = time.time() if now is None else now
    return int((now - count * SPACING - 2 * DAY) // DAY * DAY)


def import_text(test: PromtoolTest) -> str:
    """The test's input series in Prometheus text format, timestamps in milliseconds."""
    lines = []
    for series in test.input_series:
        name, labels = parse_labels(series["series"])
        selector = (
            name
            + "{"
            + ",".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(labels.items()))
            + "}"
        )
        for i, value in enumerate(expand(series["values"])):
            if value is not None:
                lines.append(f"{selector} {_number(value)} {(test.base + i * test.interval) * 1000}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


# --- the rules ----------------------------------------------------------------------------


def ordered_groups(test_file: TestFile) -> list[dict[str, Any]]:
    """The rule files' groups in the order promtool evaluates them (`group_eval_order` first)."""
    groups = [g for f in test_file.rule_files for g in yaml.safe_load(f.read_text())["groups"]]
    rank = {name: i for i, name in enumerate(test_file.group_eval_order)}
    return sorted(groups, key=lambda g: rank.get(g["name"], len(rank)))


def selector_names(expr: str) -> set[str]:
    """The metric names an expression reads (every selector carries one in generated rules)."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name or next(m.value for m in node.matchers.matchers if m.name == "__name__"))
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def compared_names(test_file: TestFile) -> set[str]:
    """The alerts and series the test file's cases look at."""
    names = {c["alertname"] for t in test_file.tests for c in t.alert_cases}
    for test in test_file.tests:
        for case in test.expr_cases:
            names |= selector_names(case["expr"])
    return names


def needed_rules(groups: list[dict[str, Any]], wanted: set[str]) -> list[dict[str, Any]]:
    """The groups holding only the rules `wanted` depends on (same order, same settings)."""
    needed = set(wanted)
    while True:
        before = len(needed)
        for rule in (r for g in groups for r in g["rules"]):
            if rule.get("record", rule.get("alert")) in needed:
                needed |= selector_names(rule["expr"])
        if len(needed) == before:
            break
    kept = [
        {**g, "rules": [r for r in g["rules"] if r.get("record", r.get("alert")) in needed]} for g in groups
    ]
    return [g for g in kept if g["rules"]]


def batches(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The groups cut into runs of rules none of which reads what another of the run writes.

    vmalert replays rules one after the other and relies on `-replay.rulesDelay` for a chained
    rule to see what the rule before it wrote; VictoriaMetrics 1.79 needs more than a second to
    make new rows searchable. One vmalert per batch, with /internal/force_flush between, makes
    every rule see all the rules before it in evaluation order without guessing a delay.
    """
    cut: list[dict[str, Any]] = []
    for group in groups:
        current: list[dict[str, Any]] = []
        written: set[str] = set()
        for rule in group["rules"]:
            if current and selector_names(rule["expr"]) & written:
                cut.append({**group, "rules": current})
                current, written = [], set()
            current.append(rule)
            written.add(rule.get("record", rule.get("alert")))
        cut.append({**group, "rules": current})
    return cut


def reaches(groups: list[dict[str, Any]]) -> dict[str, int]:
    """How far back (seconds) each rule's value at t reads the input: its own longest range
    plus the longest reach of the recorded series it reads. A value at t < reach still depends
    on the test's first samples."""
    reach: dict[str, int] = {}
    for rule in (r for g in groups for r in g["rules"]):
        own = -(-max(durations_ms(rule["expr"]), default=0) // 1000)  # ranges, subqueries, offsets
        deeper = max((reach.get(n, 0) for n in selector_names(rule["expr"])), default=0)
        reach[rule.get("record", rule.get("alert"))] = own + deeper
    return reach


def rule_count(groups: list[dict[str, Any]]) -> int:
    return sum(len(g["rules"]) for g in groups)


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One expectation of the promtool test and what vmalert/VictoriaMetrics gave for it."""

    test: str
    kind: str  # "alert" or "expr"
    what: str
    eval_time: int
    agrees: bool
    shift: int | None = None  # seconds vmalert's firing set is off by (alert cases)
    value_diff: float | None = None  # largest |vm - promtool| (expr cases)
    detail: str = ""


@dataclass(frozen=True)
class Difference:
    """One probe where VictoriaMetrics and promtool disagree (None: no such series there)."""

    test: str
    at: int  # seconds from the test's start
    labels: str
    promtool: float | None
    victoria: float | None

    @property
    def diff(self) -> float:
        if self.promtool is None or self.victoria is None:
            return math.inf
        return _diff(self.victoria, self.promtool)

    @property
    def relative(self) -> float:
        return self.diff / max(abs(self.promtool or 0.0), 1e-300)

    def __str__(self) -> str:
        where = f"{self.test} at {self.at}s {self.labels}"
        return f"{where}: promtool {self.promtool}, VictoriaMetrics {self.victoria}"


@dataclass(frozen=True)
class SeriesStat:
    """One recorded series name, promtool vs VictoriaMetrics at every probe time of every test."""

    name: str
    probes: int
    max_diff: float  # over every probe, agreeing ones too
    differences: list[Difference]

    @property
    def agreeing(self) -> int:
        return self.probes - len(self.differences)

    @property
    def max_relative(self) -> float:
        return max((d.relative for d in self.differences), default=0.0)

    @property
    def first_difference(self) -> str:
        return str(self.differences[0]) if self.differences else ""


@dataclass(frozen=True)
class Timeline:
    """One alert (label set) of one test: when it starts and stops firing on either side."""

    test: str
    alert: str
    promtool_edges: list[int]
    vmalert_edges: list[int]

    @property
    def shift(self) -> int | None:
        """The largest difference between paired edges (None: not the same number of edges)."""
        if len(self.promtool_edges) != len(self.vmalert_edges):
            return None
        return max(
            (abs(a - b) for a, b in zip(self.promtool_edges, self.vmalert_edges, strict=True)), default=0
        )


@dataclass
class Comparison:
    test_file: str
    rule_files: list[str]
    rules_replayed: int
    cases: list[Case] = field(default_factory=list)
    series: list[SeriesStat] = field(default_factory=list)  # vs promtool over the rules as written
    timelines: list[Timeline] = field(default_factory=list)
    series_open: list[SeriesStat] = field(default_factory=list)  # vs promtool over `left_open` rules
    timelines_open: list[Timeline] = field(default_factory=list)
    reach: dict[str, int] = field(default_factory=dict)  # see `reaches`
    replay_seconds: float = 0.0
    interval: int = 60

    @property
    def agreeing(self) -> int:
        return sum(c.agrees for c in self.cases)

    @property
    def max_case_diff(self) -> float:
        """The largest |VictoriaMetrics − expected| of a `promql_expr_test` sample."""
        return max((c.value_diff for c in self.cases if c.value_diff is not None), default=0.0)

    @property
    def max_case_shift(self) -> int | None:
        """The largest firing-time difference of an `alert_rule_test` case (None: no match)."""
        return _max_shift([c.shift for c in self.cases if c.kind == "alert"])

    def max_series_diff(self, left_open: bool = False) -> float:
        """The largest |VictoriaMetrics − promtool| over every probe of every recorded series."""
        return max((s.max_diff for s in self._series(left_open)), default=0.0)

    def max_timeline_shift(self, left_open: bool = False) -> int | None:
        return _max_shift([t.shift for t in self._timelines(left_open)])

    def series_agreeing(self, left_open: bool = False) -> tuple[int, int]:
        """(agreeing probes, probes) over every recorded series."""
        stats = self._series(left_open)
        return sum(s.agreeing for s in stats), sum(s.probes for s in stats)

    def disagreements(self, left_open: bool = True) -> list[str]:
        """Every case that disagrees, and every series probe and firing timeline that differs
        from promtool over the rules as written (`left_open=False`) or made left-open."""
        found = [f"{c.test} @{c.eval_time}s {c.what}: {c.detail}" for c in self.cases if not c.agrees]
        found += [
            f"{s.name}: {s.probes - s.agreeing} of {s.probes} probes differ; {s.first_difference}"
            for s in self._series(left_open)
            if s.agreeing < s.probes
        ]
        found += [
            f"{t.test} {t.alert}: promtool fires/stops at {t.promtool_edges}, vmalert at {t.vmalert_edges}"
            for t in self._timelines(left_open)
            if t.shift is None or t.shift > self.interval
        ]
        return found

    def _series(self, left_open: bool) -> list[SeriesStat]:
        return self.series_open if left_open else self.series

    def _timelines(self, left_open: bool) -> list[Timeline]:
        return self.timelines_open if left_open else self.timelines


def _max_shift(shifts: list[int | None]) -> int | None:
    return None if None in shifts else max((abs(s) for s in shifts if s is not None), default=0)


# --- processes ----------------------------------------------------------------------------


@contextlib.contextmanager
def victoria_metrics(binary: str, work: Path) -> Iterator[str]:
    """A loopback-only VictoriaMetrics with a fresh data dir and a 10y retention; its URL."""
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    argv = [
        binary,
        f"-httpListenAddr={LOOPBACK}:{port}",
        f"-storageDataPath={work / 'vm-data'}",
        "-retentionPeriod=10y",
        "-search.disableCache",  # backfilled data: no response cache may hide it
        "-loggerLevel=WARN",
    ]
    log = work / "victoria-metrics.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(url, process, log)
        yield url
    finally:
        _stop(process)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ReplayError(f"victoria-metrics exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(OSError):
            if _get(f"{url}/health") == b"OK":
                return
        time.sleep(0.1)
    raise ReplayError(f"victoria-metrics was not healthy within {within:g}s:\n{log.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _get(url: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


def _post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def dry_run(vmalert: str, rule_files: list[Path]) -> None:
    """`vmalert -dryRun` over the original rule files: every rule must parse as MetricsQL."""
    argv = [vmalert, "-dryRun", *(f"-rule={f}" for f in rule_files)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise ReplayError(f"vmalert -dryRun refused the rules:\n{result.stdout}{result.stderr}")


def _rfc3339(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def replay_argv(
    vmalert: str, url: str, rules: Path, test: PromtoolTest, evaluation_interval: int
) -> list[str]:
    return [
        vmalert,
        f"-rule={rules}",
        f"-datasource.url={url}",
        f"-remoteWrite.url={url}",
        "-datasource.queryStep=0",  # step = the group's interval (default: 5m)
        "-remoteWrite.flushInterval=100ms",
        f"-evaluationInterval={evaluation_interval}s",
        f"-replay.timeFrom={_rfc3339(test.base)}",
        f"-replay.timeTo={_rfc3339(test.base + test.end)}",
        "-replay.rulesDelay=0",  # a batch holds no chained rules (see `batches`)
        "-replay.maxDatapointsPerQuery=100000",  # one range query per rule and test
        "-replay.disableProgressBar",
        "-disableAlertgroupLabel",  # promtool's alerts have no alertgroup label
        f"-httpListenAddr={LOOPBACK}:{free_port()}",  # a 1.79 replay binds nothing; loopback if one does
        "-loggerLevel=WARN",
    ]


def replay(argv: list[str], log: Path) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    with log.open("a") as out:
        out.write(result.stdout + result.stderr)
    if result.returncode != 0:
        raise ReplayError(f"vmalert replay exited with {result.returncode}:\n{result.stdout}{result.stderr}")


# --- reading back -------------------------------------------------------------------------


def firing(url: str, test: PromtoolTest) -> dict[int, set[Labels]]:
    """Seconds from the test's base → the label sets (alertname included) firing then."""
    query = urllib.parse.urlencode(
        {"match[]": 'ALERTS{alertstate="firing"}', "start": test.base, "end": test.base + test.end}
    )
    by_time: dict[int, set[Labels]] = {}
    for line in _get(f"{url}/api/v1/export?{query}").splitlines():
        series = json.loads(line)
        labels = {k: v for k, v in series["metric"].items() if k not in ("__name__", "alertstate")}
        for stamp in series["timestamps"]:
            by_time.setdefault(stamp // 1000 - test.base, set()).add(frozenset(labels.items()))
    return by_time


def instant(url: str, expr: str, at: int) -> list[tuple[Labels, float]]:
    query = urllib.parse.urlencode({"query": expr, "time": at})
    answer = json.loads(_get(f"{url}/api/v1/query?{query}"))
    if answer.get("status") != "success":
        raise ReplayError(f"query {expr!r} failed: {answer}")
    return [
        (frozenset((k, v) for k, v in r["metric"].items()), float(r["value"][1]))
        for r in answer["data"]["result"]
    ]


def compare_alert(test: PromtoolTest, case: dict[str, Any], fired: dict[int, set[Labels]], step: int) -> Case:
    name, at = case["alertname"], parse_duration(case["eval_time"])
    expected = {
        frozenset({**e.get("exp_labels", {}), "alertname": name}.items()) for e in case["exp_alerts"] or []
    }

    def at_time(t: int) -> set[Labels]:
        return {labels for labels in fired.get(t, set()) if ("alertname", name) in labels}

    shifts = sorted(range(-MAX_SHIFT_STEPS, MAX_SHIFT_STEPS + 1), key=abs)
    shift = next((k * step for k in shifts if at_time(at + k * step) == expected), None)
    detail = "" if shift == 0 else f"expected {_show(expected)}, vmalert fired {_show(at_time(at))}"
    return Case(test.name, "alert", name, at, shift is not None and abs(shift) <= step, shift, None, detail)


def compare_expr(url: str, test: PromtoolTest, case: dict[str, Any]) -> Case:
    at = parse_duration(case["eval_time"])
    actual = dict(instant(url, case["expr"], test.base + at))
    expected = {}
    for sample in case.get("exp_samples") or []:
        name, labels = parse_labels(sample["labels"])
        expected[frozenset(({"__name__": name} if name else {}).items() | labels.items())] = float(
            sample["value"]
        )
    if set(actual) != set(expected):
        detail = f"expected series {_show(set(expected))}, VictoriaMetrics gave {_show(set(actual))}"
        return Case(test.name, "expr", case["expr"], at, False, None, None, detail)
    diffs = [_diff(actual[k], v) for k, v in expected.items()]
    worst = max(diffs, default=0.0)
    agrees = all(_close(actual[k], v) for k, v in expected.items())
    detail = (
        ""
        if agrees
        else f"expected {sorted(expected.values())}, VictoriaMetrics gave {sorted(actual.values())}"
    )
    return Case(test.name, "expr", case["expr"], at, agrees, None, worst, detail)


def _diff(a: float, b: float) -> float:
    if (math.isnan(a) and math.isnan(b)) or a == b:
        return 0.0
    return abs(a - b)


def _close(a: float, b: float) -> bool:
    return _diff(a, b) <= TOLERANCE * max(1.0, abs(b))


def _show(sets: set[Labels]) -> str:
    return "[" + "; ".join(sorted(",".join(f"{k}={v}" for k, v in sorted(s)) for s in sets)) + "]"


# --- promtool's own values --------------------------------------------------------------

PROBE_STEP = 600
"""Seconds between two probes of a recorded series (a multiple of every group's interval)."""
PROBE_LABEL = "vm_replay_probe"
"""A label no series has: `name{vm_replay_probe!="3"}` selects what `name` does, and tells which
test of the probe file a promtool failure belongs to."""
_FAILURE = re.compile(r'expr: ("(?:[^"\\]|\\.)*"), time: (\S+),\s*\n\s*exp: .*\n\s*got: (.*)')
_PROBE = re.compile(rf'([^{{]+)\{{.*{PROBE_LABEL}!="(\d+)"\}}')
_GOT = re.compile(r"(\{[^}]*\}) ([^,\s]+)")

Values = dict[Labels, float]
"""One instant vector: label set (with __name__) → value."""


def probe_times(test: PromtoolTest, every: int) -> list[int]:
    return list(range(0, test.end + 1, every))


DENSE_UNTIL = 600
"""Seconds from a test's start during which recorded series are probed at every `dense` step:
the first rate windows of the input counters, where Prometheus extrapolates."""


def series_probe_times(test: PromtoolTest, dense: int) -> list[int]:
    """Every `PROBE_STEP`, and every `dense` (a multiple of every group's interval) at first."""
    early = range(0, min(DENSE_UNTIL, test.end) + 1, dense)
    return sorted(set(probe_times(test, PROBE_STEP)) | set(early))


def probe_document(
    test_file: TestFile, tests: list[PromtoolTest], names: list[str], rule_files: list[Path], dense: int
) -> dict[str, Any]:
    """A promtool test file that asks for every recorded series at every `PROBE_STEP` and for
    ALERTS at every interval, expecting nothing: promtool's failures print what it computed."""

    def cases(index: int, test: PromtoolTest) -> list[dict[str, Any]]:
        times = series_probe_times(test, dense)
        probes = [(f'{n}{{{PROBE_LABEL}!="{index}"}}', t) for n in names for t in times]
        alerts = f'ALERTS{{alertstate="firing", {PROBE_LABEL}!="{index}"}}'
        probes += [(alerts, t) for t in probe_times(test, test.interval)]
        return [{"expr": e, "eval_time": f"{t}s", "exp_samples": []} for e, t in probes]

    return {
        "rule_files": [str(f) for f in rule_files],
        "evaluation_interval": f"{test_file.evaluation_interval}s",
        "group_eval_order": test_file.group_eval_order,
        "tests": [
            {"interval": f"{t.interval}s", "input_series": t.input_series, "promql_expr_test": cases(i, t)}
            for i, t in enumerate(tests)
        ],
    }


def promtool_values(
    promtool: str, document: dict[str, Any], path: Path
) -> dict[tuple[int, str, int], Values]:
    """(test index, series name, seconds) → the instant vector promtool computed there."""
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    if result.returncode not in (0, 1) or (result.returncode == 1 and "FAILED" not in output):
        raise ReplayError(f"promtool test rules {path} failed:\n{output}")
    found: dict[tuple[int, str, int], Values] = {}
    for expr, at, got in _FAILURE.findall(output):
        name, index = _PROBE.fullmatch(json.loads(expr)).groups()  # type: ignore[union-attr]
        key = (int(index), name, parse_duration(at))
        found[key] = {_labels(text): float(value) for text, value in _GOT.findall(got)}
    return found


_OVER_TIME_RANGE = re.compile(r"(_over_time\s*\([^()\[\]]*)\[(\d+[smhdwy](?:\d+[smhdwy])*)\]")


def left_open(expr: str) -> str:
    """`expr` with the range `[W]` of every `*_over_time` function as `[W − 1ms]`.

    On Prometheus 2 (ranges closed on the left, [t − W, t]) this reads what VictoriaMetrics'
    rollups (and Prometheus 3) read over `[W]`, (t − W, t], when samples sit on whole
    milliseconds. `rate`/`increase` keep `[W]`: MetricsQL's read the last sample before the
    window and do not extrapolate, which on regular samples is Prometheus 2's closed window.
    """
    return _OVER_TIME_RANGE.sub(lambda m: f"{m[1]}[{parse_duration(m[2]) * 1000 - 1}ms]", expr)


def left_open_rule_files(test_file: TestFile, work: Path, tag: str) -> list[Path]:
    """Copies of the test file's rule files with every rule's ranges made `left_open`."""
    paths = []
    for number, source in enumerate(test_file.rule_files):
        document = yaml.safe_load(source.read_text())
        for rule in (r for g in document["groups"] for r in g["rules"]):
            rule["expr"] = left_open(rule["expr"])
        path = work / f"left-open-{tag}-{number}-{source.name}"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        paths.append(path)
    return paths


def _labels(text: str) -> Labels:
    return frozenset(parse_labels(text)[1].items())


def vm_values(url: str, test: PromtoolTest, names: list[str]) -> dict[tuple[str, int], Values]:
    """(series name, seconds from base) → what vmalert recorded then (raw samples)."""
    params = [("match[]", f'{{__name__="{n}"}}') for n in names]
    query = urllib.parse.urlencode([*params, ("start", test.base), ("end", test.base + test.end)])
    found: dict[tuple[str, int], Values] = {}
    for line in _get(f"{url}/api/v1/export?{query}").splitlines():
        series = json.loads(line)
        labels = frozenset(series["metric"].items())
        for stamp, value in zip(series["timestamps"], series["values"], strict=True):
            found.setdefault((series["metric"]["__name__"], stamp // 1000 - test.base), {})[labels] = float(
                value
            )
    return found


def series_stats(
    names: list[str],
    tests: list[PromtoolTest],
    ours: dict[tuple[int, str, int], Values],
    theirs: list[dict[tuple[str, int], Values]],
    dense: int,
) -> list[SeriesStat]:
    """Each recorded series, promtool (`ours`) vs VictoriaMetrics (`theirs`) at every probe."""
    stats = []
    for name in names:
        probes, worst, differences = 0, 0.0, []
        for index, test in enumerate(tests):
            for t in series_probe_times(test, dense):
                expected, actual = ours.get((index, name, t), {}), theirs[index].get((name, t), {})
                probes += 1
                for labels in sorted(set(expected) | set(actual), key=sorted):
                    mine, yours = expected.get(labels), actual.get(labels)
                    if mine is not None and yours is not None:
                        worst = max(worst, _diff(yours, mine))
                        if _close(yours, mine):
                            continue
                    window = dict(labels).get("slo_window", "")
                    differences.append(Difference(test.name, t, window, mine, yours))
                    break
        stats.append(SeriesStat(name, probes, worst, differences))
    return stats


def timelines(
    test: PromtoolTest,
    index: int,
    alerts: set[str],
    ours: dict[tuple[int, str, int], Values],
    fired: dict[int, set[Labels]],
) -> list[Timeline]:
    """Each alert label set's firing edges (start, stop, …) on the interval grid, both sides."""
    grid = probe_times(test, test.interval)
    promtool = {t: {_alert(k) for k in ours.get((index, "ALERTS", t), {})} for t in grid}
    vmalert = {t: fired.get(t, set()) for t in grid}
    everyone = {ls for t in grid for ls in promtool[t] | vmalert[t] if dict(ls).get("alertname") in alerts}
    return [
        Timeline(test.name, _show({ls}), _edges(grid, promtool, ls), _edges(grid, vmalert, ls))
        for ls in sorted(everyone, key=sorted)
    ]


def _alert(labels: Labels) -> Labels:
    return frozenset((k, v) for k, v in labels if k not in ("__name__", "alertstate"))


def _edges(grid: list[int], active: dict[int, set[Labels]], alert: Labels) -> list[int]:
    """The times `alert` starts or stops firing (it is not firing before the first)."""
    edges, before = [], False
    for t in grid:
        now = alert in active[t]
        if now != before:
            edges.append(t)
        before = now
    return edges


# --- the whole comparison -----------------------------------------------------------------


def compare(
    test_paths: list[Path],
    victoria: str,
    vmalert: str,
    promtool: str,
    work: Path | None = None,
    as_written: bool = False,
) -> list[Comparison]:
    """Replay every test of every file on one VictoriaMetrics, all vmalerts at once, and compare
    with the test files' expectations and with what promtool computes for the same tests over
    `left_open` rules (and, with `as_written`, over the rules as written: one more promtool run
    per file)."""
    with contextlib.ExitStack() as stack:
        if work is None:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vm-replay-")))
        work.mkdir(parents=True, exist_ok=True)
        files = [load_test_file(p) for p in test_paths]
        for test_file in files:
            dry_run(vmalert, test_file.rule_files)
        count = sum(len(f.tests) for f in files)
        tests = iter(placed([t for f in files for t in f.tests], first_base(count)))
        plans = [(f, [next(tests) for _ in f.tests]) for f in files]
        url = stack.enter_context(victoria_metrics(victoria, work))
        return _run(plans, url, vmalert, promtool, work, as_written)
    raise AssertionError("unreachable")


@dataclass
class _Plan:
    test_file: TestFile
    tests: list[PromtoolTest]
    groups: list[dict[str, Any]]
    probes: dict[str, concurrent.futures.Future[dict[tuple[int, str, int], Values]]] = field(
        default_factory=dict
    )

    @property
    def recorded(self) -> list[str]:
        return [r["record"] for g in self.groups for r in g["rules"] if "record" in r]

    @property
    def dense(self) -> int:
        """The least common multiple of the groups' intervals: every group has a sample then."""
        default = self.test_file.evaluation_interval
        return math.lcm(*(parse_duration(g.get("interval", f"{default}s")) for g in self.groups))

    @property
    def alerts(self) -> set[str]:
        return {r["alert"] for g in self.groups for r in g["rules"] if "alert" in r}


def _run(
    pairs: list[tuple[TestFile, list[PromtoolTest]]],
    url: str,
    vmalert: str,
    promtool: str,
    work: Path,
    as_written: bool,
) -> list[Comparison]:
    plans = [_Plan(f, tests, needed_rules(ordered_groups(f), compared_names(f))) for f, tests in pairs]
    chains: list[list[tuple[list[str], Path]]] = []
    for index, plan in enumerate(plans):
        files = _write_batches(batches(plan.groups), work / f"rules-{index}")
        for number, test in enumerate(plan.tests):
            _post(f"{url}/api/v1/import/prometheus", import_text(test).encode())
            log = work / f"vmalert-{index}-{number}.log"
            interval = plan.test_file.evaluation_interval
            chains.append([(replay_argv(vmalert, url, f, test, interval), log) for f in files])
    _get(f"{url}/internal/force_flush")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(chains) + len(plans)) as pool:
        for index, plan in enumerate(plans):
            sources = {"open": left_open_rule_files(plan.test_file, work, str(index))}
            if as_written:
                sources["closed"] = plan.test_file.rule_files
            for kind, rule_files in sources.items():
                document = probe_document(plan.test_file, plan.tests, plan.recorded, rule_files, plan.dense)
                path = work / f"probe-{kind}-{index}.yml"
                plan.probes[kind] = pool.submit(promtool_values, promtool, document, path)
        started = time.monotonic()
        for future in [pool.submit(_replay_chain, chain, url) for chain in chains]:
            future.result()
        elapsed = time.monotonic() - started
        return [_compared(plan, url, elapsed) for plan in plans]


def _compared(plan: _Plan, url: str, elapsed: float) -> Comparison:
    results = {kind: future.result() for kind, future in plan.probes.items()}
    test_file, tests = plan.test_file, plan.tests
    comparison = Comparison(
        test_file.path.name, [f.name for f in test_file.rule_files], rule_count(plan.groups)
    )
    comparison.interval, comparison.replay_seconds = test_file.evaluation_interval, elapsed
    comparison.cases = [case for test in tests for case in _cases(url, test, test_file.evaluation_interval)]
    theirs = [vm_values(url, test, plan.recorded) for test in tests]
    fired = [firing(url, test) for test in tests]
    comparison.reach = reaches(plan.groups)
    for kind, ours in results.items():
        stats = series_stats(plan.recorded, tests, ours, theirs, plan.dense)
        lines = [line for i, t in enumerate(tests) for line in timelines(t, i, plan.alerts, ours, fired[i])]
        if kind == "open":
            comparison.series_open, comparison.timelines_open = stats, lines
        else:
            comparison.series, comparison.timelines = stats, lines
    return comparison


def _write_batches(cut: list[dict[str, Any]], stem: Path) -> list[Path]:
    files = []
    for number, group in enumerate(cut):
        path = stem.with_name(f"{stem.name}-{number:02d}.yml")
        path.write_text(yaml.safe_dump({"groups": [group]}, sort_keys=False))
        files.append(path)
    return files


def _replay_chain(chain: list[tuple[list[str], Path]], url: str) -> None:
    """One test's batches in order, each made searchable before the next one reads it."""
    for argv, log in chain:
        replay(argv, log)
        _get(f"{url}/internal/force_flush")


def _cases(url: str, test: PromtoolTest, step: int) -> list[Case]:
    fired = firing(url, test)
    alerts = [compare_alert(test, c, fired, step) for c in test.alert_cases]
    return alerts + [compare_expr(url, test, c) for c in test.expr_cases]
