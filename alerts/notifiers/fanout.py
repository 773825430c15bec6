"""Fan-out: one alert handed to every channel; a failing or slow channel never stops the others."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from alerts.notifiers.base import Notifier
from ingest.logs import kv
from ingest.models import Alert

log = logging.getLogger(__name__)


class Fanout:
    """Sends to all notifiers concurrently, each bounded by `send_timeout_s`; is a Notifier."""

    name = "fanout"

    def __init__(self, notifiers: Sequence[Notifier], *, send_timeout_s: float = 1.0) -> None:
        self.notifiers = tuple(notifiers)
        self._send_timeout_s = send_timeout_s

    async def start(self) -> None:
        # A channel that cannot start is logged, not fatal: the others still deliver.
        for notifier in self.notifiers:
            try:
                await notifier.start()
            except Exception as exc:
                log.error(kv("notifier_start_failed", notifier=notifier.name, error=repr(exc)))

    async def send(self, alert: Alert) -> None:
        # The one line per alert a worker sends, whatever machine raised it.
        log.info(
            kv(
                "alert",
                alert_id=alert.alert_id,
                kind=alert.kind,
                building=alert.building,
                room=alert.room or "",
                severity=alert.severity,
                state=alert.state,
                value="" if alert.value is None else alert.value,
                acked_by=alert.ack.by if alert.ack else "",
            )
        )
        await asyncio.gather(*(self._send_one(n, alert) for n in self.notifiers))

    async def stop(self) -> None:
        for notifier in reversed(self.notifiers):
            try:
                await notifier.stop()
            except Exception as exc:
                log.warning(kv("notifier_stop_failed", notifier=notifier.name, error=repr(exc)))

    async def _send_one(self, notifier: Notifier, alert: Alert) -> None:
        try:
            async with asyncio.timeout(self._send_timeout_s):
                await notifier.send(alert)
        except Exception as exc:
            log.warning(
                kv(
                    "alert_delivery_failed",
                    notifier=notifier.name,
                    alert_id=alert.alert_id,
                    error=type(exc).__name__,
                )
            )
