"""The MQTT topic grammar: parse a topic into what it names, format it back.

A parsed topic (`DoorTopic`, `KioskTopic`, …) names one concrete place you may publish
to; a subscription filter with `+`/`#` is a different thing and comes from `Wildcards`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.errors import PayloadRejected

_IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]{1,64}")

KIOSK_SEGMENT = "kiosk"
ALERTS_SEGMENT = "alerts"
PRESENCE_SEGMENT = "presence"
SUMMARY_SEGMENT = "summary"
# Room ids that would make topics ambiguous (`{building}/kiosk/{kiosk}` against
# `{building}/{room}/state`); the site loader refuses rooms with these names.
RESERVED_ROOM_IDS = frozenset({KIOSK_SEGMENT, ALERTS_SEGMENT, PRESENCE_SEGMENT})


@dataclass(frozen=True, slots=True)
class DoorTopic:
    """`{prefix}/{building}/{room}/door/{sensor}`: a door sensor's counts."""

    building: str
    room: str
    sensor: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{self.room}/door/{self.sensor}"


@dataclass(frozen=True, slots=True)
class KioskTopic:
    """`{prefix}/{building}/kiosk/{kiosk}`: a check-in kiosk's taps."""

    building: str
    kiosk: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{KIOSK_SEGMENT}/{self.kiosk}"


@dataclass(frozen=True, slots=True)
class StateTopic:
    """`{prefix}/{building}/{room}/state`: the retained room state for door signage."""

    building: str
    room: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{self.room}/state"


@dataclass(frozen=True, slots=True)
class AlertsTopic:
    """`{prefix}/{building}/alerts`: alerts for security consoles."""

    building: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{ALERTS_SEGMENT}"


@dataclass(frozen=True, slots=True)
class AckTopic:
    """`{prefix}/{building}/alerts/{alert_id}/ack`: a console acknowledging an alert."""

    building: str
    alert_id: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{ALERTS_SEGMENT}/{self.alert_id}/ack"


@dataclass(frozen=True, slots=True)
class PresenceTopic:
    """`{prefix}/{building}/presence`: how many people are in the building (retained)."""

    building: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{PRESENCE_SEGMENT}"


@dataclass(frozen=True, slots=True)
class SummaryTopic:
    """`{prefix}/{building}/summary`: rooms over their limit and headcount (retained)."""

    building: str

    def format(self, prefix: str) -> str:
        return f"{prefix}/{self.building}/{SUMMARY_SEGMENT}"


Topic = DoorTopic | KioskTopic | StateTopic | AlertsTopic | AckTopic | PresenceTopic | SummaryTopic


class Wildcards:
    """Subscription filters for a prefix; never published to."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def doors(self) -> str:
        return f"{self.prefix}/+/+/door/+"

    @property
    def kiosks(self) -> str:
        return f"{self.prefix}/+/{KIOSK_SEGMENT}/+"

    @property
    def acks(self) -> str:
        return f"{self.prefix}/+/{ALERTS_SEGMENT}/+/ack"


_BUILDING_TOPICS: dict[str, type[AlertsTopic | PresenceTopic | SummaryTopic]] = {
    ALERTS_SEGMENT: AlertsTopic,
    PRESENCE_SEGMENT: PresenceTopic,
    SUMMARY_SEGMENT: SummaryTopic,
}
"""`{prefix}/{building}/{segment}` topics: one per building."""


def parse_topic(prefix: str, topic: str) -> Topic:
    """What a concrete topic names, or PayloadRejected("unknown_topic") saying why not."""
    head = prefix + "/"
    if not topic.startswith(head):
        raise PayloadRejected("unknown_topic", f"topic {topic!r} is not under {prefix!r}")
    parts = topic[len(head) :].split("/")
    for part in parts:
        if not _IDENTIFIER.fullmatch(part):
            raise PayloadRejected(
                "bad_identifier",
                f"topic segment {part!r} is not an identifier ([A-Za-z0-9_.-], 1 to 64)",
            )
    match parts:
        case [building, room, "door", sensor] if room not in RESERVED_ROOM_IDS:
            return DoorTopic(building, room, sensor)
        case [building, "kiosk", kiosk]:
            return KioskTopic(building, kiosk)
        case [building, segment] if segment in _BUILDING_TOPICS:
            return _BUILDING_TOPICS[segment](building)
        case [building, "alerts", alert_id, "ack"]:
            return AckTopic(building, alert_id)
        case [building, room, "state"] if room not in RESERVED_ROOM_IDS:
            return StateTopic(building, room)
    raise PayloadRejected("unknown_topic", f"topic {topic!r} matches no topic of the contract")
