"""The attendance rules: statuses, grace, check-in window, thresholds, taps, auto-close, zones."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.models import CheckinRecord
from ingest.roster import Employee, Group, Roster, Unit
from ingest.site import Site
from processors.attendance_rules import (
    MAX_TAPS,
    DailyRecord,
    Finding,
    TapRules,
    apply_tap,
    close_day,
    day_end,
    tap_date,
    too_old,
)

ZONES = {"jkt": "Asia/Jakarta", "mks": "Asia/Makassar", "jpr": "Asia/Jayapura"}
SITE = Site.model_validate(
    {
        "policy": {"active": "normal", "levels": {"normal": 1.0}},
        "buildings": [
            {
                "id": b,
                "name": f"Kantor {b}",
                "timezone": zone,
                "rooms": [{"id": "r1", "name": "Ruang", "type": "workroom", "capacity": 10}],
                "kiosks": [{"id": "k1"}],
            }
            for b, zone in ZONES.items()
        ],
    }
)
A = Group(
    id="A",
    office_days=["mon", "wed", "fri"],
    start_window="07:00-09:00",
    required_hours=8,
    grace_minutes=15,
    check_in_window_minutes=60,
    half_day_below_hours=4,
    absent_below_hours=1,
)
# No check-in window and no thresholds: a short day is only ever an early leave.
P = Group(
    id="P",
    office_days=["mon", "tue", "wed", "thu", "fri"],
    start_window="07:30-08:00",
    required_hours=8,
)
ROSTER = Roster(
    units=[Unit(id="u1")],
    groups=[A, P],
    employees=[
        Employee(id="e-jkt", unit="u1", group="A", building="jkt"),
        Employee(id="e-mks", unit="u1", group="A", building="mks"),
        Employee(id="e-jpr", unit="u1", group="A", building="jpr"),
        Employee(id="e-p", unit="u1", group="P", building="jkt"),
    ],
)
RULES = TapRules()
# 2026-11-23 is a Monday: an office day for A; Tuesday is its WFH day, Saturday is off.
MON, TUE, SAT = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 28)
# Indonesia's calendar (the roster's default): Christmas is a Friday, an office day for A;
# Christmas Eve a Thursday of cuti bersama, a WFH day for A; Eid al-Fitr 2026 a Saturday.
CHRISTMAS, CHRISTMAS_EVE, EID = date(2026, 12, 25), date(2026, 12, 24), date(2026, 3, 21)
_ids = itertools.count()


def employee(employee_id: str) -> Employee:
    found = ROSTER.employee(employee_id)
    assert found is not None
    return found


def local(building: str, day: date, clock: str) -> datetime:
    """A building-local wall time, e.g. local("jpr", MON, "07:30")."""
    return datetime.fromisoformat(f"{day.isoformat()}T{clock}").replace(
        tzinfo=ZoneInfo(ZONES.get(building, "Asia/Jakarta"))
    )


def tap(
    action: str,
    clock: str,
    day: date = MON,
    *,
    building: str = "jkt",
    who: str = "e-jkt",
    received: datetime | None = None,
    sent: datetime | None = None,
    event_id: str | None = None,
) -> CheckinRecord:
    ts = local(building, day, clock)
    return CheckinRecord(
        building=building,
        kiosk="k1",
        event_id=event_id or f"t{next(_ids)}",
        ts=ts,
        employee_id=who,
        action=action,
        sent_at=sent,
        received_at=received or (sent or ts) + timedelta(seconds=2),
    )


def IN(clock: str, day: date = MON, **kw: Any) -> CheckinRecord:  # noqa: N802 - reads as the kiosk
    return tap("check_in", clock, day, **kw)


def OUT(clock: str, day: date = MON, **kw: Any) -> CheckinRecord:  # noqa: N802
    return tap("check_out", clock, day, **kw)


def apply_all(
    taps: Iterable[CheckinRecord], records: dict[tuple[str, date], DailyRecord] | None = None
) -> tuple[dict[tuple[str, date], DailyRecord], list[Finding]]:
    """Route every tap to its employee's local day, as the agent will."""
    records = dict(records or {})
    findings: list[Finding] = []
    for t in taps:
        who = employee(t.employee_id)
        key = (who.id, tap_date(t, who, SITE, RULES))
        records[key], found = apply_tap(
            records.get(key), t, employee=who, roster=ROSTER, site=SITE, rules=RULES
        )
        findings += found
    return records, findings


def day_of(
    taps: Iterable[CheckinRecord], day: date = MON, who: str = "e-jkt", close: bool = True
) -> DailyRecord:
    records, _ = apply_all(taps)
    record = records.get((who, day))
    if close:
        closed, _ = close_day(
            record, employee=employee(who), day=day, roster=ROSTER, site=SITE, rules=RULES
        )
        assert closed is not None
        return closed
    assert record is not None
    return record


def hours(record: DailyRecord) -> float:
    return record.time_present / timedelta(hours=1)


# --- every status ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("taps", "day", "status", "late", "present"),
    [
        pytest.param([IN("07:45"), OUT("16:00")], MON, "on_time", 0, 8.25, id="on-time"),
        pytest.param([IN("09:45"), OUT("18:00")], MON, "late", 30, 8.25, id="late"),
        pytest.param([IN("08:00"), OUT("15:00")], MON, "early_leave", 0, 7, id="early-leave"),
        pytest.param([IN("09:30"), OUT("16:00")], MON, "early_leave", 15, 6.5, id="late+early"),
        pytest.param([IN("08:00"), OUT("11:00")], MON, "half_day", 0, 3, id="half-day"),
        pytest.param([IN("08:00"), OUT("08:30")], MON, "absent", 0, 0.5, id="absent-by-hours"),
        pytest.param([], MON, "absent", 0, 0, id="absent-never-came"),
        pytest.param([], TUE, "wfh", 0, 0, id="wfh"),
        pytest.param([IN("08:00", TUE), OUT("16:00", TUE)], TUE, "unscheduled", 0, 8, id="on-wfh"),
        pytest.param([IN("09:00", SAT), OUT("12:00", SAT)], SAT, "unscheduled", 0, 3, id="on-off"),
        pytest.param([IN("08:00")], MON, "auto_closed", 0, 0, id="auto-closed"),
        pytest.param(
            [IN("08:00"), OUT("12:00"), IN("13:00")], MON, "auto_closed", 0, 4, id="auto-after-stay"
        ),
        pytest.param([IN("10:00", TUE)], TUE, "auto_closed", 0, 0, id="auto-closed-unscheduled"),
        pytest.param([], CHRISTMAS, "holiday", 0, 0, id="holiday-office-day"),
        pytest.param([], CHRISTMAS_EVE, "holiday", 0, 0, id="holiday-wfh-day"),
        pytest.param(
            [IN("09:30", CHRISTMAS), OUT("12:00", CHRISTMAS)],
            CHRISTMAS,
            "unscheduled",
            0,
            2.5,
            id="on-holiday",
        ),
        pytest.param(
            [IN("10:00", CHRISTMAS)], CHRISTMAS, "auto_closed", 0, 0, id="auto-on-holiday"
        ),
    ],
)
def test_status(
    taps: list[CheckinRecord], day: date, status: str, late: int, present: float
) -> None:
    record = day_of(taps, day)
    assert (record.status, record.late_minutes, hours(record)) == (status, late, present)
    assert record.closed and not record.open


def test_no_record_on_a_day_off_without_taps() -> None:
    assert close_day(
        None, employee=employee("e-jkt"), day=SAT, roster=ROSTER, site=SITE, rules=RULES
    ) == (
        None,
        [],
    )
    # A holiday that is no work day anyway stays a day off.
    assert close_day(
        None, employee=employee("e-jkt"), day=EID, roster=ROSTER, site=SITE, rules=RULES
    ) == (None, [])


@pytest.mark.parametrize("who", ["e-jkt", "e-mks", "e-jpr", "e-p"])
@pytest.mark.parametrize("day", [CHRISTMAS, CHRISTMAS_EVE])
def test_a_holiday_without_taps_closes_as_holiday(who: str, day: date) -> None:
    closed, findings = close_day(
        None, employee=employee(who), day=day, roster=ROSTER, site=SITE, rules=RULES
    )
    assert closed is not None and findings == []
    assert (closed.scheduled, closed.status, closed.closed) == ("holiday", "holiday", True)
    assert (closed.late_minutes, closed.time_present, closed.flags) == (0, timedelta(0), [])


def test_a_holiday_is_not_late_nor_early() -> None:
    record = day_of([IN("05:00", CHRISTMAS), OUT("17:00", CHRISTMAS)], CHRISTMAS)
    assert (record.scheduled, record.status, record.late_minutes) == ("holiday", "unscheduled", 0)
    assert "before_check_in_window" not in record.flags
    provisional = day_of([IN("11:00", CHRISTMAS)], CHRISTMAS, close=False)
    assert (provisional.status, provisional.late_minutes) == ("unscheduled", 0)


def test_the_record_of_a_day() -> None:
    record = day_of([IN("07:45:10"), OUT("16:02:00")])
    assert record.key == "e-jkt/2026-11-23"
    assert record.first_check_in == local("jkt", MON, "07:45:10")
    assert record.last_check_out == local("jkt", MON, "16:02:00")
    assert (record.building, record.scheduled, record.flags) == ("jkt", "wfo", [])
    assert record.present and len(record.taps) == 2


def test_status_is_provisional_until_the_day_closes() -> None:
    morning = day_of([IN("09:40")], close=False)
    assert (morning.status, morning.late_minutes, morning.open) == ("late", 25, True)
    assert morning.in_building == "jkt" and not morning.closed
    lunch = day_of([IN("08:00"), OUT("12:00")], close=False)
    assert lunch.status == "early_leave" and not lunch.open and lunch.in_building is None


# --- the grace period and the start window ---------------------------------------------


@pytest.mark.parametrize(
    ("who", "check_in", "late"),
    [
        ("e-jkt", "06:59", 0),
        ("e-jkt", "09:00", 0),
        ("e-jkt", "09:15:00", 0),  # window end 09:00 + 15 min grace: still on time
        ("e-jkt", "09:15:01", 1),  # a second over is a minute late (rounded up)
        ("e-jkt", "09:16:00", 1),
        ("e-jkt", "09:16:01", 2),
        ("e-jkt", "11:15", 120),
        ("e-p", "08:00:00", 0),  # no grace: the window end itself
        ("e-p", "08:00:01", 1),
        ("e-p", "08:30", 30),
    ],
)
def test_grace_period(who: str, check_in: str, late: int) -> None:
    record = day_of([IN(check_in, who=who), OUT("23:00", who=who)], who=who)
    assert record.late_minutes == late
    assert record.status == ("late" if late else "on_time")


@pytest.mark.parametrize(
    ("check_in", "present", "flags"),
    [
        ("06:30", 8.0, []),  # hours count from the window start (07:00), not from 06:30
        ("06:00", 8.0, []),  # the check-in window (60 min) opens at 06:00
        ("05:59:59", 8.0, ["before_check_in_window"]),
        ("04:00", 8.0, ["before_check_in_window"]),
        ("07:00", 8.0, []),
        ("07:30", 7.5, []),
    ],
)
def test_check_in_window(check_in: str, present: float, flags: list[str]) -> None:
    record = day_of([IN(check_in), OUT("15:00")])
    assert (hours(record), record.flags) == (present, flags)
    assert record.status == ("on_time" if present >= 8 else "early_leave")


def test_no_check_in_window_means_no_early_flag() -> None:
    record = day_of([IN("04:00", who="e-p"), OUT("16:00", who="e-p")], who="e-p")
    assert record.flags == [] and record.status == "on_time"


def test_before_the_window_is_only_flagged_on_office_days() -> None:
    record = day_of([IN("05:00", TUE), OUT("15:00", TUE)], TUE)
    assert record.status == "unscheduled" and record.flags == []


# --- half-day and absent thresholds ----------------------------------------------------


@pytest.mark.parametrize(
    ("who", "check_out", "status"),
    [
        ("e-jkt", "07:59:59", "absent"),  # just under 1 h
        ("e-jkt", "08:00", "half_day"),  # exactly 1 h is not below it
        ("e-jkt", "10:59:59", "half_day"),
        ("e-jkt", "11:00", "early_leave"),  # exactly 4 h
        ("e-jkt", "14:59:59", "early_leave"),
        ("e-jkt", "15:00", "on_time"),  # exactly the 8 required hours
        ("e-p", "08:00", "early_leave"),  # no thresholds in group P
        ("e-p", "15:00", "early_leave"),  # P counts from 07:30: 7.5 h
        ("e-p", "15:30", "on_time"),
    ],
)
def test_thresholds(who: str, check_out: str, status: str) -> None:
    record = day_of([IN("07:00", who=who), OUT(check_out, who=who)], who=who)
    assert record.status == status


def test_hours_add_up_over_several_stays() -> None:
    record = day_of([IN("07:00"), OUT("11:00"), IN("12:00"), OUT("16:00")])
    assert (hours(record), record.status) == (8, "on_time")
    assert record.last_check_out == local("jkt", MON, "16:00")


# --- repeated taps, double check-ins, check-outs without check-in ---------------------


@pytest.mark.parametrize(
    ("taps", "flags", "present", "first_in", "last_out"),
    [
        pytest.param(
            [IN("07:00:00"), IN("07:00:30"), OUT("15:00")],
            ["repeated_tap"],
            8,
            "07:00:00",
            "15:00",
            id="repeated-check-in",
        ),
        pytest.param(
            [IN("07:00:00"), IN("07:01:00"), OUT("15:00")],
            ["repeated_tap"],
            8,
            "07:00:00",
            "15:00",
            id="repeated-at-the-window-edge",
        ),
        pytest.param(
            [IN("07:00:00"), IN("07:01:01"), OUT("15:00")],
            ["double_check_in"],
            8,
            "07:00:00",
            "15:00",
            id="just-past-the-window",
        ),
        pytest.param(
            [IN("07:00"), OUT("15:00:00"), OUT("15:00:20"), OUT("15:00:40")],
            ["repeated_tap"],
            8,
            "07:00",
            "15:00:00",
            id="repeated-check-out",
        ),
        pytest.param(
            [IN("07:00"), IN("12:00"), OUT("15:00")],
            ["double_check_in"],
            8,
            "07:00",
            "15:00",
            id="double-check-in-stays-in",
        ),
        pytest.param(
            [OUT("15:00")],
            ["check_out_without_check_in"],
            0,
            None,
            "15:00",
            id="check-out-only",
        ),
        pytest.param(
            [IN("07:00"), OUT("11:00"), OUT("15:00")],
            ["check_out_without_check_in"],
            4,
            "07:00",
            "15:00",
            id="second-check-out",
        ),
    ],
)
def test_taps(
    taps: list[CheckinRecord],
    flags: list[str],
    present: float,
    first_in: str | None,
    last_out: str,
) -> None:
    record = day_of(taps)
    assert record.flags == flags
    assert hours(record) == present
    assert record.first_check_in == (None if first_in is None else local("jkt", MON, first_in))
    assert record.last_check_out == local("jkt", MON, last_out)
    assert len(record.taps) == len(taps)


def test_each_anomaly_is_also_a_finding() -> None:
    _, findings = apply_all([IN("07:00:00"), IN("07:00:30"), OUT("09:00"), OUT("12:00")])
    assert [f.kind for f in findings] == ["repeated_tap", "check_out_without_check_in"]
    assert all(f.employee == "e-jkt" and f.date == MON for f in findings)


def test_a_check_out_without_check_in_in_a_group_without_thresholds() -> None:
    record = day_of([OUT("16:00", who="e-p")], who="e-p")
    assert record.status == "early_leave" and record.flags == ["check_out_without_check_in"]


def test_redelivery_changes_nothing() -> None:
    first = IN("07:50")
    records, _ = apply_all([first, OUT("16:00")])
    again, findings = apply_all([first], records)
    assert again == records
    assert [f.kind for f in findings] == ["duplicate"]


def test_taps_out_of_order_give_the_same_day() -> None:
    taps = [IN("07:00"), OUT("11:00"), IN("12:00"), IN("12:00:30"), OUT("16:00")]
    in_order = day_of(taps)
    for order in itertools.permutations(taps):
        assert day_of(order) == in_order


# --- kiosk clocks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "received", "counted", "flags"),
    [
        ("07:50", "07:50:02", "07:50", []),
        ("07:50", "08:04:59", "07:50", []),  # within 15 minutes: the kiosk's time
        ("07:50", "08:05:01", "08:05:01", ["clock_skew"]),  # too far: the arrival time
        ("09:00", "08:50", "09:00", []),
        ("03:00", "08:00", "08:00", ["clock_skew"]),
    ],
)
def test_clock_skew(ts: str, received: str, counted: str, flags: list[str]) -> None:
    record = day_of([IN(ts, received=local("jkt", MON, received)), OUT("17:00")])
    assert record.first_check_in == local("jkt", MON, counted)
    assert record.flags == flags


@pytest.mark.parametrize(
    ("ts", "sent", "received", "counted", "flags"),
    [
        # Kept by a kiosk that was offline all morning: counted when it was made.
        ("07:30", "14:52", "14:52:02", "07:30", []),
        # The same tap from a kiosk that does not say when it sent: counted at its arrival.
        ("07:30", None, "14:52:02", "14:52:02", ["clock_skew"]),
        # The kiosk's clock is an hour behind (sent_at 13:52 when it was 14:52): moved by it.
        ("07:30", "13:52", "14:52", "08:30", ["clock_skew"]),
        # Less than 15 minutes off: its own clock is trusted.
        ("07:30", "14:40", "14:52", "07:30", []),
    ],
)
def test_sent_at_keeps_a_buffered_tap_at_its_own_time(
    ts: str, sent: str | None, received: str, counted: str, flags: list[str]
) -> None:
    sent_at = local("jkt", MON, sent) if sent is not None else None
    check_in = IN(ts, sent=sent_at, received=local("jkt", MON, received))
    record = day_of([check_in, OUT("17:00")])
    assert record.first_check_in == local("jkt", MON, counted)
    assert record.flags == flags
    # The issue that brought sent_at: 07:30 was recorded 338 minutes late.
    assert record.late_minutes == (338 if counted == "14:52:02" else 0)


def test_a_late_tap_amends_the_closed_day_and_says_when() -> None:
    absent = day_of([])
    assert (absent.status, absent.closed, absent.amended_at) == ("absent", True, None)
    # The kiosk was offline all day; its taps reach the pipeline the next morning.
    arrived = local("jkt", TUE, "08:10")
    taps = [
        IN("07:40", sent=arrived, received=arrived),
        OUT("16:00", sent=arrived, received=arrived + timedelta(seconds=1)),
    ]
    records, findings = apply_all(taps, {("e-jkt", MON): absent})
    amended = records["e-jkt", MON]
    assert (amended.status, amended.closed) == ("on_time", True)
    assert hours(amended) == pytest.approx(8 + 20 / 60)
    assert amended.amended_at == arrived + timedelta(seconds=1)
    assert amended.flags == ["after_close"]
    assert [f.kind for f in findings] == ["after_close", "after_close"]
    # Closing it again (the timer visits the lookback) keeps the amendment.
    again, _ = close_day(
        amended, employee=employee("e-jkt"), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert again == amended
    # The same taps while the kiosk was online: the same day, but for the amendment.
    online = day_of([IN("07:40"), OUT("16:00")])
    same = {"status", "first_check_in", "last_check_out", "time_present", "late_minutes"}
    assert amended.model_dump(include=same) == online.model_dump(include=same)
    assert online.amended_at is None and online.flags == []


@pytest.mark.parametrize(
    ("age_days", "refused"),
    [
        (0, None),
        (1, None),
        (7, None),
        (8, "past_lookback"),
        (90, "past_lookback"),
        (91, "past_retention"),
    ],
)
def test_too_old(age_days: int, refused: str | None) -> None:
    today = date(2026, 12, 7)
    found = too_old(today - timedelta(days=age_days), today, lookback=7, retention=90)
    assert (found[0] if found else None) == refused


def test_a_skewed_clock_cannot_move_a_tap_to_another_day() -> None:
    # The kiosk thinks it is Sunday night; the tap arrived on Monday morning.
    skewed = IN("23:30", date(2026, 11, 22), received=local("jkt", MON, "07:40"))
    records, findings = apply_all([skewed])
    assert list(records) == [("e-jkt", MON)]
    assert [f.kind for f in findings] == ["clock_skew"]


# --- Indonesian time zones and midnight ------------------------------------------------


@pytest.mark.parametrize(
    ("who", "building"), [("e-jkt", "jkt"), ("e-mks", "mks"), ("e-jpr", "jpr")]
)
def test_local_dates_and_windows_in_wib_wita_wit(who: str, building: str) -> None:
    taps = [IN("07:30", building=building, who=who), OUT("15:30", building=building, who=who)]
    record = day_of(taps, who=who)
    assert (record.date, record.status, hours(record)) == (MON, "on_time", 8)
    late = day_of(
        [IN("09:20", building=building, who=who), OUT("17:30", building=building, who=who)],
        who=who,
    )
    assert (late.status, late.late_minutes) == ("late", 5)


def test_a_0730_wit_check_in_is_that_day_not_the_utc_day_before() -> None:
    check_in = IN("07:30", building="jpr", who="e-jpr")
    assert check_in.ts.astimezone(UTC).date() == date(2026, 11, 22)  # 22:30 UTC on Sunday
    assert tap_date(check_in, employee("e-jpr"), SITE, RULES) == MON


@pytest.mark.parametrize("building", ["jkt", "mks", "jpr"])
def test_check_ins_around_local_midnight(building: str) -> None:
    who = {"jkt": "e-jkt", "mks": "e-mks", "jpr": "e-jpr"}[building]
    before = IN("23:59:30", building=building, who=who)
    after = IN("00:00:10", TUE, building=building, who=who)
    out = OUT("00:20", TUE, building=building, who=who)
    records, _ = apply_all([before, after, out])
    assert set(records) == {(who, MON), (who, TUE)}
    monday, tuesday = records[who, MON], records[who, TUE]
    assert monday.open and monday.late_minutes == 14 * 60 + 44 + 1  # 23:59:30 vs 09:15
    assert tuesday.scheduled == "wfh" and tuesday.status == "unscheduled"
    assert tuesday.time_present == timedelta(0)  # before the window start
    end = day_end(MON, ZoneInfo(ZONES[building]))
    assert end == local(building, TUE, "00:00")
    closed, findings = close_day(
        monday, employee=employee(who), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert closed is not None and closed.status == "auto_closed"
    assert [(f.kind, f.at) for f in findings] == [("auto_closed", end)]


# --- missing check-out and the automatic close -----------------------------------------


def test_auto_close_drops_the_open_stay_and_says_so() -> None:
    records, _ = apply_all([IN("07:00"), OUT("11:00"), IN("12:00", building="mks")])
    open_day = records["e-jkt", MON]
    assert open_day.open and open_day.in_building == "mks"
    closed, findings = close_day(
        open_day, employee=employee("e-jkt"), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert closed is not None
    assert (closed.status, hours(closed), closed.open, closed.in_building) == (
        "auto_closed",
        4,
        False,
        None,
    )
    assert closed.last_check_out == local("jkt", MON, "11:00")
    assert "other_building" in closed.flags
    assert [f.kind for f in findings] == ["auto_closed"]
    assert findings[0].at == local("jkt", TUE, "00:00")
    again, more = close_day(
        closed, employee=employee("e-jkt"), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert (again, more) == (closed, [])


def test_a_check_out_arriving_after_the_close_reopens_the_count() -> None:
    closed = day_of([IN("07:00")])
    assert closed.status == "auto_closed"
    late_out = OUT("15:30")
    updated, findings = apply_tap(
        closed, late_out, employee=employee("e-jkt"), roster=ROSTER, site=SITE, rules=RULES
    )
    assert (updated.status, hours(updated), updated.closed) == ("on_time", 8.5, True)
    assert updated.flags == ["after_close"]
    assert [f.kind for f in findings] == ["after_close"]


def test_closing_an_absent_day_twice() -> None:
    absent, _ = close_day(
        None, employee=employee("e-jkt"), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert absent is not None and absent.status == "absent" and absent.building == "jkt"
    again, _ = close_day(
        absent, employee=employee("e-jkt"), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert again == absent


# --- odd inputs ------------------------------------------------------------------------


def test_a_tap_at_an_unknown_building_uses_the_home_zone_and_is_flagged() -> None:
    record = day_of([IN("07:00", building="ghost"), OUT("15:00")])
    assert record.building == "ghost"
    assert record.flags == ["other_building", "unknown_building"]
    assert hours(record) == 8


def test_too_many_taps_are_ignored_and_flagged() -> None:
    taps = [
        tap("check_in" if i % 2 == 0 else "check_out", f"{7 + i // 6:02d}:{(i % 6) * 10:02d}")
        for i in range(MAX_TAPS + 3)
    ]
    records, findings = apply_all(taps)
    record = records["e-jkt", MON]
    assert len(record.taps) == MAX_TAPS
    assert "too_many_taps" in record.flags
    assert [f.kind for f in findings].count("too_many_taps") == 3
    closed, _ = close_day(
        record, employee=employee("e-jkt"), day=MON, roster=ROSTER, site=SITE, rules=RULES
    )
    assert closed is not None and "too_many_taps" in closed.flags


def test_a_record_for_another_day_is_a_bug_of_the_caller() -> None:
    record = day_of([IN("07:00")], close=False)
    with pytest.raises(ValueError, match="applied to e-jkt/2026-11-23"):
        apply_tap(
            record,
            IN("07:00", TUE),
            employee=employee("e-jkt"),
            roster=ROSTER,
            site=SITE,
            rules=RULES,
        )


def test_the_record_survives_json() -> None:
    record = day_of([IN("07:00"), IN("07:00:10"), OUT("11:00")])
    assert DailyRecord.model_validate_json(record.model_dump_json()) == record


# --- properties ------------------------------------------------------------------------


@st.composite
def kiosk_taps(draw: st.DrawFn, day: date = MON) -> list[CheckinRecord]:
    """Taps of one employee over three days around `day`, from any building, any clock."""
    who = draw(st.sampled_from(["e-jkt", "e-mks", "e-jpr", "e-p"]))
    base = local("jkt", day, "00:00")
    out = []
    for i in range(draw(st.integers(0, 25))):
        at = base + timedelta(seconds=draw(st.integers(-86_400, 2 * 86_400)))
        skew = timedelta(seconds=draw(st.sampled_from([0, 5, 600, 3600, -7200])))
        out.append(
            CheckinRecord(
                building=draw(st.sampled_from(["jkt", "mks", "jpr", "ghost"])),
                kiosk="k1",
                event_id=f"p{i}",
                ts=at,
                employee_id=who,
                action=draw(st.sampled_from(["check_in", "check_out"])),
                received_at=at + skew,
            )
        )
    return out


def close_all(
    records: dict[tuple[str, date], DailyRecord],
) -> dict[tuple[str, date], DailyRecord | None]:
    return {
        (who, day): close_day(
            record, employee=employee(who), day=day, roster=ROSTER, site=SITE, rules=RULES
        )[0]
        for (who, day), record in records.items()
    }


@given(kiosk_taps())
def test_any_taps_give_sane_days(taps: list[CheckinRecord]) -> None:
    records, _ = apply_all(taps)
    for closed in [*records.values(), *close_all(records).values()]:
        assert closed is not None
        assert timedelta(0) <= closed.time_present <= timedelta(hours=24)
        assert closed.late_minutes >= 0
        assert not (closed.open and closed.closed)
        assert (closed.in_building is not None) == closed.open
        assert len({t.identity for t in closed.taps}) == len(closed.taps)
        if closed.first_check_in is not None:
            assert closed.first_check_in.astimezone(UTC) == min(
                t.at for t in closed.taps if t.action == "check_in"
            )
        if closed.closed:
            assert closed.status != "on_time" or closed.time_present >= timedelta(hours=8)


@given(kiosk_taps())
def test_applying_each_tap_twice_is_applying_it_once(taps: list[CheckinRecord]) -> None:
    once, _ = apply_all(taps)
    twice, _ = apply_all(t for t in taps for _ in range(2))
    assert twice == once


@given(kiosk_taps(), st.randoms(use_true_random=False))
def test_the_order_of_taps_does_not_matter(taps: list[CheckinRecord], rng: Any) -> None:
    shuffled = list(taps)
    rng.shuffle(shuffled)
    assert apply_all(shuffled)[0] == apply_all(taps)[0]
    assert close_all(apply_all(shuffled)[0]) == close_all(apply_all(taps)[0])


@st.composite
def one_days_taps(draw: st.DrawFn) -> list[CheckinRecord]:
    """Taps of one employee on Monday, sent at once by a kiosk whose clock is right."""
    taps = []
    for i in range(draw(st.integers(0, 8))):
        ts = local("jkt", MON, "06:00") + timedelta(seconds=draw(st.integers(0, 16 * 3600)))
        action = draw(st.sampled_from(["check_in", "check_out"]))
        taps.append(
            CheckinRecord(
                building="jkt",
                kiosk="k1",
                event_id=f"d{i}",
                ts=ts,
                employee_id="e-jkt",
                action=action,
                received_at=ts + timedelta(seconds=2),
            )
        )
    return taps


@given(one_days_taps(), st.integers(0, 20 * 3600))
def test_an_offline_kiosk_that_says_when_it_sent_ends_with_the_online_day(
    taps: list[CheckinRecord], delay: int
) -> None:
    """Kept by a kiosk offline for up to 20 hours, then sent with `sent_at`: the same day."""
    online, _ = apply_all(taps)
    buffered = [
        t.model_copy(
            update={
                "sent_at": t.ts + timedelta(seconds=delay),
                "received_at": t.ts + timedelta(seconds=delay + 1),
            }
        )
        for t in taps
    ]
    offline, _ = apply_all(buffered)
    same = {"date", "status", "first_check_in", "last_check_out", "time_present", "late_minutes"}
    assert {k: r.model_dump(include=same) for k, r in offline.items()} == {
        k: r.model_dump(include=same) for k, r in online.items()
    }
    assert all("clock_skew" not in r.flags for r in offline.values())


YEAR_2026 = st.integers(min_value=0, max_value=364).map(lambda n: date(2026, 1, 1) + timedelta(n))


@given(st.sampled_from(["e-jkt", "e-mks", "e-jpr", "e-p"]), YEAR_2026)
def test_nobody_is_absent_on_a_holiday(who: str, day: date) -> None:
    person = employee(who)
    group = ROSTER.group_of(person)
    off = ROSTER.holiday_calendar.is_holiday(person.building, day)
    work_day = group.scheduled(day) != "off"
    closed, _ = close_day(None, employee=person, day=day, roster=ROSTER, site=SITE, rules=RULES)
    if not work_day:
        assert closed is None
        return
    assert closed is not None
    assert (closed.status == "holiday") == off
    assert (closed.status == "absent") == (not off and group.scheduled(day) == "wfo")


@given(kiosk_taps(CHRISTMAS))
def test_taps_on_a_holiday_are_never_counted_as_a_work_day(taps: list[CheckinRecord]) -> None:
    records, _ = apply_all(taps)
    for closed in [*records.values(), *close_all(records).values()]:
        assert closed is not None
        if closed.scheduled != "holiday":
            continue
        assert closed.status in {"unscheduled", "auto_closed"}
        assert closed.late_minutes == 0
        assert "before_check_in_window" not in closed.flags
