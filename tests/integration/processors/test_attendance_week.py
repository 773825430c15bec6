"""A week of the whole sample roster through the real stack, against the reference model."""

from __future__ import annotations

import csv
import io
import time as clock
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from tests.support.cli import occupancy
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline, replay_clock
from tests.unit.processors.test_attendance_week import (
    ROSTER,
    SEED,
    SITE,
    Scripter,
    as_record,
    differences,
    expect_day,
    facts,  # noqa: F401 - a fixture
    last_week,
    messages,
    parse_unit_totals,
    read_facts,
    unit_totals,
    wait_for_days,
    worker_log,
)


def test_a_week_of_the_whole_sample_roster_gives_the_modelled_days_and_unit_totals(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    facts = read_facts(ROSTER, SITE)
    replay = replay_clock()
    week = last_week(replay.start.date())
    scripter = Scripter(facts, SEED)
    script = scripter.week(week)
    want = {
        (p.id, d): expect_day(facts, p, d, script.get((p.id, d), []))
        for p in facts.people
        for d in week
    }
    # The script holds what this test says it covers (the seed is fixed: a change of the
    # sample or of the draws that loses a case shows here).
    assert len(facts.people) >= 290
    drawn = {
        "early",
        "window",
        "grace",
        "late",
        "full",
        "early_leave",
        "half_day",
        "short",
        "absent",
        "no_checkout",
        "lunch",
        "double_in",
        "out_only",
        "midnight",
        "wfh",
        "visit",
        "visit_open",
        "late_night",
        "repeated_in",
        "repeated_out",
    }
    assert drawn <= set(scripter.used), drawn - set(scripter.used)
    statuses = Counter(d.status for d in want.values())
    assert set(statuses) >= {
        "on_time",
        "late",
        "early_leave",
        "half_day",
        "absent",
        "wfh",
        "unscheduled",
        "auto_closed",
    }, statuses
    group_of = {p.id: p.group for p in facts.people}

    def label(key: tuple[str, date]) -> str:
        employee, day = key
        return (
            f"{employee} {day:%a %Y-%m-%d} ({group_of.get(employee)}, {scripter.labels.get(key)})"
        )

    pipeline = Pipeline(
        stack_env,
        tmp_path,
        replay,
        OCC_ROSTER_FILE=str(ROSTER),
        OCC_ATTENDANCE_LOOKBACK_DAYS="12",
        OCC_ALERT_TICK_S="1",
    )
    try:
        running = [pipeline.bridge(), pipeline.worker()]
        began = clock.monotonic()
        # First the worker closes the week as it stands: an absence on every office day, WFH
        # on the others (days off get no record). Only then do the taps come in, as from
        # kiosks that were offline all week: each lands on a closed day and is applied to it.
        # (A tap racing that close can be lost from `occupancy.attendance`: the close sends
        # each employee's closed days one by one and a tap applied meanwhile is overwritten.)
        expected = {k: as_record(d) for k, d in want.items() if d.status != "off"}
        got = wait_for_days(pipeline, week, lambda k, r: r[5], set(expected), 60, running)
        closed = clock.monotonic() - began
        assert {k: r[5] for k, r in got.items()} == dict.fromkeys(expected, True), (
            f"the worker closed the week in {closed:.0f} s? "
            + differences(expected, got, label)
            + worker_log(tmp_path)
        )
        backlog = messages(pipeline.prefix, script, pipeline.now())
        sent = publish(pipeline.mqtt_url, backlog, f"pub-{pipeline.tag}")
        assert sent == sum(len(t) for t in script.values())

        # Every scripted tap applied to its closed day.
        got = wait_for_days(
            pipeline, week, lambda k, r: r[3] == expected[k][3], set(expected), 60, running
        )
        applied = clock.monotonic() - began - closed
        assert got == expected, (
            f"taps applied in {applied:.0f} s? "
            + differences(expected, got, label)
            + worker_log(tmp_path)
        )

        # The report, per employee (CSV) and per unit (the table), for each day.
        def report(day: date, form: str) -> str:
            result = occupancy(
                "report",
                "attendance",
                "--date",
                day.isoformat(),
                "--format",
                form,
                env=pipeline.env,
            )
            assert result.returncode == 0, result.stderr
            return result.stdout

        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = [(day, form) for form in ("csv", "table") for day in week]
            outputs = list(pool.map(lambda run: report(*run), runs))
        csvs, tables = outputs[: len(week)], outputs[len(week) :]
        for day, text, table in zip(week, csvs, tables, strict=True):
            rows = {
                (r["employee"], day): (
                    r["scheduled"],
                    r["status"],
                    int(r["late_minutes"]),
                    r["first_check_in"],
                    r["last_check_out"],
                    r["hours_present"],
                )
                for r in csv.DictReader(io.StringIO(text))
            }
            mine = {(p.id, day): want[(p.id, day)].row() for p in facts.people}
            assert rows == mine, f"report of {day}: " + differences(mine, rows, label)
            totals, modelled = parse_unit_totals(table), unit_totals(facts, want, day)
            assert totals == modelled, f"unit totals of {day}: " + differences(modelled, totals)
        reported = clock.monotonic() - began - closed - applied
        print(
            f"{len(facts.people)} employees: week closed in {closed:.1f} s, {sent} taps applied "
            f"in {applied:.1f} s, reports read in {reported:.1f} s"
        )
    finally:
        codes = pipeline.stop_all()
    assert all(code == 0 for code in codes.values()), codes
