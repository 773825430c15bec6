"""The attendance report: one row per employee for a local date, and totals per unit.

Pure functions over the roster and the day records read from `occupancy.attendance`. A date
past `OCC_ATTENDANCE_RETENTION_DAYS` has no records left: it is refused, not shown as a day
everyone missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from ingest.errors import OccupancyError
from ingest.roster import Employee, Roster, Scheduled
from ingest.site import Building, Site
from processors.attendance_rules import DailyRecord, retained_from

NO_RECORD = "no_record"
"""The status of an employee with no record yet: the day is not over and they did not tap."""
_ROSTER_SAYS = frozenset({"off", "holiday"})
"""Days whose status is the roster's word until a record says more: an off day never gets a
record, a holiday gets one only at the day's end."""


class RetentionError(OccupancyError):
    """The report's date is older than the retention: its records were deleted."""


def check_reportable(
    day: date, buildings: Iterable[Building], now: datetime, retention: int
) -> None:
    """Refuse a date past the retention in every one of `buildings` (the employees' homes)."""
    cutoffs = [retained_from(now, b.zone, retention) for b in buildings]
    if cutoffs and all(day < cutoff for cutoff in cutoffs):
        raise RetentionError(
            f"Attendance on {day.isoformat()} is older than the {retention} days kept "
            "(OCC_ATTENDANCE_RETENTION_DAYS): its records were deleted."
        )


@dataclass(frozen=True)
class ReportRow:
    employee: Employee
    scheduled: Scheduled
    status: str
    record: DailyRecord | None
    site: Site

    def cells(self) -> list[str]:
        """employee, name, unit, group, building, scheduled, status, late minutes, first
        check-in, last check-out (local HH:MM), hours present."""
        record = self.record
        return [
            self.employee.id,
            self.employee.name or "",
            self.employee.unit,
            self.employee.group,
            self.employee.building,
            self.scheduled,
            self.status,
            str(record.late_minutes) if record is not None else "0",
            self._local(record.first_check_in if record is not None else None),
            self._local(record.last_check_out if record is not None else None),
            f"{record.time_present / timedelta(hours=1):.2f}" if record is not None else "0.00",
        ]

    def _local(self, at: datetime | None) -> str:
        if at is None or self.record is None:
            return ""
        building = self.site.building(self.record.building) or self.site.building(
            self.employee.building
        )
        return at.astimezone(building.zone).strftime("%H:%M") if building is not None else ""


@dataclass(frozen=True)
class UnitTotals:
    """`late` counts everyone who came after the start window and grace, whatever their
    status; `present` everyone who tapped at all; `holiday` those with a work day off in their
    building's calendar (never absent, never WFH)."""

    unit: str
    planned_wfo: int = 0
    present: int = 0
    late: int = 0
    absent: int = 0
    wfh: int = 0
    holiday: int = 0

    def figures(self) -> tuple[int, int, int, int, int, int]:
        return (self.planned_wfo, self.present, self.late, self.absent, self.wfh, self.holiday)


def attendance_rows(
    roster: Roster,
    site: Site,
    records: Iterable[DailyRecord],
    day: date,
    *,
    building: str | None = None,
    unit: str | None = None,
) -> list[ReportRow]:
    """A row for every employee of the roster (optionally of one building or unit) on `day`."""
    by_employee = {r.employee: r for r in records if r.date == day}
    rows = []
    for employee in roster.employees if building is None else roster.employees_in(building):
        if unit is not None and employee.unit != unit:
            continue
        record = by_employee.get(employee.id)
        scheduled = record.scheduled if record is not None else roster.scheduled(employee, day)
        if record is not None:
            status: str = record.status
        else:
            status = scheduled if scheduled in _ROSTER_SAYS else NO_RECORD
        rows.append(ReportRow(employee, scheduled, status, record, site))
    return sorted(rows, key=lambda r: (r.employee.unit, r.employee.id))


def building_totals(
    roster: Roster, site: Site, records: Iterable[DailyRecord], day: date, building: str
) -> tuple[list[ReportRow], list[UnitTotals]]:
    """`unit_totals` of `attendance_rows` of a building on `day`, with the rows of those who
    have a record: the others are counted by unit and group as the roster plans their day,
    not one by one (a ministry's metrics heartbeat made 100,000 rows a minute)."""
    rows: list[ReportRow] = []
    recorded: dict[tuple[str, str], int] = {}
    for record in {r.employee: r for r in records if r.date == day}.values():
        employee = roster.employee(record.employee)
        if employee is None or employee.building != building:
            continue
        rows.append(ReportRow(employee, record.scheduled, record.status, record, site))
        if employee.office_days or employee.wfh_days:
            continue  # planned one by one below, not with their group
        kind = (employee.unit, employee.group)
        recorded[kind] = recorded.get(kind, 0) + 1
    totals = {t.unit: t for t in unit_totals(rows)}
    holidays = roster.holiday_calendar.dates(building, day.year)
    # Those with dates of their own (a planned roster) are planned one by one.
    with_record = {row.employee.id for row in rows}
    for employee in roster.own_dated(building):
        if employee.id in with_record:
            continue
        scheduled_own = roster.scheduled(employee, day)
        before = totals.get(employee.unit) or UnitTotals(unit=employee.unit)
        totals[employee.unit] = replace(
            before,
            planned_wfo=before.planned_wfo + (scheduled_own == "wfo"),
            holiday=before.holiday + (scheduled_own == "holiday"),
        )
    for (unit, group), size in roster.unit_group_sizes(building).items():
        before = totals.get(unit) or UnitTotals(unit=unit)
        rest = size - recorded.get((unit, group), 0)
        known = roster.group(group)
        assert known is not None, "a loaded roster has every employee's group"
        scheduled = known.scheduled(day, holidays)
        totals[unit] = replace(
            before,
            planned_wfo=before.planned_wfo + rest * (scheduled == "wfo"),
            holiday=before.holiday + rest * (scheduled == "holiday"),
        )
    return rows, [totals[u] for u in sorted(totals)]


def unit_totals(rows: Iterable[ReportRow]) -> list[UnitTotals]:
    """Planned WFO, present, late, absent, WFH and holiday per unit, in unit order."""
    totals: dict[str, UnitTotals] = {}
    for row in rows:
        before = totals.get(row.employee.unit) or UnitTotals(unit=row.employee.unit)
        record = row.record
        totals[row.employee.unit] = UnitTotals(
            unit=before.unit,
            planned_wfo=before.planned_wfo + (row.scheduled == "wfo"),
            present=before.present + (record is not None and record.present),
            late=before.late + (record is not None and record.late_minutes > 0),
            absent=before.absent + (row.status == "absent"),
            wfh=before.wfh + (row.status == "wfh"),
            holiday=before.holiday + (row.status == "holiday"),
        )
    return [totals[u] for u in sorted(totals)]
