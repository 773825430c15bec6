"""The period report: per employee and per unit, what a week or a month of days added up to.

Read from the compacted `occupancy.attendance` (only the keys of the period are decoded, and
only the fields counted; partitions shared among processes), summed per employee and unit;
pure functions but `read_period`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from itertools import repeat
from multiprocessing import get_context

from pydantic import BaseModel, ConfigDict

from ingest.kafka import broadcast_consumer, partition_consumer
from ingest.roster import Employee, Roster, Scheduled
from ingest.settings import Settings
from ingest.site import Building
from processors.attendance_report import RetentionError
from processors.attendance_rules import retained_from
from processors.follow import backlog_of

__all__ = [
    "COUNTS",
    "DayView",
    "EmployeePeriod",
    "Figures",
    "Period",
    "PeriodReport",
    "Recorded",
    "UnitPeriod",
    "period_report",
    "read_period",
    "recorded_days",
    "reportable_period",
]


class DayView(BaseModel):
    """The fields of a `DailyRecord` a period report counts (the taps are not decoded)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    employee: str
    date: date
    scheduled: Scheduled
    status: str
    late_minutes: int = 0
    time_present: timedelta = timedelta(0)
    # Kept as text: only whether there is one matters (a day has taps exactly when it has a
    # counted check-in or check-out, its first tap always counting).
    first_check_in: str | None = None
    last_check_out: str | None = None

    @property
    def came(self) -> bool:
        return self.first_check_in is not None or self.last_check_out is not None


COUNTS = (
    "office_days",
    "present",
    "on_time",
    "late",
    "late_minutes",
    "early_leave",
    "half_day",
    "absent",
    "auto_closed",
    "holiday",
    "wfh",
    "unscheduled",
    "no_record",
)
"""The whole-number columns of a period row, in report order (then hours and compliance)."""


@dataclass
class Figures:
    """What days add up to.

    `office_days` are those the roster planned in the office (holidays are not); `present`
    the office days the employee came in at all; `late` the office days they came after the
    start window and grace (whatever else the day was), `late_minutes` the sum of them;
    `on_time`, `early_leave`, `half_day`, `absent`, `auto_closed` (no check-out), `holiday`
    and `wfh` count days of that status; `unscheduled` the days they came in while not
    planned in the office; `no_record` the office and WFH days with no record (not closed
    yet, or before attendance began). `compliance` is present ÷ office days.
    """

    office_days: int = 0
    present: int = 0
    on_time: int = 0
    late: int = 0
    late_minutes: int = 0
    early_leave: int = 0
    half_day: int = 0
    absent: int = 0
    auto_closed: int = 0
    holiday: int = 0
    wfh: int = 0
    unscheduled: int = 0
    no_record: int = 0
    seconds_present: float = 0.0

    @property
    def hours_present(self) -> float:
        return self.seconds_present / 3600

    @property
    def compliance(self) -> float | None:
        return self.present / self.office_days if self.office_days else None

    def counts(self) -> list[int]:
        return [getattr(self, name) for name in COUNTS]

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def take(self, day: DayView) -> None:
        # Plain branches, not getattr/setattr by name: a month of 100,000 people is 2 million
        # calls.
        came = day.first_check_in is not None or day.last_check_out is not None
        if day.scheduled == "wfo":
            self.office_days += 1
            if came:
                self.present += 1
            if day.late_minutes > 0:
                self.late += 1
                self.late_minutes += day.late_minutes
        elif came:
            self.unscheduled += 1
        status = day.status
        if status == "on_time":
            self.on_time += 1
        elif status == "wfh":
            self.wfh += 1
        elif status == "absent":
            self.absent += 1
        elif status == "early_leave":
            self.early_leave += 1
        elif status == "half_day":
            self.half_day += 1
        elif status == "auto_closed":
            self.auto_closed += 1
        elif status == "holiday":
            self.holiday += 1
        self.seconds_present += day.time_present.total_seconds()

    def take_unrecorded(self, scheduled: Scheduled) -> None:
        """A day the roster planned but no record covers."""
        if scheduled == "holiday":
            self.holiday += 1
        elif scheduled != "off":
            self.office_days += scheduled == "wfo"
            self.no_record += 1


@dataclass(frozen=True)
class EmployeePeriod:
    employee: Employee
    figures: Figures


@dataclass(frozen=True)
class UnitPeriod:
    unit: str
    headcount: int
    figures: Figures


@dataclass(frozen=True)
class Period:
    """The dates asked for and the dates the records cover (older ones are deleted)."""

    asked_from: date
    asked_to: date
    first: date
    last: date

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    @property
    def note(self) -> str | None:
        """Why the report covers less than asked, in one sentence, or None."""
        parts = []
        if self.first > self.asked_from:
            parts.append(f"days before {self.first.isoformat()} are past the retention")
        if self.last < self.asked_to:
            parts.append(f"days after {self.last.isoformat()} have not begun")
        if not parts:
            return None
        return (
            f"The report covers {self.first.isoformat()} to {self.last.isoformat()} only: "
            + " and ".join(parts)
            + "."
        )


@dataclass(frozen=True)
class PeriodReport:
    period: Period
    employees: list[EmployeePeriod] = field(default_factory=list)
    units: list[UnitPeriod] = field(default_factory=list)


def reportable_period(
    first: date, last: date, buildings: Iterable[Building], now: datetime, retention: int
) -> Period:
    """The part of `first`..`last` whose records exist in at least one of `buildings`; the
    whole period past the retention is refused, as a single date is."""
    if last < first:
        raise RetentionError(
            f"The period ends ({last.isoformat()}) before it begins ({first.isoformat()})."
        )
    homes = list(buildings)
    cutoff = min((retained_from(now, b.zone, retention) for b in homes), default=first)
    today = max((now.astimezone(b.zone).date() for b in homes), default=last)
    if last < cutoff:
        raise RetentionError(
            f"Attendance from {first.isoformat()} to {last.isoformat()} is older than the "
            f"{retention} days kept (OCC_ATTENDANCE_RETENTION_DAYS): its records were deleted."
        )
    if first > today:
        raise RetentionError(f"The period from {first.isoformat()} has not begun.")
    return Period(first, last, max(first, cutoff), min(last, today))


@dataclass
class Recorded:
    """An employee's recorded days of a period: their sums, and which days (bit n: the
    period's day n) have a record."""

    figures: Figures = field(default_factory=Figures)
    days: int = 0

    def merge(self, other: Recorded) -> None:
        self.figures.add(other.figures)
        self.days |= other.days


def recorded_days(days: Iterable[DayView], first: date, last: date) -> dict[str, Recorded]:
    """The days of `first`..`last` summed per employee (each employee-date once)."""
    sums: dict[str, Recorded] = {}
    bits = {first + timedelta(days=n): 1 << n for n in range((last - first).days + 1)}
    for day in days:
        bit = bits.get(day.date)
        if bit is None:
            continue
        mine = sums.get(day.employee)
        if mine is None:
            mine = sums[day.employee] = Recorded()
        if not mine.days & bit:
            mine.days |= bit
            mine.figures.take(day)
    return sums


def period_report(
    roster: Roster,
    recorded: Mapping[str, Recorded],
    period: Period,
    *,
    building: str | None = None,
    unit: str | None = None,
) -> PeriodReport:
    """Every employee of the roster (optionally of one building or unit) over the period,
    and their units' sums, both in unit then employee order; a day the roster planned with
    no record counts by the plan (`Figures.take_unrecorded`)."""
    dates = period.days
    # The plan depends only on the group and the building's calendar: computed once each.
    plans: dict[tuple[str, str], list[Scheduled]] = {}
    employees: list[EmployeePeriod] = []
    units: dict[str, UnitPeriod] = {}
    for employee in sorted(roster.employees, key=lambda e: (e.unit, e.id)):
        if building is not None and employee.building != building:
            continue
        if unit is not None and employee.unit != unit:
            continue
        plan = plans.get((employee.group, employee.building))
        if plan is None:
            plan = [roster.scheduled(employee, d) for d in dates]
            plans[(employee.group, employee.building)] = plan
        mine = recorded.get(employee.id)
        figures = Figures()
        seen = 0
        if mine is not None:
            figures.add(mine.figures)
            seen = mine.days
        for n, scheduled in enumerate(plan):
            if not seen >> n & 1:
                figures.take_unrecorded(scheduled)
        employees.append(EmployeePeriod(employee, figures))
        total = units.get(employee.unit)
        if total is None:
            total = units[employee.unit] = UnitPeriod(employee.unit, 0, Figures())
        units[employee.unit] = UnitPeriod(employee.unit, total.headcount + 1, total.figures)
        total.figures.add(figures)
    return PeriodReport(period, employees, [units[u] for u in sorted(units)])


def read_period(
    settings: Settings, first: date, last: date, *, processes: int = 2
) -> dict[str, Recorded]:
    """The latest record of each `employee/date` key of `occupancy.attendance` dated
    `first`..`last`, summed per employee; the topic's partitions are read whole, shared
    among up to `processes` processes (reading and decoding is the report's cost)."""
    partitions = asyncio.run(_partitions(settings))
    shares = [partitions[n::processes] for n in range(max(1, min(processes, len(partitions))))]
    if len(shares) == 1:
        return _read_and_sum(settings, shares[0], first, last)
    merged: dict[str, Recorded] = {}
    with ProcessPoolExecutor(len(shares), mp_context=get_context("spawn")) as pool:
        for part in pool.map(_read_and_sum, repeat(settings), shares, repeat(first), repeat(last)):
            for employee, recorded in part.items():
                mine = merged.get(employee)
                if mine is None:
                    merged[employee] = recorded
                else:
                    mine.merge(recorded)
    return merged


async def _partitions(settings: Settings) -> list[int]:
    consumer = broadcast_consumer(settings, "attendance")
    await consumer.start()
    try:
        return sorted(tp.partition for tp in consumer.assignment())
    finally:
        await consumer.stop()


def _read_and_sum(
    settings: Settings, partitions: list[int], first: date, last: date
) -> dict[str, Recorded]:
    values = asyncio.run(_latest(settings, partitions, first, last))
    return recorded_days((DayView.model_validate_json(v) for v in values), first, last)


async def _latest(
    settings: Settings, partitions: list[int], first: date, last: date
) -> list[bytes]:
    low, high = first.isoformat().encode(), last.isoformat().encode()
    # Big fetches: the report reads the whole topic, the more per round trip the better.
    consumer = partition_consumer(
        settings,
        "attendance",
        partitions,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=96 * 1024 * 1024,
    )
    await consumer.start()
    latest: dict[bytes, bytes] = {}
    try:
        backlog = await backlog_of(consumer)
        while backlog:
            batch = await consumer.getmany(timeout_ms=1000, max_records=50_000)
            for tp, records in batch.items():
                for record in records:
                    key = record.key
                    if key is None or not low <= key[-10:] <= high:
                        continue
                    if record.value is None:
                        latest.pop(key, None)
                    else:
                        latest[key] = record.value
                if records and records[-1].offset + 1 >= backlog.get(tp, 0):
                    backlog.pop(tp, None)
    finally:
        await consumer.stop()
    # A list: asyncio reprs the task's result on the way out, and a dict view's repr is the
    # whole of it (seconds for a month), where reprlib cuts a list short.
    return list(latest.values())
