"""Putting the simulator's messages on MQTT: paho 2.x, QoS 1, each when it is due."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from deploy.simulator.load import LoadStream
from deploy.simulator.messages import Scheduled
from ingest.clock import Clock
from ingest.errors import ConfigError
from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger("deploy.simulator")

CONNECT_TIMEOUT_S = 15.0
PROGRESS_EVERY_S = 5.0
MAX_INFLIGHT = 1000


class Publisher:
    """One MQTT connection publishing with QoS 1; counts what the broker acknowledged."""

    def __init__(self, settings: Settings, client_id: str) -> None:
        self._address = settings.mqtt
        self._ca_certs = settings.mqtt_ca_certs
        # MQTT 3.1.1, as the kiosks and sensors of the contract speak it.
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        if self._address.username:
            self._client.username_pw_set(self._address.username, self._address.password)
        if self._address.tls:
            self._client.tls_set(ca_certs=self._ca_certs, cert_reqs=ssl.CERT_REQUIRED)
        self._client.max_inflight_messages_set(MAX_INFLIGHT)
        self._client.max_queued_messages_set(0)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._refused: str | None = None
        self.sent = 0
        self.acked = 0

    def connect(self) -> None:
        where = f"{self._address.host}:{self._address.port}"
        try:
            self._client.connect(self._address.host, self._address.port, keepalive=30)
        except OSError as exc:
            raise ConfigError(
                f"Cannot reach the MQTT broker at {where} (OCC_MQTT_URL): {exc.strerror or exc}."
            ) from None
        self._client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S) or self._refused is not None:
            self.close()
            reason = self._refused or f"no answer within {CONNECT_TIMEOUT_S:.0f} s"
            raise ConfigError(f"The MQTT broker at {where} (OCC_MQTT_URL) refused us: {reason}.")

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in {MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN}:
            raise ConfigError(f"Publishing to {topic} failed: {mqtt.error_string(info.rc)}.")
        with self._lock:
            self.sent += 1

    def drain(self, timeout_s: float) -> int:
        """Wait until the broker acknowledged everything sent; how many it did not."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if self.acked >= self.sent:
                    return 0
            time.sleep(0.05)
        with self._lock:
            return self.sent - self.acked

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            self._refused = str(reason)
        else:
            log.info(kv("mqtt_connected", host=self._address.host, port=self._address.port))
        self._connected.set()

    def _on_publish(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        _reason: ReasonCode,
        _properties: Properties,
    ) -> None:
        with self._lock:
            self.acked += 1


DueIn = Callable[[datetime], float]
"""Real seconds from now until the simulated instant is due (negative: overdue)."""


def on_clock(clock: Clock) -> DueIn:
    """Each message when the pipeline's clock reaches its instant (a replay clock)."""
    return clock.seconds_until


def compressed(origin: datetime, speed: float) -> DueIn:
    """Each message `(at - origin) / speed` seconds after the first call: a past day run
    faster than life beside a pipeline on the wall clock."""
    started = time.monotonic()
    return lambda at: started + (at - origin).total_seconds() / speed - time.monotonic()


def run_day(
    publisher: Publisher,
    messages: Sequence[Scheduled],
    due_in: DueIn,
    stop: threading.Event,
) -> int:
    """Publish each message when it is due; how many went."""
    next_report = time.monotonic() + PROGRESS_EVERY_S
    sent = 0
    for message in messages:
        delay = due_in(message.at)
        if (delay > 0 and stop.wait(delay)) or stop.is_set():
            break
        publisher.publish(message.topic, message.payload)
        sent += 1
        if time.monotonic() >= next_report:
            next_report += PROGRESS_EVERY_S
            log.info(
                kv(
                    "simulate_progress",
                    sent=sent,
                    of=len(messages),
                    acked=publisher.acked,
                    simulated=message.at.isoformat(timespec="seconds"),
                    behind_s=max(0.0, -delay),
                )
            )
    return sent


def run_load(
    publisher: Publisher,
    stream: LoadStream,
    rate: float,
    duration_s: float,
    stop: threading.Event,
    *,
    clock: Clock,
) -> int:
    """`rate` door messages a second for `duration_s`, stamped as sent; how many went."""
    total = int(rate * duration_s)
    started = time.monotonic()
    next_report = started + PROGRESS_EVERY_S
    sent = 0
    while sent < total and not stop.is_set():
        delay = started + sent / rate - time.monotonic()
        if delay > 0 and stop.wait(delay):
            break
        now = clock.now()
        # Everything due by now goes at once: sleeping per message would cap the rate.
        while sent < total and started + sent / rate <= time.monotonic():
            publisher.publish(*stream.next(now))
            sent += 1
        if time.monotonic() >= next_report:
            next_report += PROGRESS_EVERY_S
            elapsed = time.monotonic() - started
            log.info(kv("load_progress", sent=sent, acked=publisher.acked, rate=sent / elapsed))
    return sent
