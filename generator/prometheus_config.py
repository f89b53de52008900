"""Model → prometheus.yml: scrape jobs for services and probes, rule files, Alertmanagers.

Intervals are duration values: they shrink under `durations.compressed_time` (the sandbox).
"""

from __future__ import annotations

from typing import Any

from generator.durations import duration_value
from generator.model import Heartbeat, Probe, Service, Spec


def compile_prometheus_config(spec: Spec) -> dict[str, Any]:
    settings = spec.settings
    global_: dict[str, Any] = {
        "scrape_interval": duration_value(settings.scrape_interval),
        "evaluation_interval": duration_value(settings.evaluation_interval),
    }
    if settings.external_labels:
        global_["external_labels"] = dict(sorted(settings.external_labels.items()))
    jobs: list[dict[str, Any]] = []
    for service in spec.services:
        if service.scrape is not None:
            jobs.append(service_job(service))
        jobs.extend(probe_job(spec, service, probe) for probe in service.probes)
        jobs.extend(heartbeat_job(spec, service, heartbeat) for heartbeat in service.heartbeats)
    return {
        "global": global_,
        "rule_files": ["rules/*.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": list(settings.alertmanagers)}]}]},
        "scrape_configs": jobs,
    }


def _static(target: str, service: Service) -> dict[str, Any]:
    config: dict[str, Any] = {"targets": [target]}
    if service.realm:
        config["labels"] = service.realm_matchers()
    return config


def _interval(job: dict[str, Any], seconds: int | None) -> dict[str, Any]:
    if seconds is not None:
        job["scrape_interval"] = duration_value(seconds)
    return job


def service_job(service: Service) -> dict[str, Any]:
    scrape = service.scrape
    assert scrape is not None
    job: dict[str, Any] = {"job_name": service.job, "metrics_path": scrape.path}
    _interval(job, scrape.interval)
    job["static_configs"] = [_static(f"{scrape.host}:{scrape.port}", service)]
    return job


def probe_target(service: Service, probe: Probe) -> str:
    assert service.scrape is not None, "validate: probes need the service's scrape address"
    return f"http://{service.scrape.host}:{service.scrape.port}{probe.path}"


def probe_job(spec: Spec, service: Service, probe: Probe) -> dict[str, Any]:
    """blackbox_exporter's multi-target pattern: the probed URL becomes `instance`."""
    job: dict[str, Any] = {
        "job_name": probe.name,
        "metrics_path": "/probe",
        "params": {"module": [probe.module]},
    }
    _interval(job, probe.interval)
    job["static_configs"] = [_static(probe_target(service, probe), service)]
    job["relabel_configs"] = [
        {"source_labels": ["__address__"], "target_label": "__param_target"},
        {"source_labels": ["__param_target"], "target_label": "instance"},
        {"target_label": "__address__", "replacement": spec.settings.blackbox_exporter},
    ]
    return job


def heartbeat_job(spec: Spec, service: Service, heartbeat: Heartbeat) -> dict[str, Any]:
    """node_exporter's textfile collector, keeping only the heartbeat: the writer puts
    metric_realm on the series itself, so no target label competes with it."""
    job: dict[str, Any] = {"job_name": service.heartbeat_job(heartbeat), "metrics_path": "/metrics"}
    _interval(job, heartbeat.scrape_interval)
    job["static_configs"] = [{"targets": [spec.settings.node_exporter]}]
    job["metric_relabel_configs"] = [
        {"source_labels": ["__name__"], "regex": heartbeat.metric, "action": "keep"}
    ]
    return job
