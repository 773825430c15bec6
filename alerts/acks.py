"""Acknowledgements applied to the open alerts this worker holds, whichever machine holds them.

Every worker follows every ack (processors/acks.py); the one whose tables hold the alert
applies it, sends the acknowledged alert and keeps it in the machine's changelog. The
holders are the capacity and data-quality machines (per room) and, with a roster, the
health-screening (per employee) and building-headcount (per building) machines. An ack
that no machine here holds yet is kept for a while and tried again on each tick: it may
name an alert of a room this worker is still restoring, or one it is about to receive in a
rebalance. Acks of alerts another worker holds simply expire.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import timedelta
from typing import Protocol

import faust

from alerts.machine import MachineState, Step, acknowledge, resolve
from ingest.logs import kv
from ingest.models import AckInfo, AckRecord, Alert
from ingest.settings import Settings

log = logging.getLogger(__name__)

MAX_PENDING = 10_000
"""Unmatched acks kept for a retry; the oldest go first (a console flood cannot grow it)."""


def acks(ack: AckRecord, alert: Alert | None) -> bool:
    """Whether `ack` is of `alert`: its id, sent on its own building's topic. An ack on
    another building's topic changes nothing: a console of one building (whose MQTT login
    may write only there) cannot acknowledge another's alerts."""
    return alert is not None and alert.alert_id == ack.alert_id and alert.building == ack.building


def apply_ack(machine: MachineState, ack: AckRecord, dwell: timedelta) -> Step:
    """`ack` applied to the machine holding its alert: acknowledged, or resolved by hand
    (a new alert may open after `dwell` if the condition persists)."""
    if ack.resolve is None:
        return acknowledge(machine, AckInfo(by=ack.by, ts=ack.ts), ack.alert_id)
    return resolve(
        machine, ack.alert_id, by=ack.by, reason=ack.resolve, now=ack.received_at, dwell=dwell
    )


class AckHolder(Protocol):
    async def acknowledge(self, ack: AckRecord) -> bool:
        """Apply `ack` when a machine of this worker, on a partition it owns, has its alert
        open; True if it did."""
        ...


class AckBook:
    """Hands each ack to the holders; keeps the unmatched ones for `keep` and retries them."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        holders: list[AckHolder],
        keep: timedelta = timedelta(hours=1),
    ) -> None:
        self._holders = holders
        self._keep = keep
        self._clock = settings.pipeline_clock
        self._pending: OrderedDict[tuple[str, str, str], AckRecord] = OrderedDict()
        app.timer(interval=settings.alert_tick_s)(self.retry)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def on_ack(self, ack: AckRecord) -> None:
        if await self._apply(ack):
            return
        self._pending[(ack.alert_id, ack.by, ack.ts.isoformat())] = ack
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)

    async def retry(self) -> None:
        oldest = self._clock.now() - self._keep
        for key, ack in list(self._pending.items()):
            if ack.received_at < oldest or await self._apply(ack):
                del self._pending[key]

    async def _apply(self, ack: AckRecord) -> bool:
        for holder in self._holders:
            if await holder.acknowledge(ack):
                event = "alert_acknowledged" if ack.resolve is None else "alert_resolved_by_hand"
                log.info(kv(event, alert_id=ack.alert_id, by=ack.by))
                return True
        return False
