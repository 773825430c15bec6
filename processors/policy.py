"""The active policy level: set through the compacted config topic, followed by every worker."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.errors import ConfigError
from ingest.kafka import ensure_topics, kafka_security, make_producer
from ingest.logs import kv
from ingest.models import PolicyChange
from ingest.settings import Settings
from ingest.site import Site

log = logging.getLogger(__name__)

POLICY_KEY = b"policy"


async def set_policy(settings: Settings, site: Site, level: str, by: str) -> PolicyChange:
    """Publish `level` as the active policy level; every worker re-rates its rooms."""
    if level not in site.policy.levels:
        raise ConfigError(
            f"Policy level {level!r} is not in {settings.site_file} "
            f"(levels: {', '.join(sorted(site.policy.levels))})."
        )
    await ensure_topics(settings)
    change = PolicyChange(level=level, by=by, ts=settings.pipeline_clock.now())
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(
            settings.kafka_topic("config"), change.model_dump_json().encode(), key=POLICY_KEY
        )
    finally:
        await producer.stop()
    return change


class PolicyFollower:
    """Reads the config topic from the start in every worker (no consumer group: all of them
    must see every change) and calls the listeners when the level changes."""

    def __init__(self, settings: Settings, site: Site) -> None:
        self._settings = settings
        self._levels = set(site.policy.levels)
        self.level = site.policy.active
        self.listeners: list[Callable[[str], None]] = []

    async def follow(self) -> None:
        topic = self._settings.kafka_topic("config")
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            enable_auto_commit=False,
            **kafka_security(self._settings),
        )
        await consumer.start()
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            while True:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for record in batch.get(partition, []):
                    if record.key == POLICY_KEY and record.value is not None:
                        self._apply(PolicyChange.model_validate_json(record.value))
        finally:
            await consumer.stop()

    def _apply(self, change: PolicyChange) -> None:
        if change.level == self.level:
            return
        if change.level not in self._levels:
            log.warning(kv("policy_level_unknown", level=change.level, kept=self.level))
            return
        log.info(kv("policy_level_changed", level=change.level, was=self.level, by=change.by))
        self.level = change.level
        for listener in self.listeners:
            listener(change.level)
