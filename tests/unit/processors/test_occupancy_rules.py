"""The occupancy rules: dedup by seq, clamping, daily and dwell resets, offline, status."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.models import DoorRecord
from ingest.site import Building, Room
from processors.occupancy_rules import (
    MAX_MISSING,
    Finding,
    RoomCount,
    SensorState,
    apply_door,
    last_reset_boundary,
    next_due,
    sensor_silence,
    tick,
)

MAX_DWELL = timedelta(hours=4)
OFFLINE_AFTER = timedelta(minutes=5)
INDONESIA = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
NOON = datetime(2026, 11, 27, 5, 0, tzinfo=UTC)  # 12:00 WIB: far from any reset
# Passed to tick where only resets matter: s1 is already reported offline, so stays quiet.
S1_OFFLINE = frozenset({"s1"})


def building(timezone: str = "Asia/Jakarta", reset_time: str = "03:00") -> Building:
    room = Room(id="r1", name="Ruang rapat", type="meeting", capacity=20)
    return Building(id="b1", name="Kantor", timezone=timezone, reset_time=reset_time, rooms=[room])


JAKARTA = building()


def local(timezone: str, text: str) -> datetime:
    """A building-local wall time, e.g. local("Asia/Jayapura", "2026-11-27T07:30")."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone))


def door(
    seq: int,
    at: datetime = NOON,
    entered: int = 0,
    exited: int = 0,
    *,
    sensor: str = "s1",
    ts: datetime | None = None,
) -> DoorRecord:
    return DoorRecord(
        building="b1",
        room="r1",
        sensor=sensor,
        seq=seq,
        ts=ts or NOON + timedelta(seconds=seq),
        entered=entered,
        exited=exited,
        received_at=at,
    )


def empty() -> RoomCount:
    return RoomCount(building="b1", room="r1")


def run(
    records: Iterable[DoorRecord], state: RoomCount | None = None, where: Building = JAKARTA
) -> tuple[RoomCount, list[Finding]]:
    state = state or empty()
    findings: list[Finding] = []
    for record in records:
        state, found = apply_door(state, record, where, MAX_DWELL)
        findings += found
    return state, findings


def kinds(findings: Iterable[Finding]) -> list[str]:
    return [f.kind for f in findings]


# --- dedup by seq ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seqs", "count", "expected"),
    [
        pytest.param([1], 1, [], id="first-message"),
        pytest.param([5], 1, [], id="first-message-any-seq"),
        pytest.param([1, 2, 3], 3, [], id="in-order"),
        pytest.param([1, 1], 1, ["duplicate"], id="redelivered"),
        pytest.param([1, 2, 3, 2], 3, ["duplicate"], id="old-seq"),
        pytest.param([1, 3], 2, ["sequence_gap"], id="gap"),
        pytest.param([1, 4, 2, 3], 4, ["sequence_gap", "late_fill", "late_fill"], id="filled"),
        pytest.param([1, 4, 2, 2], 3, ["sequence_gap", "late_fill", "duplicate"], id="fill-once"),
        pytest.param([57, 0], 2, ["sensor_restart"], id="restart"),
        pytest.param([57, 0, 0], 2, ["sensor_restart", "duplicate"], id="restart-redelivered"),
        pytest.param([0, 0], 1, ["duplicate"], id="boot-redelivered"),
        # A bridge crash redelivers a whole window: the restart and what followed it.
        pytest.param(
            [57, 0, 1, 2, 0, 1, 2],
            4,
            ["sensor_restart", "duplicate", "duplicate", "duplicate"],
            id="restart-window-redelivered",
        ),
    ],
)
def test_dedup_by_seq(seqs: list[int], count: int, expected: list[str]) -> None:
    state, findings = run(door(s, NOON + timedelta(seconds=i), 1) for i, s in enumerate(seqs))
    assert state.count == count
    assert kinds(findings) == expected


@pytest.mark.parametrize(
    "records",
    [
        [door(1, entered=2)],
        [door(1, entered=2), door(2, exited=1)],
        [door(1), door(5, entered=1)],
        [door(1), door(5), door(3, entered=1)],
        [door(57, entered=3), door(0, entered=1)],
        [door(1, entered=1, exited=4)],
        [door(1, NOON - timedelta(hours=5), entered=2), door(2, exited=1)],
    ],
    ids=["first", "next", "gap", "late-fill", "restart", "underflow", "dwell-reset"],
)
def test_redelivery_changes_nothing(records: list[DoorRecord]) -> None:
    once, _ = run(records)
    twice, findings = run([records[-1]], once)
    assert twice == once
    assert kinds(findings) == ["duplicate"]


def test_duplicate_moves_only_last_seen() -> None:
    state, _ = run([door(1, entered=2), door(2, exited=1)])
    later = NOON + timedelta(minutes=3)
    again, findings = apply_door(state, door(1, later, entered=2), JAKARTA, MAX_DWELL)
    assert again == state.model_copy(
        update={"sensors": {"s1": state.sensors["s1"].model_copy(update={"last_seen": later})}}
    )
    assert findings[0].value == 1


@pytest.mark.parametrize(
    ("last", "seq", "missing", "remembered"),
    [
        (1, 3, 1, [2]),
        (3, 10, 6, [4, 5, 6, 7, 8, 9]),
        (1, 1 + MAX_MISSING + 1, MAX_MISSING, list(range(2, MAX_MISSING + 2))),
        (1, 10**15, 10**15 - 2, list(range(10**15 - MAX_MISSING, 10**15))),
    ],
    ids=["one", "six", "exactly-max", "huge-jump-keeps-newest"],
)
def test_sequence_gap(last: int, seq: int, missing: int, remembered: list[int]) -> None:
    state, findings = run([door(last), door(seq, entered=1, ts=NOON)])
    assert [(f.kind, f.value, f.sensor) for f in findings] == [("sequence_gap", missing, "s1")]
    assert state.sensors["s1"].missing == remembered
    assert state.sensors["s1"].last_seq == seq
    assert state.count == 1


def test_gaps_accumulate_and_keep_the_newest() -> None:
    state, _ = run([door(1), door(200), door(400)])
    kept = state.sensors["s1"].missing
    assert len(kept) == MAX_MISSING
    assert kept == [*range(2, 200), *range(201, 400)][-MAX_MISSING:]


def test_late_fill_applies_and_shrinks_the_gap() -> None:
    state, findings = run([door(1), door(5, entered=1), door(3, entered=2)])
    assert state.count == 3
    assert state.sensors["s1"].missing == [2, 4]
    assert state.sensors["s1"].last_seq == 5
    assert state.sensors["s1"].last_ts == NOON + timedelta(seconds=5)
    assert [(f.kind, f.value) for f in findings] == [("sequence_gap", 3), ("late_fill", 2)]


def test_restart_clears_missing_and_restarts_the_sequence() -> None:
    state, findings = run([door(50), door(57, entered=3), door(0, entered=1), door(1, exited=1)])
    assert kinds(findings) == ["sequence_gap", "sensor_restart"]
    assert findings[1].value == 57
    assert state.sensors["s1"] == SensorState(
        last_seq=1,
        last_ts=NOON + timedelta(seconds=1),
        last_seen=NOON,
        missing=[],
        restarted_at=NOON,
    )
    assert state.count == 3


def test_a_second_restart_with_a_new_ts_is_applied() -> None:
    first = door(0, entered=1, ts=NOON)
    second = door(0, entered=1, ts=NOON + timedelta(minutes=1))
    state, findings = run([door(57), first, first, second])
    assert kinds(findings) == ["sensor_restart", "duplicate", "sensor_restart"]
    assert state.count == 2


def test_sensors_are_numbered_independently() -> None:
    state, findings = run([door(7, entered=1, sensor="a"), door(7, entered=1, sensor="b")])
    assert state.count == 2
    assert findings == []


# --- applying counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moves", "count", "raw", "underflows"),
    [
        ([(3, 0), (0, 2)], 1, 1, []),
        ([(1, 0), (0, 3)], 0, -2, [2]),
        ([(0, 2), (1, 0)], 1, -1, [2]),
        ([(0, 1), (0, 1), (2, 0), (0, 3)], 0, -3, [1, 1, 1]),
        ([(2, 2)], 0, 0, []),
    ],
    ids=["normal", "clamped", "clamped-then-in", "repeated", "in-and-out"],
)
def test_underflow_clamps_and_keeps_raw_balance(
    moves: list[tuple[int, int]], count: int, raw: int, underflows: list[int]
) -> None:
    records = [door(i + 1, NOON, entered, exited) for i, (entered, exited) in enumerate(moves)]
    state, findings = run(records)
    assert (state.count, state.raw_balance) == (count, raw)
    assert state.entered == sum(e for e, _ in moves)
    assert state.exited == sum(x for _, x in moves)
    assert [f.value for f in findings if f.kind == "count_underflow"] == underflows


def test_heartbeat_moves_seq_and_last_seen_not_activity() -> None:
    state, _ = run([door(1, NOON, entered=2)])
    later = NOON + timedelta(minutes=10)
    beat, findings = apply_door(state, door(2, later), JAKARTA, MAX_DWELL)
    assert findings == []
    assert beat.last_activity == NOON
    assert beat.sensors["s1"].last_seen == later
    assert beat.sensors["s1"].last_seq == 2
    assert beat.count == 2


def test_times_never_move_backwards() -> None:
    later = NOON + timedelta(minutes=1)
    state, _ = run([door(1, later, entered=1), door(2, NOON, entered=1)])
    assert state.last_activity == later
    assert state.sensors["s1"].last_seen == later


def test_a_record_for_another_room_is_refused() -> None:
    other = door(1).model_copy(update={"room": "r2"})
    with pytest.raises(ValueError, match="b1/r2"):
        apply_door(empty(), other, JAKARTA, MAX_DWELL)


def test_state_round_trips_through_json() -> None:
    state, _ = run([door(1, entered=3), door(4, exited=5), door(0, NOON + MAX_DWELL * 2)])
    assert RoomCount.model_validate_json(state.model_dump_json()) == state


# --- daily reset -----------------------------------------------------------------------


@pytest.mark.parametrize("zone", INDONESIA)
@pytest.mark.parametrize(
    ("activity", "record", "reset"),
    [
        ("2026-11-27T02:59", "2026-11-27T03:01", "2026-11-27T03:00"),
        ("2026-11-27T01:00", "2026-11-27T03:00", "2026-11-27T03:00"),
        ("2026-11-26T08:00", "2026-11-27T07:30", "2026-11-27T03:00"),
        ("2026-11-20T08:00", "2026-11-27T02:00", "2026-11-26T03:00"),
        ("2026-11-27T03:01", "2026-11-27T23:00", None),
        ("2026-11-27T03:00", "2026-11-28T02:59", None),
        ("2026-11-27T02:00", "2026-11-27T02:59", None),
    ],
    ids=[
        "crosses-0300",
        "boundary-at-record",
        "next-morning",
        "week-later",
        "same-day",
        "activity-at-boundary",
        "before-boundary",
    ],
)
def test_daily_reset_in_local_time(
    zone: str, activity: str, record: str, reset: str | None
) -> None:
    where = building(zone)
    active, _ = run([door(1, local(zone, activity), entered=5, exited=1)], where=where)
    after, findings = apply_door(
        active, door(2, local(zone, record), entered=1), where, timedelta(days=30)
    )
    if reset is None:
        assert findings == []
        assert (after.count, after.raw_balance, after.entered) == (5, 5, 6)
        return
    boundary = local(zone, reset)
    assert [(f.kind, f.value, f.at) for f in findings] == [("daily_reset", 4, boundary)]
    assert after.last_reset == boundary
    assert (after.count, after.raw_balance, after.entered, after.exited) == (1, 1, 1, 0)


def test_a_wit_morning_is_after_its_own_boundary_not_the_utc_day() -> None:
    where = building("Asia/Jayapura")
    record = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # 07:30 WIT on the 27th
    assert last_reset_boundary(record, where) == datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    evening = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)  # 02:00 WIT on the 27th
    active, _ = run([door(1, evening, entered=2)], where=where)
    _, findings = apply_door(active, door(2, record), where, timedelta(days=1))
    assert kinds(findings) == ["daily_reset"]


def test_reset_happens_once_per_day_and_not_for_an_idle_room() -> None:
    zone = "Asia/Makassar"
    where = building(zone)
    active, _ = run([door(1, local(zone, "2026-11-27T10:00"), entered=2)], where=where)
    reset, first = tick(
        active, local(zone, "2026-11-28T03:05"), where, MAX_DWELL, OFFLINE_AFTER, S1_OFFLINE
    )
    assert kinds(first) == ["daily_reset"]
    for later in ("2026-11-28T04:00", "2026-11-29T03:05", "2026-12-05T12:00"):
        again, found = tick(reset, local(zone, later), where, MAX_DWELL, OFFLINE_AFTER, S1_OFFLINE)
        assert (again, found) == (reset, [])


def test_a_record_stamped_before_a_tick_reset_is_counted_and_reset_next_day() -> None:
    zone = "Asia/Jakarta"
    where = building(zone)
    active, _ = run([door(1, local(zone, "2026-11-26T18:00"), entered=3)], where=where)
    reset, _ = tick(
        active, local(zone, "2026-11-27T03:00:05"), where, MAX_DWELL, OFFLINE_AFTER, S1_OFFLINE
    )
    late, findings = apply_door(
        reset, door(2, local(zone, "2026-11-27T02:59:59"), entered=1), where, MAX_DWELL
    )
    assert findings == []
    assert late.count == 1
    _, next_day = tick(
        late, local(zone, "2026-11-28T03:00"), where, timedelta(days=2), OFFLINE_AFTER, S1_OFFLINE
    )
    assert [(f.kind, f.value) for f in next_day] == [("daily_reset", 1)]


@pytest.mark.parametrize(
    ("zone", "reset_time", "now", "boundary"),
    [
        ("Asia/Jakarta", "03:00", "2026-11-27T03:00:00+07:00", "2026-11-27T03:00:00+07:00"),
        ("Asia/Jakarta", "03:00", "2026-11-27T02:59:59+07:00", "2026-11-26T03:00:00+07:00"),
        ("Asia/Makassar", "03:00", "2026-11-26T18:59:00+00:00", "2026-11-26T03:00:00+08:00"),
        ("Asia/Makassar", "03:00", "2026-11-26T19:00:00+00:00", "2026-11-27T03:00:00+08:00"),
        ("Asia/Jayapura", "03:00", "2026-11-26T22:30:00+00:00", "2026-11-27T03:00:00+09:00"),
        ("Asia/Jayapura", "00:00", "2026-12-31T15:00:00+00:00", "2027-01-01T00:00:00+09:00"),
        ("Asia/Jayapura", "23:59", "2026-11-27T23:58:00+09:00", "2026-11-26T23:59:00+09:00"),
        # Spring forward (02:00 → 03:00): 02:30 does not exist and is taken as 03:30 CEST.
        ("Europe/Berlin", "02:30", "2026-03-29T03:10:00+02:00", "2026-03-28T02:30:00+01:00"),
        ("Europe/Berlin", "02:30", "2026-03-29T03:30:00+02:00", "2026-03-29T03:30:00+02:00"),
        # Fall back (03:00 → 02:00): 02:30 happens twice; the first one counts.
        ("Europe/Berlin", "02:30", "2026-10-25T02:40:00+01:00", "2026-10-25T02:30:00+02:00"),
        ("Europe/Berlin", "03:00", "2026-03-30T03:00:00+02:00", "2026-03-30T03:00:00+02:00"),
    ],
)
def test_last_reset_boundary(zone: str, reset_time: str, now: str, boundary: str) -> None:
    found = last_reset_boundary(datetime.fromisoformat(now), building(zone, reset_time))
    assert found == datetime.fromisoformat(boundary)
    assert found.tzinfo is UTC


def test_last_reset_boundary_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="no UTC offset"):
        last_reset_boundary(datetime(2026, 11, 27, 8, 0), JAKARTA)


@given(
    now=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    zone=st.sampled_from([*INDONESIA, "Europe/Berlin", "America/New_York"]),
    reset_time=st.sampled_from(["00:00", "02:30", "03:00", "23:59"]),
)
def test_boundary_is_the_latest_reset_at_or_before_now(
    now: datetime, zone: str, reset_time: str
) -> None:
    where = building(zone, reset_time)
    boundary = last_reset_boundary(now, where)
    assert boundary <= now < boundary + timedelta(hours=25)
    assert last_reset_boundary(boundary, where) == boundary
    assert last_reset_boundary(boundary - timedelta(microseconds=1), where) < boundary
    if zone in INDONESIA:  # no DST: exactly the wall time, at most a day ago
        assert boundary.astimezone(where.zone).time() == where.reset_at
        assert now - boundary < timedelta(days=1)


# --- max dwell -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("idle", "count", "reset"),
    [
        (MAX_DWELL + timedelta(seconds=1), 3, True),
        (MAX_DWELL, 3, False),
        (MAX_DWELL * 2, 0, False),
    ],
    ids=["over", "exactly", "empty-room"],
)
def test_dwell_reset(idle: timedelta, count: int, reset: bool) -> None:
    start = NOON - MAX_DWELL * 2
    state, _ = run([door(1, start, entered=count + 1, exited=1)])
    at = start + idle
    after, findings = apply_door(state, door(2, at, entered=1), JAKARTA, MAX_DWELL)
    if reset:
        assert [(f.kind, f.value, f.at) for f in findings] == [("dwell_reset", count, at)]
        assert (after.count, after.raw_balance, after.entered, after.exited) == (1, 1, 1, 0)
        assert after.last_reset == at
    else:
        assert findings == []
        assert after.count == count + 1


def test_heartbeats_do_not_keep_a_stale_room_alive() -> None:
    start = NOON - MAX_DWELL - timedelta(hours=1)
    state, _ = run([door(1, start, entered=4)])
    for seq, minutes in enumerate(range(30, 240, 30), start=2):
        state, findings = apply_door(
            state, door(seq, start + timedelta(minutes=minutes)), JAKARTA, MAX_DWELL
        )
        assert findings == []
    state, findings = tick(state, NOON, JAKARTA, MAX_DWELL, OFFLINE_AFTER, S1_OFFLINE)
    assert [(f.kind, f.value) for f in findings] == [("dwell_reset", 4)]
    assert state.count == 0


# --- tick and offline ------------------------------------------------------------------


def two_sensors() -> RoomCount:
    state, _ = run(
        [door(1, NOON, entered=1, sensor="a"), door(1, NOON + timedelta(minutes=4), sensor="b")]
    )
    return state


@pytest.mark.parametrize(
    ("minutes", "offline", "expected"),
    [
        (5, frozenset[str](), []),
        (6, frozenset[str](), [("sensor_offline", "a", 360)]),
        (6, frozenset({"a"}), []),
        (10, frozenset({"a"}), [("sensor_offline", "b", 360)]),
        (10, frozenset[str](), [("sensor_offline", "a", 600), ("sensor_offline", "b", 360)]),
        (1, frozenset({"a", "b"}), [("sensor_online", "a", 60), ("sensor_online", "b", 0)]),
        (1, frozenset({"unknown"}), []),
    ],
    ids=["quiet", "one-silent", "already-reported", "second", "both", "back", "never-heard"],
)
def test_tick_offline(
    minutes: int, offline: frozenset[str], expected: list[tuple[str, str, int]]
) -> None:
    state = two_sensors()
    now = NOON + timedelta(minutes=minutes)
    after, findings = tick(state, now, JAKARTA, MAX_DWELL, OFFLINE_AFTER, offline)
    assert after == state
    assert [(f.kind, f.sensor, f.value) for f in findings] == expected
    assert all(f.at == now for f in findings)


def test_sensor_silence() -> None:
    state = two_sensors()
    assert sensor_silence(state, NOON + timedelta(minutes=10)) == {
        "a": timedelta(minutes=10),
        "b": timedelta(minutes=6),
    }
    assert sensor_silence(state, NOON) == {"a": timedelta(0), "b": timedelta(0)}
    assert sensor_silence(empty(), NOON) == {}


def test_tick_is_deterministic() -> None:
    state = two_sensors()
    now = NOON + timedelta(days=1)
    args = (now, JAKARTA, MAX_DWELL, OFFLINE_AFTER, frozenset[str]())
    assert tick(state, *args) == tick(state, *args)
    assert kinds(tick(state, *args)[1]) == ["daily_reset", "sensor_offline", "sensor_offline"]


# --- status ----------------------------------------------------------------------------


# --- properties over arbitrary arrival orders -------------------------------------------


@st.composite
def deliveries(draw: st.DrawFn, *, no_underflow: bool) -> tuple[list[DoorRecord], int]:
    """A sensor booting at seq 0, then seqs 1..n in any order with redeliveries anywhere.

    Returns the records in arrival order and the sum of entered − exited over distinct seqs.
    """
    n = draw(st.integers(1, 100))
    moves = draw(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=n, max_size=n))
    if no_underflow:
        moves = [(max(pair), min(pair)) for pair in moves]
    arrivals = list(draw(st.permutations(range(1, n + 1))))
    for seq in draw(st.lists(st.integers(1, n), max_size=n)):
        arrivals.insert(draw(st.integers(0, len(arrivals))), seq)
    records = [door(0, NOON)] + [
        door(seq, NOON + timedelta(seconds=i + 1), *moves[seq - 1])
        for i, seq in enumerate(arrivals)
    ]
    return records, sum(entered - exited for entered, exited in moves)


@given(deliveries(no_underflow=True))
def test_any_order_and_redelivery_counts_each_seq_once(
    case: tuple[list[DoorRecord], int],
) -> None:
    records, balance = case
    state, findings = run(records)
    assert state.count == state.raw_balance == balance
    assert state.sensors["s1"].missing == []
    assert "count_underflow" not in kinds(findings)


@given(deliveries(no_underflow=False))
def test_redelivery_is_idempotent_and_count_never_negative(
    case: tuple[list[DoorRecord], int],
) -> None:
    records, balance = case
    state = empty()
    for record in records:
        state, _ = apply_door(state, record, JAKARTA, MAX_DWELL)
        again, _ = apply_door(state, record, JAKARTA, MAX_DWELL)
        assert again == state
        assert state.count >= 0
    # Clamping makes the count depend on order; the audit balance does not.
    assert state.raw_balance == balance


# --- when a tick can find something ---------------------------------------------------


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["s1", "s2"]),
            st.integers(0, 3),
            st.integers(0, 3),
            st.integers(0, 36 * 3600),
        ),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(INDONESIA),
    st.frozensets(st.sampled_from(["s1", "s2"])),
    st.lists(st.integers(1, 48 * 3600), min_size=1, max_size=6),
)
def test_a_tick_before_the_rooms_due_time_finds_nothing(
    events: list[tuple[str, int, int, int]],
    zone: str,
    offline: frozenset[str],
    probes: list[int],
) -> None:
    """The worker ticks a room only from `next_due` on: before it, `tick` changes nothing,
    and at it, a tick of the room with the same sensors reported offline finds something."""
    where = building(zone)
    state, last = empty(), NOON
    seqs = {"s1": 0, "s2": 0}
    for sensor, entered, exited, offset in sorted(events, key=lambda e: e[3]):
        last = NOON + timedelta(seconds=offset)
        seqs[sensor] += 1
        record = door(seqs[sensor], last, entered, exited, sensor=sensor, ts=last)
        state, _ = apply_door(state, record, where, MAX_DWELL)
    # The tick after the last event, whose findings the worker's handler takes up.
    state, found = tick(state, last, where, MAX_DWELL, OFFLINE_AFTER, offline)
    online = {f.sensor or "" for f in found if f.kind == "sensor_online"}
    offline = (offline - online) | {f.sensor or "" for f in found if f.kind == "sensor_offline"}
    due = next_due(state, where, MAX_DWELL, OFFLINE_AFTER)
    for probe in probes:
        at = last + timedelta(seconds=probe)
        if due is not None and at >= due:
            continue
        assert tick(state, at, where, MAX_DWELL, OFFLINE_AFTER, offline) == (state, [])
    if due is not None and not offline:
        after, found = tick(state, due, where, MAX_DWELL, OFFLINE_AFTER, offline)
        assert found or after != state
