"""The contract every alert channel (MQTT, webhook, Kafka, …) implements."""

from __future__ import annotations

from typing import Protocol

from ingest.models import Alert


class Notifier(Protocol):
    """An alert channel. `send` returns quickly and never raises: a channel retries and logs
    its own failures, so one slow or broken channel never holds up the alert stream."""

    name: str

    async def start(self) -> None: ...

    async def send(self, alert: Alert) -> None: ...

    async def stop(self) -> None: ...
