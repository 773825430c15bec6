"""The wire contract: pydantic models of every MQTT payload and Kafka record (docs/contract.md).

Payload models (`DoorEvent`, `KioskEvent`, `RoomState`, `Alert`, `AlertAck`) are exactly
what devices and consoles send and receive; record models (`DoorRecord`, `CheckinRecord`,
`AckRecord`, `DeadLetter`) are what the bridge writes to Kafka: the payload plus what the
topic and the arrival said.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

IDENTIFIER_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
"""Buildings, rooms, sensors, kiosks, employees, events, alerts: `[A-Za-z0-9_.-]{1,64}`."""

# A door cannot pass more people than this between two messages of one sensor; larger
# numbers are garbage (or an attack on the counts), not traffic.
MAX_COUNT_PER_MESSAGE = 10_000
# seq fits a signed 64-bit integer so every consumer (Java, Go, InfluxDB) can hold it.
MAX_SEQ = 2**63 - 1

Count = Annotated[int, Field(ge=0, le=MAX_COUNT_PER_MESSAGE)]
Timestamp = AwareDatetime
"""RFC 3339 with an offset; written back as ISO 8601 (UTC as `Z`)."""


class _Wire(BaseModel):
    """Strict: no coercion ("5" is not 5, true is not 1), no unknown fields, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class DoorEvent(_Wire):
    """A door sensor's message: people counted since its previous message."""

    model_config = ConfigDict(
        title="DoorEvent",
        json_schema_extra={
            "description": (
                "Published by a door sensor on occupancy/{building}/{room}/door/{sensor} "
                "with QoS 1. `seq` increases by one per message and restarts at 0 when the "
                "sensor restarts; entered = exited = 0 is a heartbeat."
            ),
            "examples": [{"seq": 41, "ts": "2026-11-27T08:01:30+07:00", "entered": 2, "exited": 0}],
        },
    )

    seq: Annotated[int, Field(ge=0, le=MAX_SEQ, description="Per-sensor message number.")]
    ts: Annotated[Timestamp, Field(description="RFC 3339 time with offset.")]
    entered: Annotated[Count, Field(description="People in since the previous message.")]
    exited: Annotated[Count, Field(description="People out since the previous message.")]
    event_id: Annotated[Identifier | None, Field(description="Optional unique id.")] = None

    @property
    def is_heartbeat(self) -> bool:
        return self.entered == 0 and self.exited == 0


Action = Literal["check_in", "check_out"]
Method = Literal["badge", "face", "fingerprint", "pin", "qr"]


class KioskEvent(_Wire):
    """A check-in kiosk's message: one employee checking in or out."""

    model_config = ConfigDict(
        title="KioskEvent",
        json_schema_extra={
            "description": (
                "Published by a check-in kiosk on occupancy/{building}/kiosk/{kiosk} with "
                "QoS 1. `event_id` must be unique per tap: it is how repeated deliveries "
                "are recognised. A kiosk that keeps taps while offline and sends them later "
                "adds `sent_at` (its clock when it sent them): the tap then counts at its own "
                "`ts`, however late it arrives."
            ),
            "examples": [
                {
                    "event_id": "k1-000123",
                    "ts": "2026-11-27T07:31:05+07:00",
                    "employee_id": "198503152010011001",
                    "action": "check_in",
                    "method": "face",
                    "temperature_c": 36.4,
                    "mask": True,
                }
            ],
        },
    )

    event_id: Identifier
    ts: Timestamp
    employee_id: Identifier
    action: Action
    method: Method | None = None
    temperature_c: Annotated[float | None, Field(ge=30.0, le=45.0, allow_inf_nan=False)] = None
    mask: bool | None = None
    sent_at: Annotated[
        Timestamp | None,
        Field(description="The kiosk's clock when it sent a tap it kept; not before `ts`."),
    ] = None

    @model_validator(mode="after")
    def _sent_after_tapped(self) -> KioskEvent:
        if self.sent_at is not None and self.sent_at < self.ts:
            raise ValueError("sent_at is earlier than ts: a tap is sent after it is made")
        return self


Status = Literal["open", "warning", "full", "over"]


class RoomState(_Wire):
    """A room's occupancy, published retained for door signage on every change."""

    model_config = ConfigDict(title="RoomState")

    building: Identifier
    room: Identifier
    count: Annotated[int, Field(ge=0)]
    limit: Annotated[int, Field(ge=0)]
    capacity: Annotated[int, Field(ge=0)]
    free: Annotated[int, Field(ge=0)]
    status: Status
    ts: Timestamp


class AckInfo(_Wire):
    """Who acknowledged an alert, and when."""

    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    ts: Timestamp


AlertKind = Literal[
    "capacity",
    "capacity_forecast",
    "sensor_offline",
    "sequence_gap",
    "count_underflow",
    "building_headcount",
    "health_screening",
]
Severity = Literal["info", "warning", "critical"]
AlertState = Literal["active", "resolved"]


class Alert(_Wire):
    """An alert as security sees it; sent again on every change of state, severity or ack."""

    model_config = ConfigDict(title="Alert")

    alert_id: Identifier
    kind: AlertKind
    severity: Severity
    state: AlertState
    ack: AckInfo | None
    building: Identifier
    room: Identifier | None = None
    value: float | None = None
    limit: float | None = None
    message: Annotated[str, StringConstraints(max_length=1024)]
    ts: Timestamp


class AlertAck(_Wire):
    """A security console acknowledging an alert; `ts` defaults to the arrival time."""

    model_config = ConfigDict(title="AlertAck")

    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    ts: Timestamp | None = None


class _Record(BaseModel):
    """Kafka records are written by us, so they are read back without strict coercion."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DoorRecord(_Record):
    """A door event as the bridge writes it to `occupancy.door`, keyed by building/room."""

    building: Identifier
    room: Identifier
    sensor: Identifier
    seq: int
    ts: Timestamp
    entered: int
    exited: int
    event_id: Identifier | None = None
    received_at: Timestamp

    @property
    def key(self) -> str:
        return f"{self.building}/{self.room}"

    @property
    def identity(self) -> str:
        """What makes two deliveries the same event: the sensor's own numbering."""
        return self.event_id or f"{self.building}/{self.room}/{self.sensor}/{self.seq}@{self.ts}"


class CheckinRecord(_Record):
    """A kiosk event as the bridge writes it to `occupancy.checkin`, keyed by employee."""

    building: Identifier
    kiosk: Identifier
    event_id: Identifier
    ts: Timestamp
    employee_id: Identifier
    action: Action
    method: Method | None = None
    temperature_c: float | None = None
    mask: bool | None = None
    sent_at: Timestamp | None = None
    received_at: Timestamp

    @property
    def key(self) -> str:
        return self.employee_id

    @property
    def identity(self) -> str:
        return f"{self.building}/{self.kiosk}/{self.event_id}"


class AckRecord(_Record):
    """An alert acknowledgement as the bridge writes it to `occupancy.alert-ack`, keyed by alert.

    `ts` is the console's time, or the arrival time when the console sent none. With
    `resolve` (the reason) it resolves the alert by hand instead: only the board writes such
    records, straight to Kafka, for an account of role `security` or above.
    """

    building: Identifier
    alert_id: Identifier
    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    ts: Timestamp
    received_at: Timestamp
    resolve: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None

    @property
    def key(self) -> str:
        return self.alert_id


DEAD_LETTER_PAYLOAD_BYTES = 64 * 1024
"""How much of a rejected payload its dead letter keeps. Kafka refuses records over 1 MB
and MQTT allows 256 MB; the start of a payload over the 4 KiB limit shows what it was."""


class DeadLetter(_Record):
    """A rejected MQTT message in `occupancy.deadletter` with the reason: kept whole, or its
    first `DEAD_LETTER_PAYLOAD_BYTES` when it is larger."""

    topic: str
    reason: str
    detail: str
    payload_b64: str
    received_at: Timestamp

    @classmethod
    def of(
        cls, topic: str, payload: bytes, reason: str, detail: str, received_at: datetime
    ) -> DeadLetter:
        return cls(
            topic=topic,
            reason=reason,
            detail=detail,
            payload_b64=base64.b64encode(payload[:DEAD_LETTER_PAYLOAD_BYTES]).decode("ascii"),
            received_at=received_at,
        )

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)


class PolicyChange(_Record):
    """The active policy level, kept in the compacted `occupancy.config`: the site's under key
    `policy`, a building's own (`building` set) under `policy/{building}`."""

    level: Identifier
    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    ts: Timestamp
    building: Identifier | None = None


class LimitOverride(_Record):
    """A room's limit set at runtime over the site file's, kept in `occupancy.config` under
    `limit/{building}/{room}`; clearing it writes a tombstone there."""

    building: Identifier
    room: Identifier
    limit: Annotated[int, Field(ge=0, le=100_000)]
    by: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    ts: Timestamp
