"""The stall watchdog's rule: records waiting on a partition whose position does not move."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from processors.watchdog import Seen, stalled

AFTER = 60.0


def test_a_partition_waiting_without_moving_for_the_limit_is_stalled() -> None:
    seen, stuck = stalled({}, [("door:0", 5, 9)], now=0.0, after_s=AFTER)
    assert (seen, stuck) == ({"door:0": Seen(5, 0.0)}, [])
    seen, stuck = stalled(seen, [("door:0", 5, 12)], now=59.9, after_s=AFTER)
    assert stuck == []
    seen, stuck = stalled(seen, [("door:0", 5, 12)], now=60.0, after_s=AFTER)
    assert stuck == ["door:0"]


def test_moving_or_caught_up_or_unknown_is_never_stalled() -> None:
    seen = {"door:0": Seen(5, 0.0), "door:1": Seen(7, 0.0), "door:2": Seen(3, 0.0)}
    now = [("door:0", 6, 9), ("door:1", 7, 7), ("door:2", None, 9), ("door:3", 1, None)]
    kept, stuck = stalled(seen, now, now=1000.0, after_s=AFTER)
    assert stuck == []
    assert kept == {"door:0": Seen(6, 1000.0)}  # moved: its clock starts again


def test_a_partition_handed_away_is_forgotten() -> None:
    kept, stuck = stalled({"door:4": Seen(5, 0.0)}, [], now=1000.0, after_s=AFTER)
    assert (kept, stuck) == ({}, [])


@given(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=40))
def test_a_partition_that_moves_every_check_never_stalls(steps: list[int]) -> None:
    seen: dict[str, Seen] = {}
    position = 0
    for i, step in enumerate(steps):
        position += step + 1  # at least one record fetched between checks
        seen, stuck = stalled(seen, [("door:0", position, position + 10)], i * AFTER, AFTER)
        assert stuck == []
