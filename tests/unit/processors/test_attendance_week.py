"""A week of the whole sample roster through the real stack, against a reference model.

Every employee of deploy/sample/roster.yaml (and its employees.csv) gets Monday to Friday
of last week scripted from a seeded random mix: on time, early, inside the grace, late by
seconds to hours, early leave, half day, too short to count, absent (no tap), WFH, an
unscheduled visit, a missing check-out, repeated taps, a double check-in, a check-out
without a check-in, a lunch break, and in Makassar (WITA) check-ins just after and just
before local midnight. The taps go MQTT → bridge → Kafka → worker.

What each employee-day must be, and the unit totals, come from the small model below: it
reads the roster's YAML and CSV and the site's time zones itself (not through
ingest.roster), takes the national days from the holidays library, and applies the rules
as docs/attendance.md ("Rosters") states them; it imports nothing of processors. The
worker's output is read back raw from Kafka and through `occupancy report attendance`,
and must equal it exactly.

The pipeline runs on a replay clock that starts on a fixed Monday morning, and the week is
the one before it, so nothing here depends on the real date or weekday. The worker closes
every ended day of the last `OCC_ATTENDANCE_LOOKBACK_DAYS` (12 covers last week) on its first
tick; the taps are sent only once that close is in Kafka, like a backlog from kiosks that were
offline all week: each says when it was sent (`sent_at`), so it counts at its own time, lands
on a closed day (flag `after_close`) and amends it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import pytest
import yaml

from tests.support.kafka import read_topics
from tests.support.pipeline import Pipeline
from tests.support.processes import Command

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
ROSTER, SITE = SAMPLE / "roster.yaml", SAMPLE / "site.yaml"
SEED = 20261123
REPEAT_WINDOW = timedelta(seconds=60)  # OCC_ATTENDANCE_REPEAT_WINDOW_S, the default
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
KIOSKS = {
    "hq-jakarta": ("kiosk-main", "kiosk-east", "kiosk-parking"),
    "ro-makassar": ("kiosk-front",),
}


# The reference model: the roster's plain facts and the documented day rules.


@dataclass(frozen=True)
class GroupFacts:
    office_days: frozenset[str | date]
    office_weeks: str
    wfh_days: frozenset[str | date]
    on_duty_days: frozenset[date]
    work_days: frozenset[str]
    start: time
    end: time
    grace: timedelta
    required: float
    check_in_window: timedelta | None
    half_day: float | None
    absent: float | None


@dataclass(frozen=True)
class Person:
    id: str
    unit: str
    group: str
    building: str


@dataclass(frozen=True)
class CalendarFacts:
    """The roster's `holidays` and `calendar` block as written."""

    country: str | None
    cuti_bersama: bool
    holidays: frozenset[date]
    not_holidays: frozenset[date]
    buildings: dict[str, tuple[frozenset[date], frozenset[date]]]  # holidays, not_holidays

    def off(self, building: str, day: date) -> bool:
        """National days and cuti bersama, less the days worked, plus the roster's days; then
        the building's own days worked and off."""
        national = _national(self.country, self.cuti_bersama, day.year)
        wide = (day in national and day not in self.not_holidays) or day in self.holidays
        added, worked = self.buildings.get(building, (frozenset(), frozenset()))
        return (wide and day not in worked) or day in added


def _national(country: str | None, cuti_bersama: bool, year: int) -> frozenset[date]:
    if country is None:
        return frozenset()
    days = set(holidays.country_holidays(country, years=year))
    if cuti_bersama and country == "ID":
        days |= set(holidays.country_holidays(country, years=year, categories=("government",)))
    return frozenset(days)


def _dates(entries: list[Any]) -> frozenset[date]:
    return frozenset(e["date"] if isinstance(e, dict) else e for e in entries)


def read_calendar(data: dict[str, Any]) -> CalendarFacts:
    block = data.get("calendar") or {}
    country = block.get("country", "ID")
    return CalendarFacts(
        country=None if country is None or str(country).lower() == "none" else country.upper(),
        cuti_bersama=block.get("cuti_bersama", True),
        holidays=_dates(data.get("holidays", [])),
        not_holidays=frozenset(block.get("not_holidays", [])),
        buildings={
            b: (_dates(days.get("holidays", [])), frozenset(days.get("not_holidays", [])))
            for b, days in (block.get("buildings") or {}).items()
        },
    )


@dataclass(frozen=True)
class Facts:
    groups: dict[str, GroupFacts]
    people: list[Person]
    calendar: CalendarFacts
    zones: dict[str, ZoneInfo]

    def scheduled(self, person: Person, day: date) -> str:
        """wfo, wfh, off or holiday: on-duty dates, then a work day of the group that is off
        in the calendar of the person's building is a holiday."""
        group = self.groups[person.group]
        if day in group.on_duty_days:
            return "wfo"
        planned = self.planned(group, day)
        if planned != "off" and self.calendar.off(person.building, day):
            return "holiday"
        return planned

    @staticmethod
    def planned(group: GroupFacts, day: date) -> str:
        """wfo, wfh or off: listed dates, listed weekdays, work days."""
        weekday = WEEKDAYS[day.weekday()]
        odd_week = day.isocalendar().week % 2 == 1
        in_office_week = group.office_weeks == "all" or odd_week == (group.office_weeks == "odd")
        if day in group.wfh_days:
            return "wfh"
        if day in group.office_days:
            return "wfo"
        if weekday in group.wfh_days:
            return "wfh"
        if weekday in group.office_days and in_office_week:
            return "wfo"
        return "wfh" if weekday in group.work_days else "off"


def _days(entries: list[Any]) -> frozenset[str | date]:
    return frozenset(e if isinstance(e, date) else str(e).strip().lower()[:3] for e in entries)


def read_facts(roster: Path, site: Path) -> Facts:
    data = yaml.safe_load(roster.read_text())
    groups = {}
    for g in data["groups"]:
        start, end = (time.fromisoformat(t.strip()) for t in g["start_window"].split("-"))
        window = g.get("check_in_window_minutes")
        groups[g["id"]] = GroupFacts(
            office_days=_days(g.get("office_days", [])),
            office_weeks=g.get("office_weeks", "all"),
            wfh_days=_days(g.get("wfh_days", [])),
            on_duty_days=frozenset(g.get("on_duty_days", [])),
            work_days=frozenset(g.get("work_days", WEEKDAYS[:5])),
            start=start,
            end=end,
            grace=timedelta(minutes=g.get("grace_minutes", 0)),
            required=float(g["required_hours"]),
            check_in_window=None if window is None else timedelta(minutes=window),
            half_day=g.get("half_day_below_hours"),
            absent=g.get("absent_below_hours"),
        )
    rows = list(data.get("employees", []))
    if "employees_csv" in data:
        text = (roster.parent / data["employees_csv"]).read_text(encoding="utf-8-sig")
        rows += list(csv.DictReader(io.StringIO(text)))
    people = [Person(str(r["id"]), r["unit"], r["group"], r["building"]) for r in rows]
    buildings = yaml.safe_load(site.read_text())["buildings"]
    return Facts(
        groups=groups,
        people=people,
        calendar=read_calendar(data),
        zones={b["id"]: ZoneInfo(b["timezone"]) for b in buildings},
    )


@dataclass(frozen=True)
class Tap:
    employee: str
    building: str
    kiosk: str
    event: str
    action: str  # check_in or check_out
    at: datetime  # local, aware

    @property
    def identity(self) -> str:
        return f"{self.building}/{self.kiosk}/{self.event}"


@dataclass(frozen=True)
class Day:
    """One row of the attendance report, and the flags of the day's record."""

    scheduled: str
    status: str
    late_minutes: int
    first_check_in: str
    last_check_out: str
    hours_present: str
    taps: int
    flags: frozenset[str] = field(default=frozenset())

    def row(self) -> tuple[str, str, int, str, str, str]:
        return (
            self.scheduled,
            self.status,
            self.late_minutes,
            self.first_check_in,
            self.last_check_out,
            self.hours_present,
        )


def expect_day(facts: Facts, person: Person, day: date, taps: list[Tap]) -> Day:
    """The closed day by the documented rules (taps: the employee's, of that local date)."""
    group = facts.groups[person.group]
    scheduled = facts.scheduled(person, day)
    if not taps:
        status = {"wfo": "absent", "wfh": "wfh", "off": "off", "holiday": "holiday"}[scheduled]
        return Day(scheduled, status, 0, "", "", "0.00", 0)
    zone = facts.zones[person.building]
    flags: set[str] = set()
    previous: Tap | None = None
    inside: datetime | None = None
    first_in: datetime | None = None
    last_out: datetime | None = None
    present = timedelta(0)
    window_start = datetime.combine(day, group.start, tzinfo=zone)
    for tap in sorted(taps, key=lambda t: (t.at, t.identity)):
        if previous and previous.action == tap.action and tap.at - previous.at <= REPEAT_WINDOW:
            flags.add("repeated_tap")
            continue
        previous = tap
        if tap.action == "check_in":
            if inside is not None:
                flags.add("double_check_in")
            else:
                inside = tap.at
                first_in = first_in or tap.at
            continue
        if inside is None:
            flags.add("check_out_without_check_in")
        else:
            present += max(timedelta(0), tap.at - max(inside, window_start))
            inside = None
        last_out = tap.at
    late = 0
    if scheduled == "wfo" and first_in is not None:
        due = datetime.combine(day, group.end, tzinfo=zone) + group.grace
        late = max(0, math.ceil((first_in - due) / timedelta(minutes=1)))
        opens = group.check_in_window
        if opens is not None and first_in < window_start - opens:
            flags.add("before_check_in_window")
    hours = present / timedelta(hours=1)
    if inside is not None:
        status = "auto_closed"
    elif scheduled != "wfo":
        status = "unscheduled"
    elif group.absent is not None and hours < group.absent:
        status = "absent"
    elif group.half_day is not None and hours < group.half_day:
        status = "half_day"
    elif hours < group.required:
        status = "early_leave"
    else:
        status = "late" if late else "on_time"

    def local(at: datetime | None) -> str:
        return "" if at is None else at.astimezone(zone).strftime("%H:%M")

    return Day(
        scheduled,
        status,
        late,
        local(first_in),
        local(last_out),
        f"{hours:.2f}",
        len(taps),
        frozenset(flags),
    )


# The script: a seeded week of taps for everyone.

Offset = timedelta  # since the local midnight of the day
Script = dict[tuple[str, date], list[Tap]]


class Scripter:
    """Draws each employee-day's taps; `used` counts the ingredients drawn."""

    def __init__(self, facts: Facts, seed: int) -> None:
        self.facts = facts
        self.rng = random.Random(seed)
        self.used: Counter[str] = Counter()
        self.labels: dict[tuple[str, date], str] = {}

    def week(self, week: list[date]) -> Script:
        script: Script = {}
        for person in self.facts.people:
            for day in week:
                label, taps = self.day(person, day)
                self.labels[(person.id, day)] = label
                zone = self.facts.zones[person.building]
                midnight = datetime.combine(day, time(0), tzinfo=zone)
                made = []
                for n, (action, offset) in enumerate(taps, start=1):
                    assert timedelta(0) <= offset < timedelta(days=1), (label, offset)
                    made.append(
                        Tap(
                            employee=person.id,
                            building=person.building,
                            kiosk=self.rng.choice(KIOSKS[person.building]),
                            event=f"{person.id}-{day:%m%d}-{n}",
                            action=action,
                            at=midnight + offset,
                        )
                    )
                if made:
                    script[(person.id, day)] = made
        return script

    def day(self, person: Person, day: date) -> tuple[str, list[tuple[str, Offset]]]:
        scheduled = self.facts.scheduled(person, day)
        wita = person.building == "ro-makassar"
        if scheduled == "wfo":
            kinds = {
                "normal": 66,
                "absent": 10,
                "no_checkout": 6,
                "lunch": 6,
                "double_in": 4,
                "out_only": 3,
                "midnight": 10 if wita else 0,
            }
        elif scheduled == "wfh":
            kinds = {"wfh": 84, "visit": 9, "visit_open": 4, "late_night": 15 if wita else 0}
        else:  # off or a holiday
            kinds = {"off": 95, "visit": 5}
        kind = self.pick(kinds)
        group = self.facts.groups[person.group]
        start, end = _offset(group.start), _offset(group.end)
        taps: list[tuple[str, Offset]]
        if kind in {"absent", "wfh", "off"}:
            taps = []
        elif kind == "normal":
            came, arrival = self.arrival(group)
            hours = self.pick({"full": 68, "early_leave": 14, "half_day": 10, "short": 8})
            out = max(arrival, start) + _hours(self.hours(group, hours))
            taps = [("check_in", arrival), ("check_out", out)]
            if self.rng.random() < 0.1:
                self.used["repeated_in"] += 1
                taps.append(("check_in", arrival + self.between(_s(5), _s(50))))
            if self.rng.random() < 0.06:
                self.used["repeated_out"] += 1
                taps.append(("check_out", out + self.between(_s(5), _s(50))))
            kind = f"normal {came} {hours}"
        elif kind == "no_checkout":
            taps = [("check_in", self.arrival(group)[1])]
        elif kind == "lunch":
            arrival = self.between(start, end)
            lunch_out = _offset(time(12)) + self.between(_s(0), _s(20 * 60))
            lunch_in = lunch_out + self.between(_s(30 * 60), _s(60 * 60))
            before = (lunch_out - max(arrival, start)) / timedelta(hours=1)
            after = max(0.5, group.required - before + self.rng.uniform(-0.5, 1))
            out = lunch_in + _hours(after)
            taps = [
                ("check_in", arrival),
                ("check_out", lunch_out),
                ("check_in", lunch_in),
                ("check_out", out),
            ]
        elif kind == "double_in":
            arrival = self.between(start, end)
            again = arrival + self.between(_s(10 * 60), _s(45 * 60))
            out = max(arrival, start) + _hours(group.required + self.rng.uniform(0, 1))
            taps = [("check_in", arrival), ("check_in", again), ("check_out", out)]
        elif kind == "out_only":
            taps = [("check_out", self.between(_offset(time(15)), _offset(time(17))))]
        elif kind == "midnight":  # just after local midnight: the UTC date is the day before
            arrival = self.between(_s(60), _s(30 * 60))
            out = start + _hours(group.required + self.rng.uniform(0, 1))
            taps = [("check_in", arrival), ("check_out", out)]
        elif kind == "visit":
            arrival = self.between(_offset(time(9)), _offset(time(11)))
            taps = [("check_in", arrival), ("check_out", arrival + _hours(self.rng.uniform(1, 5)))]
        elif kind == "visit_open":
            taps = [("check_in", self.between(_offset(time(8)), _offset(time(10))))]
        else:  # late_night: just before local midnight
            arrival = self.between(_offset(time(23, 30)), _offset(time(23, 50)))
            taps = [("check_in", arrival), ("check_out", arrival + self.between(_s(120), _s(540)))]
        return kind, taps

    def arrival(self, group: GroupFacts) -> tuple[str, Offset]:
        """A first check-in: before the window, in it, inside the grace, or late."""
        start, end = _offset(group.start), _offset(group.end)
        due = end + group.grace
        kind = self.pick({"early": 15, "window": 50, "grace": 15, "late": 20})
        if kind == "early":
            return kind, start - self.between(_s(60), _s(90 * 60))
        if kind == "window":
            return kind, self.between(start, end)
        if kind == "grace":
            return kind, end + self.between(_s(1), group.grace) if group.grace else due
        if self.rng.random() < 0.2:
            return kind, due + self.between(_s(1), _s(59))  # late by seconds: one minute
        return kind, due + self.between(_s(60), _s(90 * 60))

    def hours(self, group: GroupFacts, kind: str) -> float:
        """Hours present for a class, strictly inside the group's thresholds."""
        floor = group.absent or 0.25
        if kind == "short" and group.absent is not None:
            return self.inside(0.05, group.absent)
        if kind in {"short", "half_day"} and group.half_day is not None:
            return self.inside(floor, group.half_day)
        if kind != "full":
            return self.inside(group.half_day or floor, group.required)
        return group.required + self.rng.uniform(0, 1.5)

    def inside(self, low: float, high: float) -> float:
        return low + (high - low) * self.rng.uniform(0.02, 0.98)

    def between(self, low: Offset, high: Offset) -> Offset:
        seconds = self.rng.randint(int(low.total_seconds()), int(high.total_seconds()))
        return timedelta(seconds=seconds)

    def pick(self, weights: dict[str, int]) -> str:
        kind = self.rng.choices(list(weights), list(weights.values()))[0]
        self.used[kind] += 1
        return kind


def _offset(at: time) -> Offset:
    return timedelta(hours=at.hour, minutes=at.minute, seconds=at.second)


def _s(seconds: int) -> Offset:
    return timedelta(seconds=seconds)


def _hours(hours: float) -> Offset:
    return timedelta(seconds=round(hours * 3600))


def last_week(today: date) -> list[date]:
    """Monday to Friday of the last week whose Friday is over (before `today`) everywhere."""
    friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)
    return [friday - timedelta(days=4 - n) for n in range(5)]


def messages(prefix: str, script: Script, sent_at: datetime) -> list[tuple[str, bytes]]:
    """The kiosks' MQTT messages, in time order, as kiosks that kept them send them at last."""
    taps = sorted((t for day in script.values() for t in day), key=lambda t: t.at)
    return [
        (
            f"{prefix}/{t.building}/kiosk/{t.kiosk}",
            json.dumps(
                {
                    "event_id": t.event,
                    "ts": t.at.isoformat(),
                    "employee_id": t.employee,
                    "action": t.action,
                    "sent_at": sent_at.isoformat(),
                }
            ).encode(),
        )
        for t in taps
    ]


# Comparing.

UnitFigures = tuple[int, int, int, int, int, int]  # planned WFO, present, late, absent, WFH,
# holiday
Record = tuple[str, str, int, int, list[str], bool]
"""What a day record must say: scheduled, status, minutes late, taps, flags, closed."""


def unit_totals(
    facts: Facts, want: dict[tuple[str, date], Day], day: date
) -> dict[str, UnitFigures]:
    totals: dict[str, list[int]] = {}
    for person in facts.people:
        d = want[(person.id, day)]
        figures = totals.setdefault(person.unit, [0, 0, 0, 0, 0, 0])
        figures[0] += d.scheduled == "wfo"
        figures[1] += d.taps > 0
        figures[2] += d.late_minutes > 0
        figures[3] += d.status == "absent"
        figures[4] += d.status == "wfh"
        figures[5] += d.status == "holiday"
    return {unit: (f[0], f[1], f[2], f[3], f[4], f[5]) for unit, f in totals.items()}


def parse_unit_totals(table: str) -> dict[str, UnitFigures]:
    """The rows of the report's "Per unit" table (rich box drawing, one row a line)."""
    assert "Per unit" in table, table[-2000:]
    totals = {}
    for line in table.split("Per unit", 1)[1].splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if len(cells) == 7 and all(c.isdigit() for c in cells[1:]):
            n = [int(c) for c in cells[1:]]
            totals[cells[0]] = (n[0], n[1], n[2], n[3], n[4], n[5])
    return totals


def differences(
    want: dict[Any, Any], got: dict[Any, Any], label: Callable[[Any], str] = str
) -> str:
    """A readable diff of two mappings: one line per key that differs (the first 40)."""
    keys = sorted(set(want) | set(got), key=str)
    lines = [
        f"  {label(k)}: expected {want.get(k, '(nothing)')!r}, got {got.get(k, '(nothing)')!r}"
        for k in keys
        if want.get(k) != got.get(k)
    ]
    shown = "\n".join(lines[:40]) + (f"\n  … and {len(lines) - 40} more" if len(lines) > 40 else "")
    return f"{len(lines)} of {len(keys)} differ:\n{shown}"


def worker_log(folder: Path, lines: int = 30) -> str:
    """The end of the workers' logs without the per-tap findings, for a failure message."""
    tails = []
    for log in sorted(folder.glob("worker-*.log")):
        kept = [
            x for x in log.read_text(errors="replace").splitlines() if "attendance_finding" not in x
        ]
        tails.append(
            f"\n--- {log.name}, last {lines} lines without findings:\n" + "\n".join(kept[-lines:])
        )
    return "".join(tails)


def read_days(pipeline: Pipeline) -> dict[tuple[str, date], dict[str, Any]]:
    """The latest record per `employee/date` in the attendance topic, as plain JSON."""
    topic = f"{pipeline.topics}.attendance"
    latest: dict[tuple[str, date], dict[str, Any]] = {}
    for record in read_topics(pipeline.bootstrap, [topic])[topic]:
        employee, _, day = record.key.decode().rpartition("/")
        if record.value is not None:
            latest[(employee, date.fromisoformat(day))] = json.loads(record.value)
    return latest


def wait_for_days(
    pipeline: Pipeline,
    week: list[date],
    done: Callable[[tuple[str, date], Record], bool],
    keys: set[tuple[str, date]],
    timeout: float,
    running: list[Command],
) -> dict[tuple[str, date], Record]:
    """Poll the attendance topic until every key's record is there and `done`; the last read.
    Fails at once when a process of the pipeline is gone."""
    deadline = clock.monotonic() + timeout
    while True:
        for command in running:
            assert command.process.poll() is None, f"exited:\n{command.output()[-3000:]}"
        records = read_days(pipeline)
        got = {k: of_record(r) for k, r in records.items() if k[1] in week}
        if all(k in got and done(k, got[k]) for k in keys) or clock.monotonic() > deadline:
            return got
        clock.sleep(0.5)


def as_record(day: Day) -> Record:
    """The closed record of a day whose taps all came after the close (see the docstring)."""
    flags = day.flags | {"after_close"} if day.taps else day.flags
    return (day.scheduled, day.status, day.late_minutes, day.taps, sorted(flags), True)


def of_record(record: dict[str, Any]) -> Record:
    flags = sorted(record["flags"])
    return (
        record["scheduled"],
        record["status"],
        record["late_minutes"],
        len(record["taps"]),
        flags,
        record["closed"],
    )


# The model itself, on cases worked out by hand ("in 08:00" is a check-in at 08:00 local).

HQ_A = Person("a-1", "setjen", "A", "hq-jakarta")
RO_M = Person("m-1", "wil-makassar", "makassar", "ro-makassar")
MON, TUE, FRI, SAT = (date(2026, 11, d) for d in (23, 24, 27, 28))
CHRISTMAS, CHRISTMAS_EVE, EID = date(2026, 12, 25), date(2026, 12, 24), date(2026, 3, 21)


@pytest.fixture(scope="module")
def facts() -> Facts:
    return read_facts(ROSTER, SITE)


def taps_at(person: Person, day: date, script: str) -> list[Tap]:
    zone = ZoneInfo("Asia/Makassar" if person.building == "ro-makassar" else "Asia/Jakarta")
    taps = []
    for n, tap in enumerate(filter(None, script.split(", "))):
        action, at = tap.split()
        when = datetime.combine(day, time.fromisoformat(at), tzinfo=zone)
        taps.append(Tap(person.id, person.building, "k", f"e{n}", f"check_{action}", when))
    return taps


@pytest.mark.parametrize(
    ("person", "day", "script", "row"),
    [
        (HQ_A, MON, "", "wfo absent 0 - - 0.00"),
        (HQ_A, TUE, "", "wfh wfh 0 - - 0.00"),
        (HQ_A, SAT, "", "off off 0 - - 0.00"),
        (HQ_A, CHRISTMAS, "", "holiday holiday 0 - - 0.00"),  # national, an office day of A
        (HQ_A, CHRISTMAS_EVE, "", "holiday holiday 0 - - 0.00"),  # cuti bersama, WFH for A
        (HQ_A, EID, "", "off off 0 - - 0.00"),  # a Saturday
        (HQ_A, CHRISTMAS, "in 09:00, out 12:00", "holiday unscheduled 0 09:00 12:00 3.00"),
        # 09:15:00 is inside the grace; 09:15:01 is one minute late (rounded up).
        (HQ_A, MON, "in 09:15:00, out 16:45", "wfo on_time 0 09:15 16:45 7.50"),
        (HQ_A, MON, "in 09:15:01, out 17:00", "wfo late 1 09:15 17:00 7.75"),
        # Hours count from the window's opening (07:00), not from a 06:30 check-in.
        (HQ_A, MON, "in 06:30, out 14:29", "wfo early_leave 0 06:30 14:29 7.48"),
        (HQ_A, MON, "in 08:00, out 11:59", "wfo half_day 0 08:00 11:59 3.98"),
        (HQ_A, MON, "in 10:00, out 10:30", "wfo absent 45 10:00 10:30 0.50"),
        (HQ_A, MON, "in 10:00", "wfo auto_closed 45 10:00 - 0.00"),
        (HQ_A, MON, "in 08:00, out 12:00, in 12:30, out 16:30", "wfo on_time 0 08:00 16:30 8.00"),
        (HQ_A, TUE, "in 10:00, out 12:00", "wfh unscheduled 0 10:00 12:00 2.00"),
        (HQ_A, TUE, "in 10:00", "wfh auto_closed 0 10:00 - 0.00"),
        # A check-in again 30 s later counts once; one an hour later changes nothing.
        (HQ_A, MON, "in 08:00, in 08:00:30, in 09:00, out 16:00", "wfo on_time 0 08:00 16:00 8.00"),
        (HQ_A, MON, "out 16:00", "wfo absent 0 - 16:00 0.00"),
        # Makassar: 00:05 WITA belongs to that day; hours count from 07:30 WITA.
        (RO_M, MON, "in 00:05, out 16:00", "wfo on_time 0 00:05 16:00 8.50"),
        (RO_M, FRI, "in 23:50, out 23:58", "wfh unscheduled 0 23:50 23:58 0.13"),
    ],
)
def test_the_reference_model(
    facts: Facts, person: Person, day: date, script: str, row: str
) -> None:
    scheduled, status, late, first, last, hours = row.replace("-", "").split(" ")
    day_row = (scheduled, status, int(late), first, last, hours)
    assert expect_day(facts, person, day, taps_at(person, day, script)).row() == day_row


def test_the_reference_model_flags(facts: Facts) -> None:
    script = "out 05:40, in 05:45, in 05:45:20, in 08:00, out 16:00"
    assert expect_day(facts, HQ_A, MON, taps_at(HQ_A, MON, script)).flags == {
        "check_out_without_check_in",
        "before_check_in_window",
        "repeated_tap",
        "double_check_in",
    }


# Through the real stack.
