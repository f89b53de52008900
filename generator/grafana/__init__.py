"""Grafana: dashboards built as plain JSON documents from the model (validated against Grafana's
dashboard schema) and a file provider to load them."""

from generator.grafana.dashboards import compile_dashboards, compile_provisioning

__all__ = ["compile_dashboards", "compile_provisioning"]
