"""MQTT channel: each alert on `{prefix}/{building}/alerts`, QoS 1, not retained.

The publish callable is the worker's client (paho's `publish`), which queues QoS 1
messages and redelivers them after a reconnect: that is this channel's retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.logs import kv
from ingest.models import Alert
from ingest.topics import AlertsTopic

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int, bool], object]
"""(topic, payload, qos, retain), like `paho.mqtt.client.Client.publish`."""


class MqttNotifier:
    """Publishes alerts through a client it does not own; nothing to start or stop."""

    name = "mqtt"

    def __init__(self, publish: Publish, prefix: str) -> None:
        self._publish = publish
        self._prefix = prefix

    async def start(self) -> None:
        return None

    async def send(self, alert: Alert) -> None:
        topic = AlertsTopic(alert.building).format(self._prefix)
        try:
            self._publish(topic, alert.model_dump_json().encode(), 1, False)
        except Exception as exc:
            log.warning(
                kv(
                    "alert_delivery_failed",
                    notifier=self.name,
                    alert_id=alert.alert_id,
                    error=type(exc).__name__,
                )
            )

    async def stop(self) -> None:
        return None
