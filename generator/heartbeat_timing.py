"""Heartbeat timing arithmetic (DESIGN.md): what a healthy heartbeat can look like to a rule."""

from __future__ import annotations

from generator.model import Heartbeat


def largest_healthy_age(heartbeat: Heartbeat, evaluation_interval: int) -> int:
    """The oldest a healthy heartbeat's last beat can look to a rule: a beat just missed by a
    scrape, a scrape just missed by an evaluation, read one evaluation late (DESIGN.md)."""
    return heartbeat.period + heartbeat.scrape_interval + evaluation_interval


def shortest_window(heartbeat: Heartbeat) -> int:
    """changes() needs the sample before a beat and the one after it, each up to a scrape late."""
    return heartbeat.period + 2 * heartbeat.scrape_interval


def missing_for(heartbeat: Heartbeat, evaluation_interval: int) -> int:
    """Two scrapes, so one failed scrape does not page."""
    return max(2 * heartbeat.scrape_interval, evaluation_interval)
