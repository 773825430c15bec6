"""The pure parts of attendance in the workers: closing due days, presence, screening, plan."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

import pytest

from ingest.models import CheckinRecord
from ingest.roster import Roster
from ingest.site import Site
from processors.attendance_days import EmployeeDays, close_due, presence_of
from processors.attendance_report import attendance_rows, unit_totals
from processors.attendance_rules import (
    DailyRecord,
    TapRules,
    apply_tap,
    over_plan,
    screening_reasons,
)

GROUP_A = "196903151996012001"  # group A (office Mon, Wed, Fri), hq-jakarta


def tap(action: str, at: datetime, event: str, **extra: object) -> CheckinRecord:
    return CheckinRecord.model_validate(
        {
            "building": "hq-jakarta",
            "kiosk": "kiosk-main",
            "event_id": event,
            "ts": at,
            "employee_id": GROUP_A,
            "action": action,
            "received_at": at,
            **extra,
        }
    )


def test_close_due_marks_absentees_and_closes_open_days(
    sample_roster: Roster, sample_site: Site
) -> None:
    employee = sample_roster.employee(GROUP_A)
    assert employee is not None
    monday = date(2026, 11, 23)
    check_in = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 WIB
    record, _ = apply_tap(
        None,
        tap("check_in", check_in, "e1"),
        employee=employee,
        roster=sample_roster,
        site=sample_site,
        rules=TapRules(),
    )
    days = EmployeeDays(days={monday: record})
    assert presence_of(GROUP_A, days, check_in, sample_site).building == "hq-jakarta"
    # Still open after midnight (not closed yet), Monday no longer puts anyone in the building.
    tuesday = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)  # 00:30 WIB
    assert presence_of(GROUP_A, days, tuesday, sample_site).building is None
    # Wednesday 10:00 WIB: Monday and Tuesday are over, Wednesday is not.
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    after, changed, findings = close_due(
        days, employee, now, sample_roster, sample_site, TapRules(), lookback=2
    )
    statuses = {r.date: r.status for r in changed}
    assert statuses == {monday: "auto_closed", date(2026, 11, 24): "wfh"}
    assert [f.kind for f in findings] == ["auto_closed"]
    assert after.closed_through == date(2026, 11, 24)
    assert presence_of(GROUP_A, after, now, sample_site).building is None
    # Nothing more is due until Wednesday ends; then Wednesday is an absence.
    assert close_due(after, employee, now, sample_roster, sample_site, TapRules(), 2)[1] == []
    later = datetime(2026, 11, 25, 17, 1, tzinfo=UTC)
    _, changed, _ = close_due(after, employee, later, sample_roster, sample_site, TapRules(), 2)
    assert [(r.date, r.status) for r in changed] == [(date(2026, 11, 25), "absent")]


@pytest.mark.parametrize(
    ("extra", "reasons"),
    [
        ({}, []),
        ({"temperature_c": 37.4, "mask": True}, []),
        ({"temperature_c": 37.5}, ["temperature 37.5 °C ≥ 37.5 °C"]),
        ({"mask": False}, ["no mask"]),
        ({"temperature_c": 38.0, "mask": False}, ["temperature 38.0 °C ≥ 37.5 °C", "no mask"]),
    ],
)
def test_screening_reasons(extra: dict[str, object], reasons: list[str]) -> None:
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert screening_reasons(tap("check_in", at, "e1", **extra), 37.5) == reasons


@pytest.mark.parametrize(
    ("count", "planned", "ratio", "over"),
    [
        (0, 0, 1.0, False),
        (1, 0, 1.0, True),
        (10, 10, 1.0, False),
        (11, 10, 1.0, True),
        (6, 10, 0.5, True),
        (5, 10, 0.5, False),
    ],
)
def test_over_plan(count: int, planned: int, ratio: float, over: bool) -> None:
    assert over_plan(count, planned, ratio) is over


def test_presence_of_nothing_open_is_nowhere(sample_site: Site) -> None:
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    assert presence_of("x", EmployeeDays(), now, sample_site).building is None


def closed_day(roster: Roster, site: Site, day: date) -> list[DailyRecord]:
    """Every employee's record of `day`, closed by the day-end timer the day after at noon
    UTC (past the day's end in Jakarta and in Makassar)."""
    now = datetime.combine(day + timedelta(days=1), time(12), tzinfo=UTC)
    records = []
    for employee in roster.employees:
        _, changed, _ = close_due(EmployeeDays(), employee, now, roster, site, TapRules(), 1)
        records += [r for r in changed if r.date == day]
    return records


@pytest.mark.parametrize(
    "day",
    [date(2026, 12, 25), date(2026, 12, 24)],
    ids=["christmas", "cuti-bersama-christmas-eve"],
)
def test_on_christmas_and_its_cuti_bersama_the_sample_roster_is_on_holiday(
    sample_roster: Roster, sample_site: Site, day: date
) -> None:
    """A Friday and a Thursday, work days of every group of the sample: everyone has a
    `holiday` record, nobody is absent, nobody is planned in, and nobody in is no alert."""
    records = closed_day(sample_roster, sample_site, day)
    assert len(records) == len(sample_roster.employees)
    assert Counter(r.status for r in records) == {"holiday": len(records)}
    assert {r.scheduled for r in records} == {"holiday"}
    for building in ("hq-jakarta", "ro-makassar"):
        planned = sample_roster.planned_wfo(building, day)
        assert planned == 0
        assert not any(over_plan(0, planned, ratio) for ratio in (0.5, 1.0, 1.5))
    totals = unit_totals(attendance_rows(sample_roster, sample_site, records, day))
    assert sum(t.holiday for t in totals) == len(records)
    assert sum(t.absent + t.wfh + t.planned_wfo + t.present for t in totals) == 0


def test_the_wednesday_before_is_a_work_day(sample_roster: Roster, sample_site: Site) -> None:
    """The contrast: with nobody tapping, the office groups of 2026-12-23 are absent."""
    statuses = Counter(r.status for r in closed_day(sample_roster, sample_site, date(2026, 12, 23)))
    assert statuses["absent"] == sample_roster.planned_wfo(
        "hq-jakarta", date(2026, 12, 23)
    ) + sample_roster.planned_wfo("ro-makassar", date(2026, 12, 23))
    assert statuses["wfh"] > 0 and "holiday" not in statuses


def test_the_report_shows_a_holiday_before_its_record(
    sample_roster: Roster, sample_site: Site
) -> None:
    """Before the close there is no record; the row says holiday, not no_record, and the CSV
    cells keep the status."""
    christmas, saturday = date(2026, 12, 25), date(2026, 12, 26)
    rows = attendance_rows(sample_roster, sample_site, [], christmas, building="ro-makassar")
    assert rows and {(r.scheduled, r.status) for r in rows} == {("holiday", "holiday")}
    assert rows[0].cells()[5:7] == ["holiday", "holiday"]
    (total,) = unit_totals(rows)
    assert total.figures() == (0, 0, 0, 0, 0, len(rows))
    weekend = attendance_rows(sample_roster, sample_site, [], saturday, building="ro-makassar")
    assert {r.status for r in weekend} == {"off"}
    assert unit_totals(weekend)[0].holiday == 0
