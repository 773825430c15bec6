"""The site file: buildings, rooms, door sensors, kiosks and the occupancy policy levels."""

from __future__ import annotations

import contextlib
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from ingest.errors import ConfigError
from ingest.limits import WarnRatio, limit_of
from ingest.models import IDENTIFIER_PATTERN
from ingest.topics import RESERVED_ROOM_IDS
from ingest.yamlfile import Location, YamlDocument, gc_paused

RoomType = Literal["workroom", "meeting", "service", "lobby", "other"]
ROOM_TYPES: tuple[RoomType, ...] = ("workroom", "meeting", "service", "lobby", "other")
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Ratio = Annotated[float, Field(gt=0, le=1)]


class _SiteModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Room(_SiteModel):
    id: Identifier
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    type: RoomType
    floor: int | None = None
    capacity: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    limit: Annotated[int | None, Field(ge=0, strict=True)] = None

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_ROOM_IDS:
            raise ValueError(
                f"room id {value!r} is reserved by the MQTT topic grammar "
                f"({', '.join(sorted(RESERVED_ROOM_IDS))})"
            )
        return value

    @model_validator(mode="after")
    def _limit_within_capacity(self) -> Room:
        if self.limit is not None and self.limit > self.capacity:
            raise ValueError(f"limit {self.limit} is above the capacity {self.capacity}")
        return self


class Sensor(_SiteModel):
    id: Identifier
    room: Identifier


class Kiosk(_SiteModel):
    id: Identifier
    name: str | None = None


class Building(_SiteModel):
    id: Identifier
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    timezone: str
    reset_time: Annotated[str, Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")] = "03:00"
    rooms: Annotated[list[Room], Field(min_length=1)]
    sensors: list[Sensor] = []
    kiosks: list[Kiosk] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone such as Asia/Jakarta") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def reset_at(self) -> time:
        return time.fromisoformat(self.reset_time)


LevelRatios = (
    Ratio | dict[Literal["default", "workroom", "meeting", "service", "lobby", "other"], Ratio]
)


class Policy(_SiteModel):
    active: Identifier
    warn_ratio: WarnRatio = 0.8
    levels: Annotated[dict[Identifier, LevelRatios], Field(min_length=1)]

    def ratio(self, level: str, room_type: RoomType) -> Decimal:
        """The share of capacity allowed for `room_type` at `level`, exactly as written."""
        ratios = self.levels[level]
        if isinstance(ratios, dict):
            value = ratios.get(room_type, ratios.get("default"))
            if value is None:
                raise KeyError(room_type)
            return Decimal(str(value))
        return Decimal(str(ratios))


class Site(_SiteModel):
    """A whole site file, checked for internal consistency, with lookups by id."""

    policy: Policy
    buildings: Annotated[list[Building], Field(min_length=1)]

    _rooms: dict[tuple[str, str], Room] = PrivateAttr(default_factory=dict)
    _sensors: dict[tuple[str, str], Sensor] = PrivateAttr(default_factory=dict)
    _kiosks: set[tuple[str, str]] = PrivateAttr(default_factory=set)
    _buildings: dict[str, Building] = PrivateAttr(default_factory=dict)
    # Limits are asked for on every door event: computed (in Decimal) once, at load, for each
    # kind and size of room under each level.
    _limits: dict[tuple[str, int, str], int] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        for b in self.buildings:
            self._buildings[b.id] = b
            self._rooms.update({(b.id, r.id): r for r in b.rooms})
            self._sensors.update({(b.id, s.id): s for s in b.sensors})
            self._kiosks.update((b.id, k.id) for k in b.kiosks)
        sizes = {(r.type, r.capacity) for b in self.buildings for r in b.rooms}
        for level in self.policy.levels:
            for kind, capacity in sizes:
                with contextlib.suppress(KeyError):  # a level without the type: check_site says
                    ratio = self.policy.ratio(level, kind)
                    limit = limit_of(capacity, ratio)
                    self._limits[(kind, capacity, level)] = limit

    def building(self, building: str) -> Building | None:
        return self._buildings.get(building)

    def room(self, building: str, room: str) -> Room | None:
        return self._rooms.get((building, room))

    def sensor(self, building: str, sensor: str) -> Sensor | None:
        return self._sensors.get((building, sensor))

    def has_kiosk(self, building: str, kiosk: str) -> bool:
        return (building, kiosk) in self._kiosks

    def limit(self, room: Room, level: str | None = None) -> int:
        """Explicit room limit, else floor(capacity × ratio of the level for the room type)."""
        if room.limit is not None:
            return room.limit
        level = level or self.policy.active
        limit = self._limits.get((room.type, room.capacity, level))
        if limit is None:  # a room that is not the site's own
            ratio = self.policy.ratio(level, room.type)
            limit = limit_of(room.capacity, ratio)
        return limit

    def resolved(self, level: str | None = None) -> dict[str, Any]:
        """The site as tools read it: every room with its limit under `level` (default active)."""
        level = level or self.policy.active
        return {
            "policy": {
                "active": level,
                "warn_ratio": self.policy.warn_ratio,
                "levels": sorted(self.policy.levels),
            },
            "buildings": [
                {
                    "id": b.id,
                    "name": b.name,
                    "timezone": b.timezone,
                    "reset_time": b.reset_time,
                    "rooms": [
                        {
                            "id": r.id,
                            "name": r.name,
                            "type": r.type,
                            "floor": r.floor,
                            "capacity": r.capacity,
                            "limit": self.limit(r, level),
                            "explicit_limit": r.limit is not None,
                        }
                        for r in b.rooms
                    ],
                    "sensors": [{"id": s.id, "room": s.room} for s in b.sensors],
                    "kiosks": [{"id": k.id, "name": k.name} for k in b.kiosks],
                }
                for b in self.buildings
            ],
        }


def load_site(path: Path) -> Site:
    """Load and check a site file; any problem is a ConfigError naming file, line and key."""
    with gc_paused():
        doc = YamlDocument.load(path)
        if not isinstance(doc.data, dict):
            raise ConfigError(f"{path}: a site file is a mapping with `policy` and `buildings`.")
        site = doc.validate(Site)
        _check_references(doc, site)
        return site


def _check_references(doc: YamlDocument, site: Site) -> None:
    def fail(location: Location, problem: str) -> None:
        raise ConfigError(f"{doc.where(location)}: {problem}.")

    if site.policy.active not in site.policy.levels:
        fail(
            ("policy", "active"),
            f"level {site.policy.active!r} is not one of the levels "
            f"({', '.join(sorted(site.policy.levels))})",
        )
    for name, ratios in site.policy.levels.items():
        if isinstance(ratios, dict) and "default" not in ratios:
            missing = [t for t in ROOM_TYPES if t not in ratios]
            used = {r.type for b in site.buildings for r in b.rooms if r.limit is None}
            if gaps := sorted(used.intersection(missing)):
                fail(
                    ("policy", "levels", name),
                    f"gives no ratio for room type {gaps[0]!r} and has no `default`",
                )
    _unique(fail, [b.id for b in site.buildings], ("buildings",), "building")
    for i, b in enumerate(site.buildings):
        at: Location = ("buildings", i)
        _unique(fail, [r.id for r in b.rooms], (*at, "rooms"), "room")
        _unique(fail, [s.id for s in b.sensors], (*at, "sensors"), "sensor")
        _unique(fail, [k.id for k in b.kiosks], (*at, "kiosks"), "kiosk")
        rooms = {r.id for r in b.rooms}
        for j, s in enumerate(b.sensors):
            if s.room not in rooms:
                fail((*at, "sensors", j, "room"), f"sensor {s.id!r} names unknown room {s.room!r}")


def _unique(fail: Any, ids: list[str], location: Location, what: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(ids):
        if value in seen:
            fail((*location, index, "id"), f"{what} id {value!r} is given twice")
        seen.add(value)


def summarize_floors(building: Building) -> list[int | None]:
    """The floors of a building in order (rooms without a floor come last)."""
    floors = {r.floor for r in building.rooms}
    return sorted(floors, key=lambda f: (f is None, f or 0))
