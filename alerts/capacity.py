"""Capacity alerts in the workers: one state machine per room, fed by the occupancy agent.

The occupancy agent hands over every change of a room's state (count or limit) in order,
inside its own batch, so an alert leaves the worker without another trip through Kafka
and the sequence of alerts does not depend on how events were batched. Each room's machine
is stepped in a table and what it emits goes to the notifiers. A timer steps the rooms with
an open alert with their current state, so reminders and dwell-based resolves happen when
the count stops changing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

import faust

from alerts.machine import AlertPolicy, MachineState, acknowledge, capacity_step, new_alert_id
from alerts.notifiers import Fanout
from ingest.logs import kv
from ingest.models import AckInfo, AckRecord, Alert, RoomState, utcnow
from ingest.settings import Settings
from ingest.site import Site
from processors.codec import pydantic_table
from processors.occupancy import Occupancy

log = logging.getLogger(__name__)


class CapacityAlerts:
    """Registers the capacity machines' table and timer, and listens to the occupancy agent."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        occupancy: Occupancy,
        notifiers: Fanout,
    ) -> None:
        self._site = site
        self._occupancy = occupancy
        self._notifiers = notifiers
        self._policy = AlertPolicy(
            warn_ratio=site.policy.warn_ratio,
            debounce=timedelta(seconds=settings.alert_debounce_s),
            hysteresis=settings.alert_hysteresis,
            min_dwell=timedelta(seconds=settings.alert_min_dwell_s),
            reminder_every=timedelta(seconds=settings.alert_reminder_s),
        )
        self.machines = pydantic_table(
            app, "capacity-alerts", MachineState, settings.kafka_partitions
        )
        occupancy.state_handlers.append(self.step)
        app.timer(interval=settings.alert_tick_s)(self._tick)

    async def step(self, states: Sequence[RoomState]) -> None:
        """Step each room's machine through its states in order; one table write per room."""
        changed: dict[bytes, MachineState] = {}
        sent: list[Alert] = []
        for state in states:
            key = f"{state.building}/{state.room}".encode()
            before = changed.get(key) or self.machines.get(key) or MachineState()
            room = self._site.room(state.building, state.room)
            after, alerts = capacity_step(
                before,
                building=state.building,
                room=state.room,
                count=state.count,
                limit=state.limit,
                now=state.ts,
                policy=self._policy,
                alert_id_factory=new_alert_id,
                room_name=room.name if room is not None else None,
            )
            if after != before:
                changed[key] = after
            sent.extend(alerts)
        for key, machine in changed.items():
            self._occupancy.ownership.store(self.machines, key, machine)
        for alert in sent:
            log.info(
                kv(
                    "alert",
                    alert_id=alert.alert_id,
                    room=f"{alert.building}/{alert.room}",
                    severity=alert.severity,
                    state=alert.state,
                )
            )
            await self._notifiers.send(alert)

    async def _tick(self) -> None:
        # Reminders and dwell-based resolves are due even when a room's count stops changing:
        # each room with an open alert is stepped with its current state.
        now = utcnow()
        mine = self._occupancy.ownership.owned()
        states: list[RoomState] = []
        for key, machine in list(self.machines.items()):
            if machine.alert is None or self._occupancy.ownership.partition_of(key) not in mine:
                continue
            count = self._occupancy.rooms.get(key)
            if count is not None:
                states.append(self._occupancy.room_state(count, now))
        await self.step(states)

    async def acknowledge(self, ack: AckRecord) -> bool:
        """Acknowledge the open capacity alert `ack` names, if a room of this worker has it."""
        mine = self._occupancy.ownership.owned()
        for key, machine in list(self.machines.items()):
            alert = machine.alert
            if alert is None or alert.alert_id != ack.alert_id:
                continue
            if self._occupancy.ownership.partition_of(key) not in mine:
                return False
            after, alerts = acknowledge(machine, AckInfo(by=ack.by, ts=ack.ts), ack.alert_id)
            if after != machine:
                self._occupancy.ownership.store(self.machines, key, after)
            for acked in alerts:
                await self._notifiers.send(acked)
            return True
        return False
