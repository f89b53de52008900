"""Dashboard panels: the series they plot and the SLO or alert their threshold lines follow."""

from __future__ import annotations

from collections.abc import Iterator

from generator.errors import unknown
from generator.loader import PathKey
from generator.model import Service, ThresholdAlert
from generator.validate.catalog import Found, own_series


def dashboard_issues(service: Service, known: set[str]) -> Iterator[Found]:
    alerts = {a.name: a for a in service.alerts}
    slos = {s.name for s in service.slos}
    for i, dashboard in enumerate(service.dashboards):
        for j, panel in enumerate(dashboard.panels):
            path: PathKey = ("dashboards", i, "panels", j)
            own = panel.series in own_series(service) or service.metric(panel.series) is not None
            if not own and panel.series not in known:
                message = f"{panel.series!r} is not a series this spec records or declares"
                yield (*path, "series"), unknown(message, panel.series, known)
            threshold = panel.threshold
            if threshold is not None and threshold.slo is not None and threshold.slo not in slos:
                message = f"SLO {threshold.slo!r} is not one of this service's `slos`"
                yield (*path, "threshold", "slo"), unknown(message, threshold.slo, slos)
            if threshold is not None and threshold.alert is not None:
                alert = alerts.get(threshold.alert)
                if not isinstance(alert, ThresholdAlert):
                    with_value = [name for name, a in alerts.items() if isinstance(a, ThresholdAlert)]
                    message = (
                        f"{threshold.alert!r} is not a threshold alert of this service (one with a value)"
                    )
                    yield (*path, "threshold", "alert"), unknown(message, threshold.alert, with_value)
