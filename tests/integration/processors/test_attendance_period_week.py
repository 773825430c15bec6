"""A scripted week of the whole sample roster (with a day off of the agency's own) through the
real stack, and its period report in every format against sums of the reference model.

The week, its taps and each day's expected record come from tests/processors/
test_attendance_week.py (its reference model imports nothing of processors); the period
figures below are summed here from those days, never by the report's code.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl

from tests.support.cli import occupancy
from tests.support.kafka import read_topics
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline, replay_clock
from tests.unit.processors.test_attendance_week import (
    ROSTER,
    SEED,
    SITE,
    Day,
    Facts,
    Scripter,
    as_record,
    differences,
    expect_day,
    last_week,
    messages,
    read_facts,
    wait_for_days,
)

COUNTED = (
    "office_days",
    "present",
    "on_time",
    "late",
    "late_minutes",
    "early_leave",
    "half_day",
    "absent",
    "auto_closed",
    "holiday",
    "wfh",
    "unscheduled",
    "no_record",
)
Figures = tuple[int, ...]


def with_holiday(folder: Path, day: date) -> Path:
    """The sample roster with `day` one of the agency's own days off, written to `folder`."""
    text = ROSTER.read_text()
    assert "\nholidays: []\n" in text
    text = text.replace(
        "\nholidays: []\n", f"\nholidays:\n  - {{date: {day.isoformat()}, name: Hari kantor}}\n"
    )
    shutil.copy(ROSTER.parent / "employees.csv", folder / "employees.csv")
    (folder / "roster.yaml").write_text(text)
    return folder / "roster.yaml"


def sums(days: list[Day]) -> tuple[Figures, float]:
    """The counts of COUNTED and the hours, by the report's documented meanings."""
    office = [d for d in days if d.scheduled == "wfo"]
    status = Counter(d.status for d in days)
    counts = (
        len(office),
        sum(d.taps > 0 for d in office),
        status["on_time"],
        sum(d.late_minutes > 0 for d in office),
        sum(d.late_minutes for d in office),
        status["early_leave"],
        status["half_day"],
        status["absent"],
        status["auto_closed"],
        status["holiday"],
        status["wfh"],
        sum(d.taps > 0 for d in days if d.scheduled != "wfo"),
        0,
    )
    return counts, sum(float(d.hours_present) for d in days)


def expected(
    facts: Facts, want: dict[tuple[str, date], Day], week: list[date]
) -> tuple[dict[str, tuple[Figures, float]], dict[str, tuple[Figures, float, int]]]:
    people = {p.id: sums([want[(p.id, d)] for d in week]) for p in facts.people}
    units: dict[str, tuple[Figures, float, int]] = {}
    for person in facts.people:
        counts, hours = people[person.id]
        before = units.get(person.unit, ((0,) * len(COUNTED), 0.0, 0))
        units[person.unit] = (
            tuple(a + b for a, b in zip(before[0], counts, strict=True)),
            before[1] + hours,
            before[2] + 1,
        )
    return people, units


def close_enough(label: str, want: float, got: float, days: int) -> None:
    # Each day's hours are rounded to 2 decimals in the model's rows: their sum may be off by
    # half a hundredth a day from the sum of exact times, rounded once.
    assert abs(want - got) <= 0.005 * days + 0.006, f"{label}: hours {want:.2f} != {got:.2f}"


def compliance(counts: Figures) -> float | None:
    return round(counts[1] / counts[0], 4) if counts[0] else None


def test_a_scripted_week_gives_the_modelled_period_report_in_every_format(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    replay = replay_clock()
    week = last_week(replay.start.date())
    roster = with_holiday(tmp_path, week[2])
    facts = read_facts(roster, SITE)
    scripter = Scripter(facts, SEED)
    script = scripter.week(week)
    want = {
        (p.id, d): expect_day(facts, p, d, script.get((p.id, d), []))
        for p in facts.people
        for d in week
    }
    statuses = Counter(d.status for d in want.values())
    assert set(statuses) >= {
        "on_time",
        "late",
        "early_leave",
        "half_day",
        "absent",
        "wfh",
        "unscheduled",
        "holiday",
    }, statuses
    assert len({p.unit for p in facts.people}) >= 3
    people, units = expected(facts, want, week)

    pipeline = Pipeline(
        stack_env,
        tmp_path,
        replay,
        OCC_ROSTER_FILE=str(roster),
        OCC_ATTENDANCE_LOOKBACK_DAYS="12",
        OCC_ALERT_TICK_S="1",
    )
    try:
        running = [pipeline.bridge(), pipeline.worker()]
        # As in test_attendance_week: the week closed first, then the kiosks' backlog.
        records = {k: as_record(d) for k, d in want.items() if d.status != "off"}
        got = wait_for_days(pipeline, week, lambda k, r: r[5], set(records), 90, running)
        assert {k: r[5] for k, r in got.items()} == dict.fromkeys(records, True)
        sent = publish(pipeline.mqtt_url, messages(pipeline.prefix, script, pipeline.now()), "pub")
        assert sent == sum(len(t) for t in script.values())
        got = wait_for_days(
            pipeline, week, lambda k, r: r[3] == records[k][3], set(records), 90, running
        )
        assert got == records, differences(records, got)

        def report(*extra: str) -> str:
            result = occupancy(
                "report",
                "attendance",
                "--from",
                week[0].isoformat(),
                "--to",
                week[-1].isoformat(),
                *extra,
                env=pipeline.env,
            )
            assert result.returncode == 0, result.stderr
            return result.stdout

        # CSV, per employee and per unit.
        rows = list(csv.DictReader(io.StringIO(report("--format", "csv"))))
        assert len(rows) == len(facts.people)
        for row in rows:
            counts, hours = people[row["employee"]]
            assert tuple(int(row[c]) for c in COUNTED) == counts, row
            close_enough(row["employee"], hours, float(row["hours_present"]), len(week))
            ratio = compliance(counts)
            assert row["compliance"] == ("" if ratio is None else f"{ratio:.4f}"), row
        unit_rows = list(csv.DictReader(io.StringIO(report("--format", "csv", "--per", "unit"))))
        assert {r["unit"] for r in unit_rows} == set(units)
        for row in unit_rows:
            counts, hours, headcount = units[row["unit"]]
            assert (int(row["headcount"]), *(int(row[c]) for c in COUNTED)) == (
                headcount,
                *counts,
            ), row
            close_enough(row["unit"], hours, float(row["hours_present"]), len(week) * headcount)

        # The terminal's per-unit table.
        table = report("--format", "table")
        shown = parse_units(table)
        assert shown == {u: (h, *c) for u, (c, _, h) in units.items()}, differences(
            {u: (h, *c) for u, (c, _, h) in units.items()}, shown
        )

        # The spreadsheet, read back.
        book_path = tmp_path / "week.xlsx"
        report("--format", "xlsx", "--output", str(book_path))
        book = openpyxl.load_workbook(book_path, read_only=True)
        assert book.sheetnames == ["Units", "Employees", "About"]
        header, *sheet_units = list(book["Units"].iter_rows(values_only=True))
        assert header[:3] == ("unit", "headcount", "office days")
        assert {r[0] for r in sheet_units} == set(units)
        for line in sheet_units:
            counts, hours, headcount = units[str(line[0])]
            assert tuple(line[1:15]) == (headcount, *counts), line
            close_enough(str(line[0]), hours, _float(line[15]), len(week) * headcount)
            assert line[16] == compliance(counts)
        header, *sheet_people = list(book["Employees"].iter_rows(values_only=True))
        assert header[:2] == ("employee", "name")
        assert len(sheet_people) == len(facts.people)
        for line in sheet_people:
            counts, hours = people[str(line[0])]
            assert tuple(line[5:18]) == counts, line
            close_enough(str(line[0]), hours, _float(line[18]), len(week))
            assert line[19] == compliance(counts)
        # Each report that left the pipeline is in the audit trail, with who ran it.
        audit = read_topics(pipeline.bootstrap, [f"{pipeline.topics}.audit"])
        exported = [
            json.loads(r.value)
            for r in audit[f"{pipeline.topics}.audit"]
            if r.value is not None and json.loads(r.value)["action"] == "report_exported"
        ]
        assert len(exported) == 4, exported
        assert {(e["role"], e["target"]) for e in exported} == {("cli", "attendance")}
        assert {e["detail"].split(", ")[2] for e in exported} == {"csv", "table", "xlsx"}
        print(f"{len(facts.people)} employees, {len(units)} units, statuses {dict(statuses)}")
    finally:
        codes = pipeline.stop_all()
    assert all(code == 0 for code in codes.values()), codes


def _float(value: Any) -> float:
    assert isinstance(value, int | float), value
    return float(value)


def parse_units(table: str) -> dict[str, tuple[int, ...]]:
    """The headcount and counts of each row of the report's "Per unit" table."""
    assert "Per unit" in table, table[-2000:]
    found = {}
    for line in table.split("Per unit", 1)[1].splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line) if c.strip()]
        if len(cells) == 2 + len(COUNTED) + 2 and all(c.isdigit() for c in cells[1:15]):
            found[cells[0]] = tuple(int(c) for c in cells[1:15])
    return found
