"""Alert acknowledgements from security consoles, followed by every worker from `alert-ack`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import TopicPartition
from pydantic import ValidationError

from ingest.kafka import broadcast_consumer
from ingest.logs import kv
from ingest.models import AckRecord
from ingest.settings import Settings

log = logging.getLogger(__name__)

AckListener = Callable[[AckRecord], Awaitable[None]]


class AckFollower:
    """Reads every partition of the ack topic from the start in every worker (no consumer
    group: the alert an ack names may live in any worker) and awaits the listeners for each
    record, in order per partition; an alert's acks share a key, hence a partition."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.listeners: list[AckListener] = []
        self.caught_up = asyncio.Event()
        """Set once every ack that was in the topic when following began has been applied."""

    async def follow(self) -> None:
        # Subscribed without a group: aiokafka assigns every partition (and any added later),
        # and with no committed offsets each one starts at its beginning.
        consumer = broadcast_consumer(self._settings, "alert-ack")
        await consumer.start()
        try:
            partitions = sorted(consumer.assignment())
            starts = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
            # Offset after the last record each partition held at start, where there was one.
            backlog = {tp: end for tp, end in ends.items() if end > starts[tp]}
            self._set_caught_up_when_done(backlog)
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                for tp, records in batch.items():
                    for record in records:
                        await self._apply(record.value)
                    if records and tp in backlog and records[-1].offset + 1 >= backlog[tp]:
                        del backlog[tp]
                        self._set_caught_up_when_done(backlog)
        finally:
            await consumer.stop()

    def _set_caught_up_when_done(self, backlog: dict[TopicPartition, int]) -> None:
        if not backlog:
            log.info(kv("alert_acks_caught_up"))
            self.caught_up.set()

    async def _apply(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            ack = AckRecord.model_validate_json(value)
        except ValidationError:
            # Only the bridge (and the board, resolving) writes here; anything else is skipped.
            log.warning(kv("alert_ack_unreadable", bytes=len(value)))
            return
        for listener in self.listeners:
            try:
                await listener(ack)
            except Exception:
                # One broken listener must not keep the others (or later acks) from applying.
                log.exception(
                    kv("alert_ack_listener_failed", building=ack.building, alert_id=ack.alert_id)
                )
