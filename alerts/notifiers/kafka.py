"""Kafka channel: every alert message kept in `occupancy.alerts`, keyed by its alert_id."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from alerts.notifiers.delivery import DeliveryQueue
from ingest.models import Alert


class Producer(Protocol):
    """The part of `AIOKafkaProducer` the channel uses: `send` enqueues, its future acks."""

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]: ...


class KafkaNotifier:
    """Produces each alert as JSON keyed by alert_id, so one alert's messages stay in order
    on one partition. The producer is shared and owned by the caller (started and stopped
    there); a bounded queue keeps a full producer buffer from blocking `send`."""

    name = "kafka"

    def __init__(
        self,
        producer: Producer,
        topic: str,
        *,
        queue_size: int = 1000,
        max_attempts: int | None = None,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        drain_timeout_s: float = 5.0,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._drain_timeout_s = drain_timeout_s
        self.queue = DeliveryQueue(
            self.name,
            self._produce,
            retry_on=(KafkaError,),
            size=queue_size,
            max_attempts=max_attempts,
            backoff_min_s=backoff_min_s,
            backoff_max_s=backoff_max_s,
            target=topic,
        )

    async def start(self) -> None:
        await self.queue.start()

    async def send(self, alert: Alert) -> None:
        self.queue.put(alert)

    async def stop(self) -> None:
        await self.queue.stop(self._drain_timeout_s)

    async def _produce(self, alert: Alert) -> None:
        delivery = await self._producer.send(
            self._topic, value=alert.model_dump_json().encode(), key=alert.alert_id.encode()
        )
        await delivery
