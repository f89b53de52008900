#!/usr/bin/env python3
"""Samples read per rule evaluation: Sloth vs obsgen, one events (errors/total) SLO.

For each N (source series per counter) this script
  1. writes 30 days + 1 h of synthetic counter history (N series of
     bench_requests_total, N of bench_request_errors_total, labelled
     job="bench", metric_realm="staging") as OpenMetrics text and imports it with
     `promtool tsdb create-blocks-from openmetrics`;
  2. for each tool, copies those blocks into a fresh TSDB, starts a loopback-only
     Prometheus on it and backfills the tool's own recording rules with
     `promtool tsdb create-blocks-from rules`, level by level (a rule is backfilled
     only once the recorded series it reads exist). Recorded series that some rule
     reads through a range selector or subquery (obsgen's slo:sli_errors:rate5m,
     slo:sli_total:rate5m and their hour tiles, Sloth's slo:sli_error:ratio_rate5m)
     get the full 30 days; the rest get the last 30 minutes, enough for instant reads.
     The per-evaluation series must hold about 43,200 samples over 30 days and every rule
     a result at T, or the script stops (a selector missing the synthetic counters
     would make the figures meaningless);
  3. evaluates every rule expression of the SLO once, at the end time T, through
     /api/v1/query?stats=all and sums data.stats.samples.totalQueryableSamples.

Sloth's rules are the ones Sloth generated in /work/shared/peers/sloth/getting-started.out.yml
(objective 99.9, 30d) with the two counter selectors rewritten to the synthetic counters.
obsgen's rules are generated at run time by `obsgen gen` from an equivalent spec.

Python 3.11 stdlib + PyYAML. Runs in a temp dir and removes it, and stops every process it
starts; Prometheus listens on 127.0.0.1 only, on a port picked free at run time.
Run with `make bench-reads`.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from runtime.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
OBSGEN = [sys.executable, "-m", "generator"]
OBSGEN_CWD = str(ROOT)
SLOTH_OUT = str(ROOT.parent / "shared" / "peers" / "sloth" / "getting-started.out.yml")
SLOTH_ERRORS = 'http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}'
SLOTH_TOTAL = 'http_request_duration_seconds_count{job="myservice"}'
ERRORS = "bench_request_errors_total"
TOTAL = "bench_requests_total"
REALM = "staging"
JOB = "bench"  # obsgen scopes a scraped service's selectors by its job (the service name)
DAY = 86400
HISTORY = 30 * DAY + 3600  # raw counter history before T
LONG_BACKFILL_FROM = 30 * DAY + 1800  # long recorded series start this long before T
SHORT_BACKFILL_FROM = 1800  # other recorded series: last 30 minutes

SETTINGS = """\
settings:
  evaluation_interval: 1m
  runbook_base_url: https://runbooks.example.test
"""
SPEC = f"""\
service: bench
realm: {REALM}
labels: {{team: web}}
scrape: {{port: 18080}}
metrics:
  - {{name: {TOTAL}, type: counter, help: Requests served., labels: [instance_id]}}
  - {{name: {ERRORS}, type: counter, help: Requests that failed., labels: [instance_id]}}
slos:
  - name: availability
    objective: 99.9
    period: 30d
    sli:
      ratio:
        errors: {{metric: {ERRORS}}}
        total: {{metric: {TOTAL}}}
"""


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd: list[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def dur_seconds(d: str | None, default: int = 60) -> int:
    if not d:
        return default
    units = {"s": 1, "m": 60, "h": 3600, "d": DAY, "w": 7 * DAY}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhdw])", d))


# ---------------------------------------------------------------- synthetic data


def write_openmetrics(path: Path, n: int, t_end: int, step: int) -> int:
    rng = random.Random(n)
    start = t_end - HISTORY
    count = 0
    with path.open("w") as f:
        for name, mean in ((TOTAL, 10.0), (ERRORS, 0.01)):
            f.write(f"# HELP {name} synthetic\n# TYPE {name} counter\n")
            for i in range(n):
                lab = f'{name}{{instance_id="i{i:03d}",job="{JOB}",metric_realm="{REALM}"}}'
                v = 0.0
                lines = []
                for t in range(start, t_end + 1, step):
                    v += rng.uniform(0.5, 1.5) * mean * step
                    lines.append(f"{lab} {v:.3f} {t}\n")
                f.write("".join(lines))
                count += len(lines)
        f.write("# EOF\n")
    return count


# ---------------------------------------------------------------- Prometheus


class Prom:
    def __init__(self, data: Path, workdir: Path):
        self.data, self.workdir = data, workdir
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.logf = None

    def start(self) -> None:
        cfg = self.workdir / "prometheus.yml"
        cfg.write_text("global:\n  evaluation_interval: 1m\nscrape_configs: []\n")
        for attempt in range(5):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            self.logf = (self.workdir / "prometheus.log").open("a")
            self.proc = subprocess.Popen(
                [
                    PROMETHEUS,
                    f"--config.file={cfg}",
                    f"--storage.tsdb.path={self.data}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--storage.tsdb.retention.time=400d",
                    "--query.timeout=2m",
                    "--query.max-samples=100000000",
                ],
                stdout=self.logf,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    pass
                time.sleep(0.3)
            self.stop()
            log(f"prometheus did not become ready on port {port} (attempt {attempt + 1})")
        raise RuntimeError("could not start prometheus; see " + str(self.workdir / "prometheus.log"))

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=30)
            self.proc = None
        if self.logf is not None:
            self.logf.close()
            self.logf = None

    def query(self, expr: str, t: int) -> dict:
        qs = urllib.parse.urlencode({"query": expr, "time": str(t), "stats": "all"})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{qs}", timeout=150) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"query failed: {expr}: {body}")
        return body["data"]


def queryable_samples(data: dict) -> int:
    samples = data.get("stats", {}).get("samples", {})
    if "totalQueryableSamples" not in samples:
        raise RuntimeError(f"no stats.samples.totalQueryableSamples in response: {data.get('stats')}")
    return int(samples["totalQueryableSamples"])


# ---------------------------------------------------------------- rules


def sloth_groups() -> list[dict]:
    docs = [d for d in yaml.safe_load_all(Path(SLOTH_OUT).read_text()) if d and "groups" in d]
    groups = [g for g in docs[0]["groups"] if g["name"].endswith("myservice-requests-availability")]
    for g in groups:
        for r in g["rules"]:
            e = r["expr"].replace(SLOTH_ERRORS, f'{ERRORS}{{job="{JOB}",metric_realm="{REALM}"}}')
            e = e.replace(SLOTH_TOTAL, f'{TOTAL}{{job="{JOB}",metric_realm="{REALM}"}}')
            if "http_request_duration_seconds_count" in e:
                raise RuntimeError(f"unrewritten Sloth selector in: {e}")
            r["expr"] = e
    return groups


def obsgen_groups(work: Path) -> list[dict]:
    spec = work / "spec"
    spec.mkdir()
    (spec / "obsgen.yaml").write_text(SETTINGS)
    (spec / "bench.yaml").write_text(SPEC)
    out = work / "gen"
    run([*OBSGEN, "gen", "--spec", str(spec), "--out", str(out)], timeout=120, cwd=OBSGEN_CWD)
    doc = yaml.safe_load((out / "prometheus" / "rules" / "bench.availability.yml").read_text())
    return doc["groups"]


def ref_re(name: str) -> str:
    return r"(?<![\w:])" + re.escape(name) + r"(?![\w:])"


def backfill_plan(groups: list[dict]) -> list[list[tuple[dict, dict, bool]]]:
    """Recording rules by dependency level: [(group, rule, needs_long_history)]."""
    recs = [(g, r) for g in groups for r in g["rules"] if "record" in r]
    names = {r["record"] for _, r in recs}
    all_exprs = [r["expr"] for g in groups for r in g["rules"]]
    long_names = {n for n in names if any(re.search(ref_re(n) + r"(\{[^}]*\})?\[", e) for e in all_exprs)}
    deps = {
        r["record"]: {n for n in names if n != r["record"] and re.search(ref_re(n), r["expr"])}
        for _, r in recs
    }
    level: dict[str, int] = {}
    for _ in range(len(names) + 1):
        for n in names:
            if n not in level and all(d in level for d in deps[n]):
                level[n] = 1 + max((level[d] for d in deps[n]), default=-1)
    if len(level) != len(names):
        raise RuntimeError(f"cyclic rule dependencies: {sorted(set(names) - set(level))}")
    plan: list[list] = [[] for _ in range(max(level.values()) + 1)]
    for g, r in recs:
        plan[level[r["record"]]].append((g, r, r["record"] in long_names))
    return plan


def backfill(prom: Prom, work: Path, plan, t_end: int) -> None:
    for lvl, items in enumerate(plan):
        for long in (True, False):
            chosen = [(g, r) for g, r, lg in items if lg == long]
            if not chosen:
                continue
            by_group: dict[str, dict] = {}
            for g, r in chosen:
                grp = by_group.setdefault(g["name"], {"name": g["name"], "rules": []})
                if g.get("interval"):
                    grp["interval"] = g["interval"]
                grp["rules"].append({k: v for k, v in r.items() if k in ("record", "expr", "labels")})
            rf = work / f"backfill-{lvl}-{'long' if long else 'short'}.yml"
            rf.write_text(yaml.safe_dump({"groups": list(by_group.values())}, sort_keys=False))
            outdir = work / "bf-out"
            shutil.rmtree(outdir, ignore_errors=True)
            start = t_end - (LONG_BACKFILL_FROM if long else SHORT_BACKFILL_FROM)
            log(
                f"  backfill level {lvl} ({'30d' if long else '30m'}): "
                + ", ".join(r["record"] for _, r in chosen)
            )
            # promtool offsets each group's evaluations by a hash of its name, as Prometheus
            # does, so recorded samples sit a few seconds off the whole minute.
            run(
                [
                    PROMTOOL,
                    "tsdb",
                    "create-blocks-from",
                    "rules",
                    "-q",
                    "--url",
                    prom.url,
                    f"--start={start}",
                    f"--end={t_end}",
                    "--eval-interval=60s",
                    f"--output-dir={outdir}",
                    str(rf),
                ],
                timeout=600,
            )
            prom.stop()
            for b in outdir.iterdir():
                if b.is_dir():
                    shutil.move(str(b), str(prom.data / b.name))
            prom.start()


def measure(prom: Prom, groups: list[dict], t_end: int) -> list[dict]:
    rows = []
    for g in groups:
        for r in g["rules"]:
            data = prom.query(r["expr"], t_end)
            rows.append(
                {
                    "group": g["name"],
                    "interval": dur_seconds(g.get("interval")),
                    "rule": r.get("record") or f"alert {r['alert']}",
                    "kind": "record" if "record" in r else "alert",
                    "samples": queryable_samples(data),
                    "series": len(data["result"]),
                }
            )
    return rows


# ---------------------------------------------------------------- main


def bench_tool(tool: str, groups: list[dict], raw: Path, work: Path, t_end: int) -> list[dict]:
    work.mkdir()
    data = work / "data"
    shutil.copytree(raw, data)
    prom = Prom(data, work)
    try:
        prom.start()
        backfill(prom, work, backfill_plan(groups), t_end)
        rows = measure(prom, groups, t_end)
        history = {
            "obsgen": [
                f'{n}{{slo_id="bench-availability"}}'
                for n in ("slo:sli_errors:rate5m", "slo:sli_total:rate5m")
            ],
            "sloth": ['slo:sli_error:ratio_rate5m{sloth_id="myservice-requests-availability"}'],
        }
        for sel in history[tool]:
            # A selector that misses the synthetic counters (a label the rules scope by) would
            # leave the rules reading nothing, and the figures meaningless: refuse to report.
            res = prom.query(f"count_over_time({sel}[30d])", t_end)["result"]
            samples = int(res[0]["value"][1]) if res else 0
            log(f"  {tool}: history check {sel}: {samples} samples in 30d")
            if samples < 0.99 * 30 * DAY // 60:
                raise RuntimeError(f"{tool}: {sel} holds {samples} samples over 30d, not about 43,200")
        empty = [r["rule"] for r in rows if r["kind"] == "record" and r["series"] == 0]
        if empty:
            raise RuntimeError(f"{tool}: recording rules with an empty result at T: {empty}")
        return rows
    finally:
        prom.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[10, 40], help="source series per counter")
    ap.add_argument("--step", type=int, default=60, help="raw sample spacing in seconds (scrape interval)")
    ap.add_argument("--detail", action="store_true", help="print samples per rule")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="obsgen-sample-reads-"))
    now = int(time.time())
    t_end = now - now % 3600 - 2 * 3600  # whole hour, in the past
    results: dict[tuple[int, str], list[dict]] = {}
    t0 = time.monotonic()
    try:
        tools = {"sloth": sloth_groups(), "obsgen": obsgen_groups(work)}
        for n in args.n:
            raw = work / f"raw-{n}"
            om = work / f"raw-{n}.om"
            cnt = write_openmetrics(om, n, t_end, args.step)
            log(f"N={n}: {cnt} raw samples, importing")
            run(
                [
                    PROMTOOL,
                    "tsdb",
                    "create-blocks-from",
                    "--max-block-duration=2000h",
                    "openmetrics",
                    "-q",
                    str(om),
                    str(raw),
                ],
                timeout=600,
            )
            om.unlink()
            for tool, groups in tools.items():
                log(f"N={n}: {tool}")
                results[(n, tool)] = bench_tool(tool, groups, raw, work / f"{tool}-{n}", t_end)
            shutil.rmtree(raw)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print("Samples read per evaluation (Prometheus 2.42 stats=all, data.stats.samples.totalQueryableSamples)")
    print(
        f"one events SLO (errors/total, 99.9 %, 30d), raw counters every {args.step}s for 30d+1h, "
        f"evaluated at T={t_end}\n"
    )
    if args.detail:
        for (n, tool), rows in results.items():
            print(f"-- {tool}, N={n}")
            for r in rows:
                print(f"   {r['samples']:>9,}  {r['group']} [{r['interval']}s]  {r['rule']}")
        print()
    hdr = f"{'tool':<7} {'N':>3}  {'group (interval)':<62} {'records':>9} {'alerts':>7}"
    print(hdr)
    print("-" * len(hdr))
    summary = []
    for (n, tool), rows in results.items():
        groups = dict.fromkeys(r["group"] for r in rows)
        tot_rec = per_min = 0.0
        for g in groups:
            gr = [r for r in rows if r["group"] == g]
            rec = sum(r["samples"] for r in gr if r["kind"] == "record")
            al = sum(r["samples"] for r in gr if r["kind"] == "alert")
            iv = gr[0]["interval"]
            tot_rec += rec
            per_min += (rec + al) * 60 / iv
            print(f"{tool:<7} {n:>3}  {g + f' ({iv}s)':<62} {rec:>9,} {al:>7,}")
        summary.append((tool, n, int(tot_rec), int(per_min)))
    print("\nSummary: all recording rules of the SLO, one evaluation of every group")
    print(f"{'tool':<7} {'N':>3} {'samples/eval':>13} {'per minute (records+alerts, by group interval)':>48}")
    for tool, n, tot, pm in summary:
        print(f"{tool:<7} {n:>3} {tot:>13,} {pm:>48,}")
    log(f"done in {time.monotonic() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
