"""The web board's state: the latest room state per room, alerts active until resolved."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from alerts.board import BoardState
from ingest.models import AckInfo, Alert, RoomState, Status
from ingest.site import Room, Site
from processors.attendance import PresenceCount
from tests.support.samples import T0, sample_alert

HQ = "hq-jakarta"
ROOM = "f2-meeting-a"  # capacity 20, meeting: limit 10 at "transition", 4 at "strict"


def state(count: int, limit: int = 10, room: str = ROOM, building: str = HQ) -> RoomState:
    status: Status = "over" if count > limit else "full" if count == limit else "open"
    return RoomState(
        building=building,
        room=room,
        count=count,
        limit=limit,
        capacity=20,
        free=max(0, limit - count),
        status=status,
        ts=T0,
    )


def alert(alert_id: str = "a1", **changes: object) -> Alert:
    base = sample_alert(alert_id, building=HQ).model_copy(update={"room": ROOM})
    return base.model_copy(update=changes)


def test_every_room_of_the_site_is_shown_with_its_latest_state(sample_site: Site) -> None:
    board = BoardState(sample_site)
    board.take_room_state(state(4))
    board.take_room_state(state(12))
    view = board.building(HQ)
    assert view is not None
    assert [r.room for r in view.rooms] == [r.id for r in sample_site.buildings[0].rooms]
    room = next(r for r in view.rooms if r.room == ROOM)
    assert (room.name, room.floor, room.count, room.limit, room.free, room.status) == (
        "Ruang Rapat A",
        2,
        12,
        10,
        0,
        "over",
    )
    assert view.summary.rooms_over_limit == [ROOM]
    assert view.summary.headcount == 12
    # A room never counted is empty, with its limit under the level in force.
    lobby = next(r for r in view.rooms if r.room == "f1-lobby")
    assert (lobby.count, lobby.limit, lobby.free, lobby.status) == (0, 60, 60, "open")
    assert lobby.ts is None
    assert board.building("ro-makassar") is not None
    assert board.room(HQ, "no-such-room") is None
    assert board.building("nowhere") is None


def test_rooms_never_counted_follow_the_policy_level(sample_site: Site) -> None:
    level = ["transition"]

    class Levels:
        def level_of(self, building: str) -> str:
            return level[0]

        def limit(self, building: str, room: Room) -> int:
            return sample_site.limit(room, level[0])

    board = BoardState(sample_site, Levels())
    assert board.room(HQ, ROOM) is not None
    assert board.room(HQ, ROOM).limit == 10  # type: ignore[union-attr]
    level[0] = "strict"
    assert board.room(HQ, ROOM).limit == 4  # type: ignore[union-attr]
    view = board.building(HQ)
    assert view is not None and view.level == "strict"


def test_states_of_unknown_buildings_are_ignored_and_unknown_rooms_appended(
    sample_site: Site,
) -> None:
    board = BoardState(sample_site)
    board.take_room_state(state(3, building="elsewhere"))
    board.take_room_state(state(3, room="f9-annex"))
    assert [b.building for b in board.buildings()] == [HQ, "ro-makassar"]
    view = board.building(HQ)
    assert view is not None
    assert view.rooms[-1].room == "f9-annex"
    assert (view.rooms[-1].name, view.rooms[-1].count) == ("f9-annex", 3)


def test_an_alert_is_active_until_resolved_and_acks_update_it(sample_site: Site) -> None:
    board = BoardState(sample_site)
    board.take_alert(alert("a1", severity="warning", value=8.0))
    board.take_alert(alert("a2", kind="sequence_gap", severity="info", ts=T0 + timedelta(1)))
    board.take_alert(alert("a1", severity="critical", value=12.0, ts=T0 + timedelta(seconds=5)))
    view = board.building(HQ)
    assert view is not None
    # The most severe first; one entry per alert id, its latest message.
    assert [(a.alert_id, a.severity, a.value) for a in view.alerts] == [
        ("a1", "critical", 12.0),
        ("a2", "info", 12.0),
    ]
    ack = AckInfo(by="guard-1", ts=T0 + timedelta(seconds=9))
    board.take_alert(alert("a1", severity="critical", ack=ack))
    acked = board.alert(HQ, "a1")
    assert acked is not None and acked.ack == ack
    board.take_alert(alert("a1", state="resolved", ack=ack))
    assert board.alert(HQ, "a1") is None
    view = board.building(HQ)
    assert view is not None
    assert [a.alert_id for a in view.alerts] == ["a2"]
    listing = {b.building: b for b in board.buildings()}
    assert listing[HQ].active_alerts == 1
    assert listing["ro-makassar"].active_alerts == 0
    # A resolution of an alert never seen active (it started before the log's retention)
    # changes nothing; an alert of a building not in the site is not shown.
    board.take_alert(alert("old", state="resolved"))
    board.take_alert(alert("x", building="elsewhere"))
    assert [a.alert_id for a in board.building(HQ).alerts] == ["a2"]  # type: ignore[union-attr]


def test_waiters_wake_once_per_change_of_their_building_and_miss_none(
    sample_site: Site,
) -> None:
    async def scenario() -> None:
        board = BoardState(sample_site)
        hq, anywhere, makassar = board.changed(HQ), board.changed(), board.changed("ro-makassar")
        board.take_room_state(state(1))
        assert hq.is_set() and anywhere.is_set() and not makassar.is_set()
        # Changes taken before a waiter looks again are not lost: the new event is fresh,
        # and is set by the next change.
        again = board.changed(HQ)
        assert again is not hq and not again.is_set()
        board.take_room_state(state(1))  # the same state again: no change
        assert not again.is_set()
        board.take_alert(alert("a1"))
        assert again.is_set()
        after = board.changed(HQ)
        board.mark_caught_up(rooms=True)
        assert after.is_set() and not board.caught_up
        board.mark_caught_up(alerts=True)
        assert board.caught_up and makassar.is_set()
        view = board.building(HQ)
        assert view is not None and view.caught_up
        # The policy level changed: every building's rooms may show other limits.
        makassar = board.changed("ro-makassar")
        board.touch()
        assert makassar.is_set()

    asyncio.run(scenario())


def test_checked_in_per_building_comes_from_the_presence_counts(sample_site: Site) -> None:
    async def scenario() -> None:
        board = BoardState(sample_site)
        view = board.building(HQ)
        assert view is not None and (view.checked_in, view.planned_wfo) == (None, None)
        waiter = board.changed(HQ)
        board.take_presence(PresenceCount(building=HQ, count=7, planned_wfo=120, ts=T0))
        assert waiter.is_set()
        view = board.building(HQ)
        assert view is not None and (view.checked_in, view.planned_wfo) == (7, 120)
        listing = {b.building: b.checked_in for b in board.buildings()}
        assert listing == {HQ: 7, "ro-makassar": None}
        # The same figures again wake nobody; a building not in the site is ignored.
        again = board.changed(HQ)
        board.take_presence(PresenceCount(building=HQ, count=7, planned_wfo=120, ts=T0))
        board.take_presence(PresenceCount(building="elsewhere", count=3, planned_wfo=0, ts=T0))
        assert not again.is_set()

    asyncio.run(scenario())
