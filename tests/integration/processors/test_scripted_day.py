"""A scripted day in the head office through the real stack: MQTT → bridge → Kafka → worker →
MQTT alerts, retained room states, the room-state topic and a signed webhook.

The expectation is computed here, from the script, by a small reference model of the rules in
the design (limits from the site file read as plain YAML, counts from distinct sensor
messages, the capacity levels with their hysteresis and dwell, sequence gaps and
underflows), not by the code under test. The day is played phase by phase, each phase waited
out, so that the order of a room's alerts follows from the script alone.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from ingest.models import Alert, RoomState
from tests.support.kafka import record_counts
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline
from tests.support.processes import Command
from tests.support.webhook import WebhookReceiver, whsec

BUILDING = "hq-jakarta"
HYSTERESIS = 2  # people below a level before it is released (the default, 1, shows less)
DWELL_S = 1.0  # how long a release must hold; alerts are re-checked every TICK_S
TICK_S = 1.0
QUIET_S = DWELL_S + TICK_S + 1  # long enough for a wrong release to show
SECRET = whsec(b"scripted-day-webhook-secret")

LOBBY_MAIN = "door-f1-lobby-main"
LOBBY_EAST = "door-f1-lobby-east"
CANTEEN = "door-f1-canteen"
PRAYER = "door-f1-prayer"
FINANCE = "door-f2-work-finance"
MEETING = "door-f2-meeting-a"
IT = "door-f3-work-it"
BOARD = "door-f4-meeting-board"


class Door(NamedTuple):
    """A door sensor's message: people in and out since its previous one."""

    sensor: str
    seq: int
    entered: int = 0
    exited: int = 0


class Again(NamedTuple):
    """A QoS-1 redelivery: the message (sensor, seq) sent earlier, byte for byte."""

    sensor: str
    seq: int


@dataclass(frozen=True)
class Phase:
    at: str  # local time of day in the story
    sends: tuple[Door | Again, ...]
    hold_s: float = 0.0  # quiet time afterwards, where a level must hold
    receiver_up: bool = False  # the webhook receiver starts listening before this phase


# The day. Limits at "transition" (site file): finance 20, meeting A 10, IT 12, board 12,
# canteen 40, prayer room 15, lobby 60; each warns at 80 % of its limit. Twice a room waits
# inside the hysteresis and comes back: with too little hysteresis that would send more.
DAY = (
    Phase(
        "07:30 arrivals; the webhook receiver is down",
        (
            Door(LOBBY_MAIN, 1, entered=12),
            Door(LOBBY_EAST, 1, entered=6),
            Again(LOBBY_MAIN, 1),
            Door(LOBBY_MAIN, 2, entered=10),
            Door(FINANCE, 1, entered=9),
            Again(LOBBY_EAST, 1),
            Door(FINANCE, 2, entered=8),  # 17 of 20: warning
            Door(IT, 1, entered=5),
            Again(FINANCE, 2),
            Door(IT, 2, entered=4),
            Door(LOBBY_MAIN, 3, exited=20),
        ),
    ),
    Phase(
        "09:00 meeting A begins; three leave finance",
        (
            Door(MEETING, 1, entered=6),
            Door(MEETING, 2, entered=3),  # 9 of 10: warning
            Again(MEETING, 2),
            Door(FINANCE, 3, exited=3),  # 14: inside the warning's hysteresis
            Again(FINANCE, 1),
        ),
    ),
    Phase(
        "09:15 meeting A over its limit; the board meets",
        (
            Door(MEETING, 3, entered=4),  # 13 of 10: critical
            Again(MEETING, 3),
            Door(BOARD, 1, entered=14),  # 14 of 12: critical at once
            Again(BOARD, 1),
            Door(IT, 3, entered=1),  # 10 of 12: warning
            Again(IT, 2),
            Again(MEETING, 1),
        ),
    ),
    Phase(
        "10:00 a few step out of meeting A",
        (Door(MEETING, 4, exited=4), Again(MEETING, 4)),  # 9: inside the critical's hysteresis
        hold_s=QUIET_S,
    ),
    Phase(
        "10:30 they are back, finance too; the board ends; the webhook receiver is up",
        (
            Door(MEETING, 5, entered=3),  # 12: still the same critical
            Door(FINANCE, 4, entered=2),  # 16: still the same warning
            Door(BOARD, 2, exited=14),  # 0: resolved
            Again(MEETING, 4),
            Again(BOARD, 2),
            Again(FINANCE, 3),
        ),
        receiver_up=True,
    ),
    Phase(
        "11:00 meeting A shrinks",
        (Door(MEETING, 6, exited=5), Again(MEETING, 5)),  # 7: critical released, still a warning
    ),
    Phase(
        "12:00 lunch",
        (
            Door(CANTEEN, 1, entered=10),
            Door(CANTEEN, 2, entered=12),
            Again(CANTEEN, 1),
            Door(CANTEEN, 3, entered=8),  # 30 of 40: not yet a warning
            Door(MEETING, 7, exited=7),  # 0: resolved
            Door(FINANCE, 5, exited=11),  # 5: resolved
            Door(IT, 4, exited=6),  # 4: resolved
            Door(PRAYER, 1, entered=6),
            Again(CANTEEN, 2),
            Again(FINANCE, 5),
            Again(MEETING, 7),
        ),
    ),
    Phase(
        "12:15 the canteen fills",
        (Door(CANTEEN, 4, entered=4), Again(CANTEEN, 4)),  # 34: warning
    ),
    Phase(
        "12:20 a canteen message goes missing",
        (Door(CANTEEN, 6, entered=3), Again(CANTEEN, 6), Again(PRAYER, 1)),  # 37; seq 5 held
    ),
    Phase(
        "12:30 the canteen over its limit",
        (
            Door(CANTEEN, 7, entered=5),  # 42 of 40: critical
            Again(CANTEEN, 3),
            Door(PRAYER, 2, exited=6),
        ),
    ),
    Phase(
        "13:00 the missing message arrives; lunch ends",
        (
            Door(CANTEEN, 5, exited=2),  # late: the gap closes; 40, still critical
            Again(CANTEEN, 5),
            Door(CANTEEN, 8, exited=30),  # 10: resolved
            Again(CANTEEN, 8),
        ),
    ),
    Phase(
        "17:00 going home; the prayer room counts more out than in",
        (
            Door(CANTEEN, 9, exited=10),
            Door(LOBBY_MAIN, 4, entered=15),
            Door(LOBBY_EAST, 2, exited=13),
            Again(LOBBY_MAIN, 4),
            Door(LOBBY_MAIN, 5, exited=8),  # the guards stay
            Door(IT, 5, exited=3),  # the one on duty stays
            Door(PRAYER, 3, entered=2),
            Door(PRAYER, 4, exited=5),  # 3 below zero: held at 0
            Again(PRAYER, 4),
            Door(PRAYER, 5, entered=1),
            Again(LOBBY_EAST, 2),
            Again(FINANCE, 5),  # finance works late: 5 stay
        ),
    ),
)


class Limits(NamedTuple):
    limit: int
    warn: int  # the smallest count that warns


def read_site(path: Path) -> tuple[dict[str, Limits], dict[str, str]]:
    """Each room's limits under the active level and each sensor's room: straight from the
    YAML, as an operator reads the file."""
    raw = yaml.safe_load(path.read_text())
    policy = raw["policy"]
    level = policy["levels"][policy["active"]]
    warn_ratio = Fraction(str(policy["warn_ratio"]))
    (building,) = [b for b in raw["buildings"] if b["id"] == BUILDING]
    rooms: dict[str, Limits] = {}
    for room in building["rooms"]:
        ratio = level.get(room["type"], level["default"]) if isinstance(level, dict) else level
        limit = int(room.get("limit", math.floor(room["capacity"] * Fraction(str(ratio)))))
        rooms[room["id"]] = Limits(limit, max(1, math.ceil(warn_ratio * limit)))
    sensors = {str(s["id"]): str(s["room"]) for s in building["sensors"]}
    return rooms, sensors


class Expected(NamedTuple):
    kind: str
    severity: str
    state: str
    nth: int  # which of the room's alerts (0 for its first alert id, …)


@dataclass
class RoomModel:
    limits: Limits
    count: int = 0
    capacity: tuple[str, int] | None = None  # the open capacity alert: severity, nth
    open: dict[str, int] = field(default_factory=dict)  # open data-quality alerts: kind → nth
    alerts: list[Expected] = field(default_factory=list)

    def emit(self, kind: str, severity: str, state: str, nth: int | None = None) -> int:
        nth = len({a.nth for a in self.alerts}) if nth is None else nth
        self.alerts.append(Expected(kind, severity, state, nth))
        return nth


class Reference:
    """The design's rules over the script, phase by phase.

    Counts: each distinct (sensor, seq) once, in arrival order, a count never below 0.
    Capacity: warning at ≥ warn ratio × limit, critical above the limit; a critical is released
    at ≤ limit − hysteresis, a warning below its warn level − hysteresis; a release held for
    the dwell (each phase is waited out) resolves, or turns a critical that is not below the
    warning's release back into a warning. `sequence_gap` is open while a seq is missing;
    `count_underflow` opens at the first exit below zero (nothing here resets it).
    """

    def __init__(self, rooms: dict[str, Limits], sensors: dict[str, str]) -> None:
        self.sensors = sensors
        self.rooms = {room: RoomModel(limits) for room, limits in rooms.items()}
        self._seen: dict[tuple[str, int], Door] = {}
        self._last_seq: dict[str, int] = {}
        self._missing: dict[str, set[int]] = {}

    def phase(self, doors: Iterable[Door]) -> set[str]:
        """Apply one phase and wait it out; the rooms whose count it changed."""
        before = {room: model.count for room, model in self.rooms.items()}
        kinds: dict[str, set[str]] = {}
        for door in doors:
            if (door.sensor, door.seq) in self._seen:
                assert self._seen[door.sensor, door.seq] == door, "a repeat is the same message"
                continue
            self._seen[door.sensor, door.seq] = door
            room = self.sensors[door.sensor]
            sent = len(self.rooms[room].alerts)
            self._door(room, door)
            kinds.setdefault(room, set()).update(a.kind for a in self.rooms[room].alerts[sent:])
        # Within one phase the order between a room's data-quality and capacity alerts is
        # the worker's to choose (they may come out of one batch): the script avoids that.
        # What a held release sends comes a dwell later, after them.
        assert all(len(k) <= 1 for k in kinds.values()), f"ambiguous script: {kinds}"
        for model in self.rooms.values():
            self._wait_out(model)
        changed = {room for room, model in self.rooms.items() if model.count != before[room]}
        assert changed == set(kinds), "each room a phase touches changes, so it can be waited for"
        return changed

    def _door(self, room: str, door: Door) -> None:
        model = self.rooms[room]
        last = self._last_seq.get(door.sensor)
        missing = self._missing.setdefault(door.sensor, set())
        if last is None or door.seq > last:
            missing.update(range(door.seq if last is None else last + 1, door.seq))
            self._last_seq[door.sensor] = door.seq
        else:
            assert door.seq in missing, "the script only sends old seqs that were missing"
            missing.discard(door.seq)
        gap = any(self._missing.get(s) for s, r in self.sensors.items() if r == room)
        if gap and "sequence_gap" not in model.open:
            model.open["sequence_gap"] = model.emit("sequence_gap", "warning", "active")
        elif not gap and "sequence_gap" in model.open:
            model.emit("sequence_gap", "warning", "resolved", model.open.pop("sequence_gap"))

        count = model.count + door.entered - door.exited
        if count < 0 and "count_underflow" not in model.open:
            model.open["count_underflow"] = model.emit("count_underflow", "warning", "active")
        model.count = max(0, count)

        limit, warn = model.limits
        if model.count > limit and (model.capacity is None or model.capacity[0] == "warning"):
            nth = model.capacity[1] if model.capacity else None
            model.capacity = ("critical", model.emit("capacity", "critical", "active", nth))
        elif model.count >= warn and model.capacity is None:
            model.capacity = ("warning", model.emit("capacity", "warning", "active"))

    @staticmethod
    def _wait_out(model: RoomModel) -> None:
        if model.capacity is None:
            return
        severity, nth = model.capacity
        limit, warn = model.limits
        warn_release = max(1, warn - HYSTERESIS)
        if severity == "critical" and model.count > limit - HYSTERESIS:
            return
        if model.count < warn_release:
            model.emit("capacity", severity, "resolved", nth)
            model.capacity = None
        elif severity == "critical":
            model.capacity = ("warning", model.emit("capacity", "warning", "active", nth))

    def expected(self) -> dict[str, list[Expected]]:
        return {room: model.alerts for room, model in self.rooms.items() if model.alerts}


def door_message(prefix: str, room: str, door: Door, now: datetime) -> tuple[str, bytes]:
    body = {
        "seq": door.seq,
        "ts": now.isoformat(),
        "entered": door.entered,
        "exited": door.exited,
    }
    return f"{prefix}/{BUILDING}/{room}/door/{door.sensor}", json.dumps(body).encode()


def alerts_by_room(
    messages: Sequence[tuple[str, bytes, bool]], topic: str
) -> dict[str, list[Alert]]:
    by_room: dict[str, list[Alert]] = {}
    for alert in (Alert.model_validate_json(p) for t, p, _ in messages if t == topic):
        by_room.setdefault(alert.room or "", []).append(alert)
    return by_room


def latest_states(messages: Sequence[tuple[str, bytes, bool]]) -> dict[str, RoomState]:
    states = (RoomState.model_validate_json(p) for t, p, _ in messages if t.endswith("/state"))
    return {state.room: state for state in states}


def as_expected(alerts: list[Alert]) -> list[Expected]:
    """A room's alerts as the model writes them: alert ids numbered by first appearance."""
    ids = list(dict.fromkeys(a.alert_id for a in alerts))
    return [Expected(a.kind, a.severity, a.state, ids.index(a.alert_id)) for a in alerts]


def wait_or_fail(
    collector: Collector,
    check: Callable[[list[tuple[str, bytes, bool]]], bool],
    what: str,
    worker: Command,
    timeout: float = 30,
) -> None:
    if not check(collector.wait_for(check, timeout=timeout)):
        pytest.fail(
            f"{what} did not happen within {timeout} s; worker log:\n{worker.output()[-4000:]}"
        )


def test_a_scripted_day_gives_exactly_the_expected_alerts_and_counts(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    rooms, sensors = read_site(Path(stack_env["OCC_SITE_FILE"]))
    model = Reference(rooms, sensors)
    receiver = WebhookReceiver(SECRET)
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        OCC_ALERT_HYSTERESIS=str(HYSTERESIS),
        OCC_ALERT_MIN_DWELL_S=str(DWELL_S),
        OCC_ALERT_TICK_S=str(TICK_S),
        OCC_ALERT_REMINDER_S="3600",
        OCC_ALERT_FORECAST_HORIZON_S="0",
        OCC_SENSOR_OFFLINE_AFTER_S="3600",
        OCC_WEBHOOK_URL=receiver.url,
        OCC_WEBHOOK_SECRET=SECRET,
    )
    alerts_topic = f"{pipeline.prefix}/{BUILDING}/alerts"
    collector = Collector(
        pipeline.mqtt_url,
        [alerts_topic, f"{pipeline.prefix}/{BUILDING}/+/state"],
        f"watch-{pipeline.tag}",
    )
    payloads: dict[tuple[str, int], tuple[str, bytes]] = {}
    first_sent: dict[tuple[str, int], Door] = {}
    try:
        pipeline.bridge()
        worker = pipeline.worker()
        for number, phase in enumerate(DAY):
            if phase.receiver_up:
                receiver.up()
            for send in phase.sends:
                if isinstance(send, Door):
                    assert (send.sensor, send.seq) not in first_sent, f"{send}: use Again"
                    first_sent[send.sensor, send.seq] = send
                    payloads[send.sensor, send.seq] = door_message(
                        pipeline.prefix, sensors[send.sensor], send, pipeline.now()
                    )
            messages = [payloads[s.sensor, s.seq] for s in phase.sends]
            changed = model.phase(first_sent[s.sensor, s.seq] for s in phase.sends)
            publish(pipeline.mqtt_url, messages, f"pub-{pipeline.tag}-{number}")

            def arrived(got: list[tuple[str, bytes, bool]], rooms: set[str] = changed) -> bool:
                states = latest_states(got)
                sent = alerts_by_room(got, alerts_topic)
                return all(
                    room in states and states[room].count == model.rooms[room].count
                    for room in rooms
                ) and all(
                    len(sent.get(room, [])) >= len(expected)
                    for room, expected in model.expected().items()
                )

            wait_or_fail(collector, arrived, f"phase {phase.at!r}", worker)
            time.sleep(phase.hold_s)

        expected = model.expected()
        total = sum(len(alerts) for alerts in expected.values())

        def delivered(_: object) -> bool:
            return len(receiver.bodies()) >= total

        # The first alerts waited out the receiver's downtime in the notifier's backoff.
        wait_or_fail(collector, delivered, "webhook delivery", worker, timeout=60)
        time.sleep(QUIET_S)  # any alert the model does not expect has time to show up
        sent = alerts_by_room(collector.messages(), alerts_topic)
        worker_log = worker.output()
    finally:
        collector.close()
        statuses = pipeline.stop_all()
        receiver.close()
    assert statuses and all(status == 0 for status in statuses.values()), statuses

    # MQTT: each room's alerts, in order, exactly as the model says.
    got = {room: as_expected(alerts) for room, alerts in sent.items()}
    assert got == expected, worker_log[-4000:]
    everything = [alert for alerts in sent.values() for alert in alerts]
    for alert_id in {a.alert_id for a in everything}:
        states = [a.state for a in everything if a.alert_id == alert_id]
        assert states[0] == "active" and states.count("resolved") <= 1, states
    assert {a.building for a in everything} == {BUILDING}

    # Webhook: every alert message once, each correctly signed, in each room's order,
    # although the receiver refused connections for the first part of the day.
    hooked = [Alert.model_validate_json(body) for body in receiver.bodies()]
    assert receiver.bad_signatures == 0

    def key(alert: Alert) -> tuple[object, ...]:
        ack = None if alert.ack is None else (alert.ack.by, alert.ack.ts)
        return (alert.alert_id, alert.state, alert.severity, ack, alert.ts)

    assert Counter(map(key, hooked)) == Counter(map(key, everything))
    assert len(set(map(key, hooked))) == len(hooked)
    for room, alerts in sent.items():
        assert [key(a) for a in hooked if a.room == room] == [key(a) for a in alerts]
    assert "event=alert_delivery_retry notifier=webhook" in worker_log

    # Final counts: the retained MQTT states and the room-state topic agree with the model.
    want = {
        room: (model.rooms[room].count, model.rooms[room].limits.limit)
        for room in {sensors[s] for s, _ in payloads}
    }
    late = Collector(
        pipeline.mqtt_url, [f"{pipeline.prefix}/{BUILDING}/+/state"], f"late-{pipeline.tag}"
    )
    try:
        retained = late.wait_for(lambda m: len(latest_states(m)) >= len(want), timeout=10)
    finally:
        late.close()
    assert all(flag for _, _, flag in retained)
    assert {r: (s.count, s.limit) for r, s in latest_states(retained).items()} == want
    in_kafka = pipeline.room_states()
    assert {s.room: (s.count, s.limit) for s in in_kafka.values()} == want
    # And the repeats did reach the worker: the bridge forwards them, the worker drops them.
    door_topic = f"{pipeline.topics}.door"
    sends = sum(len(phase.sends) for phase in DAY)
    assert record_counts(pipeline.bootstrap, [door_topic])[door_topic] >= sends > len(payloads)
