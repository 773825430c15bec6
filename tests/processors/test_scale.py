"""A ministry's deployment (bench/scale_gen.py) validates, and the workers' periodic work
costs what is due, not what exists."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploy.ministry import MINISTRY, SMALL, building_id, employee_id, generate
from ingest.clock import ReplayClock
from ingest.roster import Roster, load_roster
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site
from processors.app import build_app
from processors.attendance import Attendance, Presence, PresenceBoard

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


@pytest.mark.parametrize("which", ["sample", "generated"])
def test_planned_wfo_is_the_count_of_everyone_scheduled_in(
    which: str, sample_site: Site, sample_roster: Roster, tmp_path: Path
) -> None:
    if which == "sample":
        site, roster = sample_site, sample_roster
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
