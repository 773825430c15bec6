"""The simulator's day, without a broker: what it publishes must be what the contract and the
roster say, for any seed and any combination of faults, and the same seed gives the same bytes.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.simulator import (
    FAULTS,
    Day,
    Fault,
    Faults,
    Options,
    Window,
    check_not_ahead,
    pick_date,
    plan_day,
    room_outlook,
)
from deploy.simulator.day import seat_people
from ingest.errors import ConfigError
from ingest.roster import load_roster
from ingest.site import load_site
from ingest.validation import Validator

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
SITE = load_site(SAMPLE / "site.yaml")
ROSTER = load_roster(SAMPLE / "roster.yaml", SITE)
PREFIX = "occupancy"
DAY = Window(date(2026, 11, 30), time(6), time(19))  # a Monday: group A is in
JAKARTA = ZoneInfo("Asia/Jakarta")


def simulate(
    window: Window = DAY, seed: int = 1, faults: frozenset[Fault] = frozenset(), **options: Any
) -> Day:
    return plan_day(
        SITE, ROSTER, window, Options(seed=seed, faults=Faults(enabled=faults), **options)
    )


@dataclass(frozen=True)
class Door:
    at: datetime
    kind: str
    building: str
    room: str
    sensor: str
    seq: int
    ts: datetime
    entered: int
    exited: int


@dataclass(frozen=True)
class Tap:
    at: datetime
    building: str
    kiosk: str
    employee: str
    action: str
    ts: datetime
    event_id: str


def doors(day: Day) -> list[Door]:
    out = []
    for m in day.messages:
        if m.kind in {"door", "heartbeat", "duplicate"}:
            _, building, room, _, sensor = m.topic.split("/")
            body = json.loads(m.payload)
            ts = datetime.fromisoformat(body["ts"])
            out.append(
                Door(
                    m.at,
                    m.kind,
                    building,
                    room,
                    sensor,
                    body["seq"],
                    ts,
                    body["entered"],
                    body["exited"],
                )
            )
    return out


def taps(day: Day) -> list[Tap]:
    out = []
    for m in day.messages:
        if m.kind in {"check_in", "check_out"}:
            _, building, _, kiosk = m.topic.split("/")
            body = json.loads(m.payload)
            assert body["action"] == m.kind
            ts = datetime.fromisoformat(body["ts"])
            out.append(
                Tap(m.at, building, kiosk, body["employee_id"], m.kind, ts, body["event_id"])
            )
    return out


def raw_counts(day: Day) -> dict[tuple[str, str], list[int]]:
    """Each room's balance after every door message, duplicates skipped (as the pipeline does),
    not clamped at zero."""
    balance: Counter[tuple[str, str]] = Counter()
    history: dict[tuple[str, str], list[int]] = defaultdict(list)
    for door in doors(day):
        if door.kind == "duplicate":
            continue
        key = (door.building, door.room)
        balance[key] += door.entered - door.exited
        history[key].append(balance[key])
    return history


# The properties, for any seed, date and set of faults

seeds = st.integers(min_value=0, max_value=2**63)
dates = st.dates(min_value=date(2026, 11, 23), max_value=date(2027, 1, 8))
fault_sets = st.frozensets(st.sampled_from(FAULTS))
PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(seed=seeds, day=dates, faults=fault_sets)
def test_door_seqs_count_up_per_sensor_except_redelivered_duplicates(
    seed: int, day: date, faults: frozenset[Fault]
) -> None:
    planned = simulate(Window(day, time(6), time(19)), seed, faults)
    sent: dict[str, list[int]] = defaultdict(list)
    payloads: dict[str, set[bytes]] = defaultdict(set)
    for message in planned.messages:
        if message.kind in {"check_in", "check_out"}:
            continue
        if message.kind == "duplicate":
            # Sent again unchanged: an earlier message of the same sensor, same bytes.
            assert message.payload in payloads[message.topic]
            continue
        payloads[message.topic].add(message.payload)
        sent[message.topic].append(json.loads(message.payload)["seq"])
    every = {f"{PREFIX}/{b.id}/{s.room}/door/{s.id}" for b in SITE.buildings for s in b.sensors}
    assert set(sent) == every  # every sensor speaks, if only to say it is alive
    for seqs in sent.values():
        assert seqs[0] == 0  # a sensor starting up
        assert all(b > a for a, b in itertools.pairwise(seqs))
        if "gaps" not in faults:
            assert seqs == list(range(len(seqs)))
    lost = {(m.topic, json.loads(m.payload)["seq"]) for m in planned.lost}
    if "gaps" not in faults:
        assert not lost
    for topic, seq in lost:
        assert seq not in sent[topic]  # a lost message leaves a gap, it is not sent later


@PROPERTY
@given(seed=seeds, day=dates, faults=fault_sets)
def test_rooms_never_count_below_zero_unless_exits_are_overcounted(
    seed: int, day: date, faults: frozenset[Fault]
) -> None:
    planned = simulate(Window(day, time(6), time(19)), seed, faults)
    lowest = {key: min(history) for key, history in raw_counts(planned).items()}
    if "underflow" in faults:
        below = {key for key, low in lowest.items() if low < 0}
        # Only meeting rooms of the fault go below zero; unless exits also go missing (gaps),
        # which keeps people counted in, they do whenever a meeting was held.
        assert all(SITE.room(*key).type == "meeting" for key in below)  # type: ignore[union-attr]
        if planned.meetings and "gaps" not in faults:
            assert below
    else:
        assert all(low >= 0 for low in lowest.values()), lowest


@PROPERTY
@given(seed=seeds, day=dates, faults=fault_sets)
def test_employees_scheduled_in_the_office_check_in_once_inside_their_window_then_out(
    seed: int, day: date, faults: frozenset[Fault]
) -> None:
    planned = simulate(Window(day, time(6), time(19)), seed, faults)
    by_employee: dict[str, list[Tap]] = defaultdict(list)
    for tap in taps(planned):
        by_employee[tap.employee].append(tap)
    for employee_id, own in by_employee.items():
        employee = ROSTER.employee(employee_id)
        assert employee is not None
        assert ROSTER.scheduled(employee, day) == "wfo"  # WFO groups only
        assert {t.building for t in own} == {employee.building}
        in_time = sorted(own, key=lambda t: t.ts)
        actions = [t.action for t in in_time]
        assert actions == ["check_in", "check_out"][: len(actions)]
        group = ROSTER.group_of(employee)
        zone = SITE.building(employee.building).zone  # type: ignore[union-attr]
        arrived = in_time[0].ts.astimezone(zone).time()
        assert group.window_start <= arrived <= group.window_end
        if len(in_time) == 2:
            stayed = in_time[1].ts - in_time[0].ts
            assert stayed >= group.required
    # Each tap is one event: its id is unique.
    ids = [t.event_id for t in taps(planned)]
    assert len(ids) == len(set(ids))
    coming = {a.employee for a in planned.attendees if a.comes}
    assert set(by_employee) == coming


@settings(max_examples=8, deadline=None)
@given(seed=seeds, faults=fault_sets)
def test_the_same_seed_gives_the_same_bytes_and_another_seed_another_day(
    seed: int, faults: frozenset[Fault]
) -> None:
    lines = [m.json_line() for m in simulate(seed=seed, faults=faults).messages]
    again = [m.json_line() for m in simulate(seed=seed, faults=faults).messages]
    other = [m.json_line() for m in simulate(seed=seed + 1, faults=faults).messages]
    assert "\n".join(lines).encode() == "\n".join(again).encode()
    assert lines != other


@PROPERTY
@given(seed=seeds, faults=fault_sets)
def test_a_sensor_is_never_quiet_longer_than_the_heartbeat_unless_faulted(
    seed: int, faults: frozenset[Fault]
) -> None:
    planned = simulate(seed=seed, faults=faults, heartbeat_s=120)
    last: dict[str, datetime] = {}
    longest: dict[str, timedelta] = defaultdict(timedelta)
    for door in doors(planned):
        if door.kind == "duplicate":
            continue
        sensor = f"{door.building}/{door.sensor}"
        if sensor in last:
            longest[sensor] = max(longest[sensor], door.at - last[sensor])
        last[sensor] = door.at
    # A report lands on the sensor's 5-second grid, so it can come a few seconds after a beat.
    quiet = {s for s, gap in longest.items() if gap > timedelta(seconds=120 + 5)}
    silent = {n.split()[1] for n in planned.notes if n.startswith("silent:")}
    assert len(silent) == ("silent" in faults) * len(SITE.buildings)
    assert silent <= quiet
    if "gaps" not in faults:
        assert quiet <= silent, {s: longest[s] for s in quiet}


def test_every_message_of_a_day_passes_the_pipelines_own_validation() -> None:
    validator = Validator(SITE, PREFIX)
    for faults in (frozenset(), frozenset(FAULTS)):
        planned = simulate(faults=faults)
        for message in planned.messages:
            # The bridge stamps arrival; the simulator never sends ahead of its own clock.
            record = validator.validate(message.topic, message.payload, message.at)
            assert record.ts <= message.at


def test_messages_are_in_publish_order_and_stamped_in_the_buildings_local_time() -> None:
    planned = simulate()
    ats = [m.at for m in planned.messages]
    assert ats == sorted(ats)
    first, last = DAY.span(SITE)
    assert first <= ats[0] and ats[-1] <= last
    offsets = {(json.loads(m.payload)["ts"][-6:], m.topic.split("/")[1]) for m in planned.messages}
    assert offsets == {("+07:00", "hq-jakarta"), ("+08:00", "ro-makassar")}


# The sample site's day, as a table


@dataclass(frozen=True)
class Expected:
    day: date
    why: str
    scheduled: dict[str, int]
    coming: dict[str, int]
    over: set[str]


MONDAY_OVER = {
    "hq-jakarta/f1-canteen",
    "hq-jakarta/f1-service-hall",
    "hq-jakarta/f2-meeting-a",
    "hq-jakarta/f2-work-finance",
    "hq-jakarta/f2-work-general",
    "hq-jakarta/f3-work-it",
    "hq-jakarta/f3-work-program",
    "ro-makassar/f1-service-hall",
    "ro-makassar/f2-workroom",
}
SAMPLE_DAYS = [
    Expected(
        date(2026, 11, 30),
        "Monday: group A, the service desk and the leaders in Jakarta; Makassar in",
        {"hq-jakarta": 148, "ro-makassar": 25},
        {"hq-jakarta": 140, "ro-makassar": 23},
        MONDAY_OVER,
    ),
    Expected(
        date(2026, 12, 1),
        "Tuesday: group B instead of A, more meetings booked, two of them over",
        {"hq-jakarta": 147, "ro-makassar": 25},
        {"hq-jakarta": 141, "ro-makassar": 24},
        (MONDAY_OVER - {"hq-jakarta/f1-service-hall"})
        | {"hq-jakarta/f2-meeting-b", "hq-jakarta/f3-meeting-c", "hq-jakarta/f4-meeting-board"},
    ),
    Expected(
        date(2026, 11, 28),
        "the Saturday service duty: only the service desk, few meetings, nobody in Makassar",
        {"hq-jakarta": 24, "ro-makassar": 0},
        {"hq-jakarta": 23, "ro-makassar": 0},
        {"hq-jakarta/f1-service-hall", "hq-jakarta/f2-meeting-a"},
    ),
    Expected(
        date(2026, 12, 4),
        "Friday: Makassar works from home (but its head); the public still comes",
        {"hq-jakarta": 148, "ro-makassar": 1},
        {"hq-jakarta": 138, "ro-makassar": 1},
        (MONDAY_OVER - {"hq-jakarta/f1-canteen", "ro-makassar/f2-workroom"})
        | {"hq-jakarta/f2-meeting-b", "hq-jakarta/f3-meeting-c"},
    ),
    Expected(
        date(2026, 12, 25),
        "Christmas: a holiday for everyone; the sensors only say they are alive",
        {"hq-jakarta": 0, "ro-makassar": 0},
        {"hq-jakarta": 0, "ro-makassar": 0},
        set(),
    ),
]


@pytest.mark.parametrize("expected", SAMPLE_DAYS, ids=lambda e: str(e.day))
def test_the_sample_sites_day(expected: Expected) -> None:
    planned = simulate(Window(expected.day, time(6), time(19)))
    for building in SITE.buildings:
        mine = [a for a in planned.attendees if a.building == building.id]
        assert len(mine) == ROSTER.planned_wfo(building.id, expected.day)
        assert len(mine) == expected.scheduled[building.id], expected.why
        assert sum(a.comes for a in mine) == expected.coming[building.id], expected.why
    outlook = room_outlook(planned, SITE, PREFIX)
    over = {f"{o.building}/{o.room}" for o in outlook if o.over}
    assert over == expected.over, expected.why
    if not any(expected.scheduled.values()):
        assert {m.kind for m in planned.messages} <= {"heartbeat", "duplicate"}
        assert all(o.peak == 0 for o in outlook)


def test_the_sample_sites_monday_room_by_room() -> None:
    """Seed 1, Monday 2026-11-30: the peak count of every room and when, as the pipeline will
    count it. The sample roster seats more of group A than the workrooms' "transition" limits
    allow (e.g. 30 of Biro Keuangan's people for 20 places), so the workrooms run over; of the
    meetings one (Ruang Rapat A, 13:00) is planned over its limit; the lunch crowd fills the
    canteen past its limit; public visitors take the service halls just past theirs."""
    planned = simulate()
    peaks = {
        f"{o.building}/{o.room}": (o.peak, o.limit, o.peak_at.astimezone(JAKARTA).strftime("%H:%M"))
        for o in room_outlook(planned, SITE, PREFIX)
        if o.peak_at is not None
    }
    assert peaks == {
        "hq-jakarta/f1-lobby": (11, 60, "07:41"),
        "hq-jakarta/f1-service-hall": (38, 36, "11:04"),
        "hq-jakarta/f1-canteen": (57, 40, "12:29"),
        "hq-jakarta/f1-prayer": (3, 15, "13:37"),
        "hq-jakarta/f2-work-finance": (30, 20, "08:25"),
        "hq-jakarta/f2-work-general": (33, 18, "08:42"),
        "hq-jakarta/f2-meeting-a": (11, 10, "13:02"),
        "hq-jakarta/f2-meeting-b": (4, 6, "11:32"),
        "hq-jakarta/f3-work-program": (36, 24, "11:05"),
        "hq-jakarta/f3-work-it": (15, 12, "08:52"),
        "hq-jakarta/f3-meeting-c": (6, 8, "10:03"),
        "hq-jakarta/f3-server": (1, 2, "09:35"),
        "hq-jakarta/f4-leadership": (3, 6, "07:30"),
        "hq-jakarta/f4-meeting-board": (6, 12, "12:02"),
        "hq-jakarta/f4-auditorium": (52, 75, "09:04"),
        # Makassar's times in WITA, printed here in WIB: an hour earlier.
        "ro-makassar/f1-lobby": (7, 20, "13:13"),
        "ro-makassar/f1-service-hall": (25, 18, "09:24"),
        "ro-makassar/f2-workroom": (23, 15, "07:17"),
        "ro-makassar/f2-meeting": (4, 5, "09:33"),
    }
    ends = {f"{o.building}/{o.room}": o.final for o in room_outlook(planned, SITE, PREFIX)}
    assert set(ends.values()) == {0}  # everyone left by 19:00
    over_meetings = [
        (m.room, m.start.astimezone(JAKARTA).strftime("%H:%M"), m.size, m.limit)
        for m in planned.meetings
        if m.size > m.limit
    ]
    assert over_meetings == [("f2-meeting-a", "13:00", 11, 10)]


def test_seating_follows_home_rooms_then_names_then_free_places() -> None:
    hq = SITE.building("hq-jakarta")
    assert hq is not None
    people = list(ROSTER.employees_in("hq-jakarta"))
    seats = seat_people(SITE, hq, ROSTER, people)
    by = Counter(
        (ROSTER.employee(e).unit, ROSTER.employee(e).group, room)  # type: ignore[union-attr]
        for e, room in seats.items()
    )
    rooms_of = defaultdict(set)
    for (unit, group, room), _ in by.items():
        rooms_of[(unit, group)].add(room)
    # The roster's home rooms: the group's before the unit's.
    assert rooms_of[("pelayanan", "layanan")] == {"f1-service-hall"}
    assert rooms_of[("setjen", "pimpinan")] == {"f4-leadership"}
    assert rooms_of[("keuangan", "A")] == {"f2-work-finance"}
    assert rooms_of[("setjen", "A")] == {"f2-work-general"}
    assert rooms_of[("umum", "B")] == {"f2-work-general"}
    assert rooms_of[("program", "A")] == {"f3-work-program"}
    assert rooms_of[("ti", "B")] == {"f3-work-it"}
    # Of two home rooms, the one with most room left: the Directorate is split between them.
    assert rooms_of[("pelayanan", "A")] == {"f3-work-program", "f2-work-finance"}
    # Without home rooms, a name shared with a room seats people there ("Biro Keuangan"),
    # else the workrooms with most room left take them.
    bare = ROSTER.model_copy(
        update={"units": [u.model_copy(update={"rooms": []}) for u in ROSTER.units]}
    )
    bare.model_post_init(None)
    named = seat_people(SITE, hq, bare, [e for e in people if e.unit in {"keuangan", "setjen"}])
    assert {named[e.id] for e in people if e.unit == "keuangan"} == {"f2-work-finance"}
    assert len({named[e.id] for e in people if e.unit == "setjen" and e.group == "A"}) > 1
    assert set(seats.values()) <= {r.id for r in hq.rooms if r.type in {"workroom", "service"}}
    assert len(seats) == len(people)


# Faults, one by one


def test_silent_sensor_says_nothing_then_reports_what_it_counted() -> None:
    planned = simulate(faults=frozenset({"silent"}))
    notes = [n for n in planned.notes if n.startswith("silent:")]
    assert len(notes) == len(SITE.buildings)
    building, sensor = notes[0].split()[1].split("/")
    own = [
        d
        for d in doors(planned)
        if (d.building, d.sensor) == (building, sensor) and d.kind != "duplicate"
    ]
    gaps = [(b.at - a.at, b) for a, b in itertools.pairwise(own)]
    longest, back = max(gaps, key=lambda g: g[0])
    assert longest >= timedelta(minutes=90)
    assert back.entered + back.exited > 0  # the meeting it missed, counted all at once
    assert [d.seq for d in own] == list(range(len(own)))  # and numbering on, no gap
    quiet = simulate()
    assert raw_counts(planned)[("hq-jakarta", own[0].room)][-1] == 0
    assert len(doors(quiet)) > len(doors(planned))


def test_gaps_lose_only_heartbeats_and_exits() -> None:
    planned = simulate(faults=frozenset({"gaps"}))
    assert len(planned.lost) > 50
    for message in planned.lost:
        body = json.loads(message.payload)
        assert body["entered"] == 0 and body["seq"] > 0
    assert any(json.loads(m.payload)["exited"] > 0 for m in planned.lost)
    # The rooms keep people who left uncounted: some end the day above zero.
    assert any(o.final > 0 for o in room_outlook(planned, SITE, PREFIX))


def test_underflow_counts_exits_nobody_made() -> None:
    planned = simulate(faults=frozenset({"underflow"}))
    below = {key for key, history in raw_counts(planned).items() if min(history) < 0}
    assert below == {("hq-jakarta", "f4-meeting-board"), ("ro-makassar", "f2-meeting")}
    assert {o.room for o in room_outlook(planned, SITE, PREFIX) if o.underflows} == {
        "f4-meeting-board",
        "f2-meeting",
    }


def test_late_checkouts_arrive_hours_after_the_tap_with_its_time() -> None:
    planned = simulate(faults=frozenset({"late-checkouts"}))
    late = [t for t in taps(planned) if t.at - t.ts >= timedelta(hours=1)]
    assert late and {t.action for t in late} == {"check_out"}
    on_time = [t for t in taps(simulate()) if t.at != t.ts]
    assert on_time == []
    # Only when they arrive changes; what was tapped is the same as without the fault.
    assert sorted((t.employee, t.action, t.ts) for t in taps(planned)) == sorted(
        (t.employee, t.action, t.ts) for t in taps(simulate())
    )


def test_faults_change_only_what_they_are_about() -> None:
    clean = {(t.employee, t.action, t.ts) for t in taps(simulate())}
    for fault in ("silent", "gaps", "underflow"):
        assert {
            (t.employee, t.action, t.ts) for t in taps(simulate(faults=frozenset({fault})))
        } == clean


# Windows and the wall clock


def test_a_later_start_begins_with_what_each_sensor_and_kiosk_saw_before_it() -> None:
    late = Window(DAY.date, time(10), time(12))
    planned = simulate(late)
    first, last = late.span(SITE)
    assert all(first <= m.at <= last for m in planned.messages)
    boot = [d for d in doors(planned) if d.seq == 0 and d.kind != "duplicate"]
    assert len(boot) == sum(len(b.sensors) for b in SITE.buildings)
    assert sum(d.entered for d in boot if d.room == "f2-work-finance") > 10  # already at work
    assert all(min(h) >= 0 for h in raw_counts(planned).values())
    caught_up = [t for t in taps(planned) if t.ts < t.at]
    assert caught_up and all(t.at == first or t.building == "hq-jakarta" for t in caught_up)
    assert {t.action for t in taps(planned)} <= {"check_in", "check_out"}


def test_the_default_date_is_the_latest_day_with_people_in_that_a_run_can_finish() -> None:
    def at(day: str, clock: str) -> datetime:
        return datetime.fromisoformat(f"{day}T{clock}+07:00")

    pick = pick_date
    # Monday morning: today's 19:00 is hours away, so the Saturday service duty before it.
    assert pick(
        SITE, ROSTER, start=time(6), end=time(19), speed=60, now=at("2026-11-30", "10:00")
    ) == date(2026, 11, 28)
    # Monday evening, or any time in real time (speed 1 ends when the day does): today.
    assert pick(
        SITE, ROSTER, start=time(6), end=time(19), speed=60, now=at("2026-11-30", "19:30")
    ) == date(2026, 11, 30)
    assert pick(
        SITE, ROSTER, start=time(6), end=time(19), speed=1, now=at("2026-11-30", "10:00")
    ) == date(2026, 11, 30)
    # A Sunday: nobody is in, so Saturday's duty.
    assert pick(
        SITE, ROSTER, start=time(6), end=time(19), speed=60, now=at("2026-11-29", "23:00")
    ) == date(2026, 11, 28)


def test_a_day_that_would_run_ahead_of_the_clock_is_refused_in_one_sentence() -> None:
    now = datetime.fromisoformat("2026-11-30T10:00+07:00")
    check_not_ahead(Window(date(2026, 11, 27), time(6), time(19)), SITE, 60, now)
    with pytest.raises(ConfigError, match=r"ahead of the clock.*--date") as raised:
        check_not_ahead(DAY, SITE, 60, now)
    assert "\n" not in str(raised.value)
    with pytest.raises(ConfigError, match="later than --start"):
        Window(DAY.date, time(12), time(8))
