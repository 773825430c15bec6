"""Attendance live through the real stack: kiosk MQTT → bridge → Kafka → workers → MQTT, CLI.

With the sample roster, two employees check in now: the presence count (retained MQTT, no
names) and the muster list show them, a fever raises `health_screening`, the headcount over
the plan raises `building_headcount`, and security acknowledges both over MQTT. A tap of an
employee not in the roster and one at a building not in the site are dead letters, and a
malformed roster row stops the worker with one sentence. A whole week of the roster, with
statuses and unit totals, is test_attendance_week.py.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import yaml

from ingest.clock import ReplayClock, wall_now
from ingest.models import Alert, DeadLetter
from ingest.pseudonym import Pseudonyms
from ingest.settings import Settings
from processors.attendance import read_latest
from processors.attendance_rules import DailyRecord
from tests.support.cli import occupancy
from tests.support.kafka import read_topics
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline, replay_clock

CLOCK = replay_clock()

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
WIB = timezone(timedelta(hours=7))
SERVICE_DESK = "197202042002021242"  # group layanan, hq-jakarta
GROUP_A = "196903151996012001"  # group A, hq-jakarta
PSEUDONYM_KEY = "attendance-worker-test-key-0001"


def kiosk(
    prefix: str, building: str, event: str, employee: str, **extra: object
) -> tuple[str, bytes]:
    """A check-in now at `building`'s main kiosk."""
    kiosk_id = "kiosk-main" if building == "hq-jakarta" else "kiosk-front"
    body = {
        "event_id": event,
        "ts": CLOCK.now().isoformat(),
        "employee_id": employee,
        "action": "check_in",
        **extra,
    }
    return f"{prefix}/{building}/kiosk/{kiosk_id}", json.dumps(body).encode()


def test_presence_alerts_acks_and_dead_letters_now(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        CLOCK,
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_ATTENDANCE_SINCE=CLOCK.start.date().isoformat(),  # nothing of the past to close
        OCC_ALERT_TICK_S="1",
        # Any one person in is over the plan (at most 293 planned in a day).
        OCC_HEADCOUNT_OVER_PLAN_RATIO="0.001",
        OCC_PSEUDONYM_KEY=PSEUDONYM_KEY,
    )
    prefix = pipeline.prefix
    collector = Collector(
        pipeline.mqtt_url, [f"{prefix}/+/presence", f"{prefix}/+/alerts"], f"watch-{pipeline.tag}"
    )
    alerts_topic = f"{prefix}/hq-jakarta/alerts"

    def sent() -> list[Alert]:
        return [
            Alert.model_validate_json(p) for t, p, _ in collector.messages() if t == alerts_topic
        ]

    try:
        pipeline.bridge()
        pipeline.worker()
        taps = [
            kiosk(prefix, "hq-jakarta", "now-1", SERVICE_DESK, temperature_c=38.2, mask=True),
            kiosk(prefix, "hq-jakarta", "now-2", GROUP_A),
            kiosk(prefix, "hq-jakarta", "now-3", "nobody-1"),
            kiosk(prefix, "nowhere", "now-4", GROUP_A),
        ]
        publish(pipeline.mqtt_url, taps, f"pub-{pipeline.tag}")

        # Presence: two people in, retained on MQTT (a count, no names) and the muster list.
        topic = f"{prefix}/hq-jakarta/presence"

        def two_in(messages: list[tuple[str, bytes, bool]]) -> bool:
            return any(t == topic and json.loads(p)["count"] == 2 for t, p, _ in messages)

        assert two_in(collector.wait_for(two_in)), collector.messages()
        payload = next(json.loads(p) for t, p, _ in reversed(collector.messages()) if t == topic)
        assert set(payload) == {"building", "count", "planned_wfo", "ts"}
        muster = occupancy("report", "presence", "--building", "hq-jakarta", env=pipeline.env)
        assert muster.returncode == 0, muster.stderr
        assert SERVICE_DESK in muster.stdout and GROUP_A in muster.stdout
        sheet = occupancy(
            "report", "presence", "--building", "hq-jakarta", "--format", "csv", env=pipeline.env
        )
        assert sheet.returncode == 0, sheet.stderr
        rows = list(csv.DictReader(io.StringIO(sheet.stdout)))
        assert sorted(r["employee"] for r in rows) == sorted([SERVICE_DESK, GROUP_A])
        assert all(r["since"].endswith("+07:00") and r["unit"] for r in rows), rows

        # Alerts: one health screening (the fever) and the headcount over the plan.
        collector.wait_for(
            lambda _: {"health_screening", "building_headcount"} <= {a.kind for a in sent()}
        )
        health = [a for a in sent() if a.kind == "health_screening"]
        assert len(health) == 1 and health[0].severity == "warning", sent()
        # Named by pseudonym (test_attendance_privacy_worker.py: never by id or name).
        pseudonym = Pseudonyms(PSEUDONYM_KEY.encode())(SERVICE_DESK)
        assert pseudonym in health[0].message and health[0].value == 38.2
        assert health[0].ack is None
        headcount = next(
            a for a in sent() if a.kind == "building_headcount" and a.state == "active"
        )

        # Security acknowledges both over MQTT; each comes back, still active, with the ack.
        acks = [
            (f"{alerts_topic}/{health[0].alert_id}/ack", json.dumps({"by": "guard-1"}).encode()),
            (f"{alerts_topic}/{headcount.alert_id}/ack", json.dumps({"by": "desk-2"}).encode()),
        ]
        publish(pipeline.mqtt_url, acks, f"ack-{pipeline.tag}")

        def acked() -> dict[str, list[Alert]]:
            ids = {health[0].alert_id, headcount.alert_id}
            found: dict[str, list[Alert]] = {}
            for alert in sent():
                if alert.alert_id in ids and alert.ack is not None:
                    found.setdefault(alert.alert_id, []).append(alert)
            return found

        collector.wait_for(lambda _: len(acked()) == 2)
        by_id = acked()
        assert set(by_id) == {health[0].alert_id, headcount.alert_id}, ("no ack came back", sent())
        assert [(a.kind, a.state, a.ack and a.ack.by) for a in by_id[health[0].alert_id]] == [
            ("health_screening", "active", "guard-1")
        ], sent()
        assert [(a.kind, a.state, a.ack and a.ack.by) for a in by_id[headcount.alert_id]] == [
            ("building_headcount", "active", "desk-2")
        ], sent()

        # The unknown employee and the unknown building are dead letters; the rest went on.
        dead_topic = f"{pipeline.topics}.deadletter"
        letters = [
            DeadLetter.model_validate_json(r.value)
            for r in read_topics(pipeline.bootstrap, [dead_topic])[dead_topic]
        ]
        reasons = {letter.reason for letter in letters}
        assert {"unknown_employee", "unknown_building"} <= reasons, letters
        unknown = next(x for x in letters if x.reason == "unknown_employee")
        # The tap is kept whole but for the id, which its pseudonym stands for.
        kept = json.loads(base64.b64decode(unknown.payload_b64))
        assert kept["employee_id"] == Pseudonyms(PSEUDONYM_KEY.encode())("nobody-1")
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses


def test_on_christmas_and_its_cuti_bersama_nobody_is_absent_and_no_headcount_alert(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    """The worker on a replay clock through the end of 2026-12-25: the cuti bersama of the
    24th and Christmas close as holidays for the whole sample roster, and a building with
    nobody planned and nobody in raises no `building_headcount`."""
    eve, christmas = date(2026, 12, 24), date(2026, 12, 25)
    clock = replay_clock(datetime(2026, 12, 25, 23, 58, 30, tzinfo=WIB), speed=30)
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        clock,
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_ATTENDANCE_SINCE=eve.isoformat(),
        OCC_ALERT_TICK_S="1",
        OCC_BOARD_PORT="0",
    )
    collector = Collector(
        pipeline.mqtt_url, [f"{pipeline.prefix}/+/alerts"], f"watch-{pipeline.tag}"
    )
    settings = Settings(kafka_bootstrap=pipeline.bootstrap, kafka_topic_prefix=pipeline.topics)
    employees = len(sample_employee_ids())

    def days() -> dict[date, list[DailyRecord]]:
        latest = asyncio.run(read_latest(settings, "attendance", DailyRecord)).values()
        return {day: [r for r in latest if r.date == day] for day in (eve, christmas)}

    try:
        pipeline.bridge()
        pipeline.worker()
        deadline = time.monotonic() + 90
        while any(len(records) < employees for records in days().values()):
            assert time.monotonic() < deadline, {d: len(r) for d, r in days().items()}
            time.sleep(1)
        time.sleep(3)  # a few more ticks of the headcount machines, past midnight
        kinds = [Alert.model_validate_json(p).kind for _, p, _ in collector.messages()]
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses
    for day, records in days().items():
        assert Counter(r.status for r in records) == {"holiday": employees}, day
        assert all(r.closed and r.scheduled == "holiday" for r in records)
    assert "building_headcount" not in kinds, kinds


ONLINE = ["196903151996012001", "199108112015012003", "199105272013051005"]
OFFLINE = ["199509062019101007", "197809152005071009", "198302052013031011"]
"""Group A of the head office, in on Mondays: pairs that tap at the same times, at an online
kiosk and at one that is offline and sends its taps late, saying when (`sent_at`)."""


def test_a_kiosk_offline_for_the_morning_ends_with_the_online_kiosks_records(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    monday = date(2026, 11, 23)

    def at(day: date, clock: str) -> datetime:
        return datetime.fromisoformat(f"{day.isoformat()}T{clock}:00").replace(tzinfo=WIB)

    # (tapped, action) per pair; the offline kiosk sends its morning at 14:00, the afternoon's
    # check-outs at 19:00, and the 19:30 check-out the next morning, after the day closed.
    days = [
        [("07:31", "check_in"), ("16:45", "check_out")],
        [("09:40", "check_in"), ("17:50", "check_out")],
        [("08:05", "check_in"), ("19:30", "check_out")],
    ]

    def offline_sends(tapped: str) -> datetime:
        if tapped < "14:00":
            return at(monday, "14:00")
        if tapped < "19:00":
            return at(monday, "19:00")
        return at(monday + timedelta(days=1), "08:00")

    sends: list[tuple[datetime, str, bytes]] = []
    for n, (online, offline, taps) in enumerate(zip(ONLINE, OFFLINE, days, strict=True)):
        for k, (tapped, action) in enumerate(taps):
            ts = at(monday, tapped)
            for who, kiosk, sent in (
                (online, "kiosk-main", ts),
                (offline, "kiosk-east", offline_sends(tapped)),
            ):
                body = {"event_id": f"{kiosk}-{n}-{k}", "ts": ts.isoformat(),
                        "employee_id": who, "action": action}  # fmt: skip
                if sent > ts:
                    body["sent_at"] = sent.isoformat()
                sends.append((sent, kiosk, json.dumps(body).encode()))
    sends.sort(key=lambda s: s[0])
    # 07:00 Monday to past 08:00 Tuesday in about 50 s, once the worker is up.
    clock = ReplayClock(at(monday, "07:00"), 1800, wall_now() + timedelta(seconds=20))
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        clock,
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_ATTENDANCE_SINCE=monday.isoformat(),
        OCC_ALERT_TICK_S="1",
        OCC_BOARD_PORT="0",
    )
    settings = Settings(kafka_bootstrap=pipeline.bootstrap, kafka_topic_prefix=pipeline.topics)
    try:
        pipeline.bridge()
        pipeline.worker()
        for due, kiosk, payload in sends:
            time.sleep(max(0.0, clock.seconds_until(due)))
            topic = f"{pipeline.prefix}/hq-jakarta/kiosk/{kiosk}"
            publish(pipeline.mqtt_url, [(topic, payload)], f"pub-{pipeline.tag}")
        time.sleep(max(0.0, clock.seconds_until(at(monday + timedelta(days=1), "08:30"))))

        def records() -> dict[str, DailyRecord]:
            latest = asyncio.run(read_latest(settings, "attendance", DailyRecord)).values()
            return {r.employee: r for r in latest if r.date == monday}

        deadline = time.monotonic() + 60
        while not all(
            (r := records().get(who)) is not None and r.closed and r.last_check_out is not None
            for who in ONLINE + OFFLINE
        ):
            assert time.monotonic() < deadline, records()
            time.sleep(1)
        got = records()
    finally:
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses
    same = {"status", "first_check_in", "last_check_out", "time_present", "late_minutes"}
    for online, offline in zip(ONLINE, OFFLINE, strict=True):
        assert got[offline].model_dump(include=same) == got[online].model_dump(include=same)
        assert "clock_skew" not in got[offline].flags and got[online].amended_at is None
    assert [got[who].status for who in ONLINE] == ["on_time", "late", "on_time"]
    # Only the day whose check-out came the next morning was amended, after its close.
    late_out = got[OFFLINE[2]]
    tuesday = monday + timedelta(days=1)
    assert late_out.amended_at is not None
    assert at(tuesday, "08:00") <= late_out.amended_at <= at(tuesday, "08:30")
    assert late_out.flags == ["after_close"]
    assert [got[who].amended_at for who in OFFLINE[:2]] == [None, None]


def sample_employee_ids() -> list[str]:
    with (SAMPLE / "employees.csv").open(newline="") as rows:
        from_csv = [r["id"] for r in csv.DictReader(rows)]
    inline = yaml.safe_load((SAMPLE / "roster.yaml").read_text())["employees"]
    return from_csv + [e["id"] for e in inline]


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
