"""The day model: a site, a roster, a window of a date and a seed become that day's MQTT
messages, in the order they are published.

Per building, on the date:

- the employees the roster schedules in the office (`wfo`) come, except a few (sick, on
  leave, travelling); each taps a kiosk of the building (`check_in`) at a time inside their
  group's flexible start window, passing the lobby on the way to their seat;
- seats: a group or unit whose name shares a distinctive word with a workroom or service
  room sits there (group "Petugas Pelayanan" → "Ruang Pelayanan Terpadu", unit "Biro
  Keuangan" → "Ruang Kerja Keuangan"); everyone else takes the workroom with the most room
  under its limit;
- meeting rooms hold meetings from 08:30 to 16:00, some of them planned with more people
  than the room's limit (so capacity alerts fire); a hall (limit above 30) holds one event;
  guests from outside make up part of a meeting when too few employees are free;
- lunch in the building's largest `other` room (the canteen), or outside; short visits to
  the other `other` rooms; short breaks out of the workroom;
- members of the public visit service rooms from 08:00 to 15:00;
- everyone leaves after their group's required hours (`check_out`), through the lobby.

Everything random is drawn from streams keyed by seed, date, building and purpose, so the
same inputs give the same bytes, and turning on a fault does not reshuffle the rest.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time

from deploy.simulator.clock import Window
from deploy.simulator.faults import Faults, ghost_exits, late_delivery, silence
from deploy.simulator.messages import Scheduled, kiosk_payload, stamp
from deploy.simulator.seeds import stream
from deploy.simulator.sensors import (
    BOOT_JITTER_S,
    Crossing,
    SensorPlan,
    Silence,
    door_messages,
)
from ingest.models import Action, Method
from ingest.roster import Employee, Roster
from ingest.site import Building, Room, Site
from ingest.topics import KioskTopic

ABSENCE = 0.06
FORGET_CHECK_OUT = 0.03
"""Share of the people who come and leave without tapping out (their day is auto-closed)."""
LUNCH_SHARE = 0.6
LUNCH_OUT_SHARE = 0.4
VISIT_SHARE = 0.25
BREAKS = (0, 2)
OVER_LIMIT_SHARE = 0.3
HALL_LIMIT = 30
GUESTS = 0.3
HALL_GUESTS = 0.6
"""At most this share of a meeting (of an event in a hall) comes from outside; a meeting
without enough employees free is smaller."""
MEETING_HOURS = (8 * 3600 + 1800, 16 * 3600)
MEETING_CHANCE = 0.7
"""How likely a meeting room's next slot is booked in a full building."""
SERVICE_HOURS = (8 * 3600, 15 * 3600)
VISITOR_DWELL_S = (10 * 60, 40 * 60)
SERVICE_TARGET = 0.9
"""Public visitors are sent so that a service room holds about this share of its limit at its
busiest hour, its own staff included; chance takes it over the limit now and then."""
METHODS: tuple[Method, ...] = ("badge", "face", "fingerprint", "qr")
METHOD_WEIGHTS = (40, 45, 10, 5)
HEARTBEAT_S = 120
DUPLICATES = 0.01


@dataclass(frozen=True, slots=True)
class Options:
    seed: int = 1
    prefix: str = "occupancy"
    heartbeat_s: int = HEARTBEAT_S
    duplicates: float = DUPLICATES
    faults: Faults = field(default_factory=Faults)


@dataclass(frozen=True, slots=True)
class Attendee:
    """An employee scheduled in the office on the date, and what they do about it."""

    employee: str
    building: str
    unit: str
    group: str
    seat: str | None
    comes: bool
    check_in: datetime | None = None
    check_out: datetime | None = None
    taps_out: bool = True  # False: left at `check_out` without tapping the kiosk


@dataclass(frozen=True, slots=True)
class Meeting:
    building: str
    room: str
    start: datetime
    end: datetime
    size: int
    limit: int


@dataclass(frozen=True)
class Day:
    """A simulated day: the messages to publish in order, and what they were made of."""

    window: Window
    options: Options
    messages: list[Scheduled]
    lost: list[Scheduled]
    attendees: list[Attendee]
    meetings: list[Meeting]
    visitors: dict[str, int]
    notes: list[str]


def plan_day(site: Site, roster: Roster, window: Window, options: Options) -> Day:
    """Every message of the window, ordered by the instant it is published."""
    messages: list[Scheduled] = []
    lost: list[Scheduled] = []
    attendees: list[Attendee] = []
    meetings: list[Meeting] = []
    visitors: dict[str, int] = {}
    notes: list[str] = []
    for building in site.buildings:
        planned = _BuildingDay(site, building, roster, window, options)
        planned.plan()
        sent, missing = planned.messages()
        messages.extend(sent)
        lost.extend(missing)
        attendees.extend(planned.attendees())
        meetings.extend(planned.meetings)
        visitors[building.id] = planned.visitors
        notes.extend(planned.notes)
    messages.sort(key=lambda m: m.at)  # stable: ties keep the building and sensor order
    return Day(window, options, messages, lost, attendees, meetings, visitors, notes)


@dataclass
class _Person:
    """Someone in the building: where they sit and when they are busy (local seconds)."""

    key: str
    seat: str | None
    method: Method
    desk_in: int = 0
    desk_out: int = 0
    check_in: int = 0
    check_out: int = 0
    forgets: bool = False
    busy: list[tuple[int, int]] = field(default_factory=list)

    def free(self, start: int, end: int) -> bool:
        if start < self.desk_in or end > self.desk_out:
            return False
        return all(end <= s or start >= e for s, e in self.busy)


@dataclass(frozen=True, slots=True)
class _Tap:
    at: int
    kiosk: str
    employee: str
    action: Action
    method: Method
    temperature_c: float | None
    mask: bool | None


class _BuildingDay:
    """One building's day, planned in seconds after its local midnight."""

    def __init__(
        self, site: Site, building: Building, roster: Roster, window: Window, options: Options
    ) -> None:
        self.site = site
        self.building = building
        self.roster = roster
        self.window = window
        self.options = options
        self.start = window.start.hour * 3600 + window.start.minute * 60
        self.end = window.end.hour * 3600 + window.end.minute * 60
        self.sensors: dict[str, list[str]] = {}
        for sensor in building.sensors:
            self.sensors.setdefault(sensor.room, []).append(sensor.id)
        self.crossings: list[Crossing] = []
        self.taps: list[_Tap] = []
        self.people: list[_Person] = []
        self.scheduled: list[tuple[Employee, bool, str | None]] = []
        self.meetings: list[Meeting] = []
        self.visitors = 0
        self.notes: list[str] = []
        self.lobby = next((r.id for r in building.rooms if r.type == "lobby"), None)
        self._sensor_rng = self.rng("sensors")

    def rng(self, purpose: str) -> random.Random:
        return stream(self.options.seed, self.window.date, self.building.id, purpose)

    def limit(self, room: Room) -> int:
        return self.site.limit(room)

    def plan(self) -> None:
        self._arrivals()
        if not self.people:
            return
        self._meetings()
        self._lunch()
        self._visits()
        self._breaks()
        self._service_visitors()
        if "underflow" in self.options.faults:
            self._ghost_exits()

    # People of the roster

    def _arrivals(self) -> None:
        rng = self.rng("arrivals")
        # Its own stream: who forgets to tap out does not reshuffle anything else of the day.
        forgetful = self.rng("forgotten-check-outs")
        scheduled = [
            e
            for e in self.roster.employees_in(self.building.id)
            if self.roster.scheduled(e, self.window.date) == "wfo"
        ]
        coming = [e for e in scheduled if rng.random() >= ABSENCE]
        seats = seat_people(self.site, self.building, self.roster, coming)
        ids = {e.id for e in coming}
        for employee in scheduled:
            comes = employee.id in ids
            self.scheduled.append((employee, comes, seats.get(employee.id)))
            if not comes:
                continue
            group = self.roster.group_of(employee)
            opens, closes = _seconds(group.window_start), _seconds(group.window_end)
            check_in = round(rng.triangular(opens, closes, opens + 0.35 * (closes - opens)))
            extra = rng.randint(0, 45 * 60)
            check_out = check_in + int(group.required.total_seconds()) + extra
            method = rng.choices(METHODS, METHOD_WEIGHTS)[0]
            person = _Person(employee.id, seats.get(employee.id), method)
            person.forgets = forgetful.random() < FORGET_CHECK_OUT
            self._arrive(person, check_in, rng)
            self._leave(person, check_out, rng)
            self.people.append(person)

    def _arrive(self, person: _Person, check_in: int, rng: random.Random) -> None:
        lobby_in = check_in - rng.randint(10, 45)
        lobby_out = check_in + rng.randint(15, 90)
        person.check_in = check_in
        person.desk_in = lobby_out + rng.randint(30, 150)
        self._cross(self.lobby, lobby_in, inward=True)
        self._tap(person, check_in, "check_in", rng)
        self._cross(self.lobby, lobby_out, inward=False)
        self._cross(person.seat, person.desk_in, inward=True)

    def _leave(self, person: _Person, check_out: int, rng: random.Random) -> None:
        lobby_in = check_out - rng.randint(10, 45)
        person.check_out = check_out
        person.desk_out = lobby_in - rng.randint(30, 150)
        self._cross(person.seat, person.desk_out, inward=False)
        self._cross(self.lobby, lobby_in, inward=True)
        self._tap(person, check_out, "check_out", rng)
        self._cross(self.lobby, check_out + rng.randint(15, 60), inward=False)

    def _tap(self, person: _Person, at: int, action: Action, rng: random.Random) -> None:
        kiosks = [k.id for k in self.building.kiosks]
        if not kiosks:
            return
        kiosk = rng.choices(kiosks, [3, *([1] * (len(kiosks) - 1))])[0]
        screened = action == "check_in" and person.method == "face"
        temperature = round(rng.uniform(35.9, 37.1), 1) if screened else None
        mask = True if screened else None
        if action == "check_out" and person.forgets:
            return  # drawn all the same, so the rest of the day stays as it was
        self.taps.append(_Tap(at, kiosk, person.key, action, person.method, temperature, mask))

    # What people do during the day

    def _meetings(self) -> None:
        rng = self.rng("meetings")
        # A building with few people in (a weekend duty) holds few meetings.
        desks = sum(self.limit(r) for r in self.building.rooms if r.type == "workroom")
        busy = min(1.0, len(self.people) / max(1, desks))
        for room in self.building.rooms:
            if room.type != "meeting" or room.id not in self.sensors:
                continue
            for start, end, size in _meeting_slots(room, self.limit(room), busy, rng):
                self._hold_meeting(room, start, end, size, rng)

    def _hold_meeting(
        self, room: Room, start: int, end: int, size: int, rng: random.Random
    ) -> None:
        free = [p for p in self.people if p.free(start - 600, end + 600)]
        chosen = rng.sample(free, min(size, len(free)))
        share = HALL_GUESTS if self.limit(room) > HALL_LIMIT else GUESTS
        guests = min(size - len(chosen), int(share * size))
        if len(chosen) + guests < 2:
            return
        for person in chosen:
            arrive, leave = start + rng.randint(-300, 240), end + rng.randint(-120, 300)
            self._excursion(person, room.id, arrive, leave, rng)
        for _ in range(guests):
            arrive, leave = start + rng.randint(-300, 240), end + rng.randint(-120, 300)
            self._guest(room.id, arrive, leave, rng)
        size = len(chosen) + guests
        self.meetings.append(
            Meeting(
                self.building.id,
                room.id,
                self.window.local(self.building, start),
                self.window.local(self.building, end),
                size,
                self.limit(room),
            )
        )

    def _lunch(self) -> None:
        rng = self.rng("lunch")
        others = [r for r in self.building.rooms if r.type == "other" and r.id in self.sensors]
        canteen = max(others, key=lambda r: r.capacity, default=None)
        for person in self.people:
            if rng.random() >= LUNCH_SHARE:
                continue
            begins = round(rng.triangular(11 * 3600 + 2700, 13 * 3600, 12 * 3600 + 300))
            ends = begins + rng.randint(20 * 60, 50 * 60)
            if not person.free(begins - 180, ends + 180):
                continue
            if canteen is not None:
                self._excursion(person, canteen.id, begins, ends, rng)
            elif self.lobby is not None and rng.random() < LUNCH_OUT_SHARE:
                self._outing(person, begins, ends, rng)

    def _visits(self) -> None:
        rng = self.rng("visits")
        others = [r for r in self.building.rooms if r.type == "other" and r.id in self.sensors]
        canteen = max(others, key=lambda r: r.capacity, default=None)
        rooms = [r for r in others if r is not canteen]
        if not rooms:
            return
        for person in self.people:
            if rng.random() >= VISIT_SHARE:
                continue
            room = rng.choices(rooms, [r.capacity for r in rooms])[0]
            begins = rng.randint(9 * 3600 + 1800, 15 * 3600 + 1800)
            ends = begins + rng.randint(5 * 60, 20 * 60)
            if person.free(begins - 180, ends + 180):
                self._excursion(person, room.id, begins, ends, rng)

    def _breaks(self) -> None:
        rng = self.rng("breaks")
        for person in self.people:
            for _ in range(rng.randint(*BREAKS)):
                if person.desk_out - person.desk_in < 4 * 3600:
                    break
                out = rng.randint(person.desk_in + 1800, person.desk_out - 1800)
                back = out + rng.randint(180, 720)
                if person.free(out, back):
                    self._cross(person.seat, out, inward=False)
                    self._cross(person.seat, back, inward=True)
                    person.busy.append((out, back))

    def _service_visitors(self) -> None:
        rng = self.rng("visitors")
        seated = Counter(p.seat for p in self.people)
        for room in self.building.rooms:
            if room.type != "service" or room.id not in self.sensors:
                continue
            target = max(2.0, SERVICE_TARGET * self.limit(room) - seated[room.id])
            rate = target / (sum(VISITOR_DWELL_S) / 2)  # people a second at the busiest hour
            at = float(SERVICE_HOURS[0])
            while True:
                at += rng.expovariate(rate)
                if at >= SERVICE_HOURS[1]:
                    break
                if rng.random() >= _service_shape(at):
                    continue
                arrive = round(at)
                self._guest(room.id, arrive, arrive + rng.randint(*VISITOR_DWELL_S), rng)
                self.visitors += 1

    def _ghost_exits(self) -> None:
        """One meeting room, among those that empty inside the window, counts exits too many."""
        meeting = [
            r.id for r in self.building.rooms if r.type == "meeting" and r.id in self.sensors
        ]
        candidates: dict[str, list[Crossing]] = {}
        for room in meeting:
            ordered = sorted((c for c in self.crossings if c.room == room), key=lambda c: c.at)
            ghosts = ghost_exits(ordered, self.rng(f"underflow/{room}"))
            inside = [g for g in ghosts if self.start < g.at <= self.end]
            if inside:
                candidates[room] = inside
        if not candidates:
            return
        room = self.rng("underflow").choice(sorted(candidates))
        self.crossings.extend(candidates[room])
        self.notes.append(
            f"underflow: {self.building.id}/{room} counts {len(candidates[room])} exits too many"
        )

    # Moves

    def _excursion(
        self, person: _Person, room: str, arrive: int, leave: int, rng: random.Random
    ) -> None:
        """From the seat to `room` and back."""
        out, back = arrive - rng.randint(30, 120), leave + rng.randint(30, 120)
        self._cross(person.seat, out, inward=False)
        self._cross(room, arrive, inward=True)
        self._cross(room, leave, inward=False)
        self._cross(person.seat, back, inward=True)
        person.busy.append((out, back))

    def _outing(self, person: _Person, begins: int, ends: int, rng: random.Random) -> None:
        """Out of the building and back (lunch outside), through the lobby both ways."""
        out = begins - rng.randint(60, 180)
        self._cross(person.seat, out, inward=False)
        self._cross(self.lobby, out + 60, inward=True)
        self._cross(self.lobby, begins, inward=False)
        self._cross(self.lobby, ends, inward=True)
        self._cross(self.lobby, ends + rng.randint(20, 60), inward=False)
        back = ends + rng.randint(90, 180)
        self._cross(person.seat, back, inward=True)
        person.busy.append((out, back))

    def _guest(self, room: str, arrive: int, leave: int, rng: random.Random) -> None:
        """Someone from outside: through the lobby to `room` and out again."""
        lobby_in = arrive - rng.randint(180, 600)
        self._cross(self.lobby, lobby_in, inward=True)
        self._cross(self.lobby, lobby_in + rng.randint(30, 150), inward=False)
        self._cross(room, arrive, inward=True)
        self._cross(room, leave, inward=False)
        lobby_back = leave + rng.randint(30, 120)
        self._cross(self.lobby, lobby_back, inward=True)
        self._cross(self.lobby, lobby_back + rng.randint(20, 90), inward=False)

    def _cross(self, room: str | None, at: int, *, inward: bool) -> None:
        sensors = self.sensors.get(room) if room is not None else None
        if room is None or not sensors:
            return
        # The first sensor of a room is its main door: twice as busy as each other one.
        sensor = self._sensor_rng.choices(sensors, [2, *([1] * (len(sensors) - 1))])[0]
        self.crossings.append(Crossing(at, room, sensor, inward))

    # Messages

    def messages(self) -> tuple[list[Scheduled], list[Scheduled]]:
        faults = self.options.faults
        by_sensor: dict[str, list[Crossing]] = {}
        for crossing in sorted(self.crossings, key=lambda c: c.at):
            by_sensor.setdefault(crossing.sensor, []).append(crossing)
        quiet: Silence | None = None
        if "silent" in faults:
            alone = [s[0] for r, s in self.sensors.items() if len(s) == 1 and s[0] in by_sensor]
            quiet = silence(alone, self.start, self.end, faults.silent_minutes, self.rng("silent"))
            if quiet is not None:
                self.notes.append(
                    f"silent: {self.building.id}/{quiet.sensor} from "
                    f"{_clock(quiet.start)} to {_clock(quiet.end)}"
                )
        sent: list[Scheduled] = []
        lost: list[Scheduled] = []
        boots = self._boots(by_sensor)
        for sensor in sorted(self.building.sensors, key=lambda s: boots[s.id]):
            plan = SensorPlan(
                building=self.building,
                room=sensor.room,
                sensor=sensor.id,
                crossings=by_sensor.get(sensor.id, []),
                boot=boots[sensor.id],
                end=self.end,
                heartbeat_s=self.options.heartbeat_s,
                duplicates=self.options.duplicates,
                loss=faults.loss if "gaps" in faults else 0.0,
                silence=quiet if quiet is not None and quiet.sensor == sensor.id else None,
            )
            key = f"{self.options.seed}/{self.window.date}/{self.building.id}/{sensor.id}"
            published, missing = door_messages(plan, self.local, self.options.prefix, key)
            sent.extend(published)
            lost.extend(missing)
        if lost:
            self.notes.append(f"gaps: {self.building.id} loses {len(lost)} door messages")
        return sent + self._kiosk_messages(), lost

    def _boots(self, by_sensor: dict[str, list[Crossing]]) -> dict[str, int]:
        """When each sensor starts: a room's sensors a second apart, from the one that has
        counted most people in (net) before the window to the one that counted most out."""
        rng = self.rng("boot")
        boots: dict[str, int] = {}
        for sensors in self.sensors.values():
            at = self.start + rng.randint(0, BOOT_JITTER_S)

            def before(sensor: str, at: int = at) -> int:
                return sum(1 if c.inward else -1 for c in by_sensor.get(sensor, []) if c.at <= at)

            for rank, sensor in enumerate(sorted(sensors, key=before, reverse=True)):
                boots[sensor] = at + rank
        return boots

    def _kiosk_messages(self) -> list[Scheduled]:
        late_rng = self.rng("late-checkouts")
        late = "late-checkouts" in self.options.faults
        numbers: Counter[str] = Counter()
        out: list[Scheduled] = []
        delayed = 0
        for tap in sorted(self.taps, key=lambda t: (t.at, t.employee, t.action)):
            if tap.at > self.end:
                continue
            numbers[tap.kiosk] += 1
            sent = max(tap.at, self.start)
            share = self.options.faults.late_share
            if late and tap.action == "check_out" and late_rng.random() < share:
                sent = max(sent, late_delivery(tap.at, self.end, late_rng))
                delayed += 1
            ts = self.local(self.building, tap.at)
            # A kiosk that kept a tap and sends it later says when it sent it (`sent_at`), so
            # the pipeline counts the tap at its own time.
            buffered = stamp(self.local(self.building, sent), self.building.zone)
            payload = kiosk_payload(
                event_id=self._event_id(tap.kiosk, numbers[tap.kiosk]),
                ts=stamp(ts, self.building.zone),
                employee=tap.employee,
                action=tap.action,
                method=tap.method,
                temperature_c=tap.temperature_c,
                mask=tap.mask,
                sent_at=buffered if sent > tap.at else None,
            )
            topic = KioskTopic(self.building.id, tap.kiosk).format(self.options.prefix)
            out.append(Scheduled(self.local(self.building, sent), topic, payload, tap.action))
        if delayed:
            self.notes.append(
                f"late-checkouts: {self.building.id} delivers {delayed} check-outs late"
            )
        return out

    def _event_id(self, kiosk: str, number: int) -> str:
        key = f"{self.options.seed}/{self.window.date}/{self.building.id}/{kiosk}"
        return f"sim-{hashlib.blake2b(key.encode(), digest_size=6).hexdigest()}-{number:05d}"

    def local(self, building: Building, seconds: int) -> datetime:
        return self.window.local(building, seconds)

    def attendees(self) -> list[Attendee]:
        people = {p.key: p for p in self.people}
        out = []
        for employee, comes, seat in self.scheduled:
            person = people.get(employee.id)
            out.append(
                Attendee(
                    employee=employee.id,
                    building=self.building.id,
                    unit=employee.unit,
                    group=employee.group,
                    seat=seat,
                    comes=comes,
                    check_in=self.local(self.building, person.check_in) if person else None,
                    check_out=self.local(self.building, person.check_out) if person else None,
                    taps_out=not person.forgets if person else True,
                )
            )
        return out


def seat_people(
    site: Site, building: Building, roster: Roster, people: list[Employee]
) -> dict[str, str]:
    """Where each of `people` sits: their home room in the roster (of several, the one with
    most room under its limit), else the room their group's or unit's name points at, else
    the workroom with the most room under its limit. Buildings without workrooms seat no one
    but those with home rooms."""
    workrooms = [r for r in building.rooms if r.type == "workroom"]
    service = [r for r in building.rooms if r.type == "service"]
    by_group = _matches({g.id: _words(g.id, g.name) for g in roster.groups}, [*workrooms, *service])
    by_unit = _matches({u.id: _words(u.id, u.name) for u in roster.units}, workrooms)
    seats: dict[str, str] = {}
    load: Counter[str] = Counter()
    rest: list[Employee] = []
    rooms = {r.id: r for r in building.rooms}
    for employee in people:
        home = [rooms[r] for r in roster.home_rooms(employee) if r in rooms]
        if home:
            best = min(home, key=lambda r: (load[r.id] + 1) / max(1, site.limit(r)))
            seats[employee.id] = best.id
            load[best.id] += 1
            continue
        room = by_group.get(employee.group) or by_unit.get(employee.unit)
        if room is None:
            rest.append(employee)
            continue
        seats[employee.id] = room
        load[room] += 1
    for employee in rest:
        if not workrooms:
            break
        best = min(workrooms, key=lambda r: (load[r.id] + 1) / max(1, site.limit(r)))
        seats[employee.id] = best.id
        load[best.id] += 1
    return seats


def _words(*texts: str | None) -> set[str]:
    return {w for t in texts if t for w in re.findall(r"[a-z0-9]+", t.lower()) if len(w) > 1}


def _matches(names: dict[str, set[str]], rooms: list[Room]) -> dict[str, str]:
    """Which room each name belongs to: the one room sharing a word with it that no other
    room has ("keuangan", not "ruang" or "kerja")."""
    words = {r.id: _words(r.id, r.name) for r in rooms}
    seen = Counter(w for ws in words.values() for w in ws)
    distinctive = {room: {w for w in ws if seen[w] == 1} for room, ws in words.items()}
    found: dict[str, str] = {}
    for name, own in names.items():
        hits = [room for room, ws in distinctive.items() if own & ws]
        if len(hits) == 1:
            found[name] = hits[0]
    return found


def _meeting_slots(
    room: Room, limit: int, busy: float, rng: random.Random
) -> list[tuple[int, int, int]]:
    """(start, end, people) of the room's meetings, local seconds; `busy` (0 to 1) is how
    full the building is, which makes meetings likelier."""
    capacity = room.capacity

    def size() -> int:
        if capacity > limit and rng.random() < OVER_LIMIT_SHARE:
            return rng.randint(limit + 1, min(capacity, limit + max(1, math.ceil(0.3 * limit))))
        return rng.randint(min(2, capacity), max(min(2, capacity), limit))

    if limit > HALL_LIMIT:
        start = rng.choice([9 * 3600, 10 * 3600, 13 * 3600 + 1800])
        people = rng.randint(math.ceil(0.5 * limit), min(capacity, math.ceil(1.1 * limit)))
        length = rng.choice([90, 120, 150]) * 60
        return [(start, start + length, people)] if rng.random() < busy else []
    slots = []
    at = MEETING_HOURS[0] + rng.choice([0, 30, 60]) * 60
    while at < MEETING_HOURS[1]:
        length = rng.choice([30, 60, 60, 90, 120]) * 60
        if rng.random() < MEETING_CHANCE * busy:
            slots.append((at, at + length, size()))
        at += length + rng.choice([0, 30, 30, 60]) * 60
    return slots


def _service_shape(at: float) -> float:
    """How busy a public service room is at a local time, against its busiest hour."""
    hour = at / 3600
    for until, share in ((9, 0.6), (11.5, 1.0), (13, 0.5), (14.5, 0.8)):
        if hour < until:
            return share
    return 0.4


def _seconds(at: time) -> int:
    return at.hour * 3600 + at.minute * 60


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
