"""The period report's sums, its retention and its outputs, on days written by hand."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from deploy.cli import main
from deploy.period_report import write_csv, write_xlsx
from ingest.roster import Roster
from ingest.site import Site
from processors.attendance_period import (
    DayView,
    Figures,
    Period,
    period_report,
    recorded_days,
    reportable_period,
)
from processors.attendance_report import RetentionError

MON = date(2026, 11, 16)  # an office day of group A, Tuesday WFH (the sample roster)
WIB = ZoneInfo("Asia/Jakarta")


def day(employee: str, on: date, scheduled: str, status: str, **more: object) -> DayView:
    return DayView.model_validate(
        {"employee": employee, "date": on, "scheduled": scheduled, "status": status, **more}
    )


def came(at: str = "08:00") -> dict[str, object]:
    return {"first_check_in": f"2026-11-16T{at}:00+07:00"}


def test_an_employees_week_adds_up(sample_roster: Roster) -> None:
    someone = next(e for e in sample_roster.employees if e.group == "A")
    week = [MON + timedelta(days=n) for n in range(7)]
    plan = [sample_roster.scheduled(someone, d) for d in week]
    days = []
    for on, scheduled in zip(week[:5], plan[:5], strict=True):
        if scheduled == "wfo":
            days.append(
                day(
                    someone.id,
                    on,
                    "wfo",
                    "late",
                    late_minutes=12,
                    time_present="PT8H",
                    **came(),
                )
            )
        else:
            days.append(day(someone.id, on, scheduled, scheduled))
    # A Saturday visit: unscheduled, not an office day.
    days.append(
        day(someone.id, week[5], "off", "unscheduled", time_present="PT1H30M", **came("10:00"))
    )
    period = Period(MON, week[-1], MON, week[-1])
    recorded = recorded_days(days, MON, week[-1])
    report = period_report(sample_roster, recorded, period, unit=someone.unit)
    mine = next(r.figures for r in report.employees if r.employee.id == someone.id)
    office = plan.count("wfo")
    assert mine.office_days == office == mine.present == mine.late
    assert mine.late_minutes == 12 * office
    assert mine.unscheduled == 1
    assert mine.wfh == plan[:5].count("wfh")
    assert mine.hours_present == pytest.approx(8 * office + 1.5)
    assert mine.compliance == 1.0
    unit = report.units[0]
    assert unit.unit == someone.unit
    assert unit.headcount == sum(e.unit == someone.unit for e in sample_roster.employees)
    # Everyone else of the unit has no record: their office days are counted, not attended.
    others = [r.figures for r in report.employees if r.employee.id != someone.id]
    assert unit.figures.office_days == office + sum(f.office_days for f in others)
    assert unit.figures.no_record == sum(f.no_record for f in others)
    assert unit.figures.present == office


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["wfo", "wfh", "holiday", "off"]),
            st.sampled_from(["on_time", "late", "early_leave", "half_day", "absent", "wfh"]),
            st.integers(0, 300),
            st.booleans(),
        ),
        max_size=20,
    )
)
def test_figures_count_each_day_once_and_compliance_is_present_over_office_days(
    entries: list[tuple[str, str, int, bool]],
) -> None:
    figures = Figures()
    for n, (scheduled, status, late, tapped) in enumerate(entries):
        extra = came() if tapped else {}
        figures.take(
            day("x", MON + timedelta(days=n), scheduled, status, late_minutes=late, **extra)
        )
    office = [e for e in entries if e[0] == "wfo"]
    assert figures.office_days == len(office)
    assert figures.present == sum(e[3] for e in office)
    assert figures.unscheduled == sum(e[3] for e in entries if e[0] != "wfo")
    assert figures.late == sum(e[2] > 0 for e in office)
    assert figures.late_minutes == sum(e[2] for e in office)
    by_status = ("on_time", "early_leave", "half_day", "absent", "wfh")
    assert sum(getattr(figures, s) for s in by_status) == sum(e[1] != "late" for e in entries)
    if office:
        assert figures.compliance == figures.present / len(office)
    else:
        assert figures.compliance is None


def test_a_period_partly_past_the_retention_says_which_days_it_covers(
    sample_site: Site,
) -> None:
    now = datetime(2026, 12, 2, 10, tzinfo=WIB)  # retention 30 keeps 2026-11-02 on
    period = reportable_period(
        date(2026, 10, 26), date(2026, 11, 8), sample_site.buildings, now, 30
    )
    assert (period.first, period.last) == (date(2026, 11, 2), date(2026, 11, 8))
    assert period.note == (
        "The report covers 2026-11-02 to 2026-11-08 only: days before 2026-11-02 are past "
        "the retention."
    )
    whole = reportable_period(date(2026, 11, 2), date(2026, 11, 8), sample_site.buildings, now, 30)
    assert whole.note is None
    ahead = reportable_period(date(2026, 12, 1), date(2026, 12, 31), sample_site.buildings, now, 30)
    assert ahead.last == date(2026, 12, 2)
    assert ahead.note is not None and "have not begun" in ahead.note
    with pytest.raises(RetentionError, match="older than the 30 days kept"):
        reportable_period(date(2026, 10, 1), date(2026, 10, 31), sample_site.buildings, now, 30)


def test_csv_and_xlsx_hold_the_same_figures(sample_roster: Roster, tmp_path: Path) -> None:
    someone = next(e for e in sample_roster.employees if e.group == "A")
    days = [
        day(someone.id, MON, "wfo", "late", late_minutes=7, time_present="PT7H", **came()),
    ]
    report = period_report(sample_roster, recorded_days(days, MON, MON), Period(MON, MON, MON, MON))
    out = io.StringIO()
    write_csv(report, "employee", out)
    rows = {r["employee"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows[someone.id]["late_minutes"] == "7"
    assert rows[someone.id]["hours_present"] == "7.00"
    assert rows[someone.id]["compliance"] == "1.0000"
    path = tmp_path / "r.xlsx"
    write_xlsx(report, path)
    book = openpyxl.load_workbook(path)
    sheet = book["Employees"]
    assert sheet.freeze_panes == "B2"
    header = [c.value for c in sheet[1]]
    line = next(r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == someone.id)
    assert dict(zip(header, line, strict=True))["late minutes"] == 7
    assert sheet.column_dimensions["A"].width >= len(someone.id)
    assert book["Units"].cell(1, 1).font.bold


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-16"], "Give --date for one day, or --from and --to"),
        (["--date", "2026-11-16", "--from", "2026-11-16", "--to", "2026-11-20"], "not both"),
        (["--from", "2026-11-16", "--to", "2026-11-20", "--format", "xlsx"], "--output"),
    ],
)
def test_the_command_names_what_is_missing(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["report", "attendance", *args])
    assert result.exit_code != 0
    assert message in result.output
