"""The sandbox's own generated tree: the spec's model with the sandbox's ports and addresses,
compiled by the same compilers under a time scale S (the speed-up), so a smoke test sees alerts
fire within a minute.

Every duration value the compilers render is divided by S (`durations.compressed_time`): group
intervals, `for`, every PromQL range and offset (the user's own included), gate windows,
heartbeat freshness, scrape and evaluation intervals, Alertmanager's waits and timeouts. Names
stay nominal (`slo:sli_error:ratio_rate5m`, `slo_window="5m"`, annotations), so dashboards and
`obsgen budget check` read the same series. S defaults to the evaluation interval in seconds:
the sandbox evaluates every second whatever the spec's pace. Numbers of seconds in the user's
raw PromQL (`time() - x > 86400`) are not durations PromQL knows of and stay as written.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from generator.alertmanager import compile_alertmanager
from generator.durations import compressed_time
from generator.model import Spec
from generator.prometheus_config import compile_prometheus_config
from generator.render import to_yaml
from generator.rules import compile_rules


@dataclass(frozen=True)
class Ports:
    services: dict[str, int]
    prometheus: int
    alertmanager: int
    node_exporter: int
    blackbox: int
    control: int
    sink: int


def sandbox_spec(spec: Spec, ports: Ports, secrets_dir: Path) -> Spec:
    settings = spec.settings.model_copy(
        update={
            "alertmanagers": [f"127.0.0.1:{ports.alertmanager}"],
            "node_exporter": f"127.0.0.1:{ports.node_exporter}",
            "blackbox_exporter": f"127.0.0.1:{ports.blackbox}",
            "prometheus_url": f"http://127.0.0.1:{ports.prometheus}",
        }
    )
    services = tuple(
        s
        if s.scrape is None
        else s.model_copy(
            update={
                "scrape": s.scrape.model_copy(update={"host": "127.0.0.1", "port": ports.services[s.service]})
            }
        )
        for s in spec.services
    )
    routing = spec.alertmanager
    if routing is not None:
        routing = routing.model_copy(update={"secrets_dir": str(secrets_dir)})
    return replace(spec, settings=settings, services=services, alertmanager=routing)


def sink_alertmanager(config: dict[str, Any], sink: str) -> dict[str, Any]:
    """PagerDuty and webhooks (the dead-man's switch) deliver to the sink: addresses only, the
    durations were compiled scaled."""
    config["global"]["pagerduty_url"] = f"{sink}/pagerduty"
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{sink}/webhook/{receiver['name']}"
    return config


BLACKBOX_CONFIG = {
    "modules": {"http_2xx": {"prober": "http", "timeout": "2s", "http": {"preferred_ip_protocol": "ip4"}}}
}


def default_speed_up(spec: Spec) -> int:
    """The evaluation interval in seconds: the sandbox evaluates every rule each second."""
    return spec.settings.evaluation_interval


def sandbox_files(spec: Spec, ports: Ports, secrets_dir: Path, speed_up: float) -> dict[str, str]:
    """Relative path → text of every file the sandbox's Prometheus and Alertmanager read,
    compiled with every duration value divided by `speed_up`."""
    local = sandbox_spec(spec, ports, secrets_dir)
    with compressed_time(Fraction(speed_up)):
        rules = compile_rules(local)
        prometheus = compile_prometheus_config(local)
        alertmanager = compile_alertmanager(local)
    files = {f"prometheus/rules/{name}.yml": to_yaml(doc) for name, doc in rules.items()}
    files["prometheus/prometheus.yml"] = to_yaml(prometheus)
    if alertmanager is not None:
        files["alertmanager/alertmanager.yml"] = to_yaml(
            sink_alertmanager(alertmanager, f"http://127.0.0.1:{ports.sink}")
        )
    files["blackbox/blackbox.yml"] = to_yaml(BLACKBOX_CONFIG)
    return files
