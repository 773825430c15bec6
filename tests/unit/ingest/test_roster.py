"""The roster file: the sample loads, schedules follow the rules, broken files name the fault."""

from __future__ import annotations

import importlib.util
import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import ConfigError
from ingest.roster import WEEKDAYS, Group, Roster, load_roster
from ingest.site import Site
from tests.support.strategies import identifiers

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"

SMALL = """\
units:
  - {id: u1, name: Unit one}
  - {id: u2}
groups:
  - id: A
    office_days: [mon, wed, fri]
    start_window: "07:00-09:00"
    required_hours: 8
    grace_minutes: 15
    check_in_window_minutes: 60
    half_day_below_hours: 4
    absent_below_hours: 1
  - id: B
    office_days: [tue, thu]
    wfh_days: [2026-11-27]
    start_window: "08:00-09:00"
    required_hours: 7.5
holidays: [2026-12-25]
employees:
  - {id: e1, unit: u1, group: A, building: hq-jakarta}
  - {id: e2, unit: u2, group: B, building: hq-jakarta}
employees_csv: staff.csv
"""
CSV = "id,unit,group,building\ne3,u1,A,hq-jakarta\ne4,u2,B,ro-makassar\n"

# Fixtures are session-scoped and never mutated, so sharing them across examples is safe.
fixture_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(folder: Path, text: str = SMALL, csv_text: str | None = CSV) -> Path:
    path = folder / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    if csv_text is not None:
        (folder / "staff.csv").write_text(csv_text, encoding="utf-8")
    return path


# --- the sample ------------------------------------------------------------------------


def test_sample_roster_is_a_few_hundred_people_in_two_alternating_groups(
    sample_roster: Roster,
) -> None:
    assert 250 <= len(sample_roster.employees) <= 400
    assert len({e.id for e in sample_roster.employees}) == len(sample_roster.employees)
    assert len(sample_roster.units) >= 5
    by_group: dict[str, int] = {}
    for e in sample_roster.employees:
        by_group[e.group] = by_group.get(e.group, 0) + 1
    # A and B take turns and are about the same size, so each day about half come in.
    assert abs(by_group["A"] - by_group["B"]) <= 6
    a, b = sample_roster.group("A"), sample_roster.group("B")
    assert a is not None and b is not None
    week = [date(2026, 11, 23 + i) for i in range(5)]  # Monday to Friday
    for day in week:
        assert {a.scheduled(day), b.scheduled(day)} == {"wfo", "wfh"}
    # Every head-office unit has people in both groups.
    for unit in ("setjen", "keuangan", "umum", "program", "ti", "pelayanan"):
        groups = {e.group for e in sample_roster.employees if e.unit == unit}
        assert {"A", "B"} <= groups, unit
    makassar = sample_roster.employees_in("ro-makassar")
    assert 10 <= len(makassar) <= 40
    assert all(e.unit == "wil-makassar" for e in makassar)
    # The leadership is written inline, the rest comes from the CSV.
    leader = sample_roster.employee("196705121990031001")
    assert leader is not None and leader.group == "pimpinan"


def test_sample_planned_office_share(sample_roster: Roster) -> None:
    hq = len(sample_roster.employees_in("hq-jakarta"))
    monday, saturday, christmas = date(2026, 11, 23), date(2026, 11, 28), date(2026, 12, 25)
    planned = sample_roster.planned_wfo("hq-jakarta", monday)
    assert 0.4 * hq < planned < 0.7 * hq
    # On the Saturday only the service desk is on duty; on a holiday nobody is planned.
    layanan = sum(1 for e in sample_roster.employees if e.group == "layanan")
    assert sample_roster.planned_wfo("hq-jakarta", saturday) == layanan
    assert sample_roster.planned_wfo("hq-jakarta", christmas) == 0
    assert sample_roster.planned_wfo("ro-makassar", date(2026, 11, 27)) == 1  # the head only


def test_sample_csv_is_what_the_script_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_employees", SAMPLE / "make_employees.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    module.write(out)
    assert out.getvalue() == (SAMPLE / "employees.csv").read_text(encoding="utf-8")


def test_resolved_roster_for_tools(tmp_path: Path, sample_site: Site) -> None:
    roster = load_roster(write(tmp_path), sample_site)
    resolved = roster.resolved()
    assert [e["id"] for e in resolved["employees"]] == ["e1", "e2", "e3", "e4"]
    assert resolved["employees"][3] == {
        "id": "e4",
        "name": None,
        "unit": "u2",
        "group": "B",
        "building": "ro-makassar",
        "rooms": [],
        "office_days": [],
        "wfh_days": [],
    }
    a = resolved["groups"][0]
    assert a["office_days"] == ["mon", "wed", "fri"]
    assert a["start_window"] == {"from": "07:00", "to": "09:00"}
    assert (a["required_hours"], a["grace_minutes"]) == (8, 15)
    assert resolved["groups"][1]["wfh_days"] == ["2026-11-27"]
    assert resolved["holidays"] == ["2026-12-25"]


def test_home_rooms_are_the_employees_own_else_the_groups_else_the_units(
    tmp_path: Path, sample_site: Site
) -> None:
    text = (
        SMALL.replace("{id: u1, name: Unit one}", "{id: u1, rooms: [f2-work-finance, f2-workroom]}")
        .replace("  - id: B\n", "  - id: B\n    rooms: [hq-jakarta/f3-work-it]\n")
        .replace(
            "group: A, building: hq-jakarta}",
            "group: A, building: hq-jakarta, rooms: [f4-leadership]}",
        )
    )
    csv_text = (
        "id,unit,group,building,rooms\ne3,u1,A,hq-jakarta,\ne4,u2,A,ro-makassar,\n"
        "e5,u2,A,ro-makassar,f2-workroom f1-service-hall\n"
    )
    roster = load_roster(write(tmp_path, text, csv_text), sample_site)
    rooms = {e.id: roster.home_rooms(e) for e in roster.employees}
    assert rooms == {
        "e1": ["f4-leadership"],  # their own
        "e2": ["f3-work-it"],  # group B's
        "e3": ["f2-work-finance"],  # unit u1's in their building (f2-workroom is Makassar's)
        "e4": [],  # neither group A nor unit u2 names rooms: any workroom
        "e5": ["f2-workroom", "f1-service-hall"],  # from the CSV, separated by spaces
    }
    assert roster.resolved()["units"][0]["rooms"] == ["f2-work-finance", "f2-workroom"]


def test_an_employees_own_dates_come_before_the_groups_weekdays(
    tmp_path: Path, sample_site: Site
) -> None:
    text = SMALL.replace(
        "{id: e1, unit: u1, group: A, building: hq-jakarta}",
        "{id: e1, unit: u1, group: A, building: hq-jakarta, office_days: [2026-11-24, "
        "2026-12-25], wfh_days: [2026-11-23]}",
    )
    roster = load_roster(write(tmp_path, text), sample_site)
    e1 = roster.employee("e1")
    assert e1 is not None
    assert roster.scheduled(e1, MON) == "wfh"  # group A's Monday, the employee's WFH date
    assert roster.scheduled(e1, TUE) == "wfo"  # not group A's day, the employee's date
    assert roster.scheduled(e1, date(2026, 11, 25)) == "wfo"  # group A's Wednesday as ever
    assert roster.scheduled(e1, date(2026, 12, 25)) == "holiday"  # still a holiday


def test_the_sample_roster_seats_every_unit(sample_roster: Roster) -> None:
    roster = sample_roster
    seats = {(e.unit, e.group, e.building): tuple(roster.home_rooms(e)) for e in roster.employees}
    assert seats[("pelayanan", "layanan", "hq-jakarta")] == ("f1-service-hall",)
    assert seats[("wil-makassar", "pimpinan", "ro-makassar")] == ("f2-workroom",)
    assert all(seats.values())


# --- schedules -------------------------------------------------------------------------

# 2026-11-23 is a Monday in ISO week 48 (even); 2026-11-30 is a Monday in week 49 (odd).
MON, TUE, FRI, SAT, SUN = (date(2026, 11, d) for d in (23, 24, 27, 28, 29))
ODD_MON = date(2026, 11, 30)


def group(**fields: Any) -> Group:
    return Group.model_validate(
        {"id": "g", "start_window": "07:00-09:00", "required_hours": 8, **fields}
    )


@pytest.mark.parametrize(
    ("fields", "day", "holidays", "expected"),
    [
        pytest.param({"office_days": ["mon", "wed", "fri"]}, MON, (), "wfo", id="office-weekday"),
        pytest.param({"office_days": ["mon", "wed", "fri"]}, TUE, (), "wfh", id="other-work-day"),
        pytest.param({"office_days": ["mon", "wed", "fri"]}, SAT, (), "off", id="weekend"),
        pytest.param({"office_days": [TUE]}, TUE, (), "wfo", id="office-date"),
        pytest.param({"office_days": [TUE]}, MON, (), "wfh", id="dates-only"),
        pytest.param({"office_days": ["fri"], "wfh_days": [FRI]}, FRI, (), "wfh", id="wfh-date"),
        pytest.param({"office_days": ["mon"]}, MON, (MON,), "holiday", id="holiday"),
        pytest.param({"office_days": ["mon"]}, TUE, (TUE,), "holiday", id="holiday-on-wfh-day"),
        pytest.param({"office_days": [TUE]}, TUE, (TUE,), "holiday", id="holiday-office-date"),
        pytest.param({"wfh_days": [FRI]}, FRI, (FRI,), "holiday", id="holiday-wfh-date"),
        pytest.param({"office_days": ["mon"]}, SAT, (SAT,), "off", id="holiday-on-a-day-off"),
        pytest.param({"work_days": ["mon"]}, TUE, (TUE,), "off", id="holiday-no-work-day"),
        pytest.param(
            {"office_days": ["mon"], "on_duty_days": [MON]}, MON, (MON,), "wfo", id="duty-holiday"
        ),
        pytest.param({"on_duty_days": [SAT]}, SAT, (SAT,), "wfo", id="duty-saturday-holiday"),
        pytest.param({"on_duty_days": [SAT]}, SAT, (), "wfo", id="duty-saturday"),
        pytest.param({"office_days": ["sat"]}, SAT, (), "wfo", id="office-beyond-work-days"),
        pytest.param({"wfh_days": ["sun"]}, SUN, (), "wfh", id="wfh-beyond-work-days"),
        pytest.param({"work_days": ["mon", "tue"]}, FRI, (), "off", id="short-week"),
        pytest.param({"office_days": ["mon"], "office_weeks": "odd"}, MON, (), "wfh", id="even"),
        pytest.param({"office_days": ["mon"], "office_weeks": "odd"}, ODD_MON, (), "wfo", id="odd"),
        pytest.param({"office_days": ["mon"], "office_weeks": "even"}, MON, (), "wfo", id="even2"),
        pytest.param({"office_days": ["Mon", "2026-11-24"]}, TUE, (), "wfo", id="spellings"),
    ],
)
def test_scheduled(
    fields: dict[str, Any], day: date, holidays: tuple[date, ...], expected: str
) -> None:
    assert group(**fields).scheduled(day, frozenset(holidays)) == expected


def test_roster_scheduled_applies_its_holidays(tmp_path: Path, sample_site: Site) -> None:
    roster = load_roster(write(tmp_path), sample_site)
    e1 = roster.employee("e1")
    assert e1 is not None
    assert roster.scheduled(e1, date(2026, 12, 23)) == "wfo"  # a Wednesday
    assert roster.scheduled(e1, date(2026, 12, 25)) == "holiday"  # a Friday, but Christmas
    assert roster.employee("nobody") is None


def test_roster_scheduled_follows_the_calendar_of_the_employees_building(
    tmp_path: Path, sample_site: Site
) -> None:
    """e1 (group A, Jakarta) and e4 (group B, Makassar): national days, cuti bersama,
    the roster's own day, Makassar's own day and a day Makassar works."""
    text = SMALL.replace(
        "holidays: [2026-12-25]\n",
        "holidays: [{date: 2026-10-02, name: HUT Badan}]\n"
        "calendar:\n"
        "  buildings:\n"
        "    ro-makassar:\n"
        "      holidays: [{date: 2026-11-10, name: Hari Jadi}]\n"
        "      not_holidays: [2026-05-28]\n",
    )
    roster = load_roster(write(tmp_path, text), sample_site)
    e1, e4 = roster.employee("e1"), roster.employee("e4")
    assert e1 is not None and e4 is not None
    # Group A is in on Monday, Wednesday and Friday, group B on Tuesday and Thursday.
    days = {
        date(2026, 8, 17): ("holiday", "holiday"),  # Monday: Independence Day
        date(2026, 5, 28): ("holiday", "wfo"),  # Thursday, cuti bersama, worked in Makassar
        date(2026, 12, 24): ("holiday", "holiday"),  # Thursday, cuti bersama
        date(2026, 10, 2): ("holiday", "holiday"),  # Friday: the roster's own day
        date(2026, 11, 10): ("wfh", "holiday"),  # Tuesday: Makassar's own day
        date(2026, 12, 26): ("off", "off"),  # Saturday after Christmas
    }
    for day, expected in days.items():
        assert (roster.scheduled(e1, day), roster.scheduled(e4, day)) == expected, day
    assert roster.planned_wfo("ro-makassar", date(2026, 5, 28)) == 1
    assert roster.planned_wfo("ro-makassar", date(2026, 12, 24)) == 0


def test_window_and_durations() -> None:
    g = group(start_window="07:30 – 08:00", grace_minutes=5, check_in_window_minutes=30)
    assert g.start_window == "07:30-08:00"
    assert (g.window_start.isoformat(), g.window_end.isoformat()) == ("07:30:00", "08:00:00")
    assert (g.grace.total_seconds(), g.required.total_seconds()) == (300, 8 * 3600)
    assert g.check_in_window is not None and g.check_in_window.total_seconds() == 1800
    assert group().check_in_window is None


# --- broken YAML -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        (
            '"07:00-09:00"',
            '"09:00-07:00"',
            "line 7 (groups[0].start_window)",
            "'09:00-07:00' ends before it starts",
        ),
        (
            '"07:00-09:00"',
            '"7 to 9"',
            "line 7 (groups[0].start_window)",
            "'7 to 9' is not a window such as \"07:00-09:00\"",
        ),
        (
            '"07:00-09:00"',
            "7:00",
            "line 7 (groups[0].start_window)",
            'write the start window as a quoted string such as "07:00-09:00"',
        ),
        (
            '"07:00-09:00"',
            '"07:00-24:00"',
            "line 7 (groups[0].start_window)",
            "'07:00-24:00' is not a window of two times of day (00:00 to 23:59)",
        ),
        (
            "[mon, wed, fri]",
            "[mon, wednesday]",
            "line 6 (groups[0].office_days[1])",
            "'wednesday' is neither a weekday (mon, tue, wed, thu, fri, sat, sun) "
            "nor a date (YYYY-MM-DD)",
        ),
        (
            "[mon, wed, fri]",
            "[mon, wed, mon]",
            "line 6 (groups[0].office_days[2])",
            "mon is listed twice",
        ),
        (
            "wfh_days: [2026-11-27]",
            "wfh_days: [thu]",
            "line 15 (groups[1].wfh_days[0])",
            "thu is both an office day and a WFH day of group 'B'",
        ),
        (
            "required_hours: 8",
            "required_hours: 25",
            "line 8 (groups[0].required_hours)",
            "input should be less than or equal to 24 (got 25)",
        ),
        (
            "required_hours: 8",
            'required_hours: "8"',
            "line 8 (groups[0].required_hours)",
            "input should be a valid number (got '8')",
        ),
        (
            "grace_minutes: 15",
            "grace_minutes: -1",
            "line 9 (groups[0].grace_minutes)",
            "input should be greater than or equal to 0 (got -1)",
        ),
        (
            "absent_below_hours: 1",
            "absent_below_hours: 5",
            "line 12 (groups[0].absent_below_hours)",
            "5 h must be below half_day_below_hours (4 h)",
        ),
        (
            "half_day_below_hours: 4",
            "half_day_below_hours: 9",
            "line 11 (groups[0].half_day_below_hours)",
            "9 h is more than the required 8 h",
        ),
        (
            "    required_hours: 7.5\n",
            "    required_hours: 7.5\n    office_weeks: odd\n    on_duty_days: [sat]\n",
            "line 19 (groups[1].on_duty_days[0])",
            "'sat' is a weekday; on-duty days are dates (YYYY-MM-DD)",
        ),
        (
            "  - id: B\n    office_days: [tue, thu]\n    wfh_days: [2026-11-27]\n",
            "  - id: B\n    office_days: [2026-11-24]\n    office_weeks: odd\n",
            "line 15 (groups[1].office_weeks)",
            "applies to weekdays, and office_days names none",
        ),
        ("id: B", "id: A", "line 13 (groups[1].id)", "group id 'A' is given twice"),
        ("{id: u2}", "{id: u1}", "line 3 (units[1].id)", "unit id 'u1' is given twice"),
        (
            "{id: u2}",
            "{id: u2, head: someone}",
            "line 3 (units[1].head)",
            "extra inputs are not permitted (got 'someone')",
        ),
        (
            "group: B, building",
            "group: C, building",
            "line 21 (employees[1].group)",
            "unknown group 'C'",
        ),
        (
            "unit: u2, group: B",
            "unit: u9, group: B",
            "line 21 (employees[1].unit)",
            "unknown unit 'u9'",
        ),
        (
            "B, building: hq-jakarta",
            "B, building: hq-bandung",
            "line 21 (employees[1].building)",
            "unknown building 'hq-bandung' (the site has hq-jakarta, ro-makassar)",
        ),
        (
            "{id: e2,",
            "{id: e1,",
            "line 21 (employees[1].id)",
            "employee id 'e1' is given twice (first at line 20 (employees[0]))",
        ),
        (
            "{id: e2,",
            "{id: 198503152010011001,",
            "line 21 (employees[1].id)",
            "198503152010011001 is a number; quote ids in YAML so leading zeros survive",
        ),
        (
            "{id: e2,",
            '{id: "e 2",',
            "line 21 (employees[1].id)",
            "string should match pattern '^[A-Za-z0-9_.-]{1,64}$' (got 'e 2')",
        ),
        (
            "holidays: [2026-12-25]",
            "holidays: [2026-12-25, 2026-12-25]",
            "line 18 (holidays[1])",
            "2026-12-25 is listed twice",
        ),
        (
            "holidays: [2026-12-25]",
            "holidays: [2026-12-25T08:00:00]",
            "line 18 (holidays[0])",
            "2026-12-25T08:00:00 is a time; give a date (YYYY-MM-DD)",
        ),
        (
            "employees_csv: staff.csv",
            "employees_csv: nothere.csv",
            "line 22 (employees_csv)",
            "the file '{dir}/nothere.csv' does not exist",
        ),
        (
            '    start_window: "08:00-09:00"\n',
            "",
            "line 13 (groups[1].start_window)",
            "field required",
        ),
        (
            "{id: u2}",
            "{id: u2, rooms: [f9-nowhere]}",
            "line 3 (units[1].rooms[0])",
            "no building of the site has a room 'f9-nowhere'",
        ),
        (
            "{id: u2}",
            "{id: u2, rooms: [f2-meeting-a]}",
            "line 3 (units[1].rooms[0])",
            "room 'f2-meeting-a' is a meeting room; people sit in workrooms (or a service desk "
            "in its service room)",
        ),
        (
            "{id: u2}",
            "{id: u2, rooms: [hq-bandung/f2-work-it]}",
            "line 3 (units[1].rooms[0])",
            "unknown building 'hq-bandung' in 'hq-bandung/f2-work-it'",
        ),
        (
            "  - id: B\n",
            "  - id: B\n    rooms: [f2-work-finance, hq-jakarta/f3/it]\n",
            "line 14 (groups[1].rooms[1])",
            "string should match pattern '^([A-Za-z0-9_.-]{1,64}/)?[A-Za-z0-9_.-]{1,64}$' "
            "(got 'hq-jakarta/f3/it')",
        ),
        (
            "group: B, building: hq-jakarta}",
            "group: B, building: hq-jakarta, office_days: [2026-11-30, 2026-11-30]}",
            "line 21 (employees[1].office_days)",
            "2026-11-30 is listed twice",
        ),
        (
            "group: B, building: hq-jakarta}",
            "group: B, building: hq-jakarta, office_days: [2026-11-30], wfh_days: [2026-11-30]}",
            "line 21 (employees[1].wfh_days)",
            "2026-11-30 is both an office day and a WFH day of employee 'e2'",
        ),
        (
            "group: B, building: hq-jakarta}",
            "group: B, building: hq-jakarta, wfh_days: [mon]}",
            "line 21 (employees[1].wfh_days[0])",
            "'mon' is a weekday; an employee's own days are dates (YYYY-MM-DD)",
        ),
        (
            "group: B, building: hq-jakarta}",
            "group: B, building: hq-jakarta, rooms: [ro-makassar/f2-workroom]}",
            "line 21 (employees[1].building)",
            "none of the home rooms (their own: ro-makassar/f2-workroom) is in building "
            "'hq-jakarta'",
        ),
    ],
)
def test_broken_roster_names_file_line_key_and_problem(
    tmp_path: Path, sample_site: Site, old: str, new: str, where: str, problem: str
) -> None:
    assert old in SMALL
    path = write(tmp_path, SMALL.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_roster(path, sample_site)
    expected = f"{path} {where}: {problem.replace('{dir}', str(tmp_path))}."
    assert str(caught.value) == expected


def test_a_duplicate_across_yaml_and_csv_names_both(tmp_path: Path, sample_site: Site) -> None:
    path = write(tmp_path, csv_text=CSV + "e1,u1,A,hq-jakarta\n")
    with pytest.raises(ConfigError) as caught:
        load_roster(path, sample_site)
    assert str(caught.value) == (
        f"{tmp_path}/staff.csv row 4 (id): employee id 'e1' is given twice "
        f"(first at {path} line 20 (employees[0]))."
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("units: [\n", "line 2: not valid YAML"),
        ("- a list\n", ": a roster file is a mapping with `units`, `groups` and `employees`."),
        ("", ": a roster file is a mapping"),
        (
            SMALL.replace("employees_csv: staff.csv\n", "").replace(
                "employees:\n  - {id: e1, unit: u1, group: A, building: hq-jakarta}\n"
                "  - {id: e2, unit: u2, group: B, building: hq-jakarta}\n",
                "",
            ),
            " (employees): the roster lists no employees (give `employees` or `employees_csv`).",
        ),
    ],
)
def test_unreadable_roster_files(
    tmp_path: Path, sample_site: Site, text: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_roster(write(tmp_path, text), sample_site)
    assert problem in str(caught.value)


# --- broken CSV ------------------------------------------------------------------------

HEADER = "id,unit,group,building\n"


@pytest.mark.parametrize(
    ("csv_text", "where", "problem"),
    [
        (HEADER + "e3,u1,A,hq-jakarta\ne5,u1,C,hq-jakarta\n", "row 3 (group)", "unknown group 'C'"),
        (HEADER + "e3,u9,A,hq-jakarta\n", "row 2 (unit)", "unknown unit 'u9'"),
        (
            HEADER + "e3,u1,A,hq-bandung\n",
            "row 2 (building)",
            "unknown building 'hq-bandung' (the site has hq-jakarta, ro-makassar)",
        ),
        (HEADER + "e3,u1,A,hq-jakarta\ne3,u2,B,hq-jakarta\n", "row 3 (id)", "employee id 'e3' "),
        (
            HEADER + "1.98503E+17,u1,A,hq-jakarta\n",
            "row 2 (id)",
            "'1.98503E+17' looks like a long number a spreadsheet rewrote in scientific "
            "notation; format the id column as text",
        ),
        (
            HEADER + "e 3,u1,A,hq-jakarta\n",
            "row 2 (id)",
            "string should match pattern '^[A-Za-z0-9_.-]{1,64}$' (got 'e 3')",
        ),
        (HEADER + ",u1,A,hq-jakarta\n", "row 2 (id)", "string should match pattern"),
        (
            HEADER + "e3,u1,A\n",
            "row 2",
            "has 3 fields where the header has 4 (id, unit, group, building)",
        ),
        (
            "id,unit,group,building,colour\ne3,u1,A,hq-jakarta,red\n",
            "row 1 (colour)",
            "unknown column; the columns are id, unit, group, building and optionally name",
        ),
        ("id,unit,group\ne3,u1,A\n", "row 1", "the header has no column 'building'"),
        ("id,unit,unit,group,building\n", "row 1 (unit)", "the column is given twice"),
        (
            HEADER + 'e3,"u1,A,hq-jakarta\n',
            "row 2",
            "not valid CSV (unexpected end of data)",
        ),
        (
            "",
            "",
            "the file has no header row; the first row names the columns "
            "(id, unit, group, building and optionally name, rooms)",
        ),
    ],
)
def test_broken_csv_names_file_row_column_and_problem(
    tmp_path: Path, sample_site: Site, csv_text: str, where: str, problem: str
) -> None:
    write(tmp_path, csv_text=csv_text)
    with pytest.raises(ConfigError) as caught:
        load_roster(tmp_path / "roster.yaml", sample_site)
    message = str(caught.value)
    prefix = f"{tmp_path}/staff.csv{' ' + where if where else ''}: "
    assert message.startswith(prefix + problem), message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(
    "csv_text",
    [
        "\ufeffid;name;unit;group;building\r\ne3;Siti Rahma;u1;A;hq-jakarta\r\n",  # Excel, id-ID
        "building,group,unit,id\n hq-jakarta , A , u1 , e3 \n\n,,,\n",  # any order, padding
        "id,unit,group,building,name\ne3,u1,A,hq-jakarta,\n",  # an empty optional name
    ],
    ids=["excel-semicolons", "reordered-padded", "empty-name"],
)
def test_csv_as_spreadsheets_write_it(tmp_path: Path, sample_site: Site, csv_text: str) -> None:
    roster = load_roster(write(tmp_path, csv_text=csv_text), sample_site)
    e3 = roster.employee("e3")
    assert e3 is not None and (e3.unit, e3.group, e3.building) == ("u1", "A", "hq-jakarta")
    assert len(roster.employees) == 3


def test_csv_that_is_not_utf8(tmp_path: Path, sample_site: Site) -> None:
    path = write(tmp_path)
    (tmp_path / "staff.csv").write_bytes(b"id,unit,group,building,name\ne3,u1,A,hq-jakarta,J\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_roster(path, sample_site)
    assert str(caught.value) == (
        f"{tmp_path}/staff.csv row 2: is not UTF-8 text (byte 0xe9); save the sheet as CSV UTF-8."
    )


# --- properties ------------------------------------------------------------------------

cells = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["e1", "u1", "A", "hq-jakarta", "id", "unit", "group", "building", "name", '"', ";", ""]
)
csv_texts = st.one_of(
    st.text(max_size=300),
    st.lists(st.lists(cells, min_size=0, max_size=6).map(",".join), min_size=0, max_size=6).map(
        "\n".join
    ),
    st.lists(cells, max_size=5).map(lambda rows: HEADER + "\n".join(rows)),
)


@fixture_settings
@given(csv_text=csv_texts)
def test_any_csv_is_loaded_or_rejected_with_one_sentence(
    tmp_path_factory: pytest.TempPathFactory, sample_site: Site, csv_text: str
) -> None:
    folder = tmp_path_factory.mktemp("csv")
    try:
        roster = load_roster(write(folder, csv_text=csv_text), sample_site)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).endswith(".")
    else:
        assert {"e1", "e2"} <= {e.id for e in roster.employees}


day_entries = st.sampled_from(WEEKDAYS) | st.dates(date(2026, 1, 1), date(2027, 12, 31))


@st.composite
def rosters(draw: st.DrawFn) -> dict[str, Any]:
    units = draw(st.lists(identifiers, min_size=1, max_size=4, unique=True))
    group_ids = draw(st.lists(identifiers, min_size=1, max_size=4, unique=True))
    groups = []
    for g in group_ids:
        office = draw(st.lists(day_entries, max_size=5, unique=True))
        wfh = [d for d in draw(st.lists(day_entries, max_size=3, unique=True)) if d not in office]
        start = draw(st.integers(0, 22 * 60))
        end = draw(st.integers(start, 23 * 60 + 59))
        required = draw(st.integers(1, 48)) / 2
        group: dict[str, Any] = {
            "id": g,
            "office_days": office,
            "wfh_days": wfh,
            "start_window": f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}",
            "required_hours": required,
            "grace_minutes": draw(st.integers(0, 240)),
        }
        if draw(st.booleans()):
            group["half_day_below_hours"] = required
        groups.append(group)
    ids = draw(st.lists(identifiers, min_size=1, max_size=20, unique=True))
    employees = [
        {
            "id": e,
            "unit": draw(st.sampled_from(units)),
            "group": draw(st.sampled_from(group_ids)),
            "building": draw(st.sampled_from(["hq-jakarta", "ro-makassar"])),
        }
        for e in ids
    ]
    return {"units": [{"id": u} for u in units], "groups": groups, "employees": employees}


@fixture_settings
@given(data=rosters(), split=st.integers(0, 20))
def test_generated_rosters_round_trip_through_yaml_and_csv(
    tmp_path_factory: pytest.TempPathFactory, sample_site: Site, data: dict[str, Any], split: int
) -> None:
    folder = tmp_path_factory.mktemp("roster")
    inline, listed = data["employees"][:split], data["employees"][split:]
    document = {**data, "employees": inline}
    if listed:
        document["employees_csv"] = "staff.csv"
    rows = [HEADER.strip()] + [
        f"{e['id']},{e['unit']},{e['group']},{e['building']}" for e in listed
    ]
    path = write(folder, yaml.safe_dump(document), "\n".join(rows) + "\n")
    roster = load_roster(path, sample_site)
    own = {"name", "rooms", "office_days", "wfh_days"}
    assert [e.model_dump(exclude=own) for e in roster.employees] == data["employees"]
    for written, loaded in zip(data["groups"], roster.groups, strict=True):
        assert loaded.id == written["id"]
        assert loaded.office_days == written["office_days"]
        assert loaded.start_window == written["start_window"]
        assert loaded.required_hours == written["required_hours"]
    again = load_roster(path, sample_site)
    assert again == roster
