"""Attendance in the workers: kiosk taps into each employee's days, days closed at their end,
and who is in each building now.

The table `attendance-days` is keyed by employee id, the key of `occupancy.checkin`, so an
employee's days live on the partition of their taps; its value holds the employee's recent
days (`EmployeeDays`). Every changed day also goes to the compacted `occupancy.attendance`
(keyed `employee/date`, read by `occupancy report attendance`), and every change of where an
employee is to the compacted `occupancy.presence` (keyed by employee). Every worker follows
that whole topic (`PresenceBoard`, no consumer group) and so counts every building, whoever
holds the employees; the count goes retained to `occupancy/{building}/presence`.

Privacy: those tables and topics are the attendance records and name employees by id; what
else leaves here (log lines, dead-letter reasons) names them by pseudonym
(`ingest.pseudonym`). Days older than `OCC_ATTENDANCE_RETENTION_DAYS` are deleted by the
worker holding the employee: dropped from the table and tombstoned in `occupancy.attendance`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from typing import TypeVar

import faust
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from ingest.kafka import broadcast_consumer
from ingest.logs import kv
from ingest.models import CheckinRecord, DeadLetter, Identifier
from ingest.pseudonym import Pseudonyms, without_employee_id
from ingest.roster import Employee, Roster
from ingest.settings import Settings
from ingest.site import Site
from ingest.topics import KioskTopic, PresenceTopic
from processors.attendance_days import (
    EmployeeDays,
    Presence,
    check_retention,
    close_due,
    expire,
    presence_of,
)
from processors.attendance_rules import (
    DailyRecord,
    Finding,
    TapRules,
    apply_tap,
    day_end,
    record_key,
    retained_from,
    tap_date,
    too_old,
)
from processors.codec import pydantic_table, pydantic_topic
from processors.follow import backlog_of, follow_topic
from processors.ownership import Ownership

log = logging.getLogger(__name__)

_YIELD_EVERY = 25
"""Employees a timer goes through between two yields to the loop (a few milliseconds)."""

TapHandler = Callable[[CheckinRecord, Employee, DailyRecord], Awaitable[None]]
"""Called with each tap of a known employee and the day after it (redeliveries included),
unless the tap's day is past the retention."""

CountHandler = Callable[["PresenceCount"], Awaitable[None]]
"""Called with a building's presence count whenever it (or the day's plan) changes."""

_KIOSK_FIELDS = {
    "event_id",
    "ts",
    "employee_id",
    "action",
    "method",
    "temperature_c",
    "mask",
    "sent_at",
}


class PresenceCount(BaseModel):
    """The retained `occupancy/{building}/presence` payload: a count, never names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    building: Identifier
    count: int
    planned_wfo: int
    ts: AwareDatetime


def tap_rules(settings: Settings) -> TapRules:
    return TapRules(
        repeat_window=timedelta(seconds=settings.attendance_repeat_window_s),
        max_clock_skew=timedelta(seconds=settings.attendance_max_clock_skew_s),
    )


class Attendance:
    """Registers the checkin agent, the day-end timer and the attendance tables on the app."""

    def __init__(self, app: faust.App, settings: Settings, site: Site, roster: Roster) -> None:
        check_retention(settings)
        self._app = app
        self._settings = settings
        self._clock = settings.pipeline_clock
        self._site = site
        self._roster = roster
        self._rules = tap_rules(settings)
        self._retention = settings.attendance_retention_days
        self.pseudonyms = Pseudonyms.from_settings(settings)
        self.unknown_employees = 0
        self.taps = 0
        # One employee's read → store → send at a time: the day-end timer sends while the
        # agent applies taps, and a day sent by one must not overtake the other's newer copy.
        self._step = asyncio.Lock()
        self.tap_handlers: list[TapHandler] = []
        self.checkin_topic = pydantic_topic(app, settings.kafka_topic("checkin"), CheckinRecord)
        self.days_topic = pydantic_topic(app, settings.kafka_topic("attendance"), DailyRecord)
        self.presence_topic = pydantic_topic(app, settings.kafka_topic("presence"), Presence)
        self.deadletter_topic = pydantic_topic(app, settings.kafka_topic("deadletter"), DeadLetter)
        self.employees = pydantic_table(
            app, "attendance-days", EmployeeDays, settings.kafka_partitions
        )
        self.ownership = Ownership(
            app, self.checkin_topic.get_topic_name(), settings.kafka_partitions
        )
        # concurrency=1 and one event at a time, as the occupancy agent (issue 606).
        app.agent(self.checkin_topic, name="attendance", concurrency=1)(self._take)
        self._zones = {b.zone for b in site.buildings}
        self._due: datetime | None = None  # the next end of a local day in any building
        self._covered: set[int] = set()  # partitions gone through since that day began
        self._touched: set[bytes] = set()  # employees a tap changed since the last tick
        self._homes: dict[int, list[Employee]] | None = None
        # (home, group) whose employees without days have nothing to close until `_due`:
        # what a close makes of no days depends on nothing else.
        self._idle: set[tuple[str, str]] = set()
        app.timer(interval=settings.alert_tick_s)(self.close_days)

    async def _take(self, stream: faust.StreamT[CheckinRecord]) -> None:
        async for record in stream:
            await self.apply(record)

    async def apply(self, record: CheckinRecord) -> None:
        """One tap: the day after it, stored and sent on; unknown employees dead-lettered."""
        self.taps += 1
        employee = self._roster.employee(record.employee_id)
        if employee is None:
            await self._unknown(record)
            return
        async with self._step:
            after = await self._apply(record, employee)
        if after is None:
            return
        for handle in self.tap_handlers:
            await handle(record, employee, after)

    async def _apply(self, record: CheckinRecord, employee: Employee) -> DailyRecord | None:
        key = employee.id.encode()
        before = self.employees.get(key) or EmployeeDays()
        day = tap_date(record, employee, self._site, self._rules)
        refused = too_old(
            day,
            self._today(employee),
            lookback=self._settings.attendance_lookback_days,
            retention=self._retention,
        )
        if refused is not None:
            kind, why = refused
            self._log_finding(
                Finding(
                    kind=kind,
                    employee=employee.id,
                    date=day,
                    at=record.received_at,
                    detail=f"{record.action} {record.identity} of {day} not applied: {why}",
                )
            )
            await self._dead_letter(record, kind, f"tap of {day} not applied: {why}")
            return None
        current = before.days.get(day)
        after, findings = apply_tap(
            current,
            record,
            employee=employee,
            roster=self._roster,
            site=self._site,
            rules=self._rules,
        )
        for finding in findings:
            self._log_finding(finding)
        if after != current:
            days = before.model_copy(update={"days": {**before.days, day: after}})
            await self._save(key, before, days, [after])
            self._touched.add(key)
        return after

    async def close_days(self) -> None:
        """Close the days that ended and delete those past the retention, for the employees
        whose partition this worker holds (and those who left the roster since).

        What a close does changes only when a building's local day ends: every employee of
        a partition is gone through once after each such midnight (and when the partition
        comes here); between them, only the employees whose days a tap changed."""
        mine = self.ownership.owned()
        self._covered &= mine
        if not mine:
            return
        now = self._clock.now()
        if self._due is None or now >= self._due:
            self._covered = set()
            self._idle.clear()
            self._due = min(day_end(now.astimezone(zone).date(), zone) for zone in self._zones)
        touched, self._touched = self._touched, set()
        homes = await self._homes_by_partition()
        for partition in sorted(mine - self._covered):
            for n, employee in enumerate(homes.get(partition, ())):
                if self._app.should_stop:  # a SIGTERM meanwhile: the producer is going away
                    return
                if n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
                async with self._step:
                    await self._close(employee.id.encode(), employee, now)
            await self._forget_left(partition, now)
            self._covered.add(partition)
        for n, key in enumerate(sorted(touched)):
            if self._app.should_stop:
                return
            known = self._roster.employee(key.decode())
            if known is None or self.ownership.partition_of(key) not in mine:
                continue
            if n % _YIELD_EVERY == 0:
                await asyncio.sleep(0)
            async with self._step:
                await self._close(key, known, now)

    async def _homes_by_partition(self) -> dict[int, list[Employee]]:
        """The roster's employees by the partition of their key, hashed once and in slices
        (the partitioner is pure Python: 100,000 keys take a second)."""
        if self._homes is None:
            homes: dict[int, list[Employee]] = {}
            for n, employee in enumerate(self._roster.employees):
                if n % (_YIELD_EVERY * 10) == 0:
                    await asyncio.sleep(0)
                partition = self.ownership.partition_of(employee.id.encode())
                homes.setdefault(partition, []).append(employee)
            self._homes = homes
        return self._homes

    async def _forget_left(self, partition: int, now: datetime) -> None:
        left = [
            k
            for k in self.employees
            if self._roster.employee(k.decode()) is None
            and self.ownership.partition_of(k) == partition
        ]
        for key in left:
            if self._app.should_stop:
                return
            async with self._step:
                await self._forget(key, now)

    def _today(self, employee: Employee) -> date:
        home = self._site.building(employee.building)
        assert home is not None, "a roster is loaded against the site"
        return self._clock.now().astimezone(home.zone).date()

    def _keep_from(self, employee: Employee, now: datetime) -> date:
        """The oldest date kept, by the local date of the employee's home building."""
        home = self._site.building(employee.building)
        assert home is not None, "a roster is loaded against the site"
        return retained_from(now, home.zone, self._retention)

    async def _close(self, key: bytes, employee: Employee, now: datetime) -> None:
        stored = self.employees.get(key)
        kind = (employee.building, employee.group)
        # Dates of their own (a planned roster) make an employee's close their own.
        alike = not (employee.office_days or employee.wfh_days)
        if alike and stored is None and kind in self._idle:
            return
        before = stored or EmployeeDays()
        after, changed, findings = close_due(
            before,
            employee,
            now,
            self._roster,
            self._site,
            self._rules,
            self._settings.attendance_lookback_days,
            self._settings.attendance_since,
        )
        for finding in findings:
            self._log_finding(finding)
        keep_from = self._keep_from(employee, now)
        after, gone = expire(after, keep_from)
        changed = [r for r in changed if r.date >= keep_from]
        if after != before:
            await self._save(key, before, after, changed, gone)
        elif stored is None and alike:
            self._idle.add(kind)

    async def _forget(self, key: bytes, now: datetime) -> None:
        """The days of someone no longer in the roster, deleted as they pass the retention
        (in the zone of the building of their latest day); the entry goes with the last."""
        before = self.employees.get(key)
        if before is None:
            return
        latest = max(before.days.values(), key=lambda r: r.date, default=None)
        where = self._site.building(latest.building) if latest is not None else None
        zone = (where or self._site.buildings[0]).zone
        after, gone = expire(before, retained_from(now, zone, self._retention))
        if after.empty:
            await self._delete_days(key, gone)
            del self.employees[key]
            await self.presence_topic.send(key=key, value=None, value_serializer="raw")
        elif gone:
            await self._save(key, before, after, [], gone)

    async def _save(
        self,
        key: bytes,
        before: EmployeeDays,
        after: EmployeeDays,
        changed: list[DailyRecord],
        gone: Sequence[date] = (),
    ) -> None:
        employee = key.decode()
        # Against the presence last sent, which the day's roll-over may have made stale.
        present = presence_of(employee, after, self._clock.now(), self._site)
        moved = present != (before.presence or Presence(employee=employee))
        if moved:
            after = after.model_copy(update={"presence": present})
        self.ownership.store(self.employees, key, after)
        for record in changed:
            await self.days_topic.send(key=record.key.encode(), value=record)
        await self._delete_days(key, gone)
        if moved:
            await self.presence_topic.send(key=key, value=present)

    async def _delete_days(self, key: bytes, gone: Sequence[date]) -> None:
        """Tombstones: compaction removes the records of these dates of `occupancy.attendance`."""
        for day in gone:
            tombstone = record_key(key.decode(), day).encode()
            await self.days_topic.send(key=tombstone, value=None, value_serializer="raw")
        if gone:
            log.info(
                kv(
                    "attendance_days_deleted",
                    employee=self.pseudonyms(key.decode()),
                    days=len(gone),
                    through=gone[-1].isoformat(),
                )
            )

    async def _unknown(self, record: CheckinRecord) -> None:
        self.unknown_employees += 1
        pseudonym = self.pseudonyms(record.employee_id)
        log.warning(
            kv(
                "attendance_unknown_employee",
                employee=pseudonym,
                building=record.building,
                kiosk=record.kiosk,
                event_id=record.event_id,
                total=self.unknown_employees,
            )
        )
        await self._dead_letter(
            record, "unknown_employee", f"employee {pseudonym} is not in the roster"
        )

    async def _dead_letter(self, record: CheckinRecord, reason: str, detail: str) -> None:
        """The tap back in its MQTT form in `occupancy.deadletter`, with why it was not used."""
        topic = KioskTopic(record.building, record.kiosk).format(self._settings.mqtt_prefix)
        # Everything of the tap is kept but the id, which only its pseudonym stands for.
        payload = record.model_dump_json(include=_KIOSK_FIELDS, exclude_none=True).encode()
        letter = DeadLetter.of(
            topic,
            without_employee_id(payload, self.pseudonyms),
            reason,
            f"{detail} (payload rebuilt by a worker)",
            self._clock.now(),
        )
        await self.deadletter_topic.send(key=topic.encode(), value=letter)

    def _log_finding(self, finding: Finding) -> None:
        level = logging.DEBUG if finding.kind == "duplicate" else logging.INFO
        log.log(
            level,
            kv(
                "attendance_finding",
                kind=finding.kind,
                employee=self.pseudonyms(finding.employee),
                date=finding.date.isoformat(),
                detail=finding.detail,
            ),
        )


class PresenceBoard:
    """Who is in which building, from the whole presence topic; counts published retained."""

    def __init__(
        self,
        settings: Settings,
        site: Site,
        roster: Roster,
        publish: Callable[[str, bytes, int, bool], object],
        interval: float = 1.0,
    ) -> None:
        self._settings = settings
        self._clock = settings.pipeline_clock
        self._site = site
        self._roster = roster
        self._publish = publish
        self._interval = interval
        self._where: dict[str, Presence] = {}
        # Who is in each building, kept as presences come: counting by a scan of everyone
        # for every building on every flush stalled the loop at a ministry's size.
        self._inside: dict[str, dict[str, Presence]] = {}
        self._sent: dict[str, tuple[int, int]] = {}
        self.listeners: list[CountHandler] = []
        self.caught_up = asyncio.Event()

    @property
    def roster(self) -> Roster:
        return self._roster

    def take(self, presence: Presence) -> None:
        self._leave(presence.employee)
        self._where[presence.employee] = presence
        if presence.building is not None:
            self._inside.setdefault(presence.building, {})[presence.employee] = presence

    def _leave(self, employee: str) -> None:
        before = self._where.pop(employee, None)
        if before is not None and before.building is not None:
            self._inside.get(before.building, {}).pop(employee, None)

    def inside(self, building: str) -> list[Presence]:
        """The people in `building` now, by employee id."""
        return sorted(self._inside.get(building, {}).values(), key=lambda p: p.employee)

    def count(self, building: str, now: datetime) -> PresenceCount:
        known = self._site.building(building)
        planned = 0
        if known is not None:
            planned = self._roster.planned_wfo(building, now.astimezone(known.zone).date())
        return PresenceCount(
            building=building,
            count=len(self._inside.get(building, ())),
            planned_wfo=planned,
            ts=now,
        )

    async def flush(self) -> None:
        """Publish (and hand on) each building whose count or planned share changed."""
        now = self._clock.now()
        for building in self._site.buildings:
            counted = self.count(building.id, now)
            figures = (counted.count, counted.planned_wfo)
            if self._sent.get(building.id) == figures:
                continue
            self._sent[building.id] = figures
            topic = PresenceTopic(building.id).format(self._settings.mqtt_prefix)
            self._publish(topic, counted.model_dump_json().encode(), 1, True)
            for listener in self.listeners:
                await listener(counted)

    async def follow(self) -> None:
        """Read the presence topic from its start, forever; publish once caught up."""
        await follow_topic(
            self._settings,
            "presence",
            self._take,
            caught_up=self.caught_up,
            then=self.flush,
            every=self._interval,
        )

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            if key is not None:  # someone who left the roster, forgotten
                self._leave(key.decode())
            return
        try:
            self.take(Presence.model_validate_json(value))
        except ValidationError:
            log.warning(kv("presence_unreadable", bytes=len(value)))


Model = TypeVar("Model", bound=BaseModel)


async def read_latest(
    settings: Settings, name: str, model: type[Model], suffix: bytes = b""
) -> dict[str, Model]:
    """The latest value per key of a compacted topic (`attendance`, `presence`), read whole;
    only the keys ending in `suffix` (`/2026-11-23`: one date's records) are decoded."""
    consumer = broadcast_consumer(settings, name)
    await consumer.start()
    latest: dict[str, bytes] = {}
    try:
        backlog = await backlog_of(consumer)
        while backlog:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                for record in records:
                    raw = record.key or b""
                    if not raw.endswith(suffix):
                        continue
                    if record.value is None:
                        latest.pop(raw.decode(), None)
                    else:
                        latest[raw.decode()] = record.value
                if records and records[-1].offset + 1 >= backlog.get(tp, 0):
                    backlog.pop(tp, None)
    finally:
        await consumer.stop()
    return {key: model.model_validate_json(value) for key, value in latest.items()}
