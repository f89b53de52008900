"""The runtime serves any spec: every declared metric in the shape of its type, and four
scenarios per SLO whose levels keep the promises their names make.

Read through the exporter's real exposition (prometheus_client's text format, parsed back),
on a fake clock, for the `obsgen init` project and variations of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import ROOT, obsgen
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from generator.conventions import slo_id
from generator.loader import load_spec
from generator.model import Spec
from generator.slo_math import enabled_windows, error_budget
from runtime.exporter import service_registry
from runtime.slo_scenarios import SliceBurn, slo_scenarios, spec_scenarios
from runtime.world import World

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init") / "shop"
    result = obsgen("init", root, "--service", "checkout")
    assert result.returncode == 0, result.stderr
    return root / "spec"


def grouped(project: Path, tmp_path: Path) -> Path:
    spec = tmp_path / "spec"
    spec.mkdir()
    for path in project.glob("*.yaml"):
        text = path.read_text().replace("    # by: [handler]", "    by: [handler]")
        (spec / path.name).write_text(text)
    return spec


class Sandbox:
    """A world on a fake clock and the exposition of one service's exporter."""

    def __init__(self, spec: Spec, service: str) -> None:
        self.world = World.from_spec(spec)
        self.clock = Clock()
        assert self.world.traffic is not None
        self.world.traffic.clock = self.clock
        self.world.traffic.since = self.clock.now
        self.registry, _ = service_registry(spec.service(service), self.world)

    def scrape(self) -> Samples:
        text = generate_latest(self.registry).decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def run(self, seconds: float) -> Samples:
        self.clock.now += seconds
        return self.scrape()


def matching(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and labels.items() <= dict(ls).items())


def increase(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return matching(after, name, **labels) - matching(before, name, **labels)


def test_every_declared_metric_is_served_in_the_shape_of_its_type(project: Path) -> None:
    spec = load_spec(project)
    box = Sandbox(spec, "checkout")
    samples = box.run(10)
    names = {name for name, _ in samples}
    assert {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_request_duration_seconds_count",
        "http_request_duration_seconds_sum",
    } <= names
    codes = {dict(ls).get("code") for n, ls in samples if n == "http_requests_total"}
    assert "500" in codes and "200" in codes  # code=~"5.." has a matching and a refused series
    buckets = sorted(
        (float(dict(ls)["le"]), v)
        for (n, ls), v in samples.items()
        if n == "http_request_duration_seconds_bucket"
    )
    assert [le for le, _ in buckets] == [0.05, 0.1, 0.3, 1.0, 3.0, float("inf")]  # the declared buckets
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert counts[-1] == matching(samples, "http_request_duration_seconds_count") > 0
    for (name, labels), value in samples.items():
        assert not {"job", "instance", "metric_realm"} & dict(labels).keys(), (name, labels)
        assert value >= 0


def test_counters_only_grow_across_every_scenario(project: Path) -> None:
    spec = load_spec(project)
    box = Sandbox(spec, "checkout")
    last = box.run(5)
    for name in [*box.world.scenarios, "healthy"]:
        box.world.switch(name)
        now = box.run(7)
        for key, value in now.items():
            if key in last and key[0].endswith(("_total", "_bucket", "_count", "_sum")):
                assert value >= last[key], (name, key)
        last = {**last, **now}


@pytest.mark.parametrize("slo", ["availability", "latency"])
def test_each_burn_shows_the_share_its_name_promises(project: Path, slo: str) -> None:
    """healthy: a tenth of the budget; fast: every request bad; slow: above a ticket threshold
    and below every page threshold (the SLO arithmetic, not the runtime's own numbers)."""
    spec = load_spec(project)
    service = spec.service("checkout")
    model = next(s for s in service.slos if s.name == slo)
    budget = error_budget(model)
    windows = enabled_windows(model)
    lowest_page = min(w.threshold(budget) for w in windows if w.severity == "page")
    lowest_ticket = min(w.threshold(budget) for w in windows if w.severity == "ticket")
    box = Sandbox(spec, "checkout")
    name = slo_id(service, model)

    def bad_share() -> float:
        before = box.run(0)
        after = box.run(60)
        if slo == "availability":
            bad = increase(before, after, "http_requests_total", code="500")
            total = increase(before, after, "http_requests_total")
        else:
            total = increase(before, after, "http_request_duration_seconds_count")
            bad = total - increase(before, after, "http_request_duration_seconds_bucket", le="0.3")
        assert total > 0
        return bad / total

    assert bad_share() == pytest.approx(float(budget / 10))
    box.world.switch(f"{name}-fast-burn")
    assert bad_share() == pytest.approx(1.0)
    box.world.switch(f"{name}-slow-burn")
    share = Fraction(bad_share()).limit_denominator(10**6)
    assert lowest_ticket < share < lowest_page, (float(lowest_ticket), float(share), float(lowest_page))


def test_no_data_withholds_the_series_and_healthy_brings_them_back_where_they_were(project: Path) -> None:
    spec = load_spec(project)
    box = Sandbox(spec, "checkout")
    before = box.run(5)
    box.world.switch("checkout-availability-no-data")
    gone = box.run(5)
    assert matching(gone, "http_requests_total") == 0
    assert not [k for k in gone if k[0] == "http_requests_total"]
    assert matching(gone, "http_request_duration_seconds_count") > 0  # the other SLO still served
    box.world.switch("healthy")
    back = box.run(1)
    assert matching(back, "http_requests_total") >= matching(before, "http_requests_total")


def test_a_grouped_slo_burns_in_one_group_only(project: Path, tmp_path: Path) -> None:
    spec = load_spec(grouped(project, tmp_path))
    box = Sandbox(spec, "checkout")
    handlers = sorted({dict(ls)["handler"] for n, ls in box.scrape() if n == "http_requests_total"})
    assert len(handlers) == 2
    box.world.switch("checkout-availability-fast-burn")
    before = box.run(0)
    after = box.run(60)
    shares = {
        h: increase(before, after, "http_requests_total", code="500", handler=h)
        / increase(before, after, "http_requests_total", handler=h)
        for h in handlers
    }
    assert sorted(shares.values()) == pytest.approx(
        [float(error_budget(spec.service("checkout").slos[0]) / 10), 1.0]
    )


def test_scenarios_are_listed_per_slo_and_the_demos_only_where_they_apply(project: Path) -> None:
    user = spec_scenarios(load_spec(project))
    assert set(user) == {
        "healthy",
        "not-ready",
        *(f"checkout-{slo}-{kind}" for slo in ("availability", "latency") for kind in KINDS),
    }
    demo = spec_scenarios(load_spec(ROOT / "spec"))
    assert {"phase-drift", "canary-regression", "heartbeat-stall", "lyapunov-rising"} <= set(demo)
    for service in load_spec(ROOT / "spec").services:
        for slo in service.slos:
            assert {f"{slo_id(service, slo)}-{kind}" for kind in KINDS} <= set(demo)
    listed = obsgen("scenario", "--list", "--spec", project)
    assert listed.returncode == 0, listed.stderr
    for name in user:
        assert name in listed.stdout


KINDS = ("fast-burn", "slow-burn", "no-data")


def slice_bursts(spec: Spec) -> Iterator[tuple[str, SliceBurn]]:
    for scenario in slo_scenarios(spec):
        for plan in scenario.slices.values():
            owner = getattr(plan, "__self__", None)
            if isinstance(owner, SliceBurn):
                yield scenario.name, owner


def test_time_slice_bursts_start_good_and_repeat_the_designed_share() -> None:
    spec = load_spec(ROOT / "spec")
    found = dict(slice_bursts(spec))
    slow = {name: burn for name, burn in found.items() if name.endswith("-slow-burn")}
    assert slow, "the bundled time-slice SLOs have slow burns"
    for name, burn in slow.items():
        step = burn.driver.interval
        bad = [burn.value(i * step) != burn.driver.levels.healthy.at(i) for i in range(burn.period * 2)]
        assert not bad[0], f"{name} starts with a bad sample"
        assert sum(bad) == 2 * burn.burst, name
        assert 0 < burn.burst < burn.period
