"""Alert acknowledgements over the real Mosquitto and Kafka: the bridge forwards each valid one
once to `alert-ack` and dead-letters the rest; `AckFollower` reads them back in every worker.

Each test runs its own bridge subprocess under its own MQTT prefix and Kafka topic prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ingest.models import AckRecord, DeadLetter
from ingest.settings import load_settings
from ingest.topics import AckTopic, Wildcards
from processors.acks import AckFollower
from tests.integration.ingest.test_bridge import stats_line
from tests.support.kafka import read_topics, wait_for_counts
from tests.support.mqtt import prepare_session, publish
from tests.support.pipeline import Pipeline

BUILDING = "hq-jakarta"


@dataclass
class Acks:
    """Ack messages in publish order, and what the bridge must make of each."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    valid: list[tuple[str, str, datetime | None]] = field(default_factory=list)
    invalid: dict[tuple[str, bytes], str] = field(default_factory=dict)


def ack_stream(prefix: str, tag: str, n_alerts: int, now: datetime) -> Acks:
    """Two acks per alert (one stamped by the console at `now`, one not), and every kind of
    bad ack."""
    acks = Acks()
    now = now.replace(microsecond=0)
    for round_ in range(2):
        for i in range(n_alerts):
            alert_id = f"{tag}-a{i}"
            by = f"console-{round_}"
            ts = now - timedelta(seconds=i) if round_ == 0 else None
            body: dict[str, str] = {"by": by}
            if ts is not None:
                body["ts"] = ts.isoformat()
            topic = AckTopic(BUILDING, alert_id).format(prefix)
            acks.messages.append((topic, json.dumps(body).encode()))
            acks.valid.append((alert_id, by, ts))
    good = AckTopic(BUILDING, f"{tag}-bad").format(prefix)
    future = (now + timedelta(minutes=10)).isoformat()
    bad = [
        (AckTopic("nowhere", f"{tag}-x").format(prefix), b'{"by": "a"}', "unknown_building"),
        (f"{prefix}/{BUILDING}/alerts/{tag} x/ack", b'{"by": "b"}', "bad_identifier"),
        (f"{prefix}/{BUILDING}/alerts/{'a' * 65}/ack", b'{"by": "c"}', "bad_identifier"),
        (good, b'{"by": ', "bad_json"),
        (good, b'{"by": "d", "note": "on my way"}', "invalid_payload"),
        (good, b'{"by": ""}', "invalid_payload"),
        (good, b'{"by": 5}', "invalid_payload"),
        (good, b'{"by": "e", "ts": "2026-11-27T10:00:00"}', "invalid_payload"),
        (good, json.dumps({"by": "f", "ts": future}).encode(), "future_timestamp"),
        (good, json.dumps({"by": "g", "pad": "x" * 5000}).encode(), "too_large"),
    ]
    for topic, payload, reason in bad:
        acks.messages.append((topic, payload))
        acks.invalid[(topic, payload)] = reason
    return acks


class AckRun:
    """A pipeline of one bridge whose persistent session already holds all three filters."""

    def __init__(self, stack_env: dict[str, str], tmp_path: Path) -> None:
        self.pipeline = Pipeline(stack_env, tmp_path)
        self.settings = load_settings(
            mqtt_url=stack_env["OCC_MQTT_URL"],
            kafka_bootstrap=self.pipeline.bootstrap,
            kafka_topic_prefix=self.pipeline.topics,
            mqtt_prefix=self.pipeline.prefix,
        )
        self.ack_topic = self.settings.kafka_topic("alert-ack")
        self.deadletter = self.settings.kafka_topic("deadletter")
        wildcards = Wildcards(self.pipeline.prefix)
        # As after the bridge's first start: nothing published before it subscribes is lost.
        prepare_session(
            self.pipeline.mqtt_url,
            f"bridge-{self.pipeline.tag}",
            [wildcards.doors, wildcards.kiosks, wildcards.acks],
        )
        self._published = 0

    def publish(self, acks: Acks) -> None:
        self._published += 1
        client_id = f"console-{self.pipeline.tag}-{self._published}"
        publish(self.pipeline.mqtt_url, acks.messages, client_id)

    def wait_until_in(self, valid: int, invalid: int, timeout: float = 60) -> dict[str, int]:
        topics = [self.ack_topic, self.deadletter]
        return wait_for_counts(
            self.pipeline.bootstrap,
            topics,
            lambda c: c[self.ack_topic] >= valid and c[self.deadletter] >= invalid,
            timeout,
        )


def test_valid_acks_land_once_keyed_by_alert_and_bad_ones_are_dead_lettered(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    run = AckRun(stack_env, tmp_path)
    acks = ack_stream(run.pipeline.prefix, run.pipeline.tag, 50, run.pipeline.now())
    bridge = run.pipeline.bridge()
    try:
        run.publish(acks)
        counts = run.wait_until_in(len(acks.valid), len(acks.invalid))
    finally:
        status = bridge.terminate()
    assert status == 0, bridge.output()[-2000:]
    assert counts == {run.ack_topic: len(acks.valid), run.deadletter: len(acks.invalid)}

    records = read_topics(run.pipeline.bootstrap, [run.ack_topic, run.deadletter])
    forwarded = [AckRecord.model_validate_json(r.value) for r in records[run.ack_topic]]
    seen = Counter((ack.alert_id, ack.by) for ack in forwarded)
    assert seen == Counter((alert_id, by) for alert_id, by, _ in acks.valid), "lost or repeated"
    stamped = {(alert_id, by): ts for alert_id, by, ts in acks.valid}
    for record, ack in zip(records[run.ack_topic], forwarded, strict=True):
        assert record.key == ack.alert_id.encode()
        assert ack.building == BUILDING
        sent = stamped[(ack.alert_id, ack.by)]
        # The console's time when it sent one, else the bridge's arrival time.
        assert ack.ts == (ack.received_at if sent is None else sent)
    assert len({r.partition for r in records[run.ack_topic]}) > 1, "spread over partitions"

    letters = {
        (letter.topic, letter.payload): letter
        for letter in (DeadLetter.model_validate_json(r.value) for r in records[run.deadletter])
    }
    assert set(letters) == set(acks.invalid)
    for key, reason in acks.invalid.items():
        assert letters[key].reason == reason, (key, letters[key].detail)
        assert letters[key].detail

    stats = stats_line(bridge.output())
    assert stats["received"] == len(acks.messages)
    assert stats["forwarded"] == len(acks.valid)
    assert stats["dead_lettered"] == len(acks.invalid)
    for reason, count in Counter(acks.invalid.values()).items():
        assert stats[f"rejected_{reason}"] == count


def test_ack_follower_replays_the_topic_in_order_then_follows_new_acks(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    run = AckRun(stack_env, tmp_path)
    before = ack_stream(run.pipeline.prefix, f"{run.pipeline.tag}-1", 30, run.pipeline.now())
    after = ack_stream(run.pipeline.prefix, f"{run.pipeline.tag}-2", 10, run.pipeline.now())
    bridge = run.pipeline.bridge()
    try:
        run.publish(before)
        run.wait_until_in(len(before.valid), len(before.invalid))
        total = len(before.valid) + len(after.valid)
        replayed, applied, failures = asyncio.run(follow(run, after, total))
    finally:
        status = bridge.terminate()
    assert status == 0, bridge.output()[-2000:]

    assert replayed == len(before.valid), "caught up means every earlier ack was applied"
    expected = before.valid + after.valid
    got = [(ack.alert_id, ack.by) for ack in applied]
    assert Counter(got) == Counter((alert_id, by) for alert_id, by, _ in expected)
    # An alert's acks share a partition, so every worker applies them in the order sent.
    for alert_id in {alert_id for alert_id, _, _ in expected}:
        assert [by for a, by in got if a == alert_id] == ["console-0", "console-1"], alert_id
    assert failures == len(expected), "a failing listener does not stop the others"


async def follow(run: AckRun, after: Acks, total: int) -> tuple[int, list[AckRecord], int]:
    """Follow from the start, publish `after` once caught up, and collect the listener calls
    until `total`: how many were applied at catch-up, every ack applied, how often the failing
    listener ran."""
    follower = AckFollower(run.settings)
    applied: list[AckRecord] = []
    failures = 0
    everything = asyncio.Event()

    async def failing(ack: AckRecord) -> None:
        nonlocal failures
        failures += 1
        raise RuntimeError("a listener with a bug")

    async def collect(ack: AckRecord) -> None:
        applied.append(ack)
        if len(applied) >= total:
            everything.set()

    follower.listeners.extend([failing, collect])
    task = asyncio.create_task(follower.follow())
    try:
        await asyncio.wait_for(follower.caught_up.wait(), 60)
        replayed = len(applied)
        await asyncio.to_thread(run.publish, after)
        await asyncio.wait_for(everything.wait(), 60)
        await asyncio.sleep(1.0)  # anything extra (a repeat) would show up by now
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return replayed, applied, failures
