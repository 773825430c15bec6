"""Privacy in the workers, through the real stack: pseudonyms out, old days deleted.

Kiosk taps go MQTT → bridge → Kafka → worker. A fever and no mask raise `health_screening`:
on MQTT and in the Kafka alerts log it names the employee by pseudonym, never by id or name,
and `occupancy roster reveal` finds the person with the key and the roster. A tap of an
employee not in the roster is dead-lettered with the pseudonym in its reason (the payload
keeps the input whole). The worker's log holds no raw employee id for that run, findings
included.

Retention: days pass as in test_attendance_week.py, by kiosk times in the past (the clock
skew tolerance widened so they count). One employee has a day 12 days ago and one
yesterday; with `OCC_ATTENDANCE_RETENTION_DAYS=30` both are kept. The worker stops and a
worker with a retention of 5 takes over (as if a week had gone by): it tombstones the old day
in the compacted `occupancy.attendance`, and yesterday stays.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ingest.models import Alert, DeadLetter
from ingest.pseudonym import Pseudonyms
from processors.attendance_rules import DailyRecord
from tests.support.cli import occupancy
from tests.support.influx import InfluxDb
from tests.support.kafka import read_topics
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline, replay_clock

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
KEY = "privacy-worker-test-key-000000001"
SERVICE_DESK, SERVICE_DESK_NAME = "197202042002021242", "Dian Setiawan"  # hq-jakarta
GROUP_A, GROUP_A_NAME = "196903151996012001", "Rahmat Saputra"  # hq-jakarta
STRANGER = "nobody-privacy-77"
RAW_IDS = (SERVICE_DESK, GROUP_A, STRANGER)
WIB = ZoneInfo("Asia/Jakarta")


def tap(
    prefix: str, event: str, employee: str, at: datetime, action: str, **extra: object
) -> tuple[str, bytes]:
    body = {
        "event_id": event,
        "ts": at.isoformat(),
        "employee_id": employee,
        "action": action,
        **extra,
    }
    return f"{prefix}/hq-jakarta/kiosk/kiosk-main", json.dumps(body).encode()


def at_wib(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=WIB)


def latest(pipeline: Pipeline, topic: str) -> dict[str, bytes | None]:
    """The last value per key (None: a tombstone) of a topic, as compaction would keep it."""
    found: dict[str, bytes | None] = {}
    for record in read_topics(pipeline.bootstrap, [topic])[topic]:
        found[record.key.decode()] = record.value
    return found


def wait(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def test_pseudonyms_leave_the_worker_and_old_days_are_tombstoned(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    clock = replay_clock()
    today = clock.start.date()
    influx = InfluxDb(stack_env["OCC_INFLUX_URL"])
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        clock,
        OCC_INFLUX_BUCKET=influx.bucket,
        OCC_METRICS_PIPELINE_S="1",
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_PSEUDONYM_KEY=KEY,
        # Late taps of the last two weeks amend their days; no absentees are marked.
        OCC_ATTENDANCE_LOOKBACK_DAYS="14",
        OCC_ATTENDANCE_SINCE=today.isoformat(),
        OCC_ATTENDANCE_RETENTION_DAYS="30",
        OCC_ATTENDANCE_MAX_CLOCK_SKEW_S=str(30 * 24 * 3600),
        OCC_ALERT_TICK_S="1",
    )
    names = Pseudonyms(KEY.encode())
    prefix = pipeline.prefix
    alerts_topic = f"{prefix}/hq-jakarta/alerts"
    days_topic = f"{pipeline.topics}.attendance"
    collector = Collector(pipeline.mqtt_url, [f"{prefix}/+/alerts"], f"watch-{pipeline.tag}")
    now = pipeline.now()
    old, yesterday = today - timedelta(days=12), today - timedelta(days=1)
    old_key, recent_key = f"{GROUP_A}/{old.isoformat()}", f"{GROUP_A}/{yesterday.isoformat()}"
    try:
        pipeline.bridge()
        first = pipeline.worker("a")
        taps = [
            # A fever and no mask, then a second check-in: a `double_check_in` finding.
            tap(prefix, "priv-1", SERVICE_DESK, now - timedelta(minutes=10), "check_in",
                temperature_c=38.6, mask=False),
            tap(prefix, "priv-2", SERVICE_DESK, now - timedelta(minutes=5), "check_in"),
            tap(prefix, "priv-3", STRANGER, now - timedelta(minutes=4), "check_in"),
            tap(prefix, "priv-4", GROUP_A, at_wib(old, 8), "check_in"),
            tap(prefix, "priv-5", GROUP_A, at_wib(old, 16, 30), "check_out"),
            tap(prefix, "priv-6", GROUP_A, at_wib(yesterday, 8), "check_in"),
            tap(prefix, "priv-7", GROUP_A, at_wib(yesterday, 16, 30), "check_out"),
        ]  # fmt: skip
        publish(pipeline.mqtt_url, taps, f"pub-{pipeline.tag}")

        # The health alert on MQTT: by pseudonym, never by id or name.
        def health() -> list[Alert]:
            return [
                alert
                for t, p, _ in collector.messages()
                if t == alerts_topic
                and (alert := Alert.model_validate_json(p)).kind == "health_screening"
            ]

        collector.wait_for(lambda _: bool(health()))
        [alert] = health()
        pseudonym = names(SERVICE_DESK)
        assert pseudonym in alert.message, alert
        assert SERVICE_DESK not in alert.message and SERVICE_DESK_NAME not in alert.message
        assert alert.value == 38.6  # the screening value lives on in the alert only

        # The same in the Kafka alerts log, byte for byte.
        kafka_alerts = f"{pipeline.topics}.alerts"
        wait(lambda: read_topics(pipeline.bootstrap, [kafka_alerts])[kafka_alerts], "alerts log")
        logged = read_topics(pipeline.bootstrap, [kafka_alerts])[kafka_alerts]
        screening = [r.value for r in logged if b"health_screening" in r.value]
        assert screening and all(pseudonym.encode() in v for v in screening), screening
        for value in (r.value for r in logged):
            assert not any(raw.encode() in value for raw in RAW_IDS), value
            assert SERVICE_DESK_NAME.encode() not in value

        # Security finds the person with the key and the roster.
        revealed = occupancy("roster", "reveal", pseudonym, "--by", "guard-1", env=pipeline.env)
        assert revealed.returncode == 0, revealed.stderr
        assert revealed.stdout.split("\t")[:2] == [SERVICE_DESK, SERVICE_DESK_NAME]

        # The stranger: dead-lettered by pseudonym; the payload keeps the input but the id.
        dead = f"{pipeline.topics}.deadletter"

        def stranger() -> list[DeadLetter]:
            return [
                letter
                for r in read_topics(pipeline.bootstrap, [dead])[dead]
                if (letter := DeadLetter.model_validate_json(r.value)).reason == "unknown_employee"
            ]

        wait(lambda: bool(stranger()), "the unknown employee's dead letter")
        [letter] = stranger()
        assert names(STRANGER) in letter.detail and STRANGER not in letter.detail
        kept = json.loads(base64.b64decode(letter.payload_b64))
        assert kept["employee_id"] == names(STRANGER) and kept["event_id"] == "priv-3"

        # Both of Rahmat's days are closed and kept under a retention of 30 days.
        def closed(key: str) -> bool:
            value = latest(pipeline, days_topic).get(key)
            return value is not None and DailyRecord.model_validate_json(value).closed

        wait(lambda: closed(old_key) and closed(recent_key), "both days closed")

        # The first worker's log: no raw employee id, and the pseudonyms where ids were.
        assert first.terminate() == 0
        log = first.log.read_text(errors="replace")
        for raw in RAW_IDS:
            assert raw not in log, [line for line in log.splitlines() if raw in line]
        assert f"event=attendance_unknown_employee employee={names(STRANGER)}" in log
        assert f"event=attendance_finding kind=double_check_in employee={pseudonym}" in log, log[
            -3000:
        ]

        # A week later, as far as the retention is concerned: the old day is tombstoned.
        pipeline.env["OCC_ATTENDANCE_RETENTION_DAYS"] = "5"
        pipeline.env["OCC_ATTENDANCE_LOOKBACK_DAYS"] = "5"
        second = pipeline.worker("b")
        wait(lambda: latest(pipeline, days_topic).get(old_key, b"") is None, "the tombstone")
        assert closed(recent_key)
        second.wait_for("event=attendance_days_deleted")
        assert f"event=attendance_days_deleted employee={names(GROUP_A)} days=1" in (
            second.output()
        )
        assert not any(raw in second.output() for raw in RAW_IDS)
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses
    try:
        assert_no_raw_id_outside_attendance(pipeline, tmp_path, influx)
    finally:
        influx.drop()


# Where raw employee ids belong: the attendance tables (and their changelog), presence,
# and the raw kiosk input.
ATTENDANCE_TABLES = ("attendance", "presence", "checkin", "workers-attendance-days-changelog")


def assert_no_raw_id_outside_attendance(pipeline: Pipeline, logs: Path, influx: InfluxDb) -> None:
    """Every other topic of the pipeline read whole (dead letters, alerts, health-alerts
    changelog, ...), every log, every InfluxDB point: no raw employee id anywhere."""
    topics = [
        t
        for t in asyncio.run(_topics(pipeline.bootstrap))
        if t.startswith(pipeline.topics)
        and not any(
            t in (f"{pipeline.topics}.{a}", f"{pipeline.topics}-{a}") for a in ATTENDANCE_TABLES
        )
    ]
    assert f"{pipeline.topics}.deadletter" in topics
    assert f"{pipeline.topics}-workers-health-alerts-changelog" in topics
    found = []
    for topic, records in read_topics(pipeline.bootstrap, topics).items():
        for record in records:
            for part in (record.key or b"", record.value or b""):
                text = part + base64.b64decode(_payload(part))
                found += [(topic, raw) for raw in RAW_IDS if raw.encode() in text]
    for log in logs.glob("*.log"):
        text = log.read_text(errors="replace")
        found += [(log.name, raw) for raw in RAW_IDS if raw in text]
    points = json.dumps(influx.query("SELECT * FROM /.*/"))
    assert '"attendance' in points or '"pipeline' in points, "no metrics written"
    found += [("influxdb", raw) for raw in RAW_IDS if raw in points]
    assert found == []
    # Deletions (tombstones of days, entries gone) leave the disk within a day.
    carrying = [
        f"{pipeline.topics}.attendance",
        f"{pipeline.topics}.presence",
        f"{pipeline.topics}-workers-health-alerts-changelog",
        f"{pipeline.topics}-workers-attendance-days-changelog",
    ]
    lags = asyncio.run(_compaction_lags(pipeline.bootstrap, carrying))
    assert lags == dict.fromkeys(carrying, str(24 * 3600 * 1000))


def _payload(value: bytes) -> bytes:
    """A dead letter's payload (base64 in its JSON), to search too; else nothing."""
    try:
        return str(json.loads(value).get("payload_b64", "")).encode()
    except (ValueError, AttributeError):
        return b""


async def _compaction_lags(bootstrap: str, topics: list[str]) -> dict[str, str]:
    """`max.compaction.lag.ms` of each topic as the broker has it."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
        lags = {}
        for response in await admin.describe_configs(resources):
            for _, _, _, name, entries in response.resources:
                for entry in entries:
                    if entry[0] == "max.compaction.lag.ms":
                        lags[name] = entry[1]
        return lags
    finally:
        await admin.close()


async def _topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def test_a_lookback_past_the_retention_stops_the_worker_with_one_sentence(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_ATTENDANCE_LOOKBACK_DAYS="10",
        OCC_ATTENDANCE_RETENTION_DAYS="5",
        OCC_WORKER_DATA_DIR=str(tmp_path / "w"),
    )
    result = occupancy("worker", env=pipeline.env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "occupancy: Setting OCC_ATTENDANCE_LOOKBACK_DAYS (10) is more than "
        "OCC_ATTENDANCE_RETENTION_DAYS (5): the day-end timer would mark days that the "
        "retention deletes."
    )
    assert "Traceback" not in result.stderr
