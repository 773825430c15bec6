"""Occupancy per room: the door-event agent, its table, and room states out to Kafka and MQTT.

The agent stays thin: decode (the codec), call `occupancy_rules.apply_door`, keep, emit.
What it keeps (the rooms, and the alert machines' tables registered in `tables`) is written
back to the tables, and the changed room states sent, at most `OCC_WORKER_STATE_FLUSH_S`
later; its events are acknowledged only after the write-back that covers them.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, cast

import faust

from ingest.limits import status_of
from ingest.logs import kv
from ingest.models import DoorRecord, RoomState
from ingest.settings import Settings
from ingest.site import Building, Room, Site
from ingest.topics import StateTopic
from processors.codec import pydantic_table, pydantic_topic
from processors.occupancy_rules import Finding, RoomCount, apply_door, next_due, tick
from processors.ownership import Ownership
from processors.policy import PolicyFollower
from processors.publisher import MqttPublisher
from processors.writeback import WriteBehind

log = logging.getLogger(__name__)

FindingHandler = Callable[[Finding, RoomCount], Awaitable[None]]
"""Called with each finding and the room after it, in the order the findings happen."""

StateHandler = Callable[[list[RoomState]], Awaitable[None]]
"""Called with changes of room state (count or limit), in order, as they happen."""

OfflineSensors = Callable[[bytes], frozenset[str]]
"""The sensors of a room (by key) already reported offline; kept by whoever alerts on it."""

_ROOMS_PER_SLICE = 50
"""Rooms a timer goes through between two yields to the loop (a few milliseconds)."""

MAX_UNACKED = 2000
"""Events applied but not yet written back: past this, the agent writes back before more."""


class Occupancy:
    """Registers the occupancy topic, table, agent and timer on a Faust app."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        publisher: MqttPublisher,
        policy: PolicyFollower,
    ) -> None:
        self._settings = settings
        self._clock = settings.pipeline_clock
        self._site = site
        self._publisher = publisher
        self._policy = policy
        self._max_dwell = timedelta(hours=settings.max_dwell_h)
        self._offline_after = timedelta(seconds=settings.sensor_offline_after_s)
        self._last: dict[tuple[str, str], tuple[int, int]] = {}
        self._pending: dict[tuple[str, str], RoomState] = {}
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task[None]] = set()
        self._writing = asyncio.Lock()
        self._unacked: list[faust.EventT[DoorRecord]] = []
        # What the tick looks at (the periodic work costs what is due, not the site's size):
        # rooms by the time `tick` may find something in them, and rooms events touched.
        self._scan_all = True
        self._dues: dict[bytes, datetime] = {}
        self._due_heap: list[tuple[datetime, bytes]] = []
        self._touched: set[bytes] = set()
        self._acker: faust.StreamT[DoorRecord] | None = None
        self.counters: Counter[str] = Counter()
        """Door records applied (`events`) and findings by kind, since the worker started."""
        self.finding_handlers: list[FindingHandler] = []
        self.state_handlers: list[StateHandler] = []
        self.sent_handlers: list[Callable[[list[RoomState]], None]] = []
        """Called with the states each flush sends: a room's latest, once per interval."""
        self.offline_sensors: OfflineSensors = lambda key: frozenset()
        self.door_topic = pydantic_topic(app, settings.kafka_topic("door"), DoorRecord)
        self.state_topic = pydantic_topic(app, settings.kafka_topic("room-state"), RoomState)
        self.rooms = pydantic_table(app, "rooms", RoomCount, settings.kafka_partitions)
        self.ownership = Ownership(app, self.door_topic.get_topic_name(), settings.kafka_partitions)
        self.counts: WriteBehind[RoomCount] = WriteBehind(self.rooms, self.ownership)
        self.tables: list[WriteBehind[Any]] = [self.counts]
        """Tables written back with the rooms; the alert machines register theirs here."""
        # concurrency=1: with more, Faust can commit offsets past events still in flight
        # (faust-streaming issue 606) and lose them on a restart.
        app.agent(self.door_topic, name="occupancy", concurrency=1)(self._count)
        app.timer(interval=settings.alert_tick_s)(self._tick)
        app.on_partitions_revoked.connect(self._before_handing_over)
        app.on_partitions_assigned.connect(self._forget_last)

    async def _count(self, stream: faust.StreamT[DoorRecord]) -> None:
        # One event at a time (concurrency 1), acknowledged by hand after the write-back that
        # covers it. Batching with `take_events` was measured no faster here (the worker
        # waited on Faust's buffer) and once lost an event in the two-worker fault test.
        # `noack` is on faust.Stream, not on its StreamT protocol.
        events: faust.StreamT[DoorRecord] = cast(Any, stream).noack()
        self._acker = events
        async for event in events.events():
            await self.apply(event.value)
            self._unacked.append(event)
            if len(self._unacked) >= MAX_UNACKED:
                await self.write_back()
            else:
                self.write_back_soon()

    async def _before_handing_over(self, app: Any, /, *args: Any, **kwargs: Any) -> None:
        # What this worker holds goes to the tables before another worker restores them.
        await self.write_back()

    async def _forget_last(self, app: Any, /, *args: Any, **kwargs: Any) -> None:
        # A room that comes back after another worker held it may have changed meanwhile:
        # its next state is sent whatever this worker sent before, read again from its table.
        self._last.clear()
        for table in self.tables:
            table.forget()
        self._scan_all = True

    def counted(self, building: str, room: str) -> RoomCount:
        """A room's count as this worker holds it (zero for a room never counted)."""
        return self.counts.get(f"{building}/{room}".encode()) or RoomCount(
            building=building, room=room
        )

    def _put(self, key: bytes, count: RoomCount) -> None:
        self.counts.put(key, count)
        self.write_back_soon()

    async def apply(self, record: DoorRecord) -> None:
        """Count one door record: table write, findings, then the state change if any."""
        building = self._site.building(record.building)
        if building is None:  # the bridge checked; the site file changed since
            log.warning(kv("door_unknown_building", building=record.building))
            return
        self.counters["events"] += 1
        key = record.key.encode()
        before = self.counts.get(key) or RoomCount(building=record.building, room=record.room)
        after, findings = apply_door(before, record, building, self._max_dwell)
        if after != before:
            self._put(key, after)
        self._touched.add(key)
        await self._notice([(finding, after) for finding in findings])
        state = self._if_changed(after, record.received_at)
        await self._emit([state] if state is not None else [])

    def _due_keys(self, now: datetime) -> list[bytes]:
        """The rooms to look at: every room after start-up or a rebalance (their dues are not
        known yet), else those a door event touched and those whose due time has come."""
        if self._scan_all:
            self._scan_all = False
            self._dues.clear()
            self._due_heap.clear()
            self._touched.clear()
            return list(self.counts.keys())
        keys, self._touched = self._touched, set()
        while self._due_heap and self._due_heap[0][0] <= now:
            due, key = heapq.heappop(self._due_heap)
            if self._dues.get(key) == due:  # else rescheduled since
                del self._dues[key]
                keys.add(key)
        return sorted(keys)

    def _schedule(self, key: bytes, count: RoomCount, building: Building, now: datetime) -> None:
        due = next_due(count, building, self._max_dwell, self._offline_after)
        if due is not None and due <= now:  # a sensor reported offline: each tick
            due = now + timedelta(seconds=self._settings.alert_tick_s)
        if due is None:
            self._dues.pop(key, None)
        elif self._dues.get(key) != due:
            self._dues[key] = due
            heapq.heappush(self._due_heap, (due, key))
            if len(self._due_heap) > 4 * len(self._dues) + 1000:  # mostly rescheduled ones
                self._due_heap = [(d, k) for k, d in self._dues.items()]
                heapq.heapify(self._due_heap)

    async def _tick(self) -> None:
        """Resets due and sensors gone silent or back, for the rooms this worker holds."""
        now = self._clock.now()
        noticed: list[tuple[Finding, RoomCount]] = []
        changes: list[RoomState] = []
        mine = self.ownership.owned()
        for n, key in enumerate(self._due_keys(now)):
            if n and n % _ROOMS_PER_SLICE == 0:
                # A ministry's 10,000 rooms in slices: door events go on meanwhile, so what
                # this slice found is sent before they can change its rooms again.
                await self._notice(noticed)
                await self._emit(changes)
                noticed, changes = [], []
                await asyncio.sleep(0)
                now = self._clock.now()  # door events went on meanwhile, stamped later
            if self.ownership.partition_of(key) not in mine:
                continue
            before = self.counts.get(key)
            building = self._site.building(before.building) if before is not None else None
            if before is None or building is None:
                continue
            offline = self.offline_sensors(key)
            after, findings = tick(
                before, now, building, self._max_dwell, self._offline_after, offline
            )
            if after != before:
                self._put(key, after)
            self._schedule(key, after, building, now)
            noticed.extend((finding, after) for finding in findings)
            state = self._if_changed(after, now)
            if state is not None:
                changes.append(state)
        await self._notice(noticed)
        await self._emit(changes)

    async def rerate(self) -> None:
        """Every room this worker holds, again under the policy level now in force."""
        now = self._clock.now()
        mine = self.ownership.owned()
        changes: list[RoomState] = []
        for key in list(self.counts.keys()):
            count = self.counts.get(key)
            if count is not None and self.ownership.partition_of(key) in mine:
                state = self._if_changed(count, now)
                if state is not None:
                    changes.append(state)
        await self._emit(changes)

    async def _notice(self, noticed: list[tuple[Finding, RoomCount]]) -> None:
        for finding, count in noticed:
            self.counters[finding.kind] += 1
            _log_finding(finding)
            for handle in self.finding_handlers:
                await handle(finding, count)

    def _if_changed(self, count: RoomCount, ts: datetime) -> RoomState | None:
        """The room's state when its count, limit or status differs from the last one seen."""
        key = (count.building, count.room)
        limit = self._policy.limit(count.building, self._site_room(count))
        if self._last.get(key) == (count.count, limit):
            return None
        self._last[key] = (count.count, limit)
        return self.room_state(count, ts)

    async def _emit(self, changes: list[RoomState]) -> None:
        """Every change to the state handlers at once, in order; to Kafka and MQTT, the latest
        state per room at most `OCC_WORKER_STATE_FLUSH_S` later.

        Signage and the compacted topic only ever need a room's latest state, so a room's
        intermediate states within one flush interval are skipped there; the alert machines
        see each of them.
        """
        if not changes:
            return
        for handle in self.state_handlers:
            await handle(changes)
        for state in changes:
            self._pending[(state.building, state.room)] = state
        self.write_back_soon()

    def write_back_soon(self) -> None:
        """Write back, and send the pending states, at most OCC_WORKER_STATE_FLUSH_S from now."""
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(
                self._settings.worker_state_flush_s, self._flush_soon
            )

    def _flush_soon(self) -> None:
        self._flush = None
        task = asyncio.get_running_loop().create_task(self.write_back())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def write_back(self) -> None:
        """Write every changed table value once, send the pending room states, then
        acknowledge the events this covers (their offsets may be committed from now on)."""
        async with self._writing:
            events, self._unacked = self._unacked, []
            for table in self.tables:
                table.flush()
            await self.flush_states()
            if self._acker is not None:
                for event in events:
                    await self._acker.ack(event)

    async def flush_states(self) -> None:
        """Send the pending room states (the latest per room) to Kafka and, retained, MQTT."""
        pending, self._pending = self._pending, {}
        for handle in self.sent_handlers:
            handle(list(pending.values()))
        for state in pending.values():
            await self.state_topic.send(key=f"{state.building}/{state.room}".encode(), value=state)
            self._publisher.publish(
                StateTopic(state.building, state.room).format(self._settings.mqtt_prefix),
                state.model_dump_json().encode(),
                qos=1,
                retain=True,
            )

    def _site_room(self, count: RoomCount) -> Room:
        room = self._site.room(count.building, count.room)
        assert room is not None, "door records name rooms of the site (the bridge checked)"
        return room

    def room_state(self, count: RoomCount, ts: datetime) -> RoomState:
        """The public state of a room under the policy level in force."""
        room = self._site_room(count)
        limit = self._policy.limit(count.building, room)
        # Built from values already checked (the site, the rules): no validation per event.
        return RoomState.model_construct(
            building=count.building,
            room=count.room,
            count=count.count,
            limit=limit,
            capacity=room.capacity,
            free=max(0, limit - count.count),
            status=status_of(count.count, limit, self._site.policy.warn_ratio),
            ts=ts,
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
