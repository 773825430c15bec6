"""Capacity alerts in the workers: one state machine per room, fed by the room-state topic.

The agent reads `occupancy.room-state` (keyed like the door topic, so co-partitioned with the
occupancy table), steps the room's machine in a table and hands what it emits to the
notifiers. A timer re-feeds the rooms with an open alert so reminders and dwell-based
resolves happen when the count stops changing.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import faust

from alerts.machine import AlertPolicy, MachineState, capacity_step, new_alert_id
from alerts.notifiers import Fanout
from ingest.logs import kv
from ingest.models import RoomState, utcnow
from ingest.settings import Settings
from ingest.site import Site
from processors.codec import pydantic_table
from processors.occupancy import Occupancy

log = logging.getLogger(__name__)


class CapacityAlerts:
    """Registers the capacity-alert agent, its table and its timer on the app."""

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
        app.agent(occupancy.state_topic, name="capacity-alerts", concurrency=1)(self._watch)
        app.timer(interval=settings.alert_tick_s)(self._tick)

    async def _watch(self, stream: faust.StreamT[RoomState]) -> None:
        async for state in stream:
            key = f"{state.building}/{state.room}".encode()
            before = self.machines.get(key) or MachineState()
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
                self.machines[key] = after
            for alert in alerts:
                log.info(
                    kv(
                        "alert",
                        alert_id=alert.alert_id,
                        room=key.decode(),
                        severity=alert.severity,
                        state=alert.state,
                    )
                )
                await self._notifiers.send(alert)

    async def _tick(self) -> None:
        # Machine states may only change inside the agent (Faust writes a table's changelog
        # to the partition of the event being processed), so the timer re-sends the current
        # state of each room with an open alert through the room-state topic.
        now = utcnow()
        for key, machine in list(self.machines.items()):
            if machine.alert is None:
                continue
            count = self._occupancy.rooms.get(key)
            if count is not None:
                state = self._occupancy.room_state(count, now)
                await self._occupancy.state_topic.send(key=key, value=state)
