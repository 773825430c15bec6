"""Reading Kafka topics back in tests: a plain linear consumer, independent of our code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def _partitions(bootstrap: str, topics: list[str]) -> dict[str, list[int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        return {d["topic"]: [p["partition"] for p in d["partitions"]] for d in described}
    finally:
        await admin.close()


async def _end_offsets(bootstrap: str, topics: list[str]) -> dict[str, int]:
    partitions = await _partitions(bootstrap, topics)
    totals = dict.fromkeys(topics, 0)
    if not any(partitions.values()):
        # Also sidesteps aiokafka's consumer, whose stop() right after start() can raise
        # CancelledError (its reset task was cancelled before it ever ran).
        return totals
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        for topic in topics:
            tps = [TopicPartition(topic, p) for p in partitions.get(topic, [])]
            if tps:
                totals[topic] = sum((await consumer.end_offsets(tps)).values())
        return totals
    finally:
        await consumer.stop()


def record_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    """How many records each topic holds (end offsets summed over partitions)."""
    return asyncio.run(_end_offsets(bootstrap, topics))


def wait_for_counts(
    bootstrap: str, topics: list[str], done: Callable[[dict[str, int]], bool], timeout: float
) -> dict[str, int]:
    """Poll record counts until `done(counts)` or the timeout; returns the last counts."""
    deadline = time.monotonic() + timeout
    counts = record_counts(bootstrap, topics)
    while not done(counts) and time.monotonic() < deadline:
        time.sleep(0.5)
        counts = record_counts(bootstrap, topics)
    return counts


async def _read(bootstrap: str, topics: list[str]) -> dict[str, list[ConsumerRecord]]:
    expected = await _end_offsets(bootstrap, topics)
    partitions = await _partitions(bootstrap, topics)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: dict[str, list[ConsumerRecord]] = {t: [] for t in topics}
    try:
        # Partitions assigned, not subscribed: right after a broker restart a subscription
        # can wait out a metadata refresh before its first fetch; an assignment fetches now.
        consumer.assign([TopicPartition(t, p) for t, ps in partitions.items() for p in ps])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + 120
        while any(len(out[t]) < expected[t] for t in topics) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                out[tp.topic].extend(records)
        return out
    finally:
        await consumer.stop()


def read_topics(bootstrap: str, topics: list[str]) -> dict[str, list[ConsumerRecord]]:
    """Every record currently in `topics`, read from the beginning."""
    return asyncio.run(_read(bootstrap, topics))
