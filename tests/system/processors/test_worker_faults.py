"""Workers killed mid-stream end with the counts of an uninterrupted run.

The expectation is recounted here from the scripted events (sum of entered − exited over
distinct sensor messages; the script never lets a room go below zero), not by the code
under test; the result read back is the latest state per room in the room-state topic.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

from ingest.site import Site
from tests.support.kafka import wait_for_counts
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline, replay_clock

CLOCK = replay_clock()
RECOVERY_S = 60  # restoring these tables from their changelogs takes seconds here


def script(
    site: Site, prefix: str, n: int, seed: int
) -> tuple[list[tuple[str, bytes]], Counter[str]]:
    """`n` door messages over every sensor of the head office, with some QoS-1 repeats,
    and the final count per room they imply."""
    rng = random.Random(seed)
    building = site.buildings[0]
    seq: Counter[str] = Counter()
    count: Counter[str] = Counter()
    messages: list[tuple[str, bytes]] = []
    for _ in range(n):
        sensor = rng.choice(building.sensors)
        room = f"{building.id}/{sensor.room}"
        entered = rng.randint(0, 2)
        exited = rng.randint(0, min(2, count[room] + entered))
        seq[sensor.id] += 1
        count[room] += entered - exited
        body = {
            "seq": seq[sensor.id],
            "ts": CLOCK.now().isoformat(),
            "entered": entered,
            "exited": exited,
        }
        message = (
            f"{prefix}/{building.id}/{sensor.room}/door/{sensor.id}",
            json.dumps(body).encode(),
        )
        messages.append(message)
        if rng.random() < 0.05:
            messages.append(message)  # a redelivery: must change nothing
    return messages, count


def assert_counts(pipeline: Pipeline, expected: Counter[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = {room: state.count for room, state in pipeline.room_states().items()}
        want = {room: c for room, c in expected.items() if c or room in got}
        if got == want or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got == want


def test_worker_killed_and_restarted_keeps_exact_counts(
    stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    pipeline = Pipeline(stack_env, tmp_path, CLOCK)
    messages, expected = script(sample_site, pipeline.prefix, 4000, seed=7)
    try:
        pipeline.bridge()
        worker = pipeline.worker()
        publish(pipeline.mqtt_url, messages[:2000], f"pub-{pipeline.tag}")
        states = f"{pipeline.topics}.room-state"
        wait_for_counts(pipeline.bootstrap, [states], lambda c: c[states] >= 200, timeout=60)
        worker.kill()  # mid-stream: offsets, changelog and local store at some random point
        publish(pipeline.mqtt_url, messages[2000:], f"pub-{pipeline.tag}-2")
        pipeline.worker(ready_within=RECOVERY_S)  # same store, then the changelog
        assert_counts(pipeline, expected)
    finally:
        pipeline.stop_all()


def test_two_workers_share_rooms_and_one_dying_loses_nothing(
    stack_env: dict[str, str], sample_site: Site, tmp_path: Path
) -> None:
    pipeline = Pipeline(stack_env, tmp_path, CLOCK)
    messages, expected = script(sample_site, pipeline.prefix, 4000, seed=8)
    try:
        pipeline.bridge()
        first = pipeline.worker("a")
        pipeline.worker("b")
        publish(pipeline.mqtt_url, messages[:2000], f"pub-{pipeline.tag}")
        first.kill()  # its partitions move to the second worker, which restores them
        publish(pipeline.mqtt_url, messages[2000:], f"pub-{pipeline.tag}-2")
        assert_counts(pipeline, expected, timeout=RECOVERY_S)
    finally:
        pipeline.stop_all()
