"""Occupancy per room: the door-event agent, its table, and room states out to Kafka and MQTT.

The agent stays thin: decode (the codec), call `occupancy_rules.apply_door`, store, emit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import faust

from ingest.logs import kv
from ingest.models import DoorRecord, RoomState
from ingest.settings import Settings
from ingest.site import Site
from ingest.topics import StateTopic
from processors.codec import codec_for, pydantic_table
from processors.occupancy_rules import Finding, RoomCount, apply_door, status_of
from processors.policy import PolicyFollower
from processors.publisher import MqttPublisher

log = logging.getLogger(__name__)

FindingHandler = Callable[[Finding, RoomCount], Awaitable[None]]
"""Called with each finding and the room after it, while its door event is processed."""


class Occupancy:
    """Registers the occupancy topic, table and agent on a Faust app."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        publisher: MqttPublisher,
        policy: PolicyFollower,
    ) -> None:
        self._settings = settings
        self._site = site
        self._publisher = publisher
        self._policy = policy
        self._max_dwell = timedelta(hours=settings.max_dwell_h)
        self._published: dict[str, tuple[int, int, str]] = {}
        self.finding_handlers: list[FindingHandler] = []
        self.door_topic = app.topic(
            settings.kafka_topic("door"),
            key_serializer="raw",
            value_serializer=codec_for(DoorRecord),
        )
        self.state_topic = app.topic(
            settings.kafka_topic("room-state"),
            key_serializer="raw",
            value_serializer=codec_for(RoomState),
        )
        self.rooms = pydantic_table(app, "rooms", RoomCount, settings.kafka_partitions)
        # concurrency=1: with more, Faust can commit offsets past events still in flight
        # (faust-streaming issue 606) and lose them on a restart.
        app.agent(self.door_topic, name="occupancy", concurrency=1)(self._count)

    async def _count(self, stream: faust.StreamT[DoorRecord]) -> None:
        async for record in stream:
            building = self._site.building(record.building)
            if building is None:  # the bridge checked; the site file changed since
                log.warning(kv("door_unknown_building", building=record.building))
                continue
            key = record.key.encode()
            before = self.rooms.get(key) or RoomCount(building=record.building, room=record.room)
            after, findings = apply_door(before, record, building, self._max_dwell)
            if after != before:
                self.rooms[key] = after
            for finding in findings:
                _log_finding(finding)
                for handle in self.finding_handlers:
                    await handle(finding, after)
            await self.publish_state(after, record.received_at)

    def room_state(self, count: RoomCount, ts: datetime) -> RoomState:
        """The public state of a room under the policy level in force."""
        room = self._site.room(count.building, count.room)
        assert room is not None
        limit = self._site.limit(room, self._policy.level)
        return RoomState(
            building=count.building,
            room=count.room,
            count=count.count,
            limit=limit,
            capacity=room.capacity,
            free=max(0, limit - count.count),
            status=status_of(count.count, limit, self._site.policy.warn_ratio),
            ts=ts,
        )

    async def publish_state(self, count: RoomCount, ts: datetime) -> None:
        """Send the room's state to Kafka and (retained) MQTT when it changed."""
        state = self.room_state(count, ts)
        key = f"{state.building}/{state.room}"
        signature = (state.count, state.limit, state.status)
        if self._published.get(key) == signature:
            return
        self._published[key] = signature
        await self.state_topic.send(key=key.encode(), value=state)
        self._publisher.publish(
            StateTopic(state.building, state.room).format(self._settings.mqtt_prefix),
            state.model_dump_json().encode(),
            qos=1,
            retain=True,
        )


def _log_finding(finding: Finding) -> None:
    # Redeliveries are routine under QoS 1; every other finding is a correction worth a line.
    level = logging.DEBUG if finding.kind == "duplicate" else logging.INFO
    log.log(
        level,
        kv(
            "room_finding",
            kind=finding.kind,
            room=f"{finding.building}/{finding.room}",
            sensor=finding.sensor or "",
            value="" if finding.value is None else finding.value,
            detail=finding.detail,
        ),
    )
