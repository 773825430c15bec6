"""Turning an MQTT message into a Kafka record, or a rejection with a machine-readable reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError

from ingest.errors import PayloadRejected
from ingest.models import (
    DEAD_LETTER_PAYLOAD_BYTES,
    AckRecord,
    AlertAck,
    CheckinRecord,
    DoorEvent,
    DoorRecord,
    KioskEvent,
)
from ingest.site import Site
from ingest.topics import AckTopic, DoorTopic, KioskTopic, parse_topic

MAX_PAYLOAD_BYTES = 4096
MAX_CLOCK_AHEAD = timedelta(minutes=5)

REASONS = (
    "too_large",
    "unknown_topic",
    "bad_identifier",
    "unknown_building",
    "unknown_room",
    "unknown_sensor",
    "sensor_room_mismatch",
    "unknown_kiosk",
    "bad_json",
    "invalid_payload",
    "future_timestamp",
)
"""Every reason a message can be rejected for; dead-letter records carry one of these."""

Record = DoorRecord | CheckinRecord | AckRecord
E = TypeVar("E", DoorEvent, KioskEvent, AlertAck)


class Validator:
    """Checks messages against the contract and the site; pure, so it is fuzzed directly."""

    def __init__(self, site: Site, prefix: str) -> None:
        self._prefix = prefix
        # Plain sets and dicts: this runs once per message on the bridge's hot path.
        self._buildings = {b.id for b in site.buildings}
        self._rooms = {(b.id, r.id) for b in site.buildings for r in b.rooms}
        self._sensor_rooms = {(b.id, s.id): s.room for b in site.buildings for s in b.sensors}
        self._kiosks = {(b.id, k.id) for b in site.buildings for k in b.kiosks}

    def validate(self, topic: str, payload: bytes, received_at: datetime) -> Record:
        """The record to forward, or PayloadRejected saying why not. Never raises otherwise."""
        if len(payload) > MAX_PAYLOAD_BYTES:
            kept = (
                f"; the dead letter keeps its first {DEAD_LETTER_PAYLOAD_BYTES}"
                if len(payload) > DEAD_LETTER_PAYLOAD_BYTES
                else ""
            )
            raise PayloadRejected(
                "too_large",
                f"payload is {len(payload)} bytes, the limit is {MAX_PAYLOAD_BYTES}{kept}",
            )
        where = parse_topic(self._prefix, topic)
        if isinstance(where, DoorTopic):
            self._check_door(where)
            door = _parse(DoorEvent, payload)
            _check_clock(door.ts, received_at)
            # model_construct: every field was validated just above.
            return DoorRecord.model_construct(
                building=where.building,
                room=where.room,
                sensor=where.sensor,
                seq=door.seq,
                ts=door.ts,
                entered=door.entered,
                exited=door.exited,
                event_id=door.event_id,
                received_at=received_at,
            )
        if isinstance(where, KioskTopic):
            self._check_kiosk(where)
            tap = _parse(KioskEvent, payload)
            # sent_at is never before ts: when the kiosk says when it sent, that is the check.
            if tap.sent_at is not None:
                _check_clock(tap.sent_at, received_at, "sent_at")
            else:
                _check_clock(tap.ts, received_at)
            return CheckinRecord.model_construct(
                building=where.building,
                kiosk=where.kiosk,
                **dict(tap),
                received_at=received_at,
            )
        if isinstance(where, AckTopic):
            self._check_building(where.building)
            ack = _parse(AlertAck, payload)
            if ack.ts is not None:
                _check_clock(ack.ts, received_at)
            return AckRecord.model_construct(
                building=where.building,
                alert_id=where.alert_id,
                by=ack.by,
                ts=received_at if ack.ts is None else ack.ts,
                received_at=received_at,
            )
        raise PayloadRejected(
            "unknown_topic",
            f"topic {topic!r} is not a door sensor, kiosk or alert acknowledgement topic",
        )

    def _check_building(self, building: str) -> None:
        if building not in self._buildings:
            raise PayloadRejected(
                "unknown_building", f"building {building!r} is not in the site file"
            )

    def _check_door(self, where: DoorTopic) -> None:
        self._check_building(where.building)
        if (where.building, where.room) not in self._rooms:
            raise PayloadRejected(
                "unknown_room", f"room {where.room!r} is not in building {where.building!r}"
            )
        room = self._sensor_rooms.get((where.building, where.sensor))
        if room is None:
            raise PayloadRejected(
                "unknown_sensor", f"sensor {where.sensor!r} is not in building {where.building!r}"
            )
        if room != where.room:
            raise PayloadRejected(
                "sensor_room_mismatch",
                f"sensor {where.sensor!r} belongs to room {room!r}, not {where.room!r}",
            )

    def _check_kiosk(self, where: KioskTopic) -> None:
        self._check_building(where.building)
        if (where.building, where.kiosk) not in self._kiosks:
            raise PayloadRejected(
                "unknown_kiosk", f"kiosk {where.kiosk!r} is not in building {where.building!r}"
            )


def _parse(model: type[E], payload: bytes) -> E:
    try:
        return model.model_validate_json(payload)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        if first["type"] in {"json_invalid", "json_type"}:
            raise PayloadRejected("bad_json", f"payload is not JSON: {first['msg']}") from None
        field = ".".join(str(p) for p in first["loc"]) or "payload"
        more = exc.error_count() - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise PayloadRejected("invalid_payload", f"{field}: {first['msg']}{tail}") from None


def _check_clock(ts: datetime, received_at: datetime, field: str = "ts") -> None:
    if ts - received_at > MAX_CLOCK_AHEAD:
        raise PayloadRejected(
            "future_timestamp",
            f"{field} {ts.isoformat()} is {(ts - received_at).total_seconds():.0f} s ahead of the "
            f"pipeline's clock (at most {MAX_CLOCK_AHEAD.total_seconds():.0f} s allowed)",
        )
