"""`occupancy roster plan` on the sample site and roster: the what-if of the roster as it
stands against a hand count, the solver's statement when no plan fits, and plans that fit,
written as a roster the pipeline reads and simulated day by day without a capacity alert."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.cli import main
from deploy.plan import check_roster, dump_roster, plan_roster, planned_roster, week_days
from deploy.plan_report import compare
from deploy.simulator import Options, Window, plan_day, room_outlook
from ingest.calendar import CalendarSpec
from ingest.errors import ConfigError
from ingest.limits import warn_level
from ingest.models import RoomState
from ingest.roster import WEEKDAYS, Employee, Group, Roster, Unit, load_roster
from ingest.site import Site
from processors.attendance_rules import DailyRecord, Tap

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
ARGS = ["--site", str(SAMPLE / "site.yaml"), "--roster", str(SAMPLE / "roster.yaml")]
WEEK = week_days(date(2026, 11, 30), date(2026, 12, 6))  # ISO 2026-W49, no holidays
MON, TUE, WED, THU, FRI = WEEK[:5]

# Counted by hand from deploy/sample/employees.csv and roster.yaml (group A is in on Monday,
# Wednesday and Friday, B on Tuesday and Thursday; the service desk and the leaders daily):
KEUANGAN = {"A": 23, "B": 22}  # → f2-work-finance
PROGRAM = {"A": 30, "B": 30}  # → f3-work-program
PELAYANAN = {"A": 18, "B": 18}  # → f3-work-program or f2-work-finance
UMUM, SETJEN = {"A": 25, "B": 25}, {"A": 10, "B": 10}  # → f2-work-general
TI = {"A": 15, "B": 15}  # → f3-work-it
LAYANAN, LEADERS_HQ = 24, 3  # → f1-service-hall, f4-leadership
MAKASSAR = 24 + 1  # Monday to Thursday, with its head (who is in on Friday too)
# Limits at "strict" (a quarter): finance 10, general 9, program 12, IT 6, leadership 3,
# service hall 15 (60 × 0.25); Makassar's workroom 7.
STRICT = {
    "f2-work-finance": 10,
    "f2-work-general": 9,
    "f3-work-program": 12,
    "f3-work-it": 6,
    "f4-leadership": 3,
    "f1-service-hall": 15,
    "f2-workroom": 7,
}


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["roster", "plan", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_what_if_strict_lists_the_rooms_a_hand_count_finds_over(
    sample_site: Site, sample_roster: Roster
) -> None:
    rooms = check_roster(sample_site, sample_roster, WEEK, "strict")
    load = {(r.room, r.date): r.planned for r in rooms if r.building == "hq-jakarta"}
    for day, group in ((MON, "A"), (TUE, "B"), (WED, "A"), (THU, "B"), (FRI, "A")):
        assert load[("f1-service-hall", day)] == LAYANAN
        assert load[("f4-leadership", day)] == LEADERS_HQ
        assert load[("f2-work-general", day)] == UMUM[group] + SETJEN[group]
        assert load[("f3-work-it", day)] == TI[group]
        both = load[("f2-work-finance", day)] + load[("f3-work-program", day)]
        assert both == KEUANGAN[group] + PROGRAM[group] + PELAYANAN[group]
        assert load[("f2-work-finance", day)] >= KEUANGAN[group]
    makassar = {r.date: r.planned for r in rooms if r.building == "ro-makassar"}
    assert makassar == {MON: MAKASSAR, TUE: MAKASSAR, WED: MAKASSAR, THU: MAKASSAR, FRI: 1}
    assert all(r.limit == STRICT[r.room] for r in rooms)
    over = {(r.building, r.room, r.date) for r in rooms if r.over}
    hq_over = {"f1-service-hall", "f2-work-finance", "f2-work-general", "f3-work-program"}
    expected = {("hq-jakarta", room, day) for room in {*hq_over, "f3-work-it"} for day in WEEK[:5]}
    expected |= {("ro-makassar", "f2-workroom", day) for day in (MON, TUE, WED, THU)}
    assert over == expected  # the leaders fit their room exactly; nobody is in at weekends

    code, out = cli(*ARGS, "--week", "2026-W49", "--check", "--level", "strict", "--json")
    assert code == 1
    listed = json.loads(out)
    assert listed["level"] == "strict"
    assert {
        (r["building"], r["room"], date.fromisoformat(r["date"]))
        for r in listed["rooms"]
        if r["over"]
    } == expected


def test_the_active_level_is_what_the_check_uses_by_default() -> None:
    code, out = cli(*ARGS, "--week", "2026-W49", "--check")
    assert code == 1
    assert "at level transition" in out
    # Group A's Biro Keuangan (23) alone is over the finance room's 20 on A days.
    assert "hq-jakarta/f2-work-finance by up to" in out


def test_strict_with_two_days_has_no_plan_and_the_solver_says_why(
    tmp_path: Path, sample_site: Site, sample_roster: Roster
) -> None:
    made = plan_roster(sample_site, sample_roster, WEEK, "strict", min_office_days=2)
    assert not made.feasible
    # The fewest places over, by hand: Umum and the Secretariat need 70 × 2 office days in a
    # room of 9 × 5 (95 over); Keuangan 90 in 50, Program 120 in 60, and the Directorate's 72
    # have no room left (172); TI 60 in 30 (30); the service desk 24 a day in 15 (45);
    # Makassar 24 × 2 and its head's 5 in 7 × 5 (18).
    assert sum(r.over for r in made.over) == 95 + 172 + 30 + 45 + 18
    assert {r.over for r in made.over if r.room == "f1-service-hall"} == {9}
    text = "\n".join(made.suggestions)
    assert "(layanan, pimpinan) already exceed hq-jakarta/f1-service-hall by up to 9" in text
    assert "--level normal fits with 2 office days" in text
    assert "--level transition" not in text

    target = tmp_path / "planned.yaml"
    code, out = cli(*ARGS, "--week", "2026-W49", "--level", "strict", "--out", str(target))
    assert code == 1
    said = " ".join(out.split())
    assert "No plan keeps every room within its limit at level strict" in said
    assert "Nothing written to" in said
    assert not target.exists()


def test_transition_suggests_fewer_office_days() -> None:
    code, out = cli(*ARGS, "--week", "2026-W49", "--level", "transition", "--json")
    assert code == 1
    made = json.loads(out)
    assert made["feasible"] is False
    assert "--min-office-days 1 fits at level transition" in made["suggestions"]


@pytest.mark.parametrize(
    ("level", "days", "below_warning"), [("normal", 2, False), ("transition", 1, True)]
)
def test_a_plan_that_fits_is_a_roster_the_pipeline_reads(
    tmp_path: Path,
    sample_site: Site,
    sample_roster: Roster,
    level: str,
    days: int,
    below_warning: bool,
) -> None:
    out = tmp_path / "planned.yaml"
    flags = ["--below-warning"] if below_warning else []
    code, printed = cli(
        *ARGS, "--week", "2026-W49", "--level", level, "--min-office-days", str(days),
        *flags, "--out", str(out), "--json",
    )  # fmt: skip
    assert code == 0, printed
    made = json.loads(printed)
    assert made["feasible"] is True
    assert set(made) >= {"assignments", "rooms"}
    limits = {
        (b.id, r.id): sample_site.limit(r, level) for b in sample_site.buildings for r in b.rooms
    }
    warn = sample_site.policy.warn_ratio
    for row in made["rooms"]:
        assert set(row) == {"building", "room", "date", "planned", "limit"}
        limit = limits[(row["building"], row["room"])]
        assert row["planned"] <= limit
        if below_warning:
            assert row["planned"] < warn_level(limit, warn)

    planned = load_roster(out, sample_site)
    assert len(planned.employees) == len(sample_roster.employees)
    by_id = {a["employee"]: a for a in made["assignments"]}
    assert set(by_id) == {e.id for e in sample_roster.employees}
    counted: Counter[tuple[str, str, str]] = Counter()
    for e in planned.employees:
        a = by_id[e.id]
        office = [d.isoformat() for d in WEEK if planned.scheduled(e, d) == "wfo"]
        assert office == a["days"]
        assert planned.home_rooms(e) == [a["room"]]
        before = sample_roster.employee(e.id)
        assert before is not None
        assert e.group == before.group  # reports by group stay as they were
        if e.group in {"layanan", "pimpinan"}:  # kept as they are
            assert (e.office_days, e.wfh_days) == ([], [])
        else:
            assert len(office) == days
            assert sorted([*e.office_days, *e.wfh_days]) == WEEK[:5]
        for d in office:
            counted[(a["building"], a["room"], d)] += 1
    assert counted == Counter(
        {(r["building"], r["room"], r["date"]): r["planned"] for r in made["rooms"]}
    )
    # The what-if of the planned roster sees what the plan planned.
    again = check_roster(sample_site, planned, WEEK, level)
    assert {(r.building, r.room, r.date.isoformat()): r.planned for r in again} == {
        (r["building"], r["room"], r["date"]): r["planned"] for r in made["rooms"] if r["planned"]
    }
    # Outside the planned week the groups keep their own office days.
    e = next(e for e in planned.employees if e.group == "A")
    assert planned.scheduled(e, date(2026, 12, 7)) == "wfo"  # the next Monday
    assert planned.scheduled(e, date(2026, 11, 23)) == "wfo"  # and the Monday before


def test_a_simulated_week_of_the_plan_raises_no_capacity_alert_in_any_workroom(
    tmp_path: Path, sample_site: Site, sample_roster: Roster
) -> None:
    """Each weekday of the plan (at the sample's active level, under every warning level)
    simulated with the planned roster: people sit in their planned rooms, go to meetings,
    lunch and breaks; no workroom reaches the count at which its capacity alert warns."""
    made = plan_roster(
        sample_site, sample_roster, WEEK, "transition", min_office_days=1, below_warning=True
    )
    assert made.feasible
    out = tmp_path / "planned.yaml"

    out.write_text(dump_roster(planned_roster(SAMPLE / "roster.yaml", sample_roster, made)))
    planned = load_roster(out, sample_site)
    warn = sample_site.policy.warn_ratio
    workrooms = {
        (b.id, r.id) for b in sample_site.buildings for r in b.rooms if r.type == "workroom"
    }
    peaks = {}
    for day in WEEK[:5]:
        simulated = plan_day(sample_site, planned, Window(day, time(6), time(19)), Options())
        assert sum(a.comes for a in simulated.attendees) > 0
        for o in room_outlook(simulated, sample_site, "occupancy"):
            if (o.building, o.room) in workrooms:
                peaks[(o.building, o.room, day)] = o.peak
                assert o.peak < warn_level(o.limit, warn), (o.building, o.room, day, o.peak)
    assert max(peaks.values()) > 0


def test_bad_requests_are_one_sentence(sample_site: Site, sample_roster: Roster) -> None:
    code, out = cli(*ARGS, "--week", "49")
    assert (code, out) == (2, "occupancy: --week '49' is not an ISO week such as 2026-W49.\n")
    with pytest.raises(ConfigError, match="'nobody' is not a group"):
        plan_roster(sample_site, sample_roster, WEEK, "strict", fixed=["nobody"])
    with pytest.raises(ConfigError, match="Level 'lax' is not one of"):
        plan_roster(sample_site, sample_roster, WEEK, "lax")


def test_plan_vs_actual_compares_peaks_and_office_days(
    tmp_path: Path, sample_site: Site, sample_roster: Roster
) -> None:
    made = plan_roster(
        sample_site, sample_roster, WEEK, "transition", min_office_days=1, below_warning=True
    )

    path = tmp_path / "planned.yaml"
    path.write_text(dump_roster(planned_roster(SAMPLE / "roster.yaml", sample_roster, made)))
    planned = load_roster(path, sample_site)
    finance = next(r for r in made.rooms if r.room == "f2-work-finance" and r.date == MON)
    jakarta = sample_site.building("hq-jakarta")
    assert jakarta is not None
    at = datetime(2026, 11, 30, 10, 0, tzinfo=jakarta.zone)
    states = [
        RoomState(building="hq-jakarta", room="f2-work-finance", count=n, limit=20, capacity=40,
                  free=20 - n, status="open", ts=at + timedelta(minutes=n))
        for n in (2, 7, 4)
    ]  # fmt: skip
    someone = next(a for a in made.assignments if not a.fixed and a.days)
    came = someone.days[0]
    extra = WED if came != WED else THU
    tap = Tap(identity="x", action="check_in", at=at, ts=at, building="hq-jakarta")
    records = [
        DailyRecord(employee=someone.employee, date=d, building="hq-jakarta",
                    scheduled="wfo", status="on_time", taps=[tap])
        for d in (came, extra)
    ]  # fmt: skip
    rooms, employees = compare(
        sample_site, planned, WEEK, "transition", states=states, records=records
    )
    row = next(r for r in rooms if r.room == "f2-work-finance" and r.date == MON)
    assert (row.planned, row.peak, row.limit) == (finance.planned, 7, 20)
    assert all(r.peak is None for r in rooms if r.date != MON or r.room != "f2-work-finance")
    mine = next(e for e in employees if e.employee == someone.employee)
    assert mine.planned == someone.days
    assert mine.attended == (came, extra)
    assert mine.missed == ()
    assert mine.unplanned == (extra,)


@settings(max_examples=20, deadline=None)
@given(
    capacities=st.lists(st.integers(min_value=2, max_value=30), min_size=1, max_size=4),
    units=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=25),  # people
            st.sampled_from(["A", "B", "daily"]),  # their group
            st.lists(st.integers(min_value=0, max_value=3), max_size=2),  # home rooms
        ),
        min_size=1,
        max_size=5,
    ),
    office_days=st.integers(min_value=0, max_value=5),
    headroom=st.integers(min_value=0, max_value=2),
)
def test_any_plan_keeps_its_promises(
    capacities: list[int],
    units: list[tuple[int, str, list[int]]],
    office_days: int,
    headroom: int,
) -> None:
    """Whatever the rooms and people: everyone planned gets the office days asked for in a
    room of theirs, the table adds up, and a plan is feasible exactly when no room is over."""
    rooms = [f"w{i}" for i in range(len(capacities))]
    site = Site.model_validate(
        {
            "policy": {"active": "half", "levels": {"half": 0.5}},
            "buildings": [
                {
                    "id": "b",
                    "name": "B",
                    "timezone": "Asia/Jakarta",
                    "rooms": [
                        {"id": r, "name": r, "type": "workroom", "capacity": c}
                        for r, c in zip(rooms, capacities, strict=True)
                    ],
                }
            ],
        }
    )
    window = {"start_window": "07:00-09:00", "required_hours": 8}
    groups = [
        Group.model_validate({"id": "A", "office_days": ["mon", "wed", "fri"], **window}),
        Group.model_validate({"id": "B", "office_days": ["tue", "thu"], **window}),
        Group.model_validate({"id": "daily", "office_days": list(WEEKDAYS[:5]), **window}),
    ]
    homes = [sorted({rooms[i % len(rooms)] for i in home}) for _, _, home in units]
    roster = Roster(
        units=[Unit(id=f"u{i}", rooms=home) for i, home in enumerate(homes)],
        groups=groups,
        calendar=CalendarSpec.model_validate({"country": "none"}),
        employees=[
            Employee(id=f"e{i}-{n}", unit=f"u{i}", group=group, building="b")
            for i, (size, group, _) in enumerate(units)
            for n in range(size)
        ],
    )
    made = plan_roster(
        site, roster, WEEK, "half", min_office_days=office_days, headroom=headroom, time_limit_s=2
    )
    assert made.feasible == all(r.planned <= max(0, r.limit - headroom) for r in made.rooms)
    limits = dict(zip(rooms, (c // 2 for c in capacities), strict=True))
    assert all(r.limit == limits[r.room] for r in made.rooms)
    assert all(r.target == max(0, limits[r.room] - headroom) for r in made.rooms)
    assert all(r.over == max(0, r.planned - max(0, r.limit - headroom)) for r in made.rooms)
    counted: Counter[tuple[str, date]] = Counter()
    for a in made.assignments:
        e = roster.employee(a.employee)
        assert e is not None
        if a.fixed:
            assert e.group == "daily" and a.days == tuple(WEEK[:5])
        else:
            assert len(a.days) == office_days
            assert set(a.days) <= set(WEEK[:5])
            assert a.room in (roster.home_rooms(e) or rooms)
        counted.update((a.room, d) for d in a.days)
    assert counted == Counter({(r.room, r.date): r.planned for r in made.rooms})
    assert len(made.assignments) == len(roster.employees)


def test_holidays_are_never_planned(sample_site: Site, sample_roster: Roster) -> None:
    christmas_week = week_days(date(2026, 12, 21), date(2026, 12, 27))
    made = plan_roster(sample_site, sample_roster, christmas_week, "normal", min_office_days=1)
    assert made.feasible
    off = {b.id: sample_roster.holiday_calendar.dates(b.id, 2026) for b in sample_site.buildings}
    assert date(2026, 12, 25) in off["hq-jakarta"]
    for a in made.assignments:
        assert not set(a.days) & off[a.building]
        e = sample_roster.employee(a.employee)
        assert e is not None
        work = [d for d in christmas_week if sample_roster.scheduled(e, d) in ("wfo", "wfh")]
        if not a.fixed:
            assert len(a.days) == min(1, len(work))
