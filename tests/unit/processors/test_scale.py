"""A ministry's deployment (bench/scale_gen.py) validates, and the workers' periodic work
costs what is due, not what exists."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import processors.attendance
import processors.attendance_days
from deploy.ministry import MINISTRY, SMALL, building_id, employee_id, generate
from ingest.clock import ReplayClock
from ingest.roster import Roster, load_roster
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site
from processors.app import build_app
from processors.attendance import Attendance, PresenceBoard
from processors.attendance_days import Presence
from processors.attendance_report import attendance_rows, building_totals, unit_totals
from processors.attendance_rules import DailyRecord
from processors.occupancy import Occupancy
from processors.occupancy_rules import RoomCount, SensorState
from processors.policy import PolicyFollower
from processors.publisher import MqttPublisher

MONDAY = date(2026, 11, 30)


def test_a_generated_ministry_validates(tmp_path: Path) -> None:
    deployment = generate(tmp_path, MINISTRY)
    site = load_site(deployment.site)
    roster = load_roster(deployment.roster, site)
    assert len(site.buildings) == 200
    assert sum(len(b.rooms) for b in site.buildings) == 10_000
    assert sum(len(b.sensors) for b in site.buildings) == 20_000
    assert {b.timezone for b in site.buildings} == {
        "Asia/Jakarta",
        "Asia/Makassar",
        "Asia/Jayapura",
    }
    assert len(roster.employees) == 100_000
    assert len(roster.units) == 400
    assert len(roster.employees_in(building_id(7))) == 500


def naive_planned_wfo(roster: Roster, building: str, day: date) -> int:
    return sum(
        1 for e in roster.employees if e.building == building and roster.scheduled(e, day) == "wfo"
    )


def planned(roster: Roster) -> Roster:
    """The sample roster as `occupancy roster plan` leaves it: some employees with office and
    WFH dates of their own, which outrank their group's weekdays."""
    december = [date(2026, 12, 1) + timedelta(days=n) for n in range(31)]
    employees = []
    for n, employee in enumerate(roster.employees):
        own = {}
        if n % 3 == 0:
            own = {"office_days": [d for d in december if d.weekday() == 5]}
        elif n % 5 == 0:
            own = {"wfh_days": [d for d in december if d.weekday() < 2]}
        employees.append(employee.model_copy(update=own))
    return Roster.model_validate({**roster.model_dump(), "employees": employees})


@pytest.mark.parametrize("which", ["sample", "planned", "generated"])
def test_planned_wfo_is_the_count_of_everyone_scheduled_in(
    which: str, sample_site: Site, sample_roster: Roster, tmp_path: Path
) -> None:
    if which == "sample":
        site, roster = sample_site, sample_roster
    elif which == "planned":
        site, roster = sample_site, planned(sample_roster)
    else:
        deployment = generate(tmp_path, SMALL)
        site = load_site(deployment.site)
        roster = load_roster(deployment.roster, site)
    # Two weeks around Christmas and the New Year: holidays and cuti bersama included.
    for offset in range(-7, 42):
        day = date(2026, 12, 21) + timedelta(days=offset)
        for b in site.buildings:
            assert roster.planned_wfo(b.id, day) == naive_planned_wfo(roster, b.id, day), (
                b.id,
                day,
            )


def board(site: Site, roster: Roster, tmp_path: Path) -> PresenceBoard:
    settings = load_settings(worker_data_dir=tmp_path, worker_store="memory")
    return PresenceBoard(settings, site, roster, lambda *_: None)


def test_the_presence_board_counts_as_people_move(
    sample_site: Site, sample_roster: Roster, tmp_path: Path
) -> None:
    presence = board(sample_site, sample_roster, tmp_path)
    ids = [e.id for e in sample_roster.employees]
    buildings = [b.id for b in sample_site.buildings]
    now = datetime(2026, 11, 30, 3, tzinfo=UTC)
    where: dict[str, str | None] = {}
    for step in range(400):
        employee = ids[(step * 7) % len(ids)]
        building = None if step % 5 == 0 else buildings[step % len(buildings)]
        presence.take(Presence(employee=employee, building=building, since=now))
        where[employee] = building
        if step % 11 == 0:  # a tombstone: someone who left the roster
            presence._take(employee.encode(), None)
            where.pop(employee)
        for b in buildings:
            inside = sorted(e for e, at in where.items() if at == b)
            assert [p.employee for p in presence.inside(b)] == inside
            assert presence.count(b, now).count == len(inside)


class Closes:
    """An Attendance whose closes are counted, not run; this worker holds every partition."""

    def __init__(self, settings: Settings, site: Site, roster: Roster) -> None:
        app = build_app(settings)
        self.attendance = Attendance(app, settings, site, roster)
        self.closed: list[bytes] = []
        partitions = set(range(settings.kafka_partitions))
        attendance: Any = self.attendance
        attendance.ownership.owned = lambda: partitions

        async def close(key: bytes, *_: Any) -> None:
            self.closed.append(key)

        attendance._close = close

    def tick(self) -> list[bytes]:
        self.closed = []
        asyncio.run(self.attendance.close_days())
        return self.closed


def test_the_day_end_goes_through_everyone_once_per_local_day(tmp_path: Path) -> None:
    deployment = generate(tmp_path, SMALL)
    site = load_site(deployment.site)
    roster = load_roster(deployment.roster, site)
    # 20:00 WIB: 22:00 in Jayapura (WIT) and 21:00 in Makassar (WITA).
    start = datetime(2026, 12, 1, 13, tzinfo=UTC)
    now = [start]
    clock = ReplayClock(start=start, speed=1, anchor=start, wall=lambda: now[0])
    settings = load_settings(worker_data_dir=tmp_path, worker_store="memory").with_clock(clock)
    closes = Closes(settings, site, roster)
    everyone = sorted(employee_id(n).encode() for n in range(SMALL.employees))

    assert sorted(closes.tick()) == everyone  # the first tick: everyone, once
    assert closes.tick() == []  # nothing has ended since: no one

    tapped = employee_id(3).encode()
    closes.attendance._touched.add(tapped)  # a tap changed one employee's days
    assert closes.tick() == [tapped]
    assert closes.tick() == []

    now[0] = start + timedelta(hours=2, minutes=1)  # 00:01 in Jayapura: a day has ended there
    assert sorted(closes.tick()) == everyone
    assert closes.tick() == []
    now[0] = start + timedelta(hours=3, minutes=1)  # and in Makassar
    assert sorted(closes.tick()) == everyone


def test_employees_without_days_cost_one_close_per_building_and_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = generate(tmp_path, SMALL)
    site = load_site(deployment.site)
    roster = load_roster(deployment.roster, site)
    start = datetime(2026, 12, 1, 3, tzinfo=UTC)  # a Tuesday morning everywhere
    clock = ReplayClock(start=start, speed=1, anchor=start, wall=lambda: start)
    settings = load_settings(
        worker_data_dir=tmp_path, worker_store="memory", attendance_since=date(2026, 12, 1)
    ).with_clock(clock)
    attendance: Any = Attendance(build_app(settings), settings, site, roster)
    attendance.ownership.owned = lambda: set(range(settings.kafka_partitions))
    attendance.employees = {}  # no one has days yet
    closes: list[str] = []
    # The name the wiring calls, where it imported it.
    real = processors.attendance_days.close_due

    def counted(days: Any, employee: Any, *args: Any) -> Any:
        closes.append(employee.id)
        return real(days, employee, *args)

    monkeypatch.setattr(processors.attendance, "close_due", counted)
    asyncio.run(attendance.close_days())
    kinds = {(e.building, e.group) for e in roster.employees}
    assert len(closes) == len(kinds) < len(roster.employees) / 10
    closes.clear()
    asyncio.run(attendance.close_days())
    assert closes == []


@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.sampled_from(["wfo", "wfh", "off", "holiday"]),
            st.sampled_from(["on_time", "late", "absent", "wfh", "holiday", "unscheduled"]),
            st.integers(0, 90),
        ),
        max_size=40,
    ),
    st.integers(0, 60),
)
@settings(max_examples=60, deadline=None)
def test_a_buildings_totals_are_those_of_a_row_per_employee(
    sample_site: Site,
    sample_roster: Roster,
    drawn: list[tuple[int, str, str, int]],
    offset: int,
) -> None:
    day = date(2026, 12, 14) + timedelta(days=offset)  # through Christmas and the New Year
    employees = sample_roster.employees
    records = [
        DailyRecord.model_validate(
            {
                "employee": employees[n % len(employees)].id,
                "date": day,
                "building": employees[n % len(employees)].building,
                "scheduled": scheduled,
                "status": status,
                "late_minutes": late,
            }
        )
        for n, scheduled, status, late in drawn
    ]
    for roster in (sample_roster, planned(sample_roster)):
        for b in sample_site.buildings:
            rows, totals = building_totals(roster, sample_site, records, day, b.id)
            every = attendance_rows(roster, sample_site, records, day, building=b.id)
            assert totals == unit_totals(every)
            assert sorted(r.employee.id for r in rows) == sorted(
                r.employee.id for r in every if r.record is not None
            )


def test_the_occupancy_tick_looks_at_rooms_due_and_rooms_touched(
    sample_site: Site, tmp_path: Path
) -> None:
    settings = load_settings(worker_data_dir=tmp_path, worker_store="memory")
    occupancy: Any = Occupancy(
        build_app(settings),
        settings,
        sample_site,
        MqttPublisher(settings, client_id="test-scale"),
        PolicyFollower(settings, sample_site),
    )
    now = datetime(2026, 11, 30, 5, tzinfo=UTC)  # 12:00 WIB, Monday
    assert occupancy._due_keys(now) == []  # the first tick: every room in the table (none)
    building = sample_site.buildings[0]
    quiet = RoomCount(building=building.id, room=building.rooms[0].id)
    busy = RoomCount(
        building=building.id,
        room=building.rooms[1].id,
        count=2,
        entered=2,
        last_activity=now - timedelta(minutes=1),
        sensors={"s1": SensorState(last_seq=2, last_ts=now, last_seen=now - timedelta(minutes=1))},
    )
    occupancy._schedule(b"quiet", quiet, building, now)
    occupancy._schedule(b"busy", busy, building, now)
    assert occupancy._due_keys(now + timedelta(minutes=1)) == []
    occupancy._touched.add(b"quiet")  # a door event
    assert occupancy._due_keys(now + timedelta(minutes=2)) == [b"quiet"]
    # The sensor goes silent after OCC_SENSOR_OFFLINE_AFTER_S (300 s): the busy room is due.
    assert occupancy._due_keys(now + timedelta(minutes=4, seconds=1)) == [b"busy"]
    assert occupancy._due_keys(now + timedelta(hours=30)) == []
