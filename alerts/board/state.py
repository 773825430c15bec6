"""What the web board shows: the latest state of every room, the alerts still active, and
the people checked in per building.

Fed from the whole compacted room-state topic and the whole alerts log (every worker shows
every building), and from the worker's presence counts; read by the HTTP routes; waiters
learn of each change through `changed`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from alerts.machine import BuildingSummary, RoomSnapshot, building_summary
from ingest.limits import status_of
from ingest.models import Alert, RoomState, Status
from ingest.site import Building, Room, RoomType, Site
from processors.attendance import PresenceCount

_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}

PERSONAL_KINDS = frozenset({"health_screening"})
"""Alerts that name a person (pseudonym, kiosk, temperature): for security's eyes only."""


def safe_json(body: bytes) -> bytes:
    """JSON with `<`, `>` and `&` escaped (\\u003c…): still the same JSON, and markup of no
    kind whatever a name or message holds, wherever the bytes end up."""
    return body.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


class Limits(Protocol):
    """The levels and limits in force (processors/policy.py:PolicyFollower)."""

    def level_of(self, building: str) -> str: ...

    def limit(self, building: str, room: Room) -> int: ...


class _SiteLimits:
    def __init__(self, site: Site) -> None:
        self._site = site

    def level_of(self, building: str) -> str:
        return self._site.policy.active

    def limit(self, building: str, room: Room) -> int:
        return self._site.limit(room)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RoomView(_View):
    """A room as the board draws it: its state when one was ever sent, else empty."""

    room: str
    name: str
    type: RoomType | None
    floor: int | None
    count: Annotated[int, Field(ge=0)]
    limit: Annotated[int, Field(ge=0)]
    capacity: Annotated[int, Field(ge=0)]
    free: Annotated[int, Field(ge=0)]
    status: Status
    ts: datetime | None = None
    """When the pipeline last sent the room's state; None: never counted (empty)."""


class BuildingView(_View):
    """`/api/buildings/{building}`: every room, the roll-up and the active alerts."""

    building: str
    name: str
    timezone: str
    level: str
    """The policy level in force in the building (its own, else the site's)."""
    levels: list[str] = []
    """The site's policy levels, for an operator to choose from."""
    caught_up: bool
    """False while the board is still reading what the topics held when it started."""
    summary: BuildingSummary
    checked_in: int | None = None
    """People checked in at the kiosks and not out (the muster list); None: no roster."""
    planned_wfo: int | None = None
    """The roster's office attendance for the building's day; None: no roster."""
    rooms: list[RoomView]
    alerts: list[Alert]
    """Active alerts, the most severe first, then the newest."""


class BuildingListing(_View):
    """A line of `/api/buildings`."""

    building: str
    name: str
    rooms: int
    headcount: int
    rooms_over_limit: int
    active_alerts: int
    checked_in: int | None = None


_LISTING = TypeAdapter(list[BuildingListing])


class BoardState:
    """The latest `RoomState` per room and the active alerts per building.

    An alert stays active until a message of it with state `resolved` arrives; each later
    message of an active alert (escalation, reminder, acknowledgement) replaces it.
    """

    def __init__(self, site: Site, limits: Limits | None = None) -> None:
        self._site = site
        self._limits = limits or _SiteLimits(site)
        # Serialised once per change, however many pages follow (keys: what and for whom).
        self._snapshots: dict[tuple[str, ...], bytes] = {}
        self._rooms: dict[str, dict[str, RoomState]] = {b.id: {} for b in site.buildings}
        self._alerts: dict[str, dict[str, Alert]] = {b.id: {} for b in site.buildings}
        self._presence: dict[str, PresenceCount] = {}
        self._changed: dict[str | None, asyncio.Event] = {}
        self.rooms_caught_up = False
        self.alerts_caught_up = False

    @property
    def site(self) -> Site:
        return self._site

    @property
    def caught_up(self) -> bool:
        return self.rooms_caught_up and self.alerts_caught_up

    def take_room_state(self, state: RoomState) -> None:
        rooms = self._rooms.get(state.building)
        if rooms is None or rooms.get(state.room) == state:
            return
        rooms[state.room] = state
        self._notify(state.building)

    def take_alert(self, alert: Alert) -> None:
        alerts = self._alerts.get(alert.building)
        if alerts is None:
            return
        if alert.state == "resolved":
            if alerts.pop(alert.alert_id, None) is not None:
                self._notify(alert.building)
            return
        alerts[alert.alert_id] = alert
        self._notify(alert.building)

    def take_presence(self, counted: PresenceCount) -> None:
        """A building's checked-in count and plan (from the worker's presence board)."""
        if counted.building not in self._rooms:
            return
        before = self._presence.get(counted.building)
        self._presence[counted.building] = counted
        if before is None or (before.count, before.planned_wfo) != (
            counted.count,
            counted.planned_wfo,
        ):
            self._notify(counted.building)

    def mark_caught_up(self, *, rooms: bool = False, alerts: bool = False) -> None:
        """The room-state topic, or the alerts log, has been read up to where it stood."""
        if (rooms and not self.rooms_caught_up) or (alerts and not self.alerts_caught_up):
            self.rooms_caught_up |= rooms
            self.alerts_caught_up |= alerts
            self.touch()

    def touch(self) -> None:
        """Wake every waiter: something all buildings show has changed (the policy level)."""
        for building in self._rooms:
            self._notify(building)

    def alert(self, building: str, alert_id: str) -> Alert | None:
        """The active alert `alert_id` of `building`, if there is one."""
        return self._alerts.get(building, {}).get(alert_id)

    def changed(self, building: str | None = None) -> asyncio.Event:
        """An event set at the next change of `building` (None: of any building).

        Take it before reading a view, then wait on it: no change between the two is missed,
        and many changes while a waiter is busy wake it once.
        """
        event = self._changed.get(building)
        if event is None:
            event = self._changed[building] = asyncio.Event()
        return event

    def buildings(self) -> list[BuildingListing]:
        listing = []
        for building in self._site.buildings:
            summary = self._summary(building.id)
            presence = self._presence.get(building.id)
            listing.append(
                BuildingListing(
                    building=building.id,
                    name=building.name,
                    rooms=len(self._room_ids(building)),
                    headcount=summary.headcount,
                    rooms_over_limit=len(summary.rooms_over_limit),
                    active_alerts=len(self._alerts[building.id]),
                    checked_in=presence.count if presence is not None else None,
                )
            )
        return listing

    def building(self, building_id: str) -> BuildingView | None:
        building = self._site.building(building_id)
        if building is None:
            return None
        presence = self._presence.get(building_id)
        alerts = sorted(
            self._alerts[building_id].values(),
            key=lambda a: (_SEVERITY_RANK[a.severity], -a.ts.timestamp(), a.alert_id),
        )
        return BuildingView(
            building=building.id,
            name=building.name,
            timezone=building.timezone,
            level=self._limits.level_of(building.id),
            levels=sorted(self._site.policy.levels),
            caught_up=self.caught_up,
            summary=self._summary(building_id),
            checked_in=presence.count if presence is not None else None,
            planned_wfo=presence.planned_wfo if presence is not None else None,
            rooms=[self._room_view(building, room) for room in self._room_ids(building)],
            alerts=alerts,
        )

    def room(self, building_id: str, room_id: str) -> RoomView | None:
        building = self._site.building(building_id)
        if building is None or room_id not in self._room_ids(building):
            return None
        return self._room_view(building, room_id)

    def _room_ids(self, building: Building) -> list[str]:
        """The site's rooms in file order, then any room only the topic named."""
        known = [r.id for r in building.rooms]
        return known + sorted(set(self._rooms[building.id]) - set(known))

    def _room_view(self, building: Building, room_id: str) -> RoomView:
        room = self._site.room(building.id, room_id)
        state = self._rooms[building.id].get(room_id)
        if state is None:
            assert room is not None, "rooms without a state come from the site"
            limit = self._limits.limit(building.id, room)
            return _empty(room, limit, status_of(0, limit, self._site.policy.warn_ratio))
        return RoomView(
            room=room_id,
            name=room.name if room is not None else room_id,
            type=room.type if room is not None else None,
            floor=room.floor if room is not None else None,
            count=state.count,
            limit=state.limit,
            capacity=state.capacity,
            free=state.free,
            status=state.status,
            ts=state.ts,
        )

    def _summary(self, building_id: str) -> BuildingSummary:
        return building_summary(
            building_id,
            (
                RoomSnapshot(building=s.building, room=s.room, count=s.count, limit=s.limit)
                for s in self._rooms[building_id].values()
            ),
        )

    def building_json(self, building_id: str, *, personal: bool) -> bytes | None:
        """The building's view as JSON; without `personal`, alerts naming a person left out."""
        key = ("building", building_id, "personal" if personal else "public")
        cached = self._snapshots.get(key)
        if cached is None:
            view = self.building(building_id)
            if view is None:
                return None
            if not personal:
                kept = [a for a in view.alerts if a.kind not in PERSONAL_KINDS]
                view = view.model_copy(update={"alerts": kept})
            cached = self._snapshots[key] = safe_json(view.model_dump_json().encode())
        return cached

    def listing_json(self) -> bytes:
        cached = self._snapshots.get(("listing",))
        if cached is None:
            cached = self._snapshots[("listing",)] = safe_json(_LISTING.dump_json(self.buildings()))
        return cached

    def room_json(self, building_id: str, room_id: str) -> bytes | None:
        """One room's view as JSON: all a door's signage is given."""
        key = ("room", building_id, room_id)
        cached = self._snapshots.get(key)
        if cached is None:
            view = self.room(building_id, room_id)
            if view is None:
                return None
            cached = self._snapshots[key] = safe_json(view.model_dump_json().encode())
        return cached

    def _notify(self, building: str) -> None:
        self._snapshots = {
            key: value
            for key, value in self._snapshots.items()
            if key[0] != "listing" and key[1] != building
        }
        for key in (building, None):
            event = self._changed.pop(key, None)
            if event is not None:
                event.set()


def _empty(room: Room, limit: int, status: Status) -> RoomView:
    """A room never counted holds nobody."""
    return RoomView(
        room=room.id,
        name=room.name,
        type=room.type,
        floor=room.floor,
        count=0,
        limit=limit,
        capacity=room.capacity,
        free=limit,
        status=status,
        ts=None,
    )
