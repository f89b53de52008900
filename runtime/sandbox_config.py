"""The sandbox's own generated tree: the spec's model with the sandbox's ports and addresses,
compiled by the same compilers, then run fast.

Time is compressed for the sandbox only, so a smoke test sees alerts fire within a minute:
every scrape and rule evaluation happens each second, every alert `for` and Alertmanager's
group waits are divided by SPEED. PromQL windows are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from generator.alertmanager import compile_alertmanager
from generator.durations import format_duration, parse_duration
from generator.model import Spec
from generator.prometheus_config import compile_prometheus_config
from generator.render import to_yaml
from generator.rules import compile_rules

SPEED = 60
FAST = "1s"


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


def _faster(duration: str) -> str:
    return format_duration(max(1, parse_duration(duration) // SPEED))


def fast_rules(files: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    for document in files.values():
        for group in document["groups"]:
            group["interval"] = FAST
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = _faster(rule["for"])
    return files


def fast_prometheus(config: dict[str, Any]) -> dict[str, Any]:
    config["global"]["scrape_interval"] = FAST
    config["global"]["evaluation_interval"] = FAST
    for job in config["scrape_configs"]:
        job["scrape_interval"] = FAST
    return config


def fast_alertmanager(config: dict[str, Any], sink: str) -> dict[str, Any]:
    """Faster groups; PagerDuty and webhooks (the dead-man's switch) deliver to the sink."""
    routes = [config["route"], *config["route"].get("routes", [])]
    for route in routes:
        for field, value in (("group_wait", "1s"), ("group_interval", "2s"), ("repeat_interval", "1m")):
            if field in route or route is config["route"]:
                route[field] = value
    config["global"]["pagerduty_url"] = f"{sink}/pagerduty"
    for receiver in config["receivers"]:
        for hook in receiver.get("webhook_configs", []):
            hook["url"] = f"{sink}/webhook/{receiver['name']}"
    return config


BLACKBOX_CONFIG = {
    "modules": {"http_2xx": {"prober": "http", "timeout": "2s", "http": {"preferred_ip_protocol": "ip4"}}}
}


def sandbox_files(spec: Spec, ports: Ports, secrets_dir: Path) -> dict[str, str]:
    """Relative path → text of every file the sandbox's Prometheus and Alertmanager read."""
    fast = sandbox_spec(spec, ports, secrets_dir)
    files = {
        f"prometheus/rules/{name}.yml": to_yaml(doc) for name, doc in fast_rules(compile_rules(fast)).items()
    }
    files["prometheus/prometheus.yml"] = to_yaml(fast_prometheus(compile_prometheus_config(fast)))
    alertmanager = compile_alertmanager(fast)
    if alertmanager is not None:
        sink = f"http://127.0.0.1:{ports.sink}"
        files["alertmanager/alertmanager.yml"] = to_yaml(fast_alertmanager(alertmanager, sink))
    files["blackbox/blackbox.yml"] = to_yaml(BLACKBOX_CONFIG)
    return files
