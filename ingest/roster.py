"""The roster file: units, work groups with their office days and hours, and employees.

A roster is YAML (`units`, `groups`, optional `holidays` and `calendar` (`ingest.calendar`),
`employees` inline and/or an `employees_csv` file beside it, as HR offices keep the list in
a spreadsheet). A unit, group or employee may name its home `rooms` (workrooms or service
rooms, `room` or `building/room`): an employee sits in their own, else their group's, else
their unit's rooms of their building. Loading it against a `Site` checks every reference;
any problem is a `ConfigError` of one sentence naming the file and the line (YAML) or row
(CSV) and the field at fault.

An employee's own `office_days` and `wfh_days` (dates, as `occupancy roster plan` writes
them) come before their group's rules 3 to 5 on those dates.

Which kind of day a date is for a group (`Group.scheduled`), first rule that matches:

1. an `on_duty_days` date (called in, e.g. a Saturday service duty): `wfo`;
2. a day off in the calendar of the employee's building (`Roster.scheduled`) that rules 3
   to 5 make a work day (`wfo` or `wfh`): `holiday`;
3. a `wfh_days` date: `wfh`; an `office_days` date: `wfo`;
4. a weekday in `wfh_days`: `wfh`; a weekday in `office_days` (in the ISO weeks that
   `office_weeks` selects: `all`, `odd` or `even`): `wfo`;
5. any other of the group's `work_days` (default Monday to Friday): `wfh`;
6. else `off` (on a holiday too).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from ingest.calendar import Calendar, CalendarSpec, DayOff, check_calendar
from ingest.errors import ConfigError
from ingest.models import IDENTIFIER_PATTERN
from ingest.site import Site
from ingest.yamlfile import Location, YamlDocument, gc_paused

__all__ = [
    "CSV_COLUMNS",
    "WEEKDAYS",
    "Employee",
    "Group",
    "Roster",
    "Scheduled",
    "Unit",
    "Weekday",
    "load_roster",
]

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Scheduled = Literal["wfo", "wfh", "off", "holiday"]
"""What a day is for an employee: in the office, working from home, not a work day, or a
work day that is a holiday."""

CSV_COLUMNS = ("id", "unit", "group", "building")
CSV_OPTIONAL_COLUMNS = ("name", "rooms")
SEAT_TYPES = ("workroom", "service")
"""The kinds of room people have desks in: a service desk sits in its service room."""
_WINDOW = re.compile(r"^\s*(\d{2}):(\d{2})\s*[-–]\s*(\d{2}):(\d{2})\s*$")
_SCIENTIFIC = re.compile(r"^\d(\.\d+)?[eE]\+\d+$")


def _day_entry(value: Any) -> Any:
    """A weekday name (`mon`…`sun`, any case) or a date (a YAML date or `YYYY-MM-DD`)."""
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a time; give a date (YYYY-MM-DD)")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in WEEKDAYS:
            return lowered
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(
        f"{value!r} is neither a weekday ({', '.join(WEEKDAYS)}) nor a date (YYYY-MM-DD)"
    )


def _date_entry(value: Any) -> Any:
    entry = _day_entry(value)
    if not isinstance(entry, date):
        raise ValueError(f"{value!r} is a weekday; on-duty days are dates (YYYY-MM-DD)")
    return entry


def _rooms_entry(value: Any) -> Any:
    """A CSV cell lists its rooms separated by spaces."""
    if isinstance(value, str):
        return value.split()
    return value


RoomRef = Annotated[
    str, StringConstraints(pattern=r"^([A-Za-z0-9_.-]{1,64}/)?[A-Za-z0-9_.-]{1,64}$")
]
Rooms = Annotated[list[RoomRef], BeforeValidator(_rooms_entry)]
DayEntry = Annotated[Weekday | date, BeforeValidator(_day_entry)]
DateEntry = Annotated[date, BeforeValidator(_date_entry)]


def _own_date(value: Any) -> Any:
    entry = _day_entry(value)
    if not isinstance(entry, date):
        raise ValueError(f"{value!r} is a weekday; an employee's own days are dates (YYYY-MM-DD)")
    return entry


OwnDate = Annotated[date, BeforeValidator(_own_date)]
Hours = Annotated[float, Field(gt=0, le=24, allow_inf_nan=False)]


class _RosterModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Unit(_RosterModel):
    """An organisational unit (a bureau, directorate or office) that reports are summed by."""

    id: Identifier
    name: Name | None = None
    rooms: Rooms = []


class Group(_RosterModel):
    """A work group: which days it is in the office and the hours it keeps there."""

    id: Identifier
    name: Name | None = None
    rooms: Rooms = []
    office_days: list[DayEntry] = []
    office_weeks: Literal["all", "odd", "even"] = "all"
    wfh_days: list[DayEntry] = []
    on_duty_days: list[DateEntry] = []
    work_days: Annotated[list[Weekday], Field(min_length=1)] = ["mon", "tue", "wed", "thu", "fri"]
    start_window: str
    required_hours: Hours
    grace_minutes: Annotated[int, Field(ge=0, le=240)] = 0
    check_in_window_minutes: Annotated[int | None, Field(ge=0, le=720)] = None
    half_day_below_hours: Hours | None = None
    absent_below_hours: Hours | None = None

    @field_validator("start_window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        if isinstance(value, int | float):
            # YAML 1.1 reads an unquoted 7:00 as the number 420.
            raise ValueError('write the start window as a quoted string such as "07:00-09:00"')
        if not isinstance(value, str):
            return value
        match = _WINDOW.match(value)
        if match is None:
            raise ValueError(f'{value!r} is not a window such as "07:00-09:00"')
        h1, m1, h2, m2 = (int(part) for part in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
            raise ValueError(f"{value!r} is not a window of two times of day (00:00 to 23:59)")
        if (h2, m2) < (h1, m1):
            raise ValueError(f"{value!r} ends before it starts")
        return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"

    @property
    def window_start(self) -> time:
        """The earliest start that counts: hours present are counted from here."""
        return time.fromisoformat(self.start_window[:5])

    @property
    def window_end(self) -> time:
        """The latest start; a check-in after it plus the grace period is late."""
        return time.fromisoformat(self.start_window[6:])

    @property
    def required(self) -> timedelta:
        return timedelta(hours=self.required_hours)

    @property
    def grace(self) -> timedelta:
        return timedelta(minutes=self.grace_minutes)

    @property
    def check_in_window(self) -> timedelta | None:
        """How long before `window_start` a check-in is expected at the earliest, if set."""
        if self.check_in_window_minutes is None:
            return None
        return timedelta(minutes=self.check_in_window_minutes)

    def scheduled(self, day: date, holidays: frozenset[date] = frozenset()) -> Scheduled:
        """What `day` is for this group, `holidays` being the days off of the employee's
        building (the rules are in the module docstring)."""
        if day in self.on_duty_days:
            return "wfo"
        planned = self._planned(day)
        if planned != "off" and day in holidays:
            return "holiday"
        return planned

    def _planned(self, day: date) -> Scheduled:
        by_date = self._by_date(day)
        if by_date is not None:
            return by_date
        weekday = WEEKDAYS[day.weekday()]
        if weekday in self.wfh_days:
            return "wfh"
        if weekday in self.office_days and self._in_office_week(day):
            return "wfo"
        return "wfh" if weekday in self.work_days else "off"

    def _by_date(self, day: date) -> Scheduled | None:
        if day in self.wfh_days:
            return "wfh"
        if day in self.office_days:
            return "wfo"
        return None

    def _in_office_week(self, day: date) -> bool:
        if self.office_weeks == "all":
            return True
        odd = day.isocalendar().week % 2 == 1
        return odd == (self.office_weeks == "odd")

    def resolved(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "rooms": list(self.rooms),
            "office_days": [_entry_text(d) for d in self.office_days],
            "office_weeks": self.office_weeks,
            "wfh_days": [_entry_text(d) for d in self.wfh_days],
            "on_duty_days": [d.isoformat() for d in self.on_duty_days],
            "work_days": list(self.work_days),
            "start_window": {"from": self.start_window[:5], "to": self.start_window[6:]},
            "required_hours": self.required_hours,
            "grace_minutes": self.grace_minutes,
            "check_in_window_minutes": self.check_in_window_minutes,
            "half_day_below_hours": self.half_day_below_hours,
            "absent_below_hours": self.absent_below_hours,
        }


class Employee(_RosterModel):
    """One employee: the unit they report to, their group, and the building they work in."""

    id: Identifier
    unit: Identifier
    group: Identifier
    building: Identifier
    name: Name | None = None
    rooms: Rooms = []
    office_days: list[OwnDate] = []
    wfh_days: list[OwnDate] = []

    @field_validator("id", mode="before")
    @classmethod
    def _not_scientific(cls, value: Any) -> Any:
        if isinstance(value, str) and _SCIENTIFIC.match(value):
            raise ValueError(
                f"{value!r} looks like a long number a spreadsheet rewrote in scientific "
                "notation; format the id column as text"
            )
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"{value} is a number; quote ids in YAML so leading zeros survive")
        return value


class _RosterFile(_RosterModel):
    """The YAML document as written, before the CSV is read and references are checked."""

    units: Annotated[list[Unit], Field(min_length=1)]
    groups: Annotated[list[Group], Field(min_length=1)]
    holidays: list[DayOff] = []
    calendar: CalendarSpec = CalendarSpec()
    employees: list[Employee] = []
    employees_csv: Annotated[str, StringConstraints(min_length=1)] | None = None


class Roster(_RosterModel):
    """A whole roster, checked against the site, with lookups by id.

    `holidays` are the roster-wide days off, `calendar` the rest of the holiday calendar as
    written; `holiday_calendar` is the calendar in force per building.
    """

    units: list[Unit]
    groups: list[Group]
    holidays: list[DayOff] = []
    calendar: CalendarSpec = CalendarSpec()
    employees: list[Employee]

    _units: dict[str, Unit] = PrivateAttr(default_factory=dict)
    _groups: dict[str, Group] = PrivateAttr(default_factory=dict)
    _employees: dict[str, Employee] = PrivateAttr(default_factory=dict)
    _calendar: Calendar = PrivateAttr()
    # Which room ids each building has, so that an unqualified home room resolves only where
    # it exists (set by `load_roster` from the site).
    _site_rooms: dict[str, frozenset[str]] | None = PrivateAttr(default=None)
    _homes: dict[str, list[Employee]] = PrivateAttr(default_factory=dict)
    # Who a day is planned in the office for depends only on the group and the building's
    # calendar, for everyone without dates of their own: the workers ask per building on
    # every tick, so they count those by group; those with own dates (a planned roster) one
    # by one.
    _group_sizes: dict[str, dict[str, int]] = PrivateAttr(default_factory=dict)
    _unit_groups: dict[str, dict[tuple[str, str], int]] = PrivateAttr(default_factory=dict)
    _own_dated: dict[str, list[Employee]] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._units = {u.id: u for u in self.units}
        self._groups = {g.id: g for g in self.groups}
        self._employees = {e.id: e for e in self.employees}
        self._calendar = Calendar(self.calendar, self.holidays)
        # Built in locals: a private attribute of a pydantic model is a slow lookup.
        homes: dict[str, list[Employee]] = {}
        group_sizes: dict[str, dict[str, int]] = {}
        unit_groups: dict[str, dict[tuple[str, str], int]] = {}
        own_dated: dict[str, list[Employee]] = {}
        for e in self.employees:
            homes.setdefault(e.building, []).append(e)
            if e.office_days or e.wfh_days:
                own_dated.setdefault(e.building, []).append(e)
                continue
            sizes = group_sizes.setdefault(e.building, {})
            sizes[e.group] = sizes.get(e.group, 0) + 1
            kinds = unit_groups.setdefault(e.building, {})
            kinds[(e.unit, e.group)] = kinds.get((e.unit, e.group), 0) + 1
        self._homes = homes
        self._group_sizes = group_sizes
        self._unit_groups = unit_groups
        self._own_dated = own_dated

    def employee(self, employee: str) -> Employee | None:
        return self._employees.get(employee)

    def unit(self, unit: str) -> Unit | None:
        return self._units.get(unit)

    def group(self, group: str) -> Group | None:
        return self._groups.get(group)

    def group_of(self, employee: Employee) -> Group:
        """The employee's group (a loaded roster has one for every employee)."""
        return self._groups[employee.group]

    @property
    def holiday_calendar(self) -> Calendar:
        """The days off in force per building (computed once per building and year)."""
        return self._calendar

    def scheduled(self, employee: Employee, day: date) -> Scheduled:
        """What `day` (the building's local date) is for `employee`, with the holidays of
        the employee's building."""
        holidays = self._calendar.dates(employee.building, day.year)
        group = self.group_of(employee)
        own: Scheduled | None = None
        if day in employee.wfh_days:
            own = "wfh"
        elif day in employee.office_days:
            own = "wfo"
        if own is None or day in group.on_duty_days:
            return group.scheduled(day, holidays)
        return "holiday" if day in holidays else own

    def home_rooms(self, employee: Employee) -> list[str]:
        """The rooms of the employee's building they sit in: their own, else their group's,
        else their unit's (none: any workroom)."""
        for rooms in (
            employee.rooms,
            self.group_of(employee).rooms,
            self._units[employee.unit].rooms,
        ):
            own = _in_building(rooms, employee.building)
            if self._site_rooms is not None:
                here = self._site_rooms.get(employee.building, frozenset())
                own = [r for r in own if r in here]
            if own:
                return own
        return []

    def employees_in(self, building: str) -> list[Employee]:
        """The employees whose home is `building`, in roster order."""
        return list(self._homes.get(building, ()))

    def unit_group_sizes(self, building: str) -> dict[tuple[str, str], int]:
        """How many employees of `building` without dates of their own each (unit, group)
        has: their days are their group's."""
        return dict(self._unit_groups.get(building, {}))

    def own_dated(self, building: str) -> list[Employee]:
        """The employees of `building` with office or WFH dates of their own (a planned
        roster): their days are not their group's alone."""
        return list(self._own_dated.get(building, ()))

    def planned_wfo(self, building: str, day: date) -> int:
        """How many employees of `building` are scheduled in the office on `day` (none on
        a holiday but those on duty); a few steps per group, whatever the roster's size, and
        one per employee with dates of their own."""
        holidays = self._calendar.dates(building, day.year)
        by_group = sum(
            size
            for group, size in self._group_sizes.get(building, {}).items()
            if self._groups[group].scheduled(day, holidays) == "wfo"
        )
        return by_group + sum(
            1 for e in self._own_dated.get(building, ()) if self.scheduled(e, day) == "wfo"
        )

    def resolved(self) -> dict[str, Any]:
        """The roster as tools read it: groups with their hours, employees with their places."""
        return {
            "units": [{"id": u.id, "name": u.name, "rooms": list(u.rooms)} for u in self.units],
            "groups": [g.resolved() for g in self.groups],
            "holidays": [d.date.isoformat() for d in self.holidays],
            "calendar": self.calendar.resolved(),
            "employees": [
                {
                    "id": e.id,
                    "name": e.name,
                    "unit": e.unit,
                    "group": e.group,
                    "building": e.building,
                    "rooms": self.home_rooms(e),
                    "office_days": [d.isoformat() for d in e.office_days],
                    "wfh_days": [d.isoformat() for d in e.wfh_days],
                }
                for e in self.employees
            ],
        }


Where = Callable[[str | None], str]
"""Names a place in the roster for an error: `file line N (key)` or `file row N (column)`."""


def load_roster(path: Path, site: Site) -> Roster:
    """Load and check a roster (and its employee CSV) against `site`; errors are ConfigErrors."""
    with gc_paused():
        return _load_roster(path, site)


def _load_roster(path: Path, site: Site) -> Roster:
    doc = YamlDocument.load(path)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            f"{path}: a roster file is a mapping with `units`, `groups` and `employees`."
        )
    parsed = doc.validate(_RosterFile)
    _check_groups(doc, parsed)
    check_calendar(doc, parsed.calendar, parsed.holidays, site)

    located: list[tuple[Employee, Where]] = [
        (e, _yaml_where(doc, ("employees", i))) for i, e in enumerate(parsed.employees)
    ]
    if parsed.employees_csv is not None:
        csv_path = path.parent / parsed.employees_csv
        try:
            found = csv_path.is_file()
        except OSError:  # a name too long for the file system, say
            found = False
        if not found:
            raise ConfigError(
                f"{doc.where(('employees_csv',))}: the file {str(csv_path)!r} does not exist."
            )
        located += read_employees_csv(csv_path)
    if not located:
        raise ConfigError(
            f"{doc.where(('employees',))}: the roster lists no employees "
            "(give `employees` or `employees_csv`)."
        )
    _check_employees(parsed, site, located)
    _check_rooms(doc, parsed, site, located)
    roster = Roster(
        units=parsed.units,
        groups=parsed.groups,
        holidays=parsed.holidays,
        calendar=parsed.calendar,
        employees=[e for e, _ in located],
    )
    roster._site_rooms = {b.id: frozenset(r.id for r in b.rooms) for b in site.buildings}
    return roster


def read_employees_csv(path: Path) -> list[tuple[Employee, Where]]:
    """The employees of a CSV file (header `id,unit,group,building[,name]`), each with its row.

    Rows count as a spreadsheet shows them: the header is row 1. Excel's UTF-8 BOM and its
    semicolon-separated exports (the usual ones in Indonesian locales) are read as such.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path} row {row}: is not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save the sheet as CSV UTF-8."
        ) from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first_line and "," not in first_line else ","
    rows = _csv_rows(path, text, delimiter)
    header_row = next(rows, None)
    if header_row is None or not any(cell.strip() for cell in header_row[1]):
        raise ConfigError(
            f"{path}: the file has no header row; the first row names the columns "
            f"({', '.join(CSV_COLUMNS)} and optionally {', '.join(CSV_OPTIONAL_COLUMNS)})."
        )
    header = _check_header(path, [cell.strip() for cell in header_row[1]])
    numbers: list[int] = []
    found: list[dict[str, str]] = []
    for number, cells in rows:
        if not "".join(cells).strip():
            continue
        if len(cells) != len(header):
            _validate_rows(path, found, numbers)  # a bad row above is the first problem
            raise ConfigError(
                f"{path} row {number}: has {len(cells)} fields where the header has "
                f"{len(header)} ({', '.join(header)})."
            )
        values = {column: cell.strip() for column, cell in zip(header, cells, strict=True)}
        found.append({k: v for k, v in values.items() if v or k not in CSV_OPTIONAL_COLUMNS})
        numbers.append(number)
    employees = _validate_rows(path, found, numbers)
    return [(e, _csv_where(path, n)) for e, n in zip(employees, numbers, strict=True)]


_EMPLOYEES = TypeAdapter(list[Employee])


def _validate_rows(path: Path, found: list[dict[str, str]], numbers: list[int]) -> list[Employee]:
    """The rows as employees, validated in one call (a ministry's 100,000 rows one by one took
    seconds); the first bad row is named as if they had been checked in order."""
    try:
        return _EMPLOYEES.validate_python(found)
    except ValidationError as exc:
        error = min(exc.errors(), key=lambda e: int(e["loc"][0]))
        index, *rest = error["loc"]
        column = str(rest[0]) if rest else None
        raise ConfigError(
            f"{_csv_where(path, numbers[int(index)])(column)}: {_problem(error)}."
        ) from None


def _csv_rows(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ConfigError(f"{path} row {number + 1}: not valid CSV ({exc}).") from None
        number += 1
        yield number, cells


def _check_header(path: Path, header: list[str]) -> list[str]:
    known = (*CSV_COLUMNS, *CSV_OPTIONAL_COLUMNS)
    seen: set[str] = set()
    for column in header:
        if column not in known:
            shown = column if column.isprintable() else repr(column)  # an escape code, say
            raise ConfigError(
                f"{path} row 1 ({shown or 'empty column'}): unknown column; the columns are "
                f"{', '.join(CSV_COLUMNS)} and optionally {', '.join(CSV_OPTIONAL_COLUMNS)}."
            )
        if column in seen:
            raise ConfigError(f"{path} row 1 ({column}): the column is given twice.")
        seen.add(column)
    for column in CSV_COLUMNS:
        if column not in seen:
            raise ConfigError(f"{path} row 1: the header has no column {column!r}.")
    return header


def _check_groups(doc: YamlDocument, parsed: _RosterFile) -> None:
    def fail(location: Location, problem: str) -> None:
        raise ConfigError(f"{doc.where(location)}: {problem}.")

    _unique(fail, [u.id for u in parsed.units], ("units",), "unit")
    _unique(fail, [g.id for g in parsed.groups], ("groups",), "group")
    for i, g in enumerate(parsed.groups):
        at: Location = ("groups", i)
        for field in ("office_days", "wfh_days", "on_duty_days", "work_days"):
            entries: list[Any] = getattr(g, field)
            for j, entry in enumerate(entries):
                if entry in entries[:j]:
                    fail((*at, field, j), f"{_entry_text(entry)} is listed twice")
        for j, entry in enumerate(g.wfh_days):
            if entry in g.office_days:
                fail(
                    (*at, "wfh_days", j),
                    f"{_entry_text(entry)} is both an office day and a WFH day of group {g.id!r}",
                )
        if g.office_weeks != "all" and not any(isinstance(d, str) for d in g.office_days):
            fail((*at, "office_weeks"), "applies to weekdays, and office_days names none")
        absent, half_day = g.absent_below_hours, g.half_day_below_hours
        if absent is not None and half_day is not None and absent >= half_day:
            fail(
                (*at, "absent_below_hours"),
                f"{absent:g} h must be below half_day_below_hours ({half_day:g} h)",
            )
        for field in ("half_day_below_hours", "absent_below_hours"):
            hours: float | None = getattr(g, field)
            if hours is not None and hours > g.required_hours:
                fail(
                    (*at, field),
                    f"{hours:g} h is more than the required {g.required_hours:g} h",
                )


def _check_employees(
    parsed: _RosterFile, site: Site, located: list[tuple[Employee, Where]]
) -> None:
    units = {u.id for u in parsed.units}
    groups = {g.id for g in parsed.groups}
    buildings = {b.id for b in site.buildings}
    first: dict[str, Where] = {}
    for employee, where in located:
        if employee.id in first:
            here, there = where("id"), first[employee.id](None)
            # Within one file the file name once is enough: "(first at line 20 (employees[0]))".
            file = there.rpartition(" line ")[0] or there.rpartition(" row ")[0]
            if here.startswith(f"{file} "):
                there = there.removeprefix(f"{file} ")
            raise ConfigError(
                f"{here}: employee id {employee.id!r} is given twice (first at {there})."
            )
        first[employee.id] = where
        if employee.unit not in units:
            raise ConfigError(f"{where('unit')}: unknown unit {employee.unit!r}.")
        if employee.group not in groups:
            raise ConfigError(f"{where('group')}: unknown group {employee.group!r}.")
        for field in ("office_days", "wfh_days"):
            days: list[date] = getattr(employee, field)
            if len(set(days)) < len(days):
                twice = next(d for i, d in enumerate(days) if d in days[:i])
                raise ConfigError(f"{where(field)}: {twice.isoformat()} is listed twice.")
        if both := sorted(set(employee.office_days) & set(employee.wfh_days)):
            raise ConfigError(
                f"{where('wfh_days')}: {both[0].isoformat()} is both an office day and a WFH "
                f"day of employee {employee.id!r}."
            )
        if employee.building not in buildings:
            known = ", ".join(b.id for b in site.buildings)
            raise ConfigError(
                f"{where('building')}: unknown building {employee.building!r} "
                f"(the site has {known})."
            )


def _column(where: Where, column: str) -> Callable[[int], str]:
    return lambda _entry: where(column)


def _in_building(rooms: list[str], building: str) -> list[str]:
    found = []
    for entry in rooms:
        where, _, room = entry.rpartition("/")
        if where in ("", building):
            found.append(room)
    return found


def _check_rooms(
    doc: YamlDocument, parsed: _RosterFile, site: Site, located: list[tuple[Employee, Where]]
) -> None:
    """Every home room names a workroom or service room of the site, and every employee with
    home rooms has one in their own building."""

    def check(rooms: list[str], where: Callable[[int], str]) -> None:
        for j, entry in enumerate(rooms):
            building, _, room = entry.rpartition("/")
            buildings = [site.building(building)] if building else site.buildings
            if building and buildings[0] is None:
                raise ConfigError(f"{where(j)}: unknown building {building!r} in {entry!r}.")
            found = [r for b in buildings if b is not None for r in b.rooms if r.id == room]
            if not found:
                raise ConfigError(f"{where(j)}: no building of the site has a room {entry!r}.")
            for r in found:
                if r.type not in SEAT_TYPES:
                    raise ConfigError(
                        f"{where(j)}: room {entry!r} is a {r.type} room; people sit in "
                        "workrooms (or a service desk in its service room)."
                    )

    def at(*location: str | int) -> Callable[[int], str]:
        return lambda j: doc.where((*location, "rooms", j))

    for i, u in enumerate(parsed.units):
        check(u.rooms, at("units", i))
    for i, g in enumerate(parsed.groups):
        check(g.rooms, at("groups", i))
    units = {u.id: u for u in parsed.units}
    groups = {g.id: g for g in parsed.groups}
    for employee, where in located:
        check(employee.rooms, _column(where, "rooms"))
        given = [
            (employee.rooms, "their own"),
            (groups[employee.group].rooms, f"group {employee.group!r}"),
            (units[employee.unit].rooms, f"unit {employee.unit!r}"),
        ]
        named = [(rooms, whose) for rooms, whose in given if rooms]
        building = site.building(employee.building)
        here = {r.id for r in building.rooms} if building else set()
        if named and not any(
            set(_in_building(rooms, employee.building)) & here for rooms, _ in named
        ):
            rooms, whose = named[0]
            raise ConfigError(
                f"{where('building')}: none of the home rooms ({whose}: {', '.join(rooms)}) "
                f"is in building {employee.building!r}."
            )


def _unique(fail: Callable[[Location, str], None], ids: list[str], at: Location, what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            fail((*at, index, "id"), f"{what} id {value!r} is given twice")
        seen.add(value)


def _yaml_where(doc: YamlDocument, at: Location) -> Where:
    def where(field: str | None) -> str:
        return doc.where(at if field is None else (*at, field))

    return where


def _csv_where(path: Path, row: int) -> Where:
    def where(column: str | None) -> str:
        return f"{path} row {row}" + (f" ({column})" if column else "")

    return where


def _problem(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if error["type"] in {"missing", "value_error"}:
        return message
    value = repr(error.get("input"))
    return f"{message} (got {value if len(value) <= 60 else value[:57] + '...'})"


def _entry_text(entry: date | str) -> str:
    return entry.isoformat() if isinstance(entry, date) else entry
