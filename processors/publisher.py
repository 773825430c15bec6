"""The workers' MQTT publisher: retained room states for door signage, alerts for consoles."""

from __future__ import annotations

import logging
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)


class MqttPublisher:
    """A paho client on its own network thread (publish is thread-safe), reconnecting forever.

    QoS-1 messages published while disconnected wait in paho's queue and go out after the
    reconnect; retained room states make a late subscriber see the latest anyway.
    """

    def __init__(self, settings: Settings, client_id: str) -> None:
        address = settings.mqtt
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            ca_file = settings.mqtt_ca_file  # the system's CAs when unset; host name checked
            self._client.tls_set(
                ca_certs=str(ca_file) if ca_file else None, cert_reqs=ssl.CERT_REQUIRED
            )
        self._client.max_queued_messages_set(100_000)
        self._client.max_inflight_messages_set(1000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._address = address

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning(kv("mqtt_publish_failed", topic=topic, rc=info.rc))

    def _on_connect(self, client: mqtt.Client, *args: Any) -> None:
        log.info(kv("mqtt_publisher_connected"))

    def _on_disconnect(self, client: mqtt.Client, *args: Any) -> None:
        log.warning(kv("mqtt_publisher_disconnected"))
