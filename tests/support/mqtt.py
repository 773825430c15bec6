"""Publishing to and preparing sessions on the real Mosquitto, with paho-mqtt 2.x."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ingest.settings import MqttAddress


def _client(client_id: str, clean: bool) -> mqtt.Client:
    return mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=clean,
    )


def prepare_session(url: str, client_id: str, filters: Iterable[str]) -> None:
    """Create a persistent session subscribed to `filters`, as a first bridge start would."""
    address = MqttAddress.from_url(url)
    client = _client(client_id, clean=False)
    subscribed = threading.Event()
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(address.host, address.port)
    client.loop_start()
    try:
        client.subscribe([(f, 1) for f in filters])
        assert subscribed.wait(10), "no SUBACK from Mosquitto"
    finally:
        client.disconnect()
        client.loop_stop()


def publish(
    url: str, messages: Iterable[tuple[str, bytes]], client_id: str, pause_every: int = 0
) -> int:
    """Publish every (topic, payload) with QoS 1 and wait until Mosquitto acknowledged each."""
    address = MqttAddress.from_url(url)
    client = _client(client_id, clean=True)
    client.max_inflight_messages_set(500)
    client.connect(address.host, address.port)
    client.loop_start()
    sent = []
    try:
        for i, (topic, payload) in enumerate(messages, start=1):
            sent.append(client.publish(topic, payload, qos=1))
            if pause_every and i % pause_every == 0:
                time.sleep(0.05)  # spread the stream over time so a kill lands mid-stream
        for info in sent:
            info.wait_for_publish(timeout=60)
            assert info.is_published(), "Mosquitto did not acknowledge a QoS-1 publish"
    finally:
        client.disconnect()
        client.loop_stop()
    return len(sent)
