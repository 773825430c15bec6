"""`ensure_topics` on the real Kafka: created topics are waited for, not raced, and a topic the
broker refuses is named with the broker's reason."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.errors import KafkaError

from ingest.kafka import TOPICS, ensure_topics, make_admin
from ingest.settings import Settings


async def listed(settings: Settings) -> set[str]:
    admin = make_admin(settings)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_twenty_fresh_prefixes_in_a_row_are_all_created_and_listed(
    stack_env: dict[str, str],
) -> None:
    async def twenty() -> list[set[str]]:
        missing = []
        for _ in range(20):
            settings = Settings(
                kafka_bootstrap=stack_env["OCC_KAFKA_BOOTSTRAP"],
                kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}",
                kafka_partitions=3,
            )
            created = await ensure_topics(settings)
            names = {settings.kafka_topic(spec.name) for spec in TOPICS}
            assert set(created) == names
            missing.append(names - await listed(settings))
            assert await ensure_topics(settings) == []  # a second start creates nothing
        return missing

    assert asyncio.run(twenty()) == [set()] * 20


def test_a_topic_the_broker_refuses_is_named_with_its_reason(stack_env: dict[str, str]) -> None:
    settings = Settings(
        kafka_bootstrap=stack_env["OCC_KAFKA_BOOTSTRAP"],
        kafka_topic_prefix=f"t{uuid.uuid4().hex[:8]}",
        kafka_replication=3,  # one broker in the local stack
    )
    with pytest.raises(KafkaError) as raised:
        asyncio.run(ensure_topics(settings))
    assert f"topic {settings.kafka_topic('door')} was not created" in str(raised.value)
    assert "replication factor" in str(raised.value).lower()
