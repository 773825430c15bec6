"""Attendance alerts in the workers: `health_screening` from kiosk taps, `building_headcount`
from the presence counts.

`health_screening` (warning): a tap with `temperature_c` at or above
`OCC_HEALTH_TEMPERATURE_C`, or `mask: false`; at most one alert per (building, employee,
local day), kept in the employee's entry of `health-alerts` (keyed by pseudonym, in the
partition of the checkin topic the employee's taps go to), resolved when that day ends,
and the entry deleted a day later. The message names the employee by pseudonym
(`ingest.pseudonym`), never by id or name: security finds the person with `occupancy
roster reveal`. The screening values (temperature, mask) are kept only in
the alert (its `value` and message), never in the employee's attendance records; metrics
carry neither the person nor the message.

`building_headcount` (warning): the people in a building now exceed
`OCC_HEADCOUNT_OVER_PLAN_RATIO` × the employees planned in its office today. Every worker
knows every count (`PresenceBoard`), so only the worker holding the building id's partition
of the checkin topic runs its machine (table `headcount-alerts`, keyed by building).

Both hold acks (`alerts/acks.py`): the worker whose table holds the open alert, on a
partition it owns, applies the ack and sends the alert again with `ack` set.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import faust
from pydantic import AwareDatetime, BaseModel, ConfigDict

from alerts.acks import acks, apply_ack
from alerts.machine import MachineState, event_alert_step, new_alert_id
from alerts.notifiers import Fanout
from ingest.models import AckRecord, Alert, CheckinRecord
from ingest.roster import Employee
from ingest.settings import Settings
from ingest.site import Site
from processors.attendance import Attendance, PresenceBoard, PresenceCount
from processors.attendance_rules import DailyRecord, day_end, over_plan, screening_reasons
from processors.codec import pydantic_table


class Screening(BaseModel):
    """One (building, day) of an employee: its alert while open, until the day ends."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    machine: MachineState = MachineState()
    ends: AwareDatetime


class Screenings(BaseModel):
    """An employee's screenings, by `building/date`, and the checkin partition of the
    employee (None: an entry from before the table was keyed by pseudonym, keyed by id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slots: dict[str, Screening] = {}
    partition: int | None = None


_NO_DWELL = timedelta(0)


def acknowledge_screening(
    screenings: Screenings, ack: AckRecord, dwell: timedelta = _NO_DWELL
) -> tuple[Screenings, list[Alert]] | None:
    """The screenings after `ack` and the acknowledged alert to send again; None when no
    screening of the employee has the alert open. An alert acked before is held but not
    sent again."""
    for slot, screening in screenings.slots.items():
        alert = screening.machine.alert
        if not acks(ack, alert):
            continue
        machine, alerts = apply_ack(screening.machine, ack, dwell)
        acked = screening.model_copy(update={"machine": machine})
        return screenings.model_copy(update={"slots": {**screenings.slots, slot: acked}}), alerts
    return None


class HealthScreening:
    """Registers the health-screening machines on the app and on the attendance agent."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        attendance: Attendance,
        notifiers: Fanout,
    ) -> None:
        self._site = site
        self._clock = settings.pipeline_clock
        self._dwell = timedelta(seconds=settings.alert_min_dwell_s)
        self._threshold = settings.health_temperature_c
        self._notifiers = notifiers
        self._ownership = attendance.ownership
        self._pseudonyms = attendance.pseudonyms
        # Keyed by pseudonym (the changelog sits next to temperatures), filed in the
        # partition of the employee's taps so the worker holding them restores it.
        self.employees = pydantic_table(
            app, "health-alerts", Screenings, settings.kafka_partitions, use_partitioner=False
        )
        attendance.tap_handlers.append(self._on_tap)
        app.timer(interval=settings.alert_tick_s)(self._resolve_ended)

    async def _on_tap(self, record: CheckinRecord, employee: Employee, day: DailyRecord) -> None:
        reasons = screening_reasons(record, self._threshold)
        if not reasons:
            return
        key = self._pseudonyms(employee.id).encode()
        partition = self._ownership.partition_of(employee.id.encode())
        screenings = self.employees.get(key) or Screenings(partition=partition)
        slot = f"{record.building}/{day.date.isoformat()}"
        if slot in screenings.slots:
            return
        building = self._site.building(record.building)
        zone = building.zone if building is not None else None
        ends = day_end(day.date, zone) if zone is not None else record.received_at
        name = building.name if building is not None else record.building
        after, alerts = event_alert_step(
            MachineState(),
            kind="health_screening",
            building=record.building,
            room=None,
            active=True,
            severity="warning",
            value=record.temperature_c,
            limit=self._threshold if record.temperature_c is not None else None,
            now=day.taps[-1].at if day.taps else record.received_at,
            message=(
                f"{name}: employee {self._pseudonyms(employee.id)} failed the health "
                f"screening at kiosk {record.kiosk} ({', '.join(reasons)})"
            ),
            alert_id_factory=new_alert_id,
        )
        slots = {**screenings.slots, slot: Screening(machine=after, ends=ends)}
        self._ownership.store(
            self.employees, key, Screenings(slots=slots, partition=partition), partition
        )
        await self._send(alerts)

    def _partition(self, key: bytes, screenings: Screenings) -> int:
        if screenings.partition is None:
            return self._ownership.partition_of(key)
        return screenings.partition

    async def _resolve_ended(self) -> None:
        """Resolve the screenings of days that ended; forget them (and the employee's entry,
        once it holds none) a day later."""
        mine = self._ownership.owned()
        now = self._clock.now()
        for key, screenings in list(self.employees.items()):
            partition = self._partition(key, screenings)
            if partition not in mine:
                continue
            slots: dict[str, Screening] = {}
            sent: list[Alert] = []
            for slot, screening in screenings.slots.items():
                if screening.ends > now:
                    slots[slot] = screening
                    continue
                if screening.machine.alert is not None:
                    after, alerts = _resolve(screening.machine, now)
                    sent.extend(alerts)
                    slots[slot] = screening.model_copy(update={"machine": after})
                elif (now - screening.ends).days < 1:
                    slots[slot] = screening
            if not slots:
                self._ownership.delete(self.employees, key, partition)
            elif slots != screenings.slots:
                after = screenings.model_copy(update={"slots": slots})
                self._ownership.store(self.employees, key, after, partition)
            await self._send(sent)

    async def acknowledge(self, ack: AckRecord) -> bool:
        """Acknowledge the open `health_screening` alert `ack` names, if this worker has it."""
        for key, screenings in list(self.employees.items()):
            applied = acknowledge_screening(screenings, ack, self._dwell)
            if applied is None:
                continue
            # A store may still hold employees whose partition moved on: the owner applies it.
            partition = self._partition(key, screenings)
            if partition not in self._ownership.owned():
                return False
            after, alerts = applied
            if after != screenings:
                self._ownership.store(self.employees, key, after, partition)
            await self._send(alerts)
            return True
        return False

    async def _send(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            await self._notifiers.send(alert)


def _resolve(machine: MachineState, now: datetime) -> tuple[MachineState, list[Alert]]:
    alert = machine.alert
    assert alert is not None
    return event_alert_step(
        machine,
        kind="health_screening",
        building=alert.building,
        room=None,
        active=False,
        severity="warning",
        value=alert.value,
        limit=alert.limit,
        now=now,
        message=f"{alert.message}; the day is over",
        alert_id_factory=new_alert_id,
    )


class BuildingHeadcount:
    """One `building_headcount` machine per building, run by the worker holding its key."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        attendance: Attendance,
        *,
        board: PresenceBoard,
        notifiers: Fanout,
    ) -> None:
        self._site = site
        self._clock = settings.pipeline_clock
        self._dwell = timedelta(seconds=settings.alert_min_dwell_s)
        self._ratio = settings.headcount_over_plan_ratio
        self._board = board
        self._notifiers = notifiers
        self._ownership = attendance.ownership
        self.buildings = pydantic_table(
            app, "headcount-alerts", MachineState, settings.kafka_partitions
        )
        board.listeners.append(self.check)
        app.timer(interval=settings.alert_tick_s)(self._tick)

    async def _tick(self) -> None:
        # A building whose partition just came here is checked even if its count is unchanged.
        if not self._board.caught_up.is_set():
            return
        now = self._clock.now()
        for n, building in enumerate(self._site.buildings):
            if n and n % 25 == 0:
                await asyncio.sleep(0)  # a ministry's 200 buildings in slices
            await self.check(self._board.count(building.id, now))

    async def check(self, counted: PresenceCount) -> None:
        key = counted.building.encode()
        if self._ownership.partition_of(key) not in self._ownership.owned():
            return
        before = self.buildings.get(key) or MachineState()
        limit = self._ratio * counted.planned_wfo
        active = over_plan(counted.count, counted.planned_wfo, self._ratio)
        building = self._site.building(counted.building)
        name = building.name if building is not None else counted.building
        message = (
            f"{name}: {counted.count} people in, over the {counted.planned_wfo} planned in the "
            f"office today (limit {limit:g})"
            if active
            else f"{name}: {counted.count} people in, within the plan ({counted.planned_wfo})"
        )
        after, alerts = event_alert_step(
            before,
            kind="building_headcount",
            building=counted.building,
            room=None,
            active=active,
            severity="warning",
            value=float(counted.count),
            limit=limit,
            now=counted.ts,
            message=message,
            alert_id_factory=new_alert_id,
        )
        if after != before:
            self._ownership.store(self.buildings, key, after)
        for alert in alerts:
            await self._notifiers.send(alert)

    async def acknowledge(self, ack: AckRecord) -> bool:
        """Acknowledge the open `building_headcount` alert `ack` names, if this worker runs
        its building's machine."""
        for key, machine in list(self.buildings.items()):
            if not acks(ack, machine.alert):
                continue
            if self._ownership.partition_of(key) not in self._ownership.owned():
                return False
            after, alerts = apply_ack(machine, ack, self._dwell)
            if after != machine:
                self._ownership.store(self.buildings, key, after)
            for alert in alerts:
                await self._notifiers.send(alert)
            return True
        return False
