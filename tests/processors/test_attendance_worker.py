"""Attendance through the real stack: kiosk MQTT → bridge → Kafka → workers → Kafka, MQTT, CLI.

Last week (Monday to Friday) is scripted for five employees of the sample's groups and
units; the expected statuses and unit totals are computed here from the script with the
groups' hours written out below, not by the code under test. The bridge accepts past
kiosk times, and the rules would count a tap more than `OCC_ATTENDANCE_MAX_CLOCK_SKEW_S`
from its arrival at the arrival time, so this test widens that tolerance to 30 days.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import sleep
from zoneinfo import ZoneInfo

import pytest
import yaml

from ingest.models import Alert, DeadLetter
from ingest.roster import load_roster
from ingest.settings import Settings
from ingest.site import load_site
from processors.attendance import read_latest
from processors.attendance_report import attendance_rows, unit_totals
from processors.attendance_rules import DailyRecord
from tests.deploy.test_cli import occupancy
from tests.support.kafka import read_topics
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample"
SITE = SAMPLE / "site.yaml"
WIB, WITA = ZoneInfo("Asia/Jakarta"), ZoneInfo("Asia/Makassar")


@dataclass(frozen=True)
class Hours:
    """A group's rules as the sample roster writes them."""

    office: frozenset[int]  # ISO weekdays 1..5
    start: time
    end: time
    grace: int
    required: float
    half_day: float | None
    absent: float | None
    zone: ZoneInfo


GROUPS = {
    "A": Hours(frozenset({1, 3, 5}), time(7), time(9), 15, 7.5, 4, 1, WIB),
    "B": Hours(frozenset({2, 4}), time(7), time(9), 15, 7.5, 4, 1, WIB),
    "layanan": Hours(frozenset({1, 2, 3, 4, 5}), time(7, 30), time(8), 5, 8, 4, 1, WIB),
    "makassar": Hours(frozenset({1, 2, 3, 4}), time(7, 30), time(8, 30), 10, 7.5, 4, 1, WITA),
}
EMPLOYEES = {  # id: (unit, group, building)
    "t-a1": ("setjen", "A", "hq-jakarta"),
    "t-a2": ("keuangan", "A", "hq-jakarta"),
    "t-b1": ("setjen", "B", "hq-jakarta"),
    "t-l1": ("pelayanan", "layanan", "hq-jakarta"),
    "t-m1": ("wil-makassar", "makassar", "ro-makassar"),
}
# Per employee, per weekday (0 = Monday): local check-in and check-out ("" = none).
SCRIPT: dict[str, dict[int, tuple[str, str]]] = {
    "t-a1": {
        0: ("08:00", "16:00"),
        2: ("09:30", "17:30"),
        3: ("08:00", "12:00"),
        4: ("08:00", "10:00"),
    },
    "t-a2": {2: ("08:00", ""), 4: ("07:00", "15:00")},
    "t-b1": {1: ("08:10", "16:00"), 3: ("08:00", "14:00")},
    "t-l1": dict.fromkeys(range(5), ("07:45", "16:00")),
    "t-m1": {0: ("08:45", "16:30"), 2: ("07:30", "15:00"), 3: ("07:50", "08:20")},
}


def expected(employee: str, day: date) -> tuple[str, int]:  # noqa: PLR0911 - the status ladder
    """Status and minutes late, from the script and the group's hours alone."""
    hours = GROUPS[EMPLOYEES[employee][1]]
    office = day.isoweekday() in hours.office
    taps = SCRIPT[employee].get(day.weekday())
    if taps is None:
        return ("absent" if office else "wfh"), 0
    check_in = datetime.combine(day, time.fromisoformat(taps[0]))
    due = datetime.combine(day, hours.end) + timedelta(minutes=hours.grace)
    late = max(0, math.ceil((check_in - due) / timedelta(minutes=1))) if office else 0
    if not taps[1]:
        return "auto_closed", late
    if not office:
        return "unscheduled", 0
    start = max(check_in, datetime.combine(day, hours.start))
    present = (datetime.combine(day, time.fromisoformat(taps[1])) - start) / timedelta(hours=1)
    if hours.absent is not None and present < hours.absent:
        return "absent", late
    if hours.half_day is not None and present < hours.half_day:
        return "half_day", late
    if present < hours.required:
        return "early_leave", late
    return ("late" if late else "on_time"), late


def write_roster(folder: Path) -> Path:
    """The sample's units and groups, five employees, no holidays or on-duty days."""
    sample = yaml.safe_load((SAMPLE / "roster.yaml").read_text())
    groups = [{k: v for k, v in g.items() if k != "on_duty_days"} for g in sample["groups"]]
    roster = {
        "units": sample["units"],
        "groups": groups,
        "employees": [
            {"id": e, "unit": u, "group": g, "building": b} for e, (u, g, b) in EMPLOYEES.items()
        ],
    }
    path = folder / "roster.yaml"
    path.write_text(yaml.safe_dump(roster, sort_keys=False))
    return path


def kiosk(
    prefix: str,
    building: str,
    event: str,
    employee: str,
    action: str,
    at: datetime,
    **extra: object,
) -> tuple[str, bytes]:
    kiosk_id = "kiosk-main" if building == "hq-jakarta" else "kiosk-front"
    body = {
        "event_id": event,
        "ts": at.isoformat(),
        "employee_id": employee,
        "action": action,
        **extra,
    }
    return f"{prefix}/{building}/kiosk/{kiosk_id}", json.dumps(body).encode()


def last_week() -> list[date]:
    """Monday to Friday of the last week whose Friday is over (before today)."""
    today = datetime.now(UTC).date()
    friday = today - timedelta(days=(today.weekday() - 4) % 7 or 7)
    return [friday - timedelta(days=4 - n) for n in range(5)]


def week_script(prefix: str, week: list[date]) -> list[tuple[str, bytes]]:
    messages = []
    for employee, days in SCRIPT.items():
        building = EMPLOYEES[employee][2]
        zone = GROUPS[EMPLOYEES[employee][1]].zone
        for weekday, (tin, tout) in days.items():
            day = week[weekday]
            at = datetime.combine(day, time.fromisoformat(tin), tzinfo=zone)
            messages.append(
                kiosk(prefix, building, f"{employee}-{weekday}-in", employee, "check_in", at)
            )
            if employee == "t-b1":  # a repeated tap 30 s later counts once
                messages.append(
                    kiosk(
                        prefix,
                        building,
                        f"{employee}-{weekday}-in2",
                        employee,
                        "check_in",
                        at + timedelta(seconds=30),
                    )
                )
            if tout:
                out = datetime.combine(day, time.fromisoformat(tout), tzinfo=zone)
                messages.append(
                    kiosk(prefix, building, f"{employee}-{weekday}-out", employee, "check_out", out)
                )
    return messages


def test_a_week_of_taps_gives_the_expected_days_presence_and_alerts(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    roster = write_roster(tmp_path)
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        OCC_ROSTER_FILE=str(roster),
        OCC_ATTENDANCE_MAX_CLOCK_SKEW_S=str(30 * 24 * 3600),
        OCC_ATTENDANCE_LOOKBACK_DAYS="12",
        OCC_ALERT_TICK_S="1",
        OCC_HEADCOUNT_OVER_PLAN_RATIO="0.1",
    )
    prefix = pipeline.prefix
    collector = Collector(
        pipeline.mqtt_url, [f"{prefix}/+/presence", f"{prefix}/+/alerts"], f"watch-{pipeline.tag}"
    )
    settings = Settings(kafka_bootstrap=pipeline.bootstrap, kafka_topic_prefix=pipeline.topics)
    week = last_week()
    try:
        pipeline.bridge()
        pipeline.worker()
        now = datetime.now(UTC)
        live = [
            kiosk(
                prefix,
                "hq-jakarta",
                "now-l1",
                "t-l1",
                "check_in",
                now,
                temperature_c=38.2,
                mask=True,
            ),
            kiosk(prefix, "hq-jakarta", "now-a1", "t-a1", "check_in", now),
            kiosk(prefix, "hq-jakarta", "now-x", "nobody-1", "check_in", now),
            kiosk(prefix, "nowhere", "now-y", "t-a2", "check_in", now),
        ]
        publish(pipeline.mqtt_url, [*week_script(prefix, week), *live], f"pub-{pipeline.tag}")

        # Every day of the week closed with the expected status and minutes late.
        want = {(e, d): expected(e, d) for e in EMPLOYEES for d in week}

        def days() -> dict[tuple[str, date], DailyRecord]:
            records = asyncio.run(read_latest(settings, "attendance", DailyRecord))
            return {(r.employee, r.date): r for r in records.values() if r.date in week}

        got: dict[tuple[str, date], DailyRecord] = {}
        for _ in range(120):
            got = days()
            if all(k in got and got[k].closed for k in want):
                break
            sleep(0.5)
        assert {k: (r.status, r.late_minutes) for k, r in got.items()} == want
        assert "repeated_tap" in got[("t-b1", week[1])].flags

        # Unit totals per day, from the report functions over what Kafka holds.
        site = load_site(SITE)
        loaded = load_roster(roster, site)
        for day in week:
            rows = attendance_rows(loaded, site, got.values(), day)
            totals = {t.unit: t.figures() for t in unit_totals(rows)}
            mine: dict[str, list[int]] = {}
            for employee, (unit, group, _) in EMPLOYEES.items():
                status, late = want[(employee, day)]
                figures = mine.setdefault(unit, [0, 0, 0, 0, 0])
                figures[0] += day.isoweekday() in GROUPS[group].office
                figures[1] += day.weekday() in SCRIPT[employee]
                figures[2] += late > 0
                figures[3] += status == "absent"
                figures[4] += status == "wfh"
            assert totals == {u: tuple(f) for u, f in mine.items()}, day

        # The CLI report as CSV says the same per employee.
        result = occupancy(
            "report",
            "attendance",
            "--date",
            week[0].isoformat(),
            "--building",
            "hq-jakarta",
            "--format",
            "csv",
            env=pipeline.env,
        )
        assert result.returncode == 0, result.stderr
        rows_csv = list(csv.DictReader(io.StringIO(result.stdout)))
        assert {r["employee"]: (r["status"], int(r["late_minutes"])) for r in rows_csv} == {
            e: want[(e, week[0])] for e in EMPLOYEES if EMPLOYEES[e][2] == "hq-jakarta"
        }

        # Presence: two people in now, retained on MQTT (a count, no names) and the muster list.
        topic = f"{prefix}/hq-jakarta/presence"

        def two_in(messages: list[tuple[str, bytes, bool]]) -> bool:
            return any(t == topic and json.loads(p)["count"] == 2 for t, p, _ in messages)

        assert two_in(collector.wait_for(two_in)), collector.messages()
        payload = next(json.loads(p) for t, p, _ in reversed(collector.messages()) if t == topic)
        assert set(payload) == {"building", "count", "planned_wfo", "ts"}
        muster = occupancy("report", "presence", "--building", "hq-jakarta", env=pipeline.env)
        assert muster.returncode == 0, muster.stderr
        assert "t-l1" in muster.stdout and "t-a1" in muster.stdout and "t-a2" not in muster.stdout

        # Alerts: one health screening (fever) and the headcount over the plan.
        alerts_topic = f"{prefix}/hq-jakarta/alerts"

        def sent() -> list[Alert]:
            return [
                Alert.model_validate_json(p)
                for t, p, _ in collector.messages()
                if t == alerts_topic
            ]

        collector.wait_for(
            lambda _: {"health_screening", "building_headcount"} <= {a.kind for a in sent()}
        )
        health = [a for a in sent() if a.kind == "health_screening"]
        assert len(health) == 1 and health[0].severity == "warning", sent()
        assert "t-l1" in health[0].message and health[0].value == 38.2
        assert any(a.kind == "building_headcount" and a.state == "active" for a in sent())

        # The unknown employee and the unknown building are dead letters; the rest went on.
        dead_topic = f"{pipeline.topics}.deadletter"
        letters = [
            DeadLetter.model_validate_json(r.value)
            for r in read_topics(pipeline.bootstrap, [dead_topic])[dead_topic]
        ]
        reasons = {letter.reason for letter in letters}
        assert {"unknown_employee", "unknown_building"} <= reasons, letters
        unknown = next(x for x in letters if x.reason == "unknown_employee")
        assert json.loads(base64.b64decode(unknown.payload_b64))["employee_id"] == "nobody-1"
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses


def test_a_malformed_roster_row_stops_the_worker_with_one_sentence(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "employees.csv").write_text(
        "id,unit,group,building\nt-1,setjen,A,hq-jakarta\nt-2,setjen,C,hq-jakarta\n"
    )
    sample = yaml.safe_load((SAMPLE / "roster.yaml").read_text())
    roster = {
        "units": sample["units"],
        "groups": sample["groups"],
        "employees_csv": "employees.csv",
    }
    (tmp_path / "roster.yaml").write_text(yaml.safe_dump(roster))
    tag = uuid.uuid4().hex[:8]
    env = {
        **stack_env,
        "OCC_ROSTER_FILE": str(tmp_path / "roster.yaml"),
        "OCC_KAFKA_TOPIC_PREFIX": f"t{tag}",
        "OCC_WORKER_DATA_DIR": str(tmp_path / "w"),
    }
    result = occupancy("worker", env=env)
    assert result.returncode == 2, result.stderr
    assert "employees.csv row 3 (group): unknown group 'C'." in result.stderr
    assert "Traceback" not in result.stderr
