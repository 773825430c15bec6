"""Building summaries: rooms over their limit and total headcount, per building.

Every worker follows the whole compacted room-state topic (no consumer group: a building's
rooms are spread over all workers' partitions), keeps each room's latest count and limit,
and publishes the summary of a building that changed, retained on
`occupancy/{building}/summary`, at most once per `interval`. Workers publish the same
summary from the same topic, so the retained message converges whoever sent it last.
Capacity alerts carry their building's summary in their message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pydantic import ValidationError

from alerts.machine import BuildingSummary, RoomSnapshot, building_summary
from ingest.kafka import broadcast_consumer
from ingest.logs import kv
from ingest.models import RoomState
from ingest.settings import Settings
from ingest.topics import SummaryTopic

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int, bool], object]


class BuildingSummaries:
    """The latest state of every room of the site, rolled up per building."""

    def __init__(self, settings: Settings, publish: Publish, interval: float = 1.0) -> None:
        self._settings = settings
        self._publish = publish
        self._interval = interval
        self._rooms: dict[str, dict[str, RoomSnapshot]] = {}
        self._dirty: set[str] = set()
        self._sent: dict[str, BuildingSummary] = {}

    def update(self, state: RoomState) -> None:
        """Take a room's state (from the topic, or from this worker as it sends it)."""
        rooms = self._rooms.setdefault(state.building, {})
        known = rooms.get(state.room)
        if known is not None and (known.count, known.limit) == (state.count, state.limit):
            return
        rooms[state.room] = RoomSnapshot(
            building=state.building, room=state.room, count=state.count, limit=state.limit
        )
        self._dirty.add(state.building)

    def summary(self, building: str) -> BuildingSummary:
        return building_summary(building, self._rooms.get(building, {}).values())

    def rollup(self, building: str) -> str:
        """The summary as a clause for an alert's message."""
        summary = self.summary(building)
        over = len(summary.rooms_over_limit)
        return (
            f"{building}: {over} room{'' if over == 1 else 's'} over limit, "
            f"{summary.headcount} people in"
        )

    async def follow(self) -> None:
        """Read the room-state topic from its start, forever; publish what changed."""
        consumer = broadcast_consumer(self._settings, "room-state")
        await consumer.start()
        try:
            publisher = asyncio.get_running_loop().create_task(self._publish_every_interval())
            try:
                while True:
                    batch = await consumer.getmany(timeout_ms=1000)
                    for records in batch.values():
                        for record in records:
                            self._take(record.value)
            finally:
                publisher.cancel()
        finally:
            await consumer.stop()

    def flush(self) -> None:
        """Publish the summary of every building that changed since the last flush."""
        for building in sorted(self._dirty):
            summary = self.summary(building)
            if self._sent.get(building) != summary:
                self._sent[building] = summary
                topic = SummaryTopic(building).format(self._settings.mqtt_prefix)
                self._publish(topic, summary.model_dump_json().encode(), 1, True)
        self._dirty.clear()

    async def _publish_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.flush()

    def _take(self, value: bytes | None) -> None:
        if value is None:
            return
        try:
            self.update(RoomState.model_validate_json(value))
        except ValidationError:
            log.warning(kv("room_state_unreadable", bytes=len(value)))
