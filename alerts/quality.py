"""Data-quality alerts in the workers: sequence gaps, more exits than entries, sensors gone
silent; one machine per (room, kind), all of a room's machines in one table value.

The occupancy agent and its timer hand every finding (with the room's count after it) to
this module. A `sequence_gap` alert stays open while any sensor of the room has messages
missing and resolves when they arrive late or the sensor restarts its numbering; a
`count_underflow` alert stays open until the count is re-based by the daily or the
max-dwell reset; a `sensor_offline` alert stays open while any sensor of the room is
silent for longer than `OCC_SENSOR_OFFLINE_AFTER_S`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import faust
from pydantic import BaseModel, ConfigDict

from alerts.acks import acks, apply_ack
from alerts.machine import MachineState, event_alert_step, new_alert_id
from alerts.notifiers import Fanout
from ingest.models import AckRecord, AlertKind
from ingest.settings import Settings
from ingest.site import Site
from processors.codec import pydantic_table
from processors.occupancy import Occupancy
from processors.occupancy_rules import Finding, RoomCount
from processors.writeback import WriteBehind

Say = Callable[[str, bool, int], str]
"""Builds an alert's message from the room's name, whether it is active, and its value."""

_GAP_KINDS = frozenset({"sequence_gap", "late_fill", "sensor_restart"})
_UNDERFLOW_KINDS = frozenset({"count_underflow", "daily_reset", "dwell_reset"})
_PRESENCE_KINDS = frozenset({"sensor_offline", "sensor_online"})


class RoomQuality(BaseModel):
    """A room's data-quality machines and the sensors it has reported offline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    machines: dict[AlertKind, MachineState] = {}
    offline: frozenset[str] = frozenset()


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
        self._dwell = timedelta(seconds=settings.alert_min_dwell_s)
        self._occupancy = occupancy
        self._ownership = occupancy.ownership
        self.rooms = pydantic_table(app, "quality-alerts", RoomQuality, settings.kafka_partitions)
        self._rooms: WriteBehind[RoomQuality] = WriteBehind(self.rooms, occupancy.ownership)
        occupancy.tables.append(self._rooms)
        occupancy.finding_handlers.append(self._on_finding)
        occupancy.offline_sensors = self._offline

    def _offline(self, key: bytes) -> frozenset[str]:
        quality = self._rooms.get(key)
        return quality.offline if quality is not None else frozenset()

    async def _on_finding(self, finding: Finding, count: RoomCount) -> None:
        if finding.kind in _GAP_KINDS:
            missing = sum(len(s.missing) for s in count.sensors.values())
            await self._step(finding, "sequence_gap", missing > 0, missing, _gap_message)
        elif finding.kind in _UNDERFLOW_KINDS:
            below = finding.value if finding.kind == "count_underflow" else 0
            active = finding.kind == "count_underflow"
            await self._step(finding, "count_underflow", active, below, _underflow_message)
        elif finding.kind in _PRESENCE_KINDS and finding.sensor is not None:
            key = _key(finding)
            quality = self._rooms.get(key) or RoomQuality()
            offline = (
                quality.offline | {finding.sensor}
                if finding.kind == "sensor_offline"
                else quality.offline - {finding.sensor}
            )
            self._put(key, quality.model_copy(update={"offline": offline}))
            await self._step(
                finding, "sensor_offline", bool(offline), len(offline), _offline_message
            )

    async def _step(
        self, finding: Finding, kind: AlertKind, active: bool, value: int | None, message: Say
    ) -> None:
        key = _key(finding)
        quality = self._rooms.get(key) or RoomQuality()
        before = quality.machines.get(kind) or MachineState()
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
            machines = {**quality.machines, kind: after}
            self._put(key, quality.model_copy(update={"machines": machines}))
        for alert in alerts:
            await self._notifiers.send(alert)

    def _put(self, key: bytes, quality: RoomQuality) -> None:
        self._rooms.put(key, quality)
        self._occupancy.write_back_soon()

    async def acknowledge(self, ack: AckRecord) -> bool:
        """Acknowledge the open data-quality alert `ack` names, if a room of this worker has it."""
        mine = self._ownership.owned()
        for key in list(self._rooms.keys()):
            quality = self._rooms.get(key)
            if quality is None:
                continue
            for kind, machine in quality.machines.items():
                alert = machine.alert
                if not acks(ack, alert):
                    continue
                if self._ownership.partition_of(key) not in mine:
                    return False
                after, alerts = apply_ack(machine, ack, self._dwell)
                if after != machine:
                    machines = {**quality.machines, kind: after}
                    self._rooms.put(key, quality.model_copy(update={"machines": machines}))
                    await self._occupancy.write_back()
                for acked in alerts:
                    await self._notifiers.send(acked)
                return True
        return False


def _key(finding: Finding) -> bytes:
    return f"{finding.building}/{finding.room}".encode()


def _gap_message(room: str, active: bool, missing: int) -> str:
    if active:
        return f"{room}: {missing} door sensor message(s) missing; counts may be off"
    return f"{room}: no door sensor messages missing any more"


def _underflow_message(room: str, active: bool, below: int) -> str:
    if active:
        return f"{room}: more exits than entries ({below} below zero); count held at 0"
    return f"{room}: count re-based by a reset"


def _offline_message(room: str, active: bool, silent: int) -> str:
    if active:
        return f"{room}: {silent} door sensor(s) silent; counts may be off"
    return f"{room}: every door sensor reports again"
