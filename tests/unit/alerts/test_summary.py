"""Building summaries: the latest state per room rolled up, published only when it changes."""

from __future__ import annotations

import json

from alerts.summary import BuildingSummaries
from ingest.models import RoomState
from ingest.settings import load_settings
from tests.support.samples import T0


def state(room: str, count: int, limit: int, building: str = "hq") -> RoomState:
    return RoomState(
        building=building,
        room=room,
        count=count,
        limit=limit,
        capacity=limit * 2,
        free=max(0, limit - count),
        status="over" if count > limit else "open",
        ts=T0,
    )


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, object], int, bool]] = []

    def __call__(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.messages.append((topic, json.loads(payload), qos, retain))


def test_latest_state_per_room_rolls_up_per_building() -> None:
    published = Published()
    summaries = BuildingSummaries(load_settings(mqtt_prefix="p"), published)
    for s in (state("a", 3, 10), state("b", 12, 10), state("a", 11, 10), state("x", 5, 1, "ro")):
        summaries.update(s)
    assert summaries.summary("hq").model_dump() == {
        "building": "hq",
        "rooms_over_limit": ["a", "b"],
        "headcount": 23,
    }
    assert summaries.rollup("hq") == "hq: 2 rooms over limit, 23 people in"
    assert summaries.rollup("ro") == "ro: 1 room over limit, 5 people in"
    summaries.flush()
    assert [(t, m["headcount"], q, r) for t, m, q, r in published.messages] == [
        ("p/hq/summary", 23, 1, True),
        ("p/ro/summary", 5, 1, True),
    ]


def test_only_changed_buildings_are_published_again() -> None:
    published = Published()
    summaries = BuildingSummaries(load_settings(mqtt_prefix="p"), published)
    summaries.update(state("a", 3, 10))
    summaries.flush()
    summaries.update(state("a", 3, 10))  # the same state again (another worker's copy)
    summaries.flush()
    summaries.update(state("a", 4, 10))
    summaries.flush()
    assert [m["headcount"] for _, m, _, _ in published.messages] == [3, 4]
