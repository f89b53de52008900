"""The names and defaults other tools and checks rely on (DESIGN.md "Contracts"), each in one
place: series names, label names, window names and the cadences obsgen picks itself.

Rule compilers, generated tests, dashboards, lint and the live commands import them from here;
renaming one is a change to a contract, never a local edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from generator.durations import format_duration, prometheus_duration

if TYPE_CHECKING:
    from generator.model import SLO, Service

HOUR, DAY = 3600, 86400

# --- labels ----------------------------------------------------------------------------------

REALM_LABEL = "metric_realm"
"""Every series of a service that declares a realm carries it; every selector matches it."""
GATE_LABEL = "gate"
CONDITION_LABEL = "condition"


@dataclass(frozen=True)
class IdentityLabels:
    """The names of the labels that tell SLO series (and burn-rate alerts) apart."""

    id: str
    service: str
    name: str
    window: str
    severity: str


OBSGEN_LABELS = IdentityLabels("slo_id", "slo_service", "slo_name", "slo_window", "slo_severity")
SLOTH_LABELS = IdentityLabels("sloth_id", "sloth_service", "sloth_slo", "sloth_window", "sloth_severity")


def identity_labels(service: Service) -> IdentityLabels:
    return SLOTH_LABELS if service.slo_label_names == "sloth" else OBSGEN_LABELS


def slo_id(service: Service, slo: SLO) -> str:
    return f"{service.service}-{slo.name}"


def slo_labels(service: Service, slo: SLO) -> dict[str, str]:
    """Identity labels on every SLO series (slo_* by default, sloth_* when the service asks)."""
    names = identity_labels(service)
    return {
        **slo.labels,
        **service.realm_matchers(),
        names.id: slo_id(service, slo),
        names.service: service.service,
        names.name: slo.name,
    }


# --- SLO series (names as Sloth's, so its dashboards work) -----------------------------------

TIME_SLICE_ERROR = "slo:time_slice_error:bool"
SLI_ERRORS = "slo:sli_errors:rate5m"
SLI_TOTAL = "slo:sli_total:rate5m"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
PERIOD_DAYS = "slo:time_period:days"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
BUDGET_REMAINING = "slo:period_error_budget_remaining:ratio"
SLI_ERRORS_HOURLY = "slo:sli_errors:sum1h_rate5m"
SLI_TOTAL_HOURLY = "slo:sli_total:sum1h_rate5m"
TIME_SLICE_ERRORS_HOURLY = "slo:time_slice_error:sum1h_bool"
TIME_SLICES_HOURLY = "slo:time_slice_error:count1h_bool"
"""The period's hour tiles: each hour's sum (and count) of the per-evaluation series, which the
period window adds up 720 at a time instead of reading 30 days of per-evaluation samples."""
SLO_SERIES = (
    TIME_SLICE_ERROR,
    SLI_ERRORS,
    SLI_TOTAL,
    SLI_ERRORS_HOURLY,
    SLI_TOTAL_HOURLY,
    TIME_SLICE_ERRORS_HOURLY,
    TIME_SLICES_HOURLY,
    OBJECTIVE,
    ERROR_BUDGET,
    PERIOD_DAYS,
    CURRENT_BURN,
    PERIOD_BURN,
    BUDGET_REMAINING,
)
"""Every SLO series but the per-window ratios."""


def window_name(window: int, service: Service | None = None) -> str:
    """A window as SLO series name it: `5m`, `30d`; for a service with Sloth's label names as Sloth
    spells it (`prometheus_duration`: 28d is `4w`, 7d `1w`), so Sloth's dashboards keep matching.
    The rules name the period window so; alert windows are never whole weeks in Sloth's shipped
    windows, and the generated tests and dashboards name them with format_duration."""
    if service is not None and service.slo_label_names == "sloth":
        return prometheus_duration(window)
    return format_duration(window)


def sli_error_ratio(window: int, service: Service | None = None) -> str:
    return f"slo:sli_error:ratio_rate{window_name(window, service)}"


# --- canary gate series ----------------------------------------------------------------------

CONDITION_VALUE = "canary:gate_condition:value"
CONDITION_VIOLATED = "canary:gate_condition_violated:bool"
VIOLATIONS = "canary:gate_violations:count"
PROMOTE = "canary:promote:bool"
ROLLBACK = "canary:rollback:bool"
GATE_SERIES = (CONDITION_VALUE, CONDITION_VIOLATED, VIOLATIONS, PROMOTE, ROLLBACK)

# --- windows and cadences ----------------------------------------------------------------------

CONTRACT_WINDOWS: tuple[int, ...] = (300, 1800, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY)
"""Windows every SLO records, named as Sloth names them."""
EVENTS_BASE_WINDOW = 300
"""Event SLIs read the raw counters once, over this window; longer windows sum its records."""
NO_TRAFFIC_FLOOR = "1e-9"
PERIOD_GROUP_INTERVAL = 120
"""The period (30d) figures' group: slower than the alerts, well inside the 5m lookback, and a
divisor of PERIOD_TILE so that its samples sit at the same place in every hour."""
PERIOD_TILE = HOUR
"""The period window is the sum of hour tiles (see rules.period_ratio_expr)."""

# --- alerts and files --------------------------------------------------------------------------

WATCHDOG = "Watchdog"
WATCHDOG_FILE = "_watchdog"
"""Service names start with a letter, so this file name is never a service's."""
