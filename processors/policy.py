"""The limits in force: policy levels (the site's and a building's own) and per-room limit
overrides, set through the compacted config topic and followed by every worker.

Keys of `occupancy.config`: `policy` (the site's level), `policy/{building}` (a building's
level), `limit/{building}/{room}` (a room's limit; a tombstone clears it). The site file
stays the default; a process started later reads the topic from its start and so re-applies
every override still in force.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import ValidationError

from ingest.errors import ConfigError
from ingest.kafka import ensure_topics, kafka_security, make_producer
from ingest.logs import kv
from ingest.models import LimitOverride, PolicyChange
from ingest.settings import Settings
from ingest.site import Room, Site

log = logging.getLogger(__name__)

POLICY_KEY = b"policy"


def policy_key(building: str | None = None) -> bytes:
    """The config topic's key of the site's level, or of `building`'s own."""
    return POLICY_KEY if building is None else f"policy/{building}".encode()


def limit_key(building: str, room: str) -> bytes:
    """The config topic's key of a room's limit override."""
    return f"limit/{building}/{room}".encode()


def policy_change(
    settings: Settings, site: Site, level: str, by: str, building: str | None = None
) -> PolicyChange:
    """`level` for the whole site (or `building`), checked against the site file."""
    if level not in site.policy.levels:
        raise ConfigError(
            f"Policy level {level!r} is not in {settings.site_file} "
            f"(levels: {', '.join(sorted(site.policy.levels))})."
        )
    if building is not None and site.building(building) is None:
        raise ConfigError(f"Building {building!r} is not in the site file {settings.site_file}.")
    return PolicyChange(level=level, by=by, ts=settings.pipeline_clock.now(), building=building)


def limit_override(
    settings: Settings, site: Site, building: str, room: str, limit: int | None, *, by: str
) -> tuple[bytes, LimitOverride | None]:
    """The config record that sets (or, `limit` None, clears) a room's limit, checked."""
    if site.room(building, room) is None:
        raise ConfigError(f"Room {building}/{room} is not in the site file {settings.site_file}.")
    if limit is None:
        return limit_key(building, room), None
    if not 0 <= limit <= 100_000:
        raise ConfigError(f"A room's limit is 0 to 100000 people, not {limit}.")
    override = LimitOverride(
        building=building, room=room, limit=limit, by=by, ts=settings.pipeline_clock.now()
    )
    return limit_key(building, room), override


async def publish_config(settings: Settings, key: bytes, value: bytes | None) -> None:
    """Write one record (None: a tombstone) to the config topic and wait until Kafka has it."""
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    try:
        await producer.send_and_wait(settings.kafka_topic("config"), value, key=key)
    finally:
        await producer.stop()


async def set_policy(
    settings: Settings, site: Site, level: str, by: str, building: str | None = None
) -> PolicyChange:
    """Publish `level` as the policy level of the site (or `building`); every worker re-rates."""
    change = policy_change(settings, site, level, by, building)
    await publish_config(settings, policy_key(building), change.model_dump_json().encode())
    return change


class PolicyFollower:
    """Reads the config topic from the start in every worker (no consumer group: all of them
    must see every change) and calls the listeners after each change of a level or a limit."""

    def __init__(self, settings: Settings, site: Site) -> None:
        self._settings = settings
        self._site = site
        self._levels = set(site.policy.levels)
        self.level = site.policy.active
        self.building_levels: dict[str, str] = {}
        self.limits: dict[tuple[str, str], int] = {}
        self.listeners: list[Callable[[str], None]] = []

    def level_of(self, building: str) -> str:
        """The level in force in `building`: its own, else the site's."""
        return self.building_levels.get(building, self.level)

    def limit(self, building: str, room: Room) -> int:
        """A room's limit in force: its override, else the site file's under the level."""
        override = self.limits.get((building, room.id))
        if override is not None:
            return override
        return self._site.limit(room, self.level_of(building))

    async def follow(self) -> None:
        topic = self._settings.kafka_topic("config")
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap,
            enable_auto_commit=False,
            **kafka_security(self._settings),
        )
        await consumer.start()
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            while True:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                changed = False
                for record in batch.get(partition, []):
                    changed |= self.take(record.key, record.value)
                if changed:
                    for listener in self.listeners:
                        listener(self.level)
        finally:
            await consumer.stop()

    def take(self, key: bytes | None, value: bytes | None) -> bool:
        """Apply one config record; True if what is in force changed."""
        name = (key or b"").decode(errors="replace")
        try:
            if name == "policy" or name.startswith("policy/"):
                return self._take_level(name, value)
            if name.startswith("limit/"):
                return self._take_limit(name, value)
        except ValidationError:
            log.warning(kv("config_record_unreadable", key=name))
        return False

    def _take_level(self, name: str, value: bytes | None) -> bool:
        building = name.partition("/")[2] or None
        if value is None:
            return building is not None and self.building_levels.pop(building, None) is not None
        change = PolicyChange.model_validate_json(value)
        if change.level not in self._levels:
            log.warning(kv("policy_level_unknown", level=change.level, kept=self.level))
            return False
        was = self.level if building is None else self.building_levels.get(building)
        if change.level == was:
            return False
        log.info(
            kv(
                "policy_level_changed",
                level=change.level,
                was=was or "",
                building=building or "",
                by=change.by,
            )
        )
        if building is None:
            self.level = change.level
        else:
            self.building_levels[building] = change.level
        return True

    def _take_limit(self, name: str, value: bytes | None) -> bool:
        _, building, room = [*name.split("/"), "", ""][:3]
        if value is None:
            cleared = self.limits.pop((building, room), None) is not None
            if cleared:
                log.info(kv("room_limit_cleared", room=f"{building}/{room}"))
            return cleared
        override = LimitOverride.model_validate_json(value)
        where = (override.building, override.room)
        if self.limits.get(where) == override.limit:
            return False
        log.info(kv("room_limit_set", room="/".join(where), limit=override.limit, by=override.by))
        self.limits[where] = override.limit
        return True
