"""Following a whole compacted topic from its start, in every worker (no consumer group)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.kafka import broadcast_consumer
from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)

Take = Callable[[bytes | None, bytes | None], None]
"""Called with each record's key and value (None: a tombstone), in offset order per partition."""


async def follow_topic(
    settings: Settings,
    name: str,
    take: Take,
    *,
    caught_up: asyncio.Event,
    then: Callable[[], Awaitable[None]],
    every: float,
) -> None:
    """Read topic `name` from its start, forever. `caught_up` is set once the records there
    at start are read; from then on `then` runs after each batch, and every `every` seconds."""
    consumer = broadcast_consumer(settings, name)
    await consumer.start()
    try:
        backlog = await backlog_of(consumer)
        last = asyncio.get_running_loop().time()
        taken = 0
        while True:
            batch = await consumer.getmany(timeout_ms=int(every * 1000))
            for tp, records in batch.items():
                for record in records:
                    take(record.key, record.value)
                taken += len(records)
                if records and records[-1].offset + 1 >= backlog.get(tp, 0):
                    backlog.pop(tp, None)
            if not backlog and not caught_up.is_set():
                log.info(kv("topic_caught_up", topic=settings.kafka_topic(name), records=taken))
                caught_up.set()
            now = asyncio.get_running_loop().time()
            if caught_up.is_set() and (batch or now - last >= every):
                last = now
                await then()
    finally:
        await consumer.stop()


async def backlog_of(consumer: AIOKafkaConsumer) -> dict[TopicPartition, int]:
    """The offset after the last record each assigned partition held at start, where one was."""
    partitions = sorted(consumer.assignment())
    starts = await consumer.beginning_offsets(partitions)
    ends = await consumer.end_offsets(partitions)
    return {tp: end for tp, end in ends.items() if end > starts[tp]}
