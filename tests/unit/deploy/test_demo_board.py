"""The demo's terminal board: what it keeps of the pipeline's MQTT output, and what it draws."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Console

from deploy.demo.board import TerminalBoard
from ingest.site import Site
from tests.support.samples import sample_alert
from tests.unit.alerts.test_board_state import HQ, state


def _state(room: str, count: int) -> bytes:
    return state(count, room=room).model_dump_json().encode()


def test_it_keeps_the_latest_state_per_room_and_the_most_rooms_ever_occupied(
    sample_site: Site,
) -> None:
    board = TerminalBoard(sample_site, "occupancy")
    board.take(f"occupancy/{HQ}/f2-meeting-a/state", _state("f2-meeting-a", 3))
    board.take(f"occupancy/{HQ}/f2-meeting-b/state", _state("f2-meeting-b", 2))
    board.take(f"occupancy/{HQ}/f2-meeting-a/state", _state("f2-meeting-a", 0))
    board.take(f"occupancy/{HQ}/f2-meeting-b/state", _state("f2-meeting-b", 0))
    assert {room: s.count for (_, room), s in board.rooms.items()} == {
        "f2-meeting-a": 0,
        "f2-meeting-b": 0,
    }
    # Everyone has gone home, but two rooms had people at once.
    assert board.peak_rooms_with_people == 2


def test_alerts_and_presence_are_counted_and_bad_payloads_ignored(sample_site: Site) -> None:
    board = TerminalBoard(sample_site, "occupancy")
    board.take(f"occupancy/{HQ}/alerts", sample_alert("a1", building=HQ).model_dump_json().encode())
    board.take(f"occupancy/{HQ}/alerts", b"{not json")
    board.take(f"occupancy/{HQ}/presence", b'{"count": 9, "planned_wfo": 120}')
    board.take(f"occupancy/{HQ}/presence", b'{"count": 7, "planned_wfo": 120}')
    board.take(f"occupancy/{HQ}/presence", b'{"count": "seven"}')
    board.take(f"occupancy/{HQ}/f2-meeting-a/state", b"")  # a cleared retained state
    board.take("elsewhere/topic", b"anything")
    assert (board.alerts_seen, board.presence, board.rooms) == (1, {HQ: (7, 120)}, {})
    assert board.checked_in_peak == {HQ: 9}
    console = Console(width=120, record=True)
    console.print(board.render())
    drawn = console.export_text()
    name = sample_site.buildings[0].name
    assert f"{name} — 0 people in rooms, 7 checked in (120 planned in the office)" in drawn
    assert "hq-jakarta/R1" in drawn  # the one alert that could be read


def test_alert_times_are_the_buildings_local_time(sample_site: Site) -> None:
    """An operator in Jakarta reads 08:20 WIB, not the 01:20 of UTC the alert carries."""
    board = TerminalBoard(sample_site, "occupancy")
    at = datetime(2026, 12, 4, 1, 20, 43, tzinfo=UTC)
    for building in ("hq-jakarta", "ro-makassar"):
        alert = sample_alert(f"a-{building}", building=building).model_copy(update={"ts": at})
        board.take(f"occupancy/{building}/alerts", alert.model_dump_json().encode())
    console = Console(width=120, record=True)
    console.print(board.render())
    drawn = console.export_text()
    assert "08:20:43 WIB" in drawn
    assert "09:20:43 WITA" in drawn
    assert "01:20:43" not in drawn
