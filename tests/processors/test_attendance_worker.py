"""Attendance live through the real stack: kiosk MQTT → bridge → Kafka → workers → MQTT, CLI.

With the sample roster, two employees check in now: the presence count (retained MQTT, no
names) and the muster list show them, a fever raises `health_screening`, the headcount over
the plan raises `building_headcount`, and security acknowledges both over MQTT. A tap of an
employee not in the roster and one at a building not in the site are dead letters, and a
malformed roster row stops the worker with one sentence. A whole week of the roster, with
statuses and unit totals, is test_attendance_week.py.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
import yaml

from ingest.models import Alert, DeadLetter
from ingest.pseudonym import Pseudonyms
from tests.deploy.test_cli import occupancy
from tests.support.kafka import read_topics
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline, replay_clock

pytestmark = pytest.mark.integration

CLOCK = replay_clock()

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample"
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
