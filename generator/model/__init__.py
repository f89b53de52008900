"""The typed spec model (pydantic, extra="forbid"): the single source of truth."""

from generator.model.alerts import AlertExample, PromQLAlert, ThresholdAlert
from generator.model.gates import Gate, ThresholdCondition, TrendCondition
from generator.model.heartbeats import Heartbeat
from generator.model.service import Metric, Probe, Scrape, Service
from generator.model.settings import Settings
from generator.model.signals import Signal
from generator.model.slo import SLI, SLO, BurnWindow, QuerySLI, RatioSLI, ThresholdSLI
from generator.model.spec import Spec

__all__ = [
    "SLI",
    "SLO",
    "AlertExample",
    "BurnWindow",
    "Gate",
    "Heartbeat",
    "Metric",
    "Probe",
    "PromQLAlert",
    "QuerySLI",
    "RatioSLI",
    "Scrape",
    "Service",
    "Settings",
    "Signal",
    "Spec",
    "ThresholdAlert",
    "ThresholdCondition",
    "ThresholdSLI",
    "TrendCondition",
]
