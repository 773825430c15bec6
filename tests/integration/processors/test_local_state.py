"""Local table stores never outrank Kafka, on the real stack: two deployments (topic
prefixes) one after the other from one data directory, and a worker restarted after its
topics were deleted and recreated, both start and count what the door topic holds."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from ingest.models import DoorRecord
from tests.support.kafka import read_topics, wait_for_counts
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration

SENSORS = {"f2-meeting-a": "door-f2-meeting-a", "f1-lobby": "door-f1-lobby-main"}
ROOMS = tuple(SENSORS)


def doors(pipeline: Pipeline, first_seq: int, people: list[int]) -> list[tuple[str, bytes]]:
    """Door messages of one sensor per room: `people[i]` enter with message i."""
    messages = []
    for room in ROOMS:
        for i, entered in enumerate(people):
            body = {
                "seq": first_seq + i,
                "ts": pipeline.now().isoformat(),
                "entered": entered,
                "exited": 0,
                "event_id": f"{room}-{first_seq + i}",
            }
            topic = f"{pipeline.prefix}/hq-jakarta/{room}/door/{SENSORS[room]}"
            messages.append((topic, json.dumps(body).encode()))
    return messages


def recount(pipeline: Pipeline) -> Counter[str]:
    """Each room's count from the door topic itself (every seq once, nobody leaves)."""
    topic = f"{pipeline.topics}.door"
    seen: dict[tuple[str, int], int] = {}
    for record in read_topics(pipeline.bootstrap, [topic])[topic]:
        door = DoorRecord.model_validate_json(record.value)
        seen[(door.room, door.seq)] = door.entered - door.exited
    counts: Counter[str] = Counter()
    for (room, _), delta in seen.items():
        counts[room] += delta
    return counts


def counted(pipeline: Pipeline, expected: Counter[str], timeout: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        states = {k.split("/")[1]: s.count for k, s in pipeline.room_states().items()}
        if all(states.get(room) == n for room, n in expected.items()):
            return states
        assert time.monotonic() < deadline, f"room states {states}, door topic {expected}"
        time.sleep(0.5)


async def _delete_topics(bootstrap: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        await admin.delete_topics(doomed)
        for _ in range(100):  # KRaft forgets deleted topics asynchronously
            if not {t for t in await admin.list_topics() if t.startswith(prefix)}:
                return doomed
            await asyncio.sleep(0.2)
        raise AssertionError(f"topics of {prefix} still listed")
    finally:
        await admin.close()


def run_day(pipeline: Pipeline, data: Path, first_seq: int, people: list[int]) -> None:
    pipeline.bridge()
    pipeline.worker(OCC_WORKER_DATA_DIR=str(data))
    sent = publish(
        pipeline.env["OCC_MQTT_URL"], doors(pipeline, first_seq, people), f"pub-{pipeline.tag}"
    )
    door = f"{pipeline.topics}.door"
    wait_for_counts(pipeline.bootstrap, [door], lambda c: c[door] >= sent, 60)
    counted(pipeline, recount(pipeline))


def test_deployments_share_a_data_dir_and_a_worker_outlives_its_deleted_topics(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "worker-data"  # one directory, as `.run/worker` for every deployment
    logs_a, logs_b, logs_again = (tmp_path / name for name in ("a", "b", "a-again"))
    for folder in (logs_a, logs_b, logs_again):
        folder.mkdir()
    first = Pipeline(stack_env, logs_a)
    try:
        run_day(first, data, 0, [3, 2, 4])
    finally:
        assert set(first.stop_all().values()) == {0}
    second = Pipeline(stack_env, logs_b)
    try:
        run_day(second, data, 0, [1, 1])
    finally:
        assert set(second.stop_all().values()) == {0}
    assert sorted(p.name for p in data.iterdir()) == sorted(
        [f"{first.topics}-workers", f"{second.topics}-workers"]
    )

    deleted = asyncio.run(_delete_topics(first.bootstrap, first.topics))
    assert f"{first.topics}.door" in deleted
    assert any(t.endswith("-changelog") for t in deleted)
    again = Pipeline(stack_env, logs_again, OCC_KAFKA_TOPIC_PREFIX=first.topics)
    again.prefix, again.topics = first.prefix, first.topics
    again.env["OCC_MQTT_PREFIX"] = first.prefix
    try:
        # The store holds offsets of the old changelogs: discarded, not a crash loop.
        run_day(again, data, 10, [5])
        log = "".join(p.read_text(errors="replace") for p in logs_again.glob("worker-*.log"))
        assert "event=table_store_discarded" in log
        assert "ConsistencyError" not in log
        # Nothing of the first day survives in the counts: the door topic starts anew.
        assert recount(again) == Counter(dict.fromkeys(ROOMS, 5))
    finally:
        assert set(again.stop_all().values()) == {0}
