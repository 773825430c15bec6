"""Data-quality alerts in the workers: sequence gaps and more exits than entries, per room.

The occupancy agent hands every finding (with the room's count after it) to this module,
inside the door event's processing, so the machine table is written in the right partition.
A `sequence_gap` alert stays open while any sensor of the room has messages missing and
resolves when they arrive late or the sensor restarts its numbering; a `count_underflow`
alert stays open until the count is re-based by the daily or the max-dwell reset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import faust

from alerts.machine import MachineState, event_alert_step, new_alert_id
from alerts.notifiers import Fanout
from ingest.logs import kv
from ingest.models import AlertKind
from ingest.settings import Settings
from ingest.site import Site
from processors.codec import pydantic_table
from processors.occupancy import Occupancy
from processors.occupancy_rules import Finding, RoomCount

log = logging.getLogger(__name__)

Say = Callable[[str, bool, int], str]
"""Builds an alert's message from the room's name, whether it is active, and its value."""

_GAP_KINDS = frozenset({"sequence_gap", "late_fill", "sensor_restart"})
_UNDERFLOW_KINDS = frozenset({"count_underflow", "daily_reset", "dwell_reset"})


class DataQualityAlerts:
    """Registers the data-quality machines on the app and on the occupancy agent."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        occupancy: Occupancy,
        notifiers: Fanout,
    ) -> None:
        self._site = site
        self._notifiers = notifiers
        self.machines = pydantic_table(
            app, "quality-alerts", MachineState, settings.kafka_partitions
        )
        occupancy.finding_handlers.append(self._on_finding)

    async def _on_finding(self, finding: Finding, count: RoomCount) -> None:
        if finding.kind in _GAP_KINDS:
            missing = sum(len(s.missing) for s in count.sensors.values())
            await self._step(finding, "sequence_gap", missing > 0, missing, _gap_message)
        elif finding.kind in _UNDERFLOW_KINDS:
            below = finding.value if finding.kind == "count_underflow" else 0
            active = finding.kind == "count_underflow"
            await self._step(finding, "count_underflow", active, below, _underflow_message)

    async def _step(
        self, finding: Finding, kind: AlertKind, active: bool, value: int | None, message: Say
    ) -> None:
        key = f"{finding.building}/{finding.room}/{kind}".encode()
        before = self.machines.get(key) or MachineState()
        room = self._site.room(finding.building, finding.room)
        name = room.name if room is not None else finding.room
        after, alerts = event_alert_step(
            before,
            kind=kind,
            building=finding.building,
            room=finding.room,
            active=active,
            severity="warning",
            value=None if value is None else float(value),
            now=finding.at,
            message=message(name, active, value or 0),
            alert_id_factory=new_alert_id,
        )
        if after != before:
            self.machines[key] = after
        for alert in alerts:
            log.info(kv("alert", alert_id=alert.alert_id, kind=kind, state=alert.state))
            await self._notifiers.send(alert)


def _gap_message(room: str, active: bool, missing: int) -> str:
    if active:
        return f"{room}: {missing} door sensor message(s) missing; counts may be off"
    return f"{room}: no door sensor messages missing any more"


def _underflow_message(room: str, active: bool, below: int) -> str:
    if active:
        return f"{room}: more exits than entries ({below} below zero); count held at 0"
    return f"{room}: count re-based by a reset"
