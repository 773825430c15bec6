"""What the simulator publishes: scheduled MQTT messages with payloads of the contract."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from ingest.models import Action, Method

MessageKind = Literal["door", "heartbeat", "duplicate", "check_in", "check_out"]
MESSAGE_KINDS: tuple[MessageKind, ...] = ("door", "heartbeat", "duplicate", "check_in", "check_out")
"""`door`: a sensor's counts; `heartbeat`: entered = exited = 0; `duplicate`: a door message
sent again unchanged (a QoS-1 redelivery); `check_in`/`check_out`: kiosk taps."""


@dataclass(frozen=True, slots=True)
class Scheduled:
    """One message and the simulated instant it is published at (UTC).

    The payload's `ts` is never later than `at`; it is earlier for a redelivered duplicate,
    a catch-up at the start of the window and a check-out the kiosk delivers late.
    """

    at: datetime
    topic: str
    payload: bytes
    kind: MessageKind

    def json_line(self) -> str:
        """`{"at", "kind", "topic", "payload"}` on one line, the payload's bytes as they are."""
        return (
            f'{{"at":"{stamp(self.at.astimezone(UTC))}","kind":"{self.kind}",'
            f'"topic":{json.dumps(self.topic)},"payload":{self.payload.decode()}}}'
        )


def stamp(at: datetime, zone: ZoneInfo | None = None) -> str:
    """RFC 3339 to the second, in `zone` with its offset (devices send their local time)."""
    local = at.astimezone(zone) if zone is not None else at
    return local.isoformat(timespec="seconds").replace("+00:00", "Z")


def door_payload(seq: int, ts: str, entered: int, exited: int) -> bytes:
    # What json.dumps would write for these four fields, without its cost (most messages).
    return f'{{"seq":{seq},"ts":"{ts}","entered":{entered},"exited":{exited}}}'.encode()


def kiosk_payload(
    *,
    event_id: str,
    ts: str,
    employee: str,
    action: Action,
    method: Method,
    temperature_c: float | None,
    mask: bool | None,
    sent_at: str | None = None,
) -> bytes:
    body: dict[str, object] = {
        "event_id": event_id,
        "ts": ts,
        "employee_id": employee,
        "action": action,
        "method": method,
    }
    if temperature_c is not None:
        body["temperature_c"] = temperature_c
    if mask is not None:
        body["mask"] = mask
    if sent_at is not None:
        body["sent_at"] = sent_at
    return _compact(body)


def _compact(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
