"""InfluxDB channel: every alert a worker sends becomes one `alerts` point.

Only the alert's kind, place, state and figures are written; never its message, which
may name an employee (`health_screening`). `ack_s`, on the first point that carries the
ack, is the time from the first point this worker wrote for the alert to the
acknowledgement (left out when the worker restarted in between and never saw the start).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from ingest.metrics import Sink
from ingest.models import Alert

_REMEMBERED = 10_000
"""Alert starts kept for `ack_s`; the oldest go first (an alert that old is long acked)."""


class InfluxNotifier:
    """Writes to a sink that only queues: nothing to start, and never slow."""

    name = "influx"

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._started: OrderedDict[str, datetime] = OrderedDict()
        self._acked: OrderedDict[str, None] = OrderedDict()

    async def start(self) -> None:
        return None

    async def send(self, alert: Alert) -> None:
        started = self._started.setdefault(alert.alert_id, alert.ts)
        ack_s = None
        if alert.ack is not None and alert.alert_id not in self._acked:
            self._acked[alert.alert_id] = None
            if alert.ack.ts >= started:
                ack_s = round((alert.ack.ts - started).total_seconds(), 3)
        for seen in (self._started, self._acked):
            while len(seen) > _REMEMBERED:
                seen.popitem(last=False)
        self._sink.write(
            "alerts",
            {
                "building": alert.building,
                "room": alert.room,
                "kind": alert.kind,
                "severity": alert.severity,
                "state": alert.state,
            },
            {
                "value": alert.value,
                "limit": alert.limit,
                "alert_id": alert.alert_id,
                "active": int(alert.state == "active"),
                "acked": int(alert.ack is not None),
                "ack_s": ack_s,
            },
            alert.ts,
        )
        if alert.state == "resolved":
            self._started.pop(alert.alert_id, None)
            self._acked.pop(alert.alert_id, None)

    async def stop(self) -> None:
        return None
