"""The workers' metrics: room occupancy, attendance per unit, and their pipeline counters.

Points go to a `Sink` (the `MetricsWriter`), which only queues them: nothing here waits on
InfluxDB. The measurements are described in docs/contract.md ("InfluxDB schema").
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta

import faust
from pydantic import ValidationError

from ingest.logs import kv
from ingest.metrics import Deltas, MetricsWriter, Sink
from ingest.models import RoomState
from ingest.roster import Roster
from ingest.settings import Settings
from ingest.site import Building, Site
from processors.attendance import Attendance
from processors.attendance_report import building_totals
from processors.attendance_rules import DailyRecord
from processors.follow import follow_topic
from processors.occupancy import Occupancy

log = logging.getLogger(__name__)

LEVELS = {"open": 0, "warning": 1, "full": 2, "over": 3}
"""`level` of a room's status, for panels that colour by number."""


_ROOMS_PER_SLICE = 10
"""Rooms the heartbeat writes between two yields to the loop (a few milliseconds)."""


class RoomMetrics:
    """`room_occupancy`: a room's latest state as the worker sends it (at most once per
    `OCC_WORKER_STATE_FLUSH_S`), and every room of the site this worker holds each
    `OCC_METRICS_HEARTBEAT_S`, so panels have no gaps."""

    def __init__(
        self, app: faust.App, settings: Settings, site: Site, occupancy: Occupancy, sink: Sink
    ) -> None:
        self._site = site
        self._occupancy = occupancy
        self._sink = sink
        self._clock = settings.pipeline_clock
        # The cumulative entered/exited at each room's last point: `entries`/`exits` are the
        # growth since (a room first seen here starts from what it has).
        self._flows: dict[tuple[str, str], tuple[int, int]] = {}
        occupancy.sent_handlers.append(self.on_states)
        app.timer(interval=settings.metrics_heartbeat_s)(self.heartbeat)

    def on_states(self, states: list[RoomState]) -> None:
        for state in states:
            self.write(state)

    async def heartbeat(self) -> None:
        ownership = self._occupancy.ownership
        mine = ownership.owned()
        if not mine:
            return
        now = self._clock.now()
        n = 0
        for building in self._site.buildings:
            for room in building.rooms:
                n += 1
                if n % _ROOMS_PER_SLICE == 0:
                    await asyncio.sleep(0)  # a ministry's 10,000 rooms would hold the loop
                if ownership.partition_of(f"{building.id}/{room.id}".encode()) in mine:
                    counted = self._occupancy.counted(building.id, room.id)
                    self.write(self._occupancy.room_state(counted, now))

    def write(self, state: RoomState) -> None:
        room = self._site.room(state.building, state.room)
        counted = self._occupancy.counted(state.building, state.room)
        now = (counted.entered, counted.exited)
        before = self._flows.get((state.building, state.room), now)
        self._flows[(state.building, state.room)] = now
        # A reset takes the cumulative counts back to 0: what came after it is all new.
        entries = now[0] - before[0] if now[0] >= before[0] else now[0]
        exits = now[1] - before[1] if now[1] >= before[1] else now[1]
        self._sink.write(
            "room_occupancy",
            {
                "building": state.building,
                "room": state.room,
                "room_type": room.type if room is not None else None,
            },
            {
                "count": state.count,
                "limit": state.limit,
                "capacity": state.capacity,
                "utilization": round(state.count / max(state.limit, 1), 4),
                "free": state.free,
                "level": LEVELS[state.status],
                "status": state.status,
                "entered": counted.entered,
                "exited": counted.exited,
                "entries": entries,
                "exits": exits,
            },
            state.ts,
        )


class AttendanceMetrics:
    """`attendance`: per building and unit, each `OCC_METRICS_HEARTBEAT_S`, written by the
    worker holding the building's key of the checkin topic (as its headcount alert).

    Every worker follows the whole `occupancy.attendance` topic, so the figures cover every
    employee whoever holds them; they are the unit totals of `occupancy report attendance`
    for the building's local date. Only counts leave this class: never an employee id.
    """

    def __init__(  # noqa: PLR0917 - the parts a unit total is made of
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        roster: Roster,
        attendance: Attendance,
        sink: Sink,
    ) -> None:
        self._settings = settings
        self._clock = settings.pipeline_clock
        self._site = site
        self._roster = roster
        self._attendance = attendance
        self._sink = sink
        self._keep = timedelta(days=settings.attendance_lookback_days + 1)
        # By the employee's home building and the date: a building's heartbeat reads its own
        # records of the day, not every employee's (a ministry has 100,000).
        self._days: dict[tuple[str, date], dict[str, DailyRecord]] = {}
        self._slot: dict[str, tuple[str, date]] = {}
        # `present` per (building, unit) at the last point, with its date: check-ins are
        # the growth since (a unit first seen here starts from what it has, not from 0).
        self._present: dict[tuple[str, str], tuple[date, int]] = {}
        self.caught_up = asyncio.Event()
        app.task(self._follow)
        app.timer(interval=settings.metrics_heartbeat_s)(self.heartbeat)

    async def _follow(self) -> None:
        await follow_topic(
            self._settings,
            "attendance",
            self._take,
            caught_up=self.caught_up,
            then=_nothing,
            every=self._settings.metrics_heartbeat_s,
        )

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self._drop(key.decode())
            return
        try:
            record = DailyRecord.model_validate_json(value)
        except ValidationError:
            log.warning(kv("attendance_record_unreadable", bytes=len(value)))
            return
        self._drop(record.key)
        employee = self._roster.employee(record.employee)
        if employee is None:  # left the roster: in no building's totals
            return
        slot = (employee.building, record.date)
        self._days.setdefault(slot, {})[record.key] = record
        self._slot[record.key] = slot

    def _drop(self, key: str) -> None:
        slot = self._slot.pop(key, None)
        if slot is not None:
            self._days.get(slot, {}).pop(key, None)

    async def heartbeat(self) -> None:
        if not self.caught_up.is_set():
            return  # half-read totals would dip on the panels after every restart
        ownership = self._attendance.ownership
        mine = ownership.owned()
        now = self._clock.now()
        for building in self._site.buildings:
            if ownership.partition_of(building.id.encode()) in mine:
                self.write(building, now)
                await asyncio.sleep(0)  # a building's employees at a time
        self._forget_before(now - self._keep)

    def write(self, building: Building, now: datetime) -> None:
        day = now.astimezone(building.zone).date()
        records = self._days.get((building.id, day), {}).values()
        rows, totaled = building_totals(self._roster, self._site, records, day, building.id)
        inside: dict[str, int] = {}
        left: dict[str, int] = {}
        for row in rows:
            unit, record = row.employee.unit, row.record
            if record is not None and record.open:
                inside[unit] = inside.get(unit, 0) + 1
            elif record is not None and record.present:
                left[unit] = left.get(unit, 0) + 1
        for totals in totaled:
            before = self._present.get((building.id, totals.unit))
            if before is None:
                checkins = 0
            elif before[0] != day:
                checkins = totals.present  # a new day starts from nobody
            else:
                checkins = max(0, totals.present - before[1])
            self._present[(building.id, totals.unit)] = (day, totals.present)
            self._sink.write(
                "attendance",
                {"building": building.id, "unit": totals.unit},
                {
                    "planned_wfo": totals.planned_wfo,
                    "present": totals.present,
                    "late": totals.late,
                    "absent": totals.absent,
                    "wfh": totals.wfh,
                    "holiday": totals.holiday,
                    "checked_in": inside.get(totals.unit, 0),
                    "checked_out": left.get(totals.unit, 0),
                    "checkins": checkins,
                },
                now,
            )

    def _forget_before(self, at: datetime) -> None:
        oldest = at.date()
        for slot in [s for s in self._days if s[1] < oldest]:
            for key in self._days.pop(slot):
                del self._slot[key]


class PipelineMetrics:
    """`pipeline` for the worker's components each `OCC_METRICS_PIPELINE_S`: what each
    agent took since the last point, and how far behind its topic it is now."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        occupancy: Occupancy,
        attendance: Attendance | None,
        writer: MetricsWriter,
    ) -> None:
        self._app = app
        self._occupancy = occupancy
        self._attendance = attendance
        self._writer = writer
        self._clock = settings.pipeline_clock
        self._door = Deltas()
        self._taps = Deltas()
        app.timer(interval=settings.metrics_pipeline_s)(self.report)

    async def report(self) -> None:
        await self._report(lag=True)

    async def report_last(self) -> None:
        """The counts since the last point, at shutdown (no lag: the consumer is stopping)."""
        await self._report(lag=False)

    async def _report(self, *, lag: bool) -> None:
        now = self._clock.now()
        door = self._door.take(self._occupancy.counters, ["events", "duplicate", "sequence_gap"])
        self._writer.write(
            "pipeline",
            {"component": "occupancy"},
            {
                "events": door["events"],
                "duplicates": door["duplicate"],
                "gaps": door["sequence_gap"],
                "lag": await self._lag_of(self._occupancy.door_topic.get_topic_name(), lag),
            },
            now,
        )
        if self._attendance is not None:
            counts = {"taps": self._attendance.taps, "unknown": self._attendance.unknown_employees}
            taps = self._taps.take(counts)
            self._writer.write(
                "pipeline",
                {"component": "attendance"},
                {
                    "events": taps["taps"],
                    "invalid": taps["unknown"],
                    "lag": await self._lag_of(self._attendance.checkin_topic.get_topic_name(), lag),
                },
                now,
            )
        self._writer.report(now)

    async def _lag_of(self, topic: str, wanted: bool) -> int | None:
        return await self._lag(topic) if wanted else None

    async def _lag(self, topic: str) -> int | None:
        """Records behind the end of `topic`'s partitions held here (None: not known yet)."""
        consumer = self._app.consumer
        behind = 0
        try:
            for tp in consumer.assignment():
                if tp.topic != topic:
                    continue
                position = await consumer.position(tp)
                end = consumer.highwater(tp)
                if position is not None and end is not None:
                    behind += max(0, end - position)
        except Exception as exc:  # a lag figure is never worth a crash
            log.debug(kv("lag_unknown", topic=topic, error=repr(exc)))
            return None
        return behind


async def _nothing() -> None:
    return None
