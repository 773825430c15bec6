"""Alerts and fake clocks shared by the alert tests."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime

from ingest.models import Alert

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def sequential_ids(prefix: str = "alert") -> Callable[[], str]:
    """An alert_id_factory that is predictable in tests: alert-1, alert-2, …"""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter)}"


def sample_alert(alert_id: str = "alert-1", building: str = "B1") -> Alert:
    return Alert(
        alert_id=alert_id,
        kind="capacity",
        severity="critical",
        state="active",
        ack=None,
        building=building,
        room="R1",
        value=12.0,
        limit=10.0,
        message="R1 is over its limit: 12 of 10",
        ts=T0,
    )
