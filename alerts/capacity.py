"""Capacity alerts in the workers: one state machine per room, fed by the occupancy agent.

The occupancy agent hands over every change of a room's state (count or limit) in order,
while it processes the door event, so an alert leaves the worker without another trip
through Kafka and sees every state, also those the 10 ms room-state flush skips. Each room's machine
is stepped in a table and what it emits goes to the notifiers. A timer steps the rooms with
an open alert with their current state, so reminders and dwell-based resolves happen when
the count stops changing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta

import faust
from pydantic import BaseModel, ConfigDict

from alerts.acks import acks, apply_ack
from alerts.forecast import Forecast, forecast_active
from alerts.machine import (
    AlertPolicy,
    MachineState,
    capacity_step,
    event_alert_step,
    new_alert_id,
)
from alerts.notifiers import Fanout
from alerts.summary import BuildingSummaries
from ingest.models import AckRecord, Alert, RoomState
from ingest.settings import Settings
from ingest.site import Site
from processors.codec import pydantic_table
from processors.occupancy import Occupancy
from processors.writeback import WriteBehind

_SAMPLES = 256
"""Recent (time, count) samples kept per room for the trend; process memory, rebuilt in
minutes after a restart."""

_ROOMS_PER_SLICE = 50
"""Rooms the tick looks at between two yields to the loop."""

_SAMPLE_EVERY = timedelta(seconds=5)
"""Finest spacing of trend samples: 120 of them span the 10-minute window."""


class CapacityMachines(BaseModel):
    """A room's capacity machine and its forecast machine, one table value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    capacity: MachineState = MachineState()
    forecast: MachineState = MachineState()

    @property
    def open(self) -> bool:
        # A machine resolved by hand is stepped on ticks too: it opens again after the dwell.
        return any(
            m.alert is not None or m.quiet_until is not None for m in (self.capacity, self.forecast)
        )


class CapacityAlerts:
    """Registers the capacity machines' table and timer, and listens to the occupancy agent."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        occupancy: Occupancy,
        notifiers: Fanout,
        *,
        summaries: BuildingSummaries,
    ) -> None:
        self._site = site
        self._occupancy = occupancy
        self._notifiers = notifiers
        self._clock = settings.pipeline_clock
        self._policy = AlertPolicy(
            warn_ratio=site.policy.warn_ratio,
            debounce=timedelta(seconds=settings.alert_debounce_s),
            hysteresis=settings.alert_hysteresis,
            min_dwell=timedelta(seconds=settings.alert_min_dwell_s),
            reminder_every=timedelta(seconds=settings.alert_reminder_s),
        )
        self._horizon = timedelta(seconds=settings.alert_forecast_horizon_s)
        self._min_span = timedelta(seconds=settings.alert_forecast_min_span_s)
        self._samples: dict[bytes, deque[tuple[datetime, int]]] = {}
        self.machines = pydantic_table(
            app, "capacity-alerts", CapacityMachines, settings.kafka_partitions
        )
        self._machines: WriteBehind[CapacityMachines] = WriteBehind(
            self.machines, occupancy.ownership
        )
        occupancy.tables.append(self._machines)
        self.summaries = summaries
        occupancy.state_handlers.append(self.step)
        app.timer(interval=settings.alert_tick_s)(self._tick)

    async def step(self, states: Sequence[RoomState]) -> None:
        """Step each room's machines through its states in order; written back with the room."""
        sent: list[Alert] = []
        for state in states:
            self.summaries.update(state)
            key = f"{state.building}/{state.room}".encode()
            before = self._machines.get(key) or CapacityMachines()
            after, alerts = self._step_room(key, before, state)
            if after != before:
                self._machines.put(key, after)
                self._occupancy.write_back_soon()
            sent.extend(alerts)
        for alert in sent:
            await self._notifiers.send(alert)

    def _step_room(
        self, key: bytes, before: CapacityMachines, state: RoomState
    ) -> tuple[CapacityMachines, list[Alert]]:
        room = self._site.room(state.building, state.room)
        name = room.name if room is not None else state.room
        capacity, alerts = capacity_step(
            before.capacity,
            building=state.building,
            room=state.room,
            count=state.count,
            limit=state.limit,
            now=state.ts,
            policy=self._policy,
            alert_id_factory=new_alert_id,
            room_name=name,
        )
        forecast_machine, forecasts = self._step_forecast(key, before.forecast, state, name)
        after = CapacityMachines(capacity=capacity, forecast=forecast_machine)
        if alerts:
            rollup = self.summaries.rollup(state.building)
            alerts = [a.model_copy(update={"message": f"{a.message} ({rollup})"}) for a in alerts]
        return after, alerts + forecasts

    def _step_forecast(
        self, key: bytes, before: MachineState, state: RoomState, name: str
    ) -> tuple[MachineState, list[Alert]]:
        """The trend is sampled at most every `_SAMPLE_EVERY` per room (the latest count of a
        burst stands for it) and judged again only when a sample was added, so a burst of
        door events costs one fit, not one per event."""
        if self._horizon <= timedelta(0):
            return before, []
        samples = self._samples.setdefault(key, deque(maxlen=_SAMPLES))
        if samples and timedelta(0) <= state.ts - samples[-1][0] < _SAMPLE_EVERY:
            samples[-1] = (samples[-1][0], state.count)  # the bucket's latest count
            return before, []
        samples.append((state.ts, state.count))
        active, forecast = forecast_active(
            samples,
            limit=state.limit,
            horizon=self._horizon,
            min_span=self._min_span,
            was_active=before.alert is not None,
        )
        # From the forecast's own "now", its newest sample: a state stamped earlier than that
        # (sensors' clocks differ, a late event) must not stretch the minutes past the horizon.
        minutes = None if forecast.minutes is None else max(0.0, forecast.minutes)
        return event_alert_step(
            before,
            kind="capacity_forecast",
            building=state.building,
            room=state.room,
            active=active,
            severity="warning",
            value=None if minutes is None else round(minutes, 1),
            limit=state.limit,
            now=state.ts,
            message=self._forecast_message(name, state, forecast, active),
            alert_id_factory=new_alert_id,
        )

    def _forecast_message(
        self, name: str, state: RoomState, forecast: Forecast, active: bool
    ) -> str:
        if not active:
            return f"{name}: no longer filling towards its limit of {state.limit}"
        if forecast.crossing_at is None:
            return f"{name}: still filling (+{forecast.slope_per_min:.1f}/min)"
        building = self._site.building(state.building)
        at = forecast.crossing_at.astimezone(building.zone) if building else forecast.crossing_at
        return (
            f"{name}: at +{forecast.slope_per_min:.1f} people/min it passes its limit of "
            f"{state.limit} around {at:%H:%M}"
        )

    async def _tick(self) -> None:
        # Reminders, dwell-based resolves and a flattening trend are due even when a room's
        # count stops changing: each room with an open alert is stepped with its state now.
        now = self._clock.now()
        mine = self._occupancy.ownership.owned()
        states: list[RoomState] = []
        for n, key in enumerate(list(self._machines.keys())):
            if n and n % _ROOMS_PER_SLICE == 0:
                # A ministry's 10,000 rooms in slices, each slice's rooms stepped before
                # door events go on: a scan of all of them held the loop for 300 ms.
                await self.step(states)
                states = []
                await asyncio.sleep(0)
                now = self._clock.now()  # door events went on meanwhile, stamped later
            machines = self._machines.get(key)
            if machines is None or not machines.open:
                continue
            if self._occupancy.ownership.partition_of(key) not in mine:
                continue
            count = self._occupancy.counts.get(key)
            if count is not None:
                states.append(self._occupancy.room_state(count, now))
        await self.step(states)

    async def acknowledge(self, ack: AckRecord) -> bool:
        """Acknowledge the open capacity or forecast alert `ack` names, if this worker has it."""
        mine = self._occupancy.ownership.owned()
        for key in list(self._machines.keys()):
            machines = self._machines.get(key)
            if machines is None:
                continue
            for field in ("capacity", "forecast"):
                machine: MachineState = getattr(machines, field)
                if not acks(ack, machine.alert):
                    continue
                if self._occupancy.ownership.partition_of(key) not in mine:
                    return False
                after, alerts = apply_ack(machine, ack, self._policy.min_dwell)
                if after != machine:
                    self._machines.put(key, machines.model_copy(update={field: after}))
                    await self._occupancy.write_back()
                for acked in alerts:
                    await self._notifiers.send(acked)
                return True
        return False
