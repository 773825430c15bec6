"""The board's attendance page and muster list: today's days per building and unit, who is
late so far, a week of present against planned, and who is in a building now.

Fed from the whole compacted `occupancy.attendance` topic (only the last `WEEK` days are
kept) and the worker's presence board. Employees are shown by name only with
`OCC_BOARD_SHOW_NAMES`, else by pseudonym.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, ValidationError

from ingest.logs import kv
from ingest.pseudonym import Pseudonyms
from ingest.roster import Employee, Roster
from ingest.settings import Settings
from ingest.site import Building, Site
from processors.attendance_days import Presence
from processors.attendance_period import DayView
from processors.follow import follow_topic

log = logging.getLogger(__name__)

WEEK = 7
"""Days of the chart, today included."""
STATUSES = (
    "on_time",
    "late",
    "early_leave",
    "half_day",
    "absent",
    "auto_closed",
    "unscheduled",
    "wfh",
    "holiday",
    "not_in_yet",
)
"""Today's columns: the record statuses, and `not_in_yet` for an office day with no record."""


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UnitToday(_View):
    unit: str
    employees: int
    planned_wfo: int
    present: int
    statuses: dict[str, int]


class Late(_View):
    who: str
    """The name (OCC_BOARD_SHOW_NAMES) or the pseudonym."""
    unit: str
    minutes: int
    first_check_in: datetime | None


class WeekDay(_View):
    date: date
    planned_wfo: int
    present: int


class AttendanceView(_View):
    """`/api/attendance/{building}`: the employees whose home is the building."""

    building: str
    name: str
    timezone: str
    date: date
    caught_up: bool
    names: bool
    units: list[UnitToday]
    total: UnitToday
    late: list[Late]
    """The most minutes first."""
    week: list[WeekDay]


class Mustered(_View):
    who: str
    employee: str | None
    """The id, with OCC_BOARD_SHOW_NAMES only."""
    unit: str
    since: datetime | None


class MusterView(_View):
    """`/api/muster/{building}`: who is in the building now, by the kiosk taps."""

    building: str
    name: str
    timezone: str
    ts: datetime
    count: int
    people: list[Mustered]


class AttendanceBoard:
    """The recent days of every employee, and views of them per building."""

    def __init__(
        self,
        settings: Settings,
        site: Site,
        roster: Roster,
        inside: Callable[[str], list[Presence]],
    ) -> None:
        self._settings = settings
        self._clock = settings.pipeline_clock
        self._site = site
        self._roster = roster
        self._inside = inside
        self._names = settings.board_show_names
        self._pseudonyms = Pseudonyms.from_settings(settings)
        self._days: dict[tuple[str, date], DayView] = {}
        self._planned: dict[tuple[str, date], int] = {}
        self._changed = asyncio.Event()
        self.caught_up = asyncio.Event()

    def take(self, day: DayView) -> None:
        if day.date >= self._oldest():
            self._days[(day.employee, day.date)] = day
            self._wake()

    def forget(self, employee: str, day: date) -> None:
        if self._days.pop((employee, day), None) is not None:
            self._wake()

    def changed(self) -> asyncio.Event:
        """Set at the next change (take it before reading a view)."""
        if self._changed.is_set():
            self._changed = asyncio.Event()
        return self._changed

    def view(self, building_id: str) -> AttendanceView | None:
        building = self._site.building(building_id)
        if building is None:
            return None
        today = self._clock.now().astimezone(building.zone).date()
        people = self._roster.employees_in(building_id)
        units: dict[str, dict[str, int]] = {}
        late: list[Late] = []
        for employee in people:
            figures = units.setdefault(
                employee.unit,
                {"employees": 0, "planned_wfo": 0, "present": 0, **dict.fromkeys(STATUSES, 0)},
            )
            figures["employees"] += 1
            day = self._days.get((employee.id, today))
            scheduled = (
                day.scheduled if day is not None else self._roster.scheduled(employee, today)
            )
            figures["planned_wfo"] += scheduled == "wfo"
            if day is None:
                if scheduled in {"wfo", "holiday"}:
                    figures["not_in_yet" if scheduled == "wfo" else "holiday"] += 1
                elif scheduled == "wfh":
                    figures["wfh"] += 1
                continue
            figures["present"] += scheduled == "wfo" and day.came
            if day.status in figures:
                figures[day.status] += 1
            if scheduled == "wfo" and day.late_minutes > 0:
                late.append(self._late(employee, day))
        rows = [_unit(unit, figures) for unit, figures in sorted(units.items())]
        total: dict[str, int] = {}
        for figures in units.values():
            for name, n in figures.items():
                total[name] = total.get(name, 0) + n
        return AttendanceView(
            building=building.id,
            name=building.name,
            timezone=building.timezone,
            date=today,
            caught_up=self.caught_up.is_set(),
            names=self._names,
            units=rows,
            total=_unit("all units", total),
            late=sorted(late, key=lambda x: (-x.minutes, x.who)),
            week=self._week(building, people, today),
        )

    def muster(self, building_id: str) -> MusterView | None:
        building = self._site.building(building_id)
        if building is None:
            return None
        people = []
        for presence in self._inside(building_id):
            employee = self._roster.employee(presence.employee)
            people.append(
                Mustered(
                    who=self._who(presence.employee, employee),
                    employee=presence.employee if self._names else None,
                    unit=employee.unit if employee is not None else "",
                    since=presence.since,
                )
            )
        people.sort(key=lambda m: (m.unit, m.who))
        return MusterView(
            building=building.id,
            name=building.name,
            timezone=building.timezone,
            ts=self._clock.now(),
            count=len(people),
            people=people,
        )

    async def follow(self) -> None:
        """The attendance topic whole, from its start, forever."""

        def take(key: bytes | None, value: bytes | None) -> None:
            if value is None:
                if key is not None:  # a day deleted by the retention
                    employee, _, day = key.decode().rpartition("/")
                    self.forget(employee, date.fromisoformat(day))
                return
            # The key ends in the date: older days (most of the topic) are never decoded.
            if key is not None and key[-10:].decode(errors="replace") < self._oldest().isoformat():
                return
            try:
                self.take(DayView.model_validate_json(value))
            except ValidationError:
                log.warning(kv("board_record_unreadable", topic="attendance", bytes=len(value)))

        async def then() -> None:
            self._wake()

        await follow_topic(
            self._settings, "attendance", take, caught_up=self.caught_up, then=then, every=1.0
        )

    def _oldest(self) -> date:
        """The oldest date kept: the week of every zone (a day's margin)."""
        return self._clock.now().astimezone(UTC).date() - timedelta(days=WEEK + 1)

    def _week(self, building: Building, people: list[Employee], today: date) -> list[WeekDay]:
        days = [today - timedelta(days=n) for n in range(WEEK - 1, -1, -1)]
        week = []
        for day in days:
            planned = self._planned.get((building.id, day))
            if planned is None:
                planned = self._planned[(building.id, day)] = self._roster.planned_wfo(
                    building.id, day
                )
            present = 0
            for employee in people:
                seen = self._days.get((employee.id, day))
                present += seen is not None and seen.scheduled == "wfo" and seen.came
            week.append(WeekDay(date=day, planned_wfo=planned, present=present))
        return week

    def _late(self, employee: Employee, day: DayView) -> Late:
        first = datetime.fromisoformat(day.first_check_in) if day.first_check_in else None
        return Late(
            who=self._who(employee.id, employee),
            unit=employee.unit,
            minutes=day.late_minutes,
            first_check_in=first,
        )

    def _who(self, employee_id: str, employee: Employee | None) -> str:
        if self._names and employee is not None:
            return employee.name or employee.id
        return self._pseudonyms(employee_id)

    def _wake(self) -> None:
        self._changed.set()


def _unit(unit: str, figures: dict[str, int]) -> UnitToday:
    return UnitToday(
        unit=unit,
        employees=figures.get("employees", 0),
        planned_wfo=figures.get("planned_wfo", 0),
        present=figures.get("present", 0),
        statuses={s: figures.get(s, 0) for s in STATUSES},
    )
