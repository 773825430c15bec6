"""Privacy in the pure parts of attendance: retention of daily records, the lookback against
it, the report of a date past it, and no screening values kept per person."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.errors import ConfigError
from ingest.roster import Roster
from ingest.settings import Settings
from ingest.site import Site
from processors.attendance_days import (
    EmployeeDays,
    Presence,
    check_retention,
    close_due,
    expire,
)
from processors.attendance_report import RetentionError, check_reportable
from processors.attendance_rules import DailyRecord, Tap, TapRules, apply_tap, retained_from
from tests.unit.processors.test_attendance import GROUP_A, tap

WIB = ZoneInfo("Asia/Jakarta")


def test_retained_from_counts_days_in_the_building_zone() -> None:
    # 2026-12-01 20:00 UTC is already 2 December in Jakarta (UTC+7).
    now = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    assert retained_from(now, WIB, 90) == date(2026, 9, 3)
    assert retained_from(now, ZoneInfo("UTC"), 90) == date(2026, 9, 2)
    assert retained_from(now, WIB, 1) == date(2026, 12, 1)


def test_closed_days_move_to_archived_and_expire_deletes_them_past_the_retention(
    sample_roster: Roster, sample_site: Site
) -> None:
    employee = sample_roster.employee(GROUP_A)
    assert employee is not None
    monday = date(2026, 11, 2)
    record, _ = apply_tap(
        None,
        tap("check_in", datetime(2026, 11, 2, 1, 0, tzinfo=UTC), "e1"),
        employee=employee,
        roster=sample_roster,
        site=sample_site,
        rules=TapRules(),
    )
    # Thursday three weeks later, with a lookback of 2: Monday the 2nd is closed, dropped from
    # the value, and remembered as archived (its record is still in occupancy.attendance);
    # Tuesday (WFH) and Wednesday (absent) are closed and kept in the value.
    now = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    after, changed, _ = close_due(
        EmployeeDays(days={monday: record}),
        employee,
        now,
        sample_roster,
        sample_site,
        TapRules(),
        2,
    )
    assert [(r.date, r.status) for r in changed] == [
        (monday, "auto_closed"),
        (date(2026, 11, 24), "wfh"),
        (date(2026, 11, 25), "absent"),
    ]
    assert sorted(after.days) == [date(2026, 11, 24), date(2026, 11, 25)]
    assert after.archived == [monday]

    # Retention 30: nothing is old enough yet.
    assert expire(after, retained_from(now, WIB, 30)) == (after, [])
    # Retention 14 on the 26th keeps the 12th on: Monday the 2nd goes, the recent days stay.
    kept, gone = expire(after, retained_from(now, WIB, 14))
    assert gone == [monday]
    assert kept.archived == [] and kept.days == after.days
    assert kept.closed_through == after.closed_through
    # Retention 1 leaves today and yesterday only.
    kept, gone = expire(after, retained_from(now, WIB, 1))
    assert sorted(kept.days) == [date(2026, 11, 25)]
    assert gone == [monday, date(2026, 11, 24)]


def test_an_open_day_past_the_retention_is_deleted_too() -> None:
    old = date(2026, 1, 5)
    record = DailyRecord(
        employee=GROUP_A,
        date=old,
        building="hq-jakarta",
        scheduled="wfo",
        status="on_time",
        open=True,
        in_building="hq-jakarta",
    )
    days = EmployeeDays(days={old: record}, archived=[date(2026, 1, 2)])
    kept, gone = expire(days, date(2026, 2, 1))
    assert kept.empty and gone == [date(2026, 1, 2), old]


@pytest.mark.parametrize(
    ("lookback", "retention", "fails"),
    [(7, 90, False), (7, 7, False), (1, 1, False), (10, 5, True)],
)
def test_the_lookback_must_not_reach_past_the_retention(
    lookback: int, retention: int, fails: bool
) -> None:
    settings = Settings(attendance_lookback_days=lookback, attendance_retention_days=retention)
    if not fails:
        check_retention(settings)
        return
    with pytest.raises(ConfigError) as raised:
        check_retention(settings)
    message = str(raised.value)
    assert message == (
        "Setting OCC_ATTENDANCE_LOOKBACK_DAYS (10) is more than "
        "OCC_ATTENDANCE_RETENTION_DAYS (5): the day-end timer would mark days that the "
        "retention deletes."
    )


def test_a_report_past_the_retention_says_so(sample_site: Site) -> None:
    # 00:30 on 2 December in Makassar (WITA), still 23:30 on the 1st in Jakarta (WIB).
    now = datetime(2026, 12, 1, 16, 30, tzinfo=UTC)
    hq, ro = sample_site.building("hq-jakarta"), sample_site.building("ro-makassar")
    assert hq is not None and ro is not None
    check_reportable(date(2026, 9, 2), [hq], now, 90)
    with pytest.raises(RetentionError) as raised:
        check_reportable(date(2026, 9, 1), [hq], now, 90)
    assert str(raised.value) == (
        "Attendance on 2026-09-01 is older than the 90 days kept "
        "(OCC_ATTENDANCE_RETENTION_DAYS): its records were deleted."
    )
    with pytest.raises(RetentionError):
        check_reportable(date(2026, 9, 2), [ro], now, 90)
    # Across buildings, only a date past the retention in every one of them is refused.
    check_reportable(date(2026, 9, 2), [hq, ro], now, 90)


def test_no_screening_value_is_kept_per_person(sample_roster: Roster, sample_site: Site) -> None:
    employee = sample_roster.employee(GROUP_A)
    assert employee is not None
    at = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    record, _ = apply_tap(
        None,
        tap("check_in", at, "e1", temperature_c=38.4, mask=False),
        employee=employee,
        roster=sample_roster,
        site=sample_site,
        rules=TapRules(),
    )
    dumped = record.model_dump_json()
    assert "38.4" not in dumped and "mask" not in dumped and "temperature" not in dumped
    for model in (DailyRecord, Tap, EmployeeDays, Presence):
        fields = set(model.model_fields)
        assert not fields & {"temperature_c", "mask", "temperature"}, model
