"""The alert state machines: timelines of counts in, exactly the expected messages out."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.machine import (
    AlertPolicy,
    MachineState,
    RoomSnapshot,
    acknowledge,
    building_summary,
    capacity_step,
    event_alert_step,
    new_alert_id,
    resolve,
)
from ingest.models import IDENTIFIER_PATTERN, AckInfo, Alert
from tests.support.samples import T0, sequential_ids

LIMIT = 10  # warn level 8; with hysteresis 1 a warning releases below 7, a critical at 9
POLICY = AlertPolicy(min_dwell=timedelta(minutes=1))
Timeline = list[tuple[float, int]]
Expected = list[tuple[float, str, str]]


def at(minute: float) -> timedelta:
    return timedelta(minutes=minute)


def run(
    timeline: Timeline, policy: AlertPolicy = POLICY, limit: int = LIMIT
) -> tuple[MachineState, list[Alert]]:
    state, sent = MachineState(), []
    ids = sequential_ids()
    for minute, count in timeline:
        state, messages = capacity_step(
            state,
            building="B1",
            room="R1",
            count=count,
            limit=limit,
            now=T0 + at(minute),
            policy=policy,
            alert_id_factory=ids,
        )
        sent += messages
    return state, sent


def summary(messages: list[Alert]) -> Expected:
    return [((m.ts - T0) / at(1), m.severity, m.state) for m in messages]


CASES: list[tuple[str, Timeline, Expected, AlertPolicy]] = [
    ("quiet room", [(0, 5), (1, 7), (2, 0)], [], POLICY),
    ("warning once", [(0, 8), (1, 9), (2, 10)], [(0, "warning", "active")], POLICY),
    (
        "warning resolves after the dwell",
        [(0, 8), (1, 6), (1.5, 6), (2, 6)],
        [(0, "warning", "active"), (2, "warning", "resolved")],
        POLICY,
    ),
    ("warning hysteresis holds", [(0, 8), (1, 7), (5, 7)], [(0, "warning", "active")], POLICY),
    ("critical at once", [(0, 11), (1, 12)], [(0, "critical", "active")], POLICY),
    (
        "escalation",
        [(0, 8), (1, 11), (2, 12)],
        [(0, "warning", "active"), (1, "critical", "active")],
        POLICY,
    ),
    (
        "de-escalation after the dwell",
        [(0, 11), (1, 8), (2, 8), (3, 8)],
        [(0, "critical", "active"), (2, "warning", "active")],
        POLICY,
    ),
    (
        "de-escalation, then escalation again",
        [(0, 11), (1, 8), (2, 8), (3, 11)],
        [(0, "critical", "active"), (2, "warning", "active"), (3, "critical", "active")],
        POLICY,
    ),
    (
        "critical resolves directly",
        [(0, 12), (1, 5), (1.5, 5), (2, 5)],
        [(0, "critical", "active"), (2, "critical", "resolved")],
        POLICY,
    ),
    (
        "going back up cancels the dwell",
        [(0, 12), (1, 5), (1.5, 10), (2, 5), (2.5, 5), (3, 5)],
        [(0, "critical", "active"), (3, "critical", "resolved")],
        POLICY,
    ),
    (
        "oscillating between limit+1 and limit: one critical, no resolve",
        [(m / 2, 11 - m % 2) for m in range(18)],
        [(0, "critical", "active")],
        POLICY,
    ),
    (
        "oscillating around the warn level: one warning",
        [(m / 2, 8 - m % 2) for m in range(18)],
        [(0, "warning", "active")],
        POLICY,
    ),
    (
        "debounce: warning first, critical once held",
        [(0, 11), (1, 11), (2, 11)],
        [(0, "warning", "active"), (2, "critical", "active")],
        AlertPolicy(debounce=at(2), min_dwell=at(1)),
    ),
    (
        "debounce restarts after a dip",
        [(0, 11), (1, 10), (2, 11), (3, 11), (4, 11)],
        [(0, "warning", "active"), (4, "critical", "active")],
        AlertPolicy(debounce=at(2), min_dwell=at(1)),
    ),
    (
        "spike shorter than the debounce never goes critical",
        [(0, 11), (1, 5), (2, 5)],
        [(0, "warning", "active"), (2, "warning", "resolved")],
        AlertPolicy(debounce=at(2), min_dwell=at(1)),
    ),
    (
        "reminders every 10 minutes while critical",
        [(m, 12) for m in range(31)],
        [(m, "critical", "active") for m in (0, 10, 20, 30)],
        POLICY,
    ),
    ("no reminders while warning", [(m, 9) for m in range(31)], [(0, "warning", "active")], POLICY),
    (
        "reminder during the dwell, then resolve",
        [(0, 12), (9.5, 5), (10, 5), (10.5, 5)],
        [(0, "critical", "active"), (10, "critical", "active"), (10.5, "critical", "resolved")],
        POLICY,
    ),
    (
        "zero dwell resolves on the first low count",
        [(0, 11), (1, 5)],
        [(0, "critical", "active"), (1, "critical", "resolved")],
        AlertPolicy(min_dwell=timedelta(0)),
    ),
    (
        "zero hysteresis: at the limit is no longer over",
        [(0, 11), (1, 10), (2, 10)],
        [(0, "critical", "active"), (2, "warning", "active")],
        AlertPolicy(hysteresis=0, min_dwell=at(1)),
    ),
    (
        "wider hysteresis keeps the critical at 8",
        [(0, 11), (1, 8), (5, 8)],
        [(0, "critical", "active")],
        AlertPolicy(hysteresis=3, min_dwell=at(1)),
    ),
]


@pytest.mark.parametrize(
    ("timeline", "expected", "policy"),
    [pytest.param(t, e, p, id=name) for name, t, e, p in CASES],
)
def test_capacity_timeline(timeline: Timeline, expected: Expected, policy: AlertPolicy) -> None:
    _, sent = run(timeline, policy)
    assert summary(sent) == expected


@pytest.mark.parametrize(
    ("limit", "timeline", "expected"),
    [
        (1, [(0, 2), (1, 1), (5, 1)], [(0, "critical", "active")]),
        (1, [(0, 2), (1, 0), (2, 0)], [(0, "critical", "active"), (2, "critical", "resolved")]),
        (0, [(0, 1), (1, 0), (2, 0)], [(0, "critical", "active"), (2, "critical", "resolved")]),
        (0, [(0, 0), (5, 0)], []),
    ],
    ids=["limit 1 held at 1", "limit 1 resolves at 0", "closed room", "closed and empty"],
)
def test_tiny_limits_still_resolve(limit: int, timeline: Timeline, expected: Expected) -> None:
    _, sent = run(timeline, limit=limit)
    assert summary(sent) == expected


def test_messages_carry_the_reading() -> None:
    state, sent = capacity_step(
        MachineState(),
        building="B1",
        room="rapat-a",
        room_name="Ruang Rapat A",
        count=12,
        limit=10,
        now=T0,
        policy=POLICY,
        alert_id_factory=lambda: "a1",
    )
    assert sent == [
        Alert(
            alert_id="a1",
            kind="capacity",
            severity="critical",
            state="active",
            ack=None,
            building="B1",
            room="rapat-a",
            value=12,
            limit=10,
            message="Ruang Rapat A is over its limit: 12 of 10",
            ts=T0,
        )
    ]
    assert state.alert == sent[0]


def test_a_new_crossing_after_resolve_is_a_new_alert() -> None:
    state, sent = run([(0, 11), (1, 5), (2, 5), (3, 11), (4, 5), (5, 5)])
    assert [(m.alert_id, m.state) for m in sent] == [
        ("alert-1", "active"),
        ("alert-1", "resolved"),
        ("alert-2", "active"),
        ("alert-2", "resolved"),
    ]
    assert state == MachineState()


def test_state_round_trips_through_json() -> None:
    state, _ = run([(0, 11), (1, 8)])
    assert state.alert is not None
    assert state.clear_since is not None
    assert MachineState.model_validate_json(state.model_dump_json()) == state


def test_new_alert_ids_are_identifiers() -> None:
    ids = {new_alert_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(IDENTIFIER_PATTERN, i) for i in ids)


ACK = AckInfo(by="security-desk-1", ts=T0 + at(1))


def test_ack_is_sent_and_kept_on_later_messages() -> None:
    state, _ = run([(0, 9)])
    state, acked = acknowledge(state, ACK, "alert-1")
    assert [(m.ack, m.severity, m.ts) for m in acked] == [(ACK, "warning", ACK.ts)]
    sent = acked
    for minute, count in [(2, 11), (12, 11), (13, 5), (14, 5)]:
        state, messages = capacity_step(
            state,
            building="B1",
            room="R1",
            count=count,
            limit=LIMIT,
            now=T0 + at(minute),
            policy=POLICY,
            alert_id_factory=sequential_ids("other"),
        )
        sent += messages
    assert [(m.severity, m.state, m.ack) for m in sent] == [
        ("warning", "active", ACK),
        ("critical", "active", ACK),
        ("critical", "active", ACK),
        ("critical", "resolved", ACK),
    ]


def test_second_ack_keeps_the_first() -> None:
    state, _ = run([(0, 11)])
    state, _ = acknowledge(state, ACK, "alert-1")
    later = AckInfo(by="someone-else", ts=T0 + at(2))
    again, sent = acknowledge(state, later, "alert-1")
    assert (again, sent) == (state, [])


@pytest.mark.parametrize(
    "timeline", [[(0, 11)], [(0, 11), (1, 5), (2, 5)], []], ids=["other id", "closed", "none"]
)
def test_ack_of_an_unknown_or_closed_alert_is_ignored(timeline: Timeline) -> None:
    state, _ = run(timeline)
    wrong = "alert-9" if state.alert else "alert-1"
    assert acknowledge(state, ACK, wrong) == (state, [])


def test_ack_from_a_clock_behind_never_moves_ts_back() -> None:
    state, _ = run([(0, 11), (5, 11)])
    early = AckInfo(by="desk", ts=T0 - at(1))
    _, [acked] = acknowledge(state, early, "alert-1")
    assert acked.ts == T0 + at(0)
    assert acked.ack == early


def event(state: MachineState, minute: float, active: bool) -> tuple[MachineState, list[Alert]]:
    return event_alert_step(
        state,
        kind="sensor_offline",
        building="B1",
        room="R1",
        active=active,
        severity="warning",
        value=minute * 60,
        now=T0 + at(minute),
        message="door sensor d1 is offline" if active else "door sensor d1 is back",
        alert_id_factory=sequential_ids("offline"),
    )


def test_event_alert_opens_once_and_resolves() -> None:
    state, sent = MachineState(), []
    for minute, active in [(0, False), (1, True), (2, True), (3, True), (4, False), (5, False)]:
        state, messages = event(state, minute, active)
        sent += messages
    assert [(m.alert_id, m.state, m.message, m.ts) for m in sent] == [
        ("offline-1", "active", "door sensor d1 is offline", T0 + at(1)),
        ("offline-1", "resolved", "door sensor d1 is back", T0 + at(4)),
    ]
    assert {(m.kind, m.severity) for m in sent} == {("sensor_offline", "warning")}
    assert state == MachineState()


def test_event_alert_without_room_and_with_limit() -> None:
    _, [opened] = event_alert_step(
        MachineState(),
        kind="building_headcount",
        building="B1",
        room=None,
        active=True,
        severity="warning",
        value=130,
        limit=100,
        now=T0,
        message="B1 has 130 people in, 100 planned",
        alert_id_factory=new_alert_id,
    )
    assert (opened.room, opened.value, opened.limit) == (None, 130, 100)


def test_building_summary() -> None:
    rooms = [
        RoomSnapshot(building="B1", room="R1", count=12, limit=10),
        RoomSnapshot(building="B1", room="R2", count=10, limit=10),
        RoomSnapshot(building="B1", room="A0", count=3, limit=2),
        RoomSnapshot(building="B2", room="R9", count=50, limit=1),
    ]
    result = building_summary("B1", rooms)
    assert (result.rooms_over_limit, result.headcount) == (["A0", "R1"], 25)
    assert building_summary("B3", rooms).model_dump() == {
        "building": "B3",
        "rooms_over_limit": [],
        "headcount": 0,
    }


policies = st.builds(
    AlertPolicy,
    warn_ratio=st.sampled_from([0.5, 0.8, 1.0]),
    debounce=st.integers(0, 180).map(lambda s: timedelta(seconds=s)),
    hysteresis=st.integers(0, 3),
    min_dwell=st.integers(0, 180).map(lambda s: timedelta(seconds=s)),
    reminder_every=st.integers(60, 900).map(lambda s: timedelta(seconds=s)),
)
steps = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 25), st.sampled_from([None, "open", "other"])),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(policy=policies, limit=st.integers(0, 20), timeline=steps)
def test_one_open_alert_and_a_clean_lifecycle(
    policy: AlertPolicy, limit: int, timeline: list[tuple[int, int, str | None]]
) -> None:
    state, now, ids = MachineState(), T0, sequential_ids()
    sent: list[Alert] = []
    open_id: str | None = None
    finished: set[str] = set()
    for seconds, count, ack in timeline:
        now += timedelta(seconds=seconds)
        state, messages = capacity_step(
            state,
            building="B1",
            room="R1",
            count=count,
            limit=limit,
            now=now,
            policy=policy,
            alert_id_factory=ids,
        )
        if ack is not None:
            target = state.alert.alert_id if ack == "open" and state.alert else "nobody"
            state, acked = acknowledge(state, AckInfo(by="desk", ts=now), target)
            messages += acked
        for message in messages:
            assert message.alert_id not in finished
            if message.alert_id != open_id:
                assert open_id is None, "a second alert opened while one was open"
                open_id = message.alert_id
            if message.state == "resolved":
                finished.add(message.alert_id)
                open_id = None
        assert (state.alert.alert_id if state.alert else None) == open_id
        sent += messages
    for alert_id in {m.alert_id for m in sent}:
        mine = [m for m in sent if m.alert_id == alert_id]
        assert all(a.ts <= b.ts for a, b in pairwise(mine))
        assert [m.state for m in mine].count("resolved") <= 1
        assert all(m.state == "active" for m in mine[:-1])


def step_at(state: MachineState, minute: float, count: int) -> tuple[MachineState, list[Alert]]:
    return capacity_step(
        state,
        building="B1",
        room="R1",
        count=count,
        limit=LIMIT,
        now=T0 + at(minute),
        policy=POLICY,
        alert_id_factory=sequential_ids("again"),
    )


def test_a_manual_resolve_closes_the_alert_and_a_persisting_condition_reopens_after_the_dwell() -> (
    None
):
    state, _ = run([(0, 11)])
    assert state.alert is not None and state.alert.severity == "critical"
    state, [resolved] = resolve(
        state, "alert-1", by="guard", reason="sensor removed", now=T0 + at(1), dwell=at(1)
    )
    assert (resolved.state, resolved.alert_id) == ("resolved", "alert-1")
    assert resolved.message.endswith("(resolved by guard: sensor removed)")
    # Still over the limit: nothing within the dwell, a new alert after it.
    state, quiet = step_at(state, 1.5, 11)
    assert quiet == [] and state.alert is None
    state, [reopened] = step_at(state, 2, 11)
    assert (reopened.alert_id, reopened.severity, reopened.state) == (
        "again-1",
        "critical",
        "active",
    )
    assert state.quiet_until is None
    # Another id, or nothing open, is left alone.
    assert resolve(state, "alert-1", by="g", reason="r", now=T0, dwell=at(1)) == (state, [])


def test_a_condition_gone_after_a_manual_resolve_opens_nothing() -> None:
    state, _ = run([(0, 11)])
    state, _ = resolve(state, "alert-1", by="guard", reason="fixed", now=T0 + at(1), dwell=at(1))
    state, sent = step_at(state, 3, 2)
    assert sent == [] and state == MachineState()
