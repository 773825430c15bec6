"""MQTT and Kafka channels: where each alert goes, how it is framed, and failures kept inside."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.errors import KafkaConnectionError

from alerts.notifiers import KafkaNotifier, MqttNotifier
from ingest.models import Alert
from tests.support.samples import sample_alert


def test_mqtt_publishes_json_on_the_alerts_topic_qos1_not_retained() -> None:
    published: list[tuple[str, bytes, int, bool]] = []
    channel = MqttNotifier(lambda *args: published.append(args), "occupancy")
    alert = sample_alert(building="gedung-a")
    asyncio.run(channel.send(alert))
    [(topic, payload, qos, retain)] = published
    assert (topic, qos, retain) == ("occupancy/gedung-a/alerts", 1, False)
    assert Alert.model_validate_json(payload) == alert


def test_mqtt_publish_failure_does_not_raise() -> None:
    def publish(topic: str, payload: bytes, qos: int, retain: bool) -> None:
        raise ValueError("client gone")

    asyncio.run(MqttNotifier(publish, "occupancy").send(sample_alert()))


class FakeProducer:
    """Fails the first `failures` sends the way aiokafka does, then acks."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker away")
        self.records.append((topic, value, key))
        delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


def test_kafka_produces_keyed_by_alert_id_and_retries() -> None:
    producer = FakeProducer(failures=2)
    channel = KafkaNotifier(producer, "occupancy.alerts", backoff_min_s=0.01)

    async def scenario() -> None:
        await channel.start()
        await channel.send(sample_alert("a-1"))
        await channel.send(sample_alert("a-2"))
        await channel.stop()

    asyncio.run(scenario())
    assert [(topic, key) for topic, _, key in producer.records] == [
        ("occupancy.alerts", b"a-1"),
        ("occupancy.alerts", b"a-2"),
    ]
    assert Alert.model_validate_json(producer.records[0][1] or b"") == sample_alert("a-1")
