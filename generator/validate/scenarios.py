"""Refuse what the generated tests cannot prove: every SLO, heartbeat and gate must admit the
scenarios its promtool tests are built from (a healthy level, a violation, a slow burn …).

The scenarios are designed here, once; `obsgen gen` then writes the same design, so a spec that
`validate` accepts is one whose tests exist.
"""

from __future__ import annotations

from collections.abc import Iterable

from generator.errors import SpecIssue
from generator.model import Spec
from generator.promtool_tests import design_promtool_tests


def scenario_issues(spec: Spec) -> Iterable[SpecIssue]:
    return design_promtool_tests(spec).refusals
