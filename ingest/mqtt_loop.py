"""Running a paho client on the asyncio loop instead of paho's own thread.

One thread means no lock hand-offs per message and no wake-up byte per PUBACK; this is
the pattern of paho's `loop_asyncio` example and of aiomqtt. paho does not reconnect in
this mode, so `AsyncioMqtt` does, with exponential backoff.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

from ingest.logs import kv

log = logging.getLogger(__name__)

_MISC_INTERVAL_S = 1.0
_READ_BURST = 256


class AsyncioMqtt:
    """Drives `client`'s network I/O from the running asyncio loop and keeps it connected."""

    def __init__(
        self, client: mqtt.Client, min_delay: float = 0.5, max_delay: float = 30.0
    ) -> None:
        self._client = client
        self._loop = asyncio.get_running_loop()
        self._min_delay = min_delay
        self._max_delay = max_delay
        self._misc: asyncio.Task[None] | None = None
        self._reconnecting: asyncio.Task[None] | None = None
        self._closing = False
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write

    async def connect(self, host: str, port: int, **options: Any) -> None:
        """Connect once (retrying with backoff until the broker answers the TCP connect)."""
        self._client.connect_async(host, port, **options)
        await self._reconnect_until_connected()

    def lost(self) -> None:
        """Call from `on_disconnect`: reconnect in the background unless we are closing."""
        if not self._closing and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = self._loop.create_task(self._reconnect_until_connected())

    async def close(self) -> None:
        """Disconnect cleanly, flushing what paho still has to send (our PUBACKs)."""
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        if self._client.is_connected():
            self._client.disconnect()
            for _ in range(50):  # the DISCONNECT goes out through our writer callback
                if self._client.socket() is None:
                    break
                await asyncio.sleep(0.02)
        if self._misc is not None:
            self._misc.cancel()

    async def _reconnect_until_connected(self) -> None:
        delay = self._min_delay
        while not self._closing:
            try:
                self._client.reconnect()
                return
            except (OSError, mqtt.WebsocketConnectionError) as exc:
                log.warning(kv("mqtt_connect_failed", error=type(exc).__name__, retry_in_s=delay))
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_delay)

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_reader(sock, self._read)
        self._misc = self._loop.create_task(self._misc_loop())

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_reader(sock)
        self._loop.remove_writer(sock)
        if self._misc is not None:
            self._misc.cancel()

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.add_writer(sock, self._client.loop_write)

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._loop.remove_writer(sock)

    def _read(self) -> None:
        # paho reads one packet per call; going round the event loop (an epoll call and
        # a scheduler pass) for each was a fifth of the bridge's CPU. Read on while bytes
        # are waiting, up to a burst, then let the rest of the loop run.
        sock = self._client.socket()
        for _ in range(_READ_BURST):
            if self._client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return
            if not _has_pending_bytes(sock):
                return

    async def _misc_loop(self) -> None:
        # Keepalive pings and timeouts; paho's own thread would do this.
        while self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:  # noqa: ASYNC110
            await asyncio.sleep(_MISC_INTERVAL_S)


def _has_pending_bytes(sock: Any) -> bool:
    if isinstance(sock, ssl.SSLSocket):
        return sock.pending() > 0
    if not isinstance(sock, socket.socket):
        return False
    try:
        return bool(sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT))
    except OSError:  # nothing waiting (EAGAIN) or the connection broke: the loop will see
        return False
