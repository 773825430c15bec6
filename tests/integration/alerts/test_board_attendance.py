"""The board's attendance page and muster list over days and presences given by hand."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from alerts.board import BoardState, make_app
from alerts.board.attendance import AttendanceBoard
from ingest.clock import wall_now
from ingest.pseudonym import Pseudonyms
from ingest.roster import Roster
from ingest.settings import load_settings
from ingest.site import Site
from processors.attendance_days import Presence
from processors.attendance_period import DayView
from tests.integration.alerts.test_board_routes import Console, guard_for, login, next_event
from tests.support.pipeline import replay_clock

HQ = "hq-jakarta"
KEY = "k" * 32


def board(
    site: Site, roster: Roster, inside: list[Presence], *, names: bool = False
) -> AttendanceBoard:
    settings = load_settings(board_show_names=names, pseudonym_key=KEY).with_clock(replay_clock())
    return AttendanceBoard(settings, site, roster, lambda b: [p for p in inside if p.building == b])


def late_day(employee: str, minutes: int) -> DayView:
    today = replay_clock().start.date()
    return DayView.model_validate(
        {
            "employee": employee,
            "date": today,
            "scheduled": "wfo",
            "status": "late",
            "late_minutes": minutes,
            "first_check_in": "2026-11-23T09:30:00+07:00",
        }
    )


def test_today_counts_late_list_and_week_of_a_building(
    sample_site: Site, sample_roster: Roster
) -> None:
    hq = sample_roster.employees_in(HQ)
    today = replay_clock().start.date()
    office = [e for e in hq if sample_roster.scheduled(e, today) == "wfo"]
    attendance = board(sample_site, sample_roster, [])
    attendance.take(late_day(office[0].id, 25))
    attendance.take(late_day(office[1].id, 5))
    view = attendance.view(HQ)
    assert view is not None
    assert view.date == today
    assert view.total.employees == len(hq)
    assert view.total.planned_wfo == len(office)
    assert view.total.present == 2
    assert view.total.statuses["late"] == 2
    assert view.total.statuses["not_in_yet"] == len(office) - 2
    pseudonyms = Pseudonyms(KEY.encode())
    assert [(x.who, x.minutes) for x in view.late] == [
        (pseudonyms(office[0].id), 25),
        (pseudonyms(office[1].id), 5),
    ]
    assert [d.date for d in view.week] == [today - timedelta(days=n) for n in range(6, -1, -1)]
    assert view.week[-1].present == 2
    assert view.week[-1].planned_wfo == len(office)
    # A day past the week is not kept; a tombstone removes a day.
    attendance.take(late_day(office[2].id, 1).model_copy(update={"date": today - timedelta(30)}))
    attendance.forget(office[1].id, today)
    after = attendance.view(HQ)
    assert after is not None
    assert [x.minutes for x in after.late] == [25]


def test_names_show_only_when_the_setting_says_so(sample_site: Site, sample_roster: Roster) -> None:
    someone = next(e for e in sample_roster.employees_in(HQ) if e.name)
    since = datetime.fromisoformat("2026-11-23T08:00:00+07:00")
    inside = [Presence(employee=someone.id, building=HQ, since=since)]
    hidden = board(sample_site, sample_roster, inside).muster(HQ)
    shown = board(sample_site, sample_roster, inside, names=True).muster(HQ)
    assert hidden is not None and shown is not None
    assert hidden.count == shown.count == 1
    assert hidden.people[0].who.startswith("p-")
    assert hidden.people[0].employee is None
    assert (shown.people[0].who, shown.people[0].employee) == (someone.name, someone.id)


def test_the_pages_and_their_json_and_events_are_served(
    sample_site: Site, sample_roster: Roster, tmp_path: Path
) -> None:
    attendance = board(sample_site, sample_roster, [])
    someone = next(
        e
        for e in sample_roster.employees_in(HQ)
        if sample_roster.scheduled(e, replay_clock().start.date()) == "wfo"
    )

    async def run() -> None:
        guard = guard_for(tmp_path)
        app = make_app(BoardState(sample_site), Console(), guard, wall_now, attendance)
        async with TestClient(TestServer(app)) as client:
            for path, marker in [
                (f"/attendance/{HQ}", "attendance.js"),
                (f"/muster/{HQ}", "muster.js"),
            ]:
                page = await client.get(path)
                assert page.status == 200, path
                assert marker in await page.text()
            assert (await client.get("/attendance/nowhere")).status == 404
            # The data names people: nothing without a login, not even whether it exists.
            for path in (f"/api/muster/{HQ}", f"/api/attendance/{HQ}", "/api/muster/nowhere"):
                assert (await client.get(path)).status == 401, path
            await login(client, "watcher")
            assert (await client.get("/api/muster/nowhere")).status == 404
            muster: Any = await (await client.get(f"/api/muster/{HQ}")).json()
            assert muster["count"] == 0
            stream = await client.get(f"/api/attendance/{HQ}/events")
            name, first = await next_event(stream)
            assert (name, first["late"]) == ("attendance", [])
            attendance.take(late_day(someone.id, 12))
            _, second = await next_event(stream)
            assert [x["minutes"] for x in second["late"]] == [12]
            stream.close()

        # A worker without a roster has no attendance: the routes say so.
        bare = make_app(BoardState(sample_site), Console(), guard, wall_now)
        async with TestClient(TestServer(bare)) as client:
            await login(client, "watcher")
            answer = await client.get(f"/api/attendance/{HQ}")
            assert answer.status == 404
            assert "OCC_ROSTER_FILE" in await answer.text()

    asyncio.run(run())
