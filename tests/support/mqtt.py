"""Publishing to and preparing sessions on the real Mosquitto, with paho-mqtt 2.x."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

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


class Collector:
    """Subscribes to `filters` and keeps every message (retained ones too), thread-safely."""

    def __init__(self, url: str, filters: list[str], client_id: str) -> None:
        address = MqttAddress.from_url(url)
        self._lock = threading.Lock()
        self._messages: list[tuple[str, bytes, bool]] = []
        self._client = _client(client_id, clean=True)
        subscribed = threading.Event()
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.connect(address.host, address.port)
        self._client.loop_start()
        self._client.subscribe([(f, 1) for f in filters])
        assert subscribed.wait(10), "no SUBACK from Mosquitto"

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def messages(self) -> list[tuple[str, bytes, bool]]:
        with self._lock:
            return list(self._messages)

    def wait_for(
        self, check: Callable[[list[tuple[str, bytes, bool]]], bool], timeout: float = 60
    ) -> list[tuple[str, bytes, bool]]:
        """Wait until `check(messages)` holds; returns the messages either way."""
        deadline = time.monotonic() + timeout
        while not check(self.messages()) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def broker_max_packet() -> int:
    """The local stack's Mosquitto `max_packet_size`: a longer publish is refused by the
    broker itself (tests/system/deploy/test_mqtt_security.py), never reaching the bridge."""
    conf = Path(__file__).resolve().parents[2] / "deploy" / "local" / "mosquitto.conf"
    for line in conf.read_text(encoding="utf-8").splitlines():
        if line.startswith("max_packet_size "):
            return int(line.split()[1])
    raise AssertionError(f"{conf} sets no max_packet_size")


def fits_broker(topic: str, payload: bytes) -> bool:
    """Whether a QoS-1 PUBLISH of `payload` on `topic` stays within the broker's limit (the
    fixed header, the topic and the packet id take at most 16 bytes beside them)."""
    return len(topic.encode()) + len(payload) + 16 <= broker_max_packet()
