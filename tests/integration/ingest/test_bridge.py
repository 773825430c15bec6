"""The bridge against the real Mosquitto and Kafka: nothing valid lost, nothing invalid silent.

Each test runs `occupancy bridge` as a subprocess with its own MQTT client id and Kafka
topic prefix, publishes a mixed stream with QoS 1, and then reads the Kafka topics back
with a plain consumer to count by event identity.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from ingest.kafka import ensure_topics
from ingest.models import CheckinRecord, DeadLetter, DoorRecord
from ingest.pseudonym import Pseudonyms, without_employee_id
from ingest.settings import load_settings
from ingest.site import Site
from ingest.topics import Wildcards
from tests.support.corpus import Corpus, mixed_corpus
from tests.support.kafka import read_topics, record_counts, wait_for_counts
from tests.support.mqtt import prepare_session, publish
from tests.support.processes import Command

KEY = "a-test-key-for-pseudonyms-0123456789"


class BridgeRun:
    """One isolated bridge: its client id, topic names and environment."""

    def __init__(self, stack_env: dict[str, str], tmp_path: Path) -> None:
        self.tag = uuid.uuid4().hex[:8]
        self.env = {
            **stack_env,
            "OCC_KAFKA_TOPIC_PREFIX": f"t{self.tag}",
            "OCC_BRIDGE_CLIENT_ID": f"bridge-{self.tag}",
            "OCC_BRIDGE_STATS_INTERVAL_S": "2",
            "OCC_BRIDGE_KAFKA_STALL_S": "10",
            "OCC_PSEUDONYM_KEY": KEY,
        }
        self.settings = load_settings(
            mqtt_url=stack_env["OCC_MQTT_URL"],
            kafka_bootstrap=stack_env["OCC_KAFKA_BOOTSTRAP"],
            kafka_topic_prefix=f"t{self.tag}",
        )
        self.bootstrap = stack_env["OCC_KAFKA_BOOTSTRAP"]
        self.door, self.checkin, self.deadletter = (
            self.settings.kafka_topic(n) for n in ("door", "checkin", "deadletter")
        )
        self.tmp_path = tmp_path
        self.starts = 0
        wildcards = Wildcards("occupancy")
        # The session exists before the first message, as it does after a bridge's first start.
        prepare_session(
            stack_env["OCC_MQTT_URL"], f"bridge-{self.tag}", [wildcards.doors, wildcards.kiosks]
        )

    def start(self) -> Command:
        self.starts += 1
        return Command(["bridge"], self.env, self.tmp_path / f"bridge-{self.starts}.log")

    def publish_in_background(self, corpus: Corpus, pause_every: int) -> threading.Thread:
        """Publish the corpus from a thread, spread out so that a fault lands mid-stream."""
        publisher = threading.Thread(
            target=publish,
            args=(self.env["OCC_MQTT_URL"], corpus.messages, f"pub-{self.tag}"),
            kwargs={"pause_every": pause_every},
        )
        publisher.start()
        return publisher

    def counts(self) -> dict[str, int]:
        return record_counts(self.bootstrap, [self.door, self.checkin, self.deadletter])

    def wait_until_all_in(self, corpus: Corpus, timeout: float = 180) -> dict[str, int]:
        def done(counts: dict[str, int]) -> bool:
            return (
                counts[self.door] >= len(corpus.door_ids)
                and counts[self.checkin] >= len(corpus.checkin_ids)
                and counts[self.deadletter] >= len(corpus.invalid)
            )

        return wait_for_counts(
            self.bootstrap, [self.door, self.checkin, self.deadletter], done, timeout
        )


def check_delivery(run: BridgeRun, corpus: Corpus) -> Counter[str]:
    """Every valid message in its topic by identity, every invalid one dead-lettered with its
    reason and its original bytes; returns how many records each topic held twice."""
    records = read_topics(run.bootstrap, [run.door, run.checkin, run.deadletter])
    doors = [DoorRecord.model_validate_json(r.value) for r in records[run.door]]
    taps = [CheckinRecord.model_validate_json(r.value) for r in records[run.checkin]]
    letters = [DeadLetter.model_validate_json(r.value) for r in records[run.deadletter]]

    door_ids = Counter(d.event_id for d in doors)
    tap_ids = Counter(t.event_id for t in taps)
    assert set(door_ids) == corpus.door_ids, "door events lost or invented"
    assert set(tap_ids) == corpus.checkin_ids, "kiosk events lost or invented"
    # Keys keep a room (and an employee) on one partition.
    for record, door in zip(records[run.door], doors, strict=True):
        assert record.key == f"{door.building}/{door.room}".encode()
    for record, tap in zip(records[run.checkin], taps, strict=True):
        assert record.key == tap.employee_id.encode()

    got = {(letter.topic, letter.payload): letter for letter in letters}
    # A dead letter keeps a kiosk payload's employee id only as its pseudonym.
    pseudonyms = Pseudonyms(KEY.encode())
    invalid = {
        (topic, without_employee_id(payload, pseudonyms)): reason
        for (topic, payload), reason in corpus.invalid.items()
    }
    assert set(got) == set(invalid), "invalid messages lost or valid ones dead-lettered"
    for key, reason in invalid.items():
        assert got[key].reason == reason, (key, got[key].detail)
        assert got[key].detail
    return Counter(
        {
            "door": sum(door_ids.values()) - len(door_ids),
            "checkin": sum(tap_ids.values()) - len(tap_ids),
            "deadletter": len(letters) - len(got),
        }
    )


def stats_line(output: str) -> dict[str, int]:
    lines = [line for line in output.splitlines() if "event=bridge_stopped" in line]
    assert lines, output[-2000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}


def test_ten_thousand_mixed_messages_each_land_exactly_once(
    stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    run = BridgeRun(stack_env, tmp_path)
    corpus = mixed_corpus(sample_site, 10_000, seed=2, tag=run.tag)
    assert len(corpus.reasons()) >= 9, "the corpus covers every kind of bad input"
    bridge = run.start()
    try:
        publish(stack_env["OCC_MQTT_URL"], corpus.messages, f"pub-{run.tag}")
        run.wait_until_all_in(corpus)
    finally:
        status = bridge.terminate()
    assert status == 0, bridge.output()[-2000:]

    duplicates = check_delivery(run, corpus)
    assert duplicates == Counter(), "no reconnect happened, so nothing may be repeated"
    stats = stats_line(bridge.output())
    assert stats["received"] == len(corpus.messages)
    assert stats["forwarded"] == len(corpus.door_ids) + len(corpus.checkin_ids)
    assert stats["dead_lettered"] == len(corpus.invalid)
    for reason, count in corpus.reasons().items():
        assert stats[f"rejected_{reason}"] == count


def test_bridge_killed_mid_stream_loses_nothing(
    stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    run = BridgeRun(stack_env, tmp_path)
    corpus = mixed_corpus(sample_site, 10_000, seed=3, tag=run.tag)
    bridge = run.start()
    publisher = run.publish_in_background(corpus, pause_every=200)
    try:
        seen = wait_for_counts(
            run.bootstrap, [run.door], lambda c: c[run.door] >= 1500, timeout=120
        )
        assert seen[run.door] >= 1500, bridge.output()[-2000:]
        bridge.kill()
        killed_at = run.counts()
        time.sleep(1.0)  # messages keep arriving and queue in the broker for the session
        bridge = run.start()
        bridge.wait_for("event=mqtt_connected")
        publisher.join(timeout=180)
        assert not publisher.is_alive()
        run.wait_until_all_in(corpus)
    finally:
        publisher.join(timeout=5)
        status = bridge.terminate()
    assert status == 0
    assert killed_at[run.door] < len(corpus.door_ids), "the kill landed mid-stream"
    duplicates = check_delivery(run, corpus)
    # Only what the killed bridge had put into Kafka can come again (sent, not acknowledged).
    assert sum(duplicates.values()) <= sum(killed_at.values())


def asyncio_run_ensure_topics(run: BridgeRun) -> None:
    import asyncio

    asyncio.run(ensure_topics(run.settings))


def test_dead_letter_records_are_readable_json(
    stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    run = BridgeRun(stack_env, tmp_path)
    topic = "occupancy/hq-jakarta/f2-meeting-a/door/door-f2-meeting-a"
    bridge = run.start()
    try:
        publish(stack_env["OCC_MQTT_URL"], [(topic, b"\xff not json")], f"pub-{run.tag}")
        wait_for_counts(run.bootstrap, [run.deadletter], lambda c: c[run.deadletter] >= 1, 60)
    finally:
        assert bridge.terminate() == 0
    [record] = read_topics(run.bootstrap, [run.deadletter])[run.deadletter]
    body = json.loads(record.value)
    assert body["topic"] == topic and body["reason"] == "bad_json"
    assert DeadLetter.model_validate(body).payload == b"\xff not json"


def test_sigterm_mid_stream_drains_and_exits_0(
    stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    run = BridgeRun(stack_env, tmp_path)
    corpus = mixed_corpus(sample_site, 6000, seed=4, tag=run.tag)
    bridge = run.start()
    publisher = run.publish_in_background(corpus, pause_every=100)
    try:
        wait_for_counts(run.bootstrap, [run.door], lambda c: c[run.door] >= 1000, timeout=120)
        started = time.monotonic()
        status = bridge.terminate()
        stopped_in = time.monotonic() - started
        stopped_at = run.counts()
        first_output = bridge.output()
        bridge = run.start()
        bridge.wait_for("event=mqtt_connected")
        publisher.join(timeout=180)
        run.wait_until_all_in(corpus)
    finally:
        publisher.join(timeout=5)
        assert bridge.terminate() == 0
    assert status == 0
    assert stopped_at[run.door] < len(corpus.door_ids), "the SIGTERM landed mid-stream"
    # Drained, not timed out: everything handed to Kafka was confirmed and acknowledged.
    assert "bridge_drain_timeout" not in first_output
    assert stats_line(first_output)["inflight"] == 0
    assert stopped_in < 20
    check_delivery(run, corpus)


def test_sigterm_while_kafka_is_unreachable_still_stops_cleanly(tmp_path: Path) -> None:
    from tests.conftest import SAMPLE_SITE

    env = {
        "OCC_SITE_FILE": str(SAMPLE_SITE),
        "OCC_KAFKA_BOOTSTRAP": "127.0.0.1:9",  # discard port: nothing listens there
        "OCC_MQTT_URL": "mqtt://127.0.0.1:9",
    }
    bridge = Command(["bridge"], env, tmp_path / "bridge.log")
    bridge.wait_for("event=kafka_unavailable", timeout=60)
    started = time.monotonic()
    assert bridge.terminate(timeout=30) == 0, bridge.output()[-2000:]
    assert time.monotonic() - started < 10
    assert "Traceback" not in bridge.output()
