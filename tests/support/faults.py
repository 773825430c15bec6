"""The fault suite's toolkit: the simulator as load, and the independent recount.

The load is the simulator's own load mode (`deploy.simulator.LoadStream` paced by its
`run_load` through its `Publisher`, QoS 1), driven from a thread here so that every message
it publishes is recorded. One stream serves a whole run of faults: each sensor numbers on
(no restart at seq 0 between faults) and the rooms it fills never hold more than capacity
nor go below zero, so the recount never has to clamp.

The recount reads the bridge's output, the `door` input topic, with a plain consumer and
applies the contract's counting rule written out here again, not imported: per room, in
partition order, each event counted once by its identity (building, room, sensor, seq), the
count `max(0, count + entered - exited)`. What is compared with it is the worker's result,
the latest state per room in the compacted room-state topic.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from deploy.simulator import LoadStream
from deploy.simulator.publisher import Publisher, run_load
from ingest.clock import Clock
from ingest.settings import Settings
from ingest.site import Building, Site
from tests.support.kafka import read_topics, record_counts
from tests.support.pipeline import Pipeline

Identity = tuple[str, str, str, int]
"""A door event: building, room, sensor, seq (the sensor's own numbering)."""


def identity_of(topic: str, payload: bytes) -> Identity:
    """The identity of a door message as published: `<prefix>/{b}/{r}/door/{s}` + its seq."""
    building, room, kind, sensor = topic.split("/")[-4:]
    assert kind == "door", topic
    return building, room, sensor, int(json.loads(payload)["seq"])


class _RecordingStream(LoadStream):
    """The simulator's load stream, keeping each message it hands out (in order)."""

    def __init__(self, site: Site, prefix: str, seed: int) -> None:
        super().__init__(site, prefix, seed)
        self.lock = threading.Lock()
        self.published: list[tuple[str, bytes]] = []

    def next(self, now: datetime) -> tuple[str, bytes]:
        message = super().next(now)
        with self.lock:
            self.published.append(message)
        return message


@dataclass
class LoadResult:
    messages: list[tuple[str, bytes]]
    unacked: int
    error: BaseException | None = None


class LoadRun:
    """One stretch of load at a steady rate, until its duration is over or `stop()`."""

    def __init__(
        self, stream: _RecordingStream, settings: Settings, rate: float, duration: float, name: str
    ) -> None:
        self._stream = stream
        self._stop = threading.Event()
        self._unacked = -1
        self._error: BaseException | None = None
        with stream.lock:
            self._first = len(stream.published)
        self._clock = settings.pipeline_clock
        self._publisher = Publisher(settings, name)
        self._publisher.connect()
        self._thread = threading.Thread(target=self._run, args=(rate, duration), daemon=True)
        self._thread.start()

    def _run(self, rate: float, duration: float) -> None:
        try:
            run_load(self._publisher, self._stream, rate, duration, self._stop, clock=self._clock)
            # A broker restart can hold acknowledgements back until the publisher reconnects.
            self._unacked = self._publisher.drain(90)
        except BaseException as exc:  # reported by join(), not lost in the thread
            self._error = exc
        finally:
            self._publisher.close()

    def sent(self) -> int:
        with self._stream.lock:
            return len(self._stream.published) - self._first

    def stop(self) -> LoadResult:
        self._stop.set()
        return self.join()

    def join(self, timeout: float = 150) -> LoadResult:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the load did not finish"
        with self._stream.lock:
            messages = self._stream.published[self._first :]
        return LoadResult(messages, self._unacked, self._error)


class Load:
    """The simulator's load mode on one pipeline's MQTT prefix; runs one at a time."""

    def __init__(self, site: Site, mqtt_url: str, prefix: str, seed: int, clock: Clock) -> None:
        self.stream = _RecordingStream(site, prefix, seed)
        # Stamped on the pipeline's clock, as its sensors would be.
        self._settings = Settings(mqtt_url=mqtt_url, mqtt_prefix=prefix).with_clock(clock)
        self._runs = 0

    def start(self, rate: float, duration: float) -> LoadRun:
        self._runs += 1
        name = f"fault-load-{id(self):x}-{self._runs}"
        return LoadRun(self.stream, self._settings, rate, duration, name)

    def run(self, rate: float, duration: float) -> LoadResult:
        return self.start(rate, duration).join()

    def published(self) -> list[tuple[str, bytes]]:
        with self.stream.lock:
            return list(self.stream.published)


# -- the recount --------------------------------------------------------------------------------


@dataclass
class Recount:
    """The door topic, counted by the contract's rule; see the module docstring."""

    counts: Counter[str]
    identities: set[Identity]
    records: int
    repeats: int  # records whose identity came before (the bridge's at-least-once)
    clamped: int  # times the rule had to clamp at zero (the load never should)
    late: int  # first deliveries behind a later seq of the same sensor (out of order)


class _Record(Protocol):
    partition: int
    offset: int
    value: bytes


def recount(bootstrap: str, door_topic: str) -> Recount:
    return recount_records(read_topics(bootstrap, [door_topic])[door_topic])


def recount_records(records: Sequence[_Record]) -> Recount:
    """The rule over door records as the bridge wrote them (JSON with building, room,
    sensor, seq, entered, exited)."""
    counts: Counter[str] = Counter()
    seen: set[Identity] = set()
    repeats = clamped = late = 0
    newest: dict[tuple[str, str, str], int] = {}
    # A room's records share a key, hence a partition: partition order is the room's order.
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        body = json.loads(record.value)
        ident: Identity = (body["building"], body["room"], body["sensor"], int(body["seq"]))
        if ident in seen:
            repeats += 1
            continue
        seen.add(ident)
        sensor, seq = ident[:3], ident[3]
        late += seq < newest.get(sensor, -1)
        newest[sensor] = max(seq, newest.get(sensor, -1))
        room = f"{body['building']}/{body['room']}"
        raw = counts[room] + int(body["entered"]) - int(body["exited"])
        clamped += raw < 0
        counts[room] = max(0, raw)
    return Recount(counts, seen, len(records), repeats, clamped, late)


@dataclass
class Snapshot:
    """The recount and the worker's room states side by side at one moment."""

    recount: Recount
    states: dict[str, int]
    room_state_records: int

    def diff(self) -> dict[str, int]:
        """Per room: the worker's count minus the recount (0 everywhere when all is well)."""
        rooms = set(self.states) | set(self.recount.counts)
        return {r: self.states.get(r, 0) - self.recount.counts.get(r, 0) for r in sorted(rooms)}


def snapshot(pipeline: Pipeline) -> Snapshot:
    topic = f"{pipeline.topics}.room-state"
    records = record_counts(pipeline.bootstrap, [topic])[topic]
    states = {room: state.count for room, state in pipeline.room_states().items()}
    return Snapshot(recount(pipeline.bootstrap, f"{pipeline.topics}.door"), states, records)


def settle(
    pipeline: Pipeline,
    expected: set[Identity],
    baseline: dict[str, int],
    timeout: float,
    alive: Callable[[], None] = lambda: None,
    quiet_s: float = 6.0,
) -> tuple[float | None, Snapshot]:
    """Wait until every `expected` event is in the door topic and the room states equal the
    recount up to `baseline` (the per-room difference found before); the seconds it took
    (None if it never did) and the last snapshot.

    Gives up early once the events are all in and the room-state topic has been quiet for
    `quiet_s`: the worker is done, and a difference left then is the result, not a delay.
    """
    door = f"{pipeline.topics}.door"
    states = f"{pipeline.topics}.room-state"
    started = time.monotonic()
    deadline = started + timeout
    last_states, quiet_since = -1, started
    while True:
        alive()
        now = time.monotonic()
        counts = record_counts(pipeline.bootstrap, [door, states])
        if counts[states] != last_states:
            last_states, quiet_since = counts[states], now
        if counts[door] >= len(expected) or now > deadline:
            shot = snapshot(pipeline)
            complete = expected <= shot.recount.identities
            if complete and _same(shot.diff(), baseline):
                return time.monotonic() - started, shot
            if now > deadline or (complete and now - quiet_since > quiet_s):
                return None, shot
        time.sleep(0.5)


def _same(diff: dict[str, int], baseline: dict[str, int]) -> bool:
    rooms = set(diff) | set(baseline)
    return all(diff.get(r, 0) == baseline.get(r, 0) for r in rooms)


def tally(published: Iterable[tuple[str, bytes]]) -> Counter[str]:
    """The load's own count per room: what it sent in minus out, in the order it sent them
    (it never lets a room go below zero, so no clamping)."""
    counts: Counter[str] = Counter()
    for topic, payload in published:
        building, room, _, _ = identity_of(topic, payload)
        body = json.loads(payload)
        counts[f"{building}/{room}"] += int(body["entered"]) - int(body["exited"])
    return counts


def off_by(states: dict[str, int], counts: Counter[str]) -> int:
    """People by which the room states differ from `counts`, over all rooms."""
    return sum(abs(states.get(r, 0) - counts.get(r, 0)) for r in set(states) | set(counts))


def drift(before: dict[str, int], after: dict[str, int]) -> tuple[int, int]:
    """(people counted twice, people lost) by the worker between two snapshots' diffs."""
    rooms = set(before) | set(after)
    moves = [after.get(r, 0) - before.get(r, 0) for r in rooms]
    return sum(m for m in moves if m > 0), -sum(m for m in moves if m < 0)


# -- the summary table ------------------------------------------------------------------------


@dataclass
class FaultRow:
    """One line of the fault suite's table."""

    fault: str
    published: int = 0
    lost: int = 0
    twice: int = 0
    # A sensor's messages in Kafka behind a later one of it, or room counts off the load's own
    # tally: the bridge keeps each partition in order, so both must stay 0.
    out_of_order: int = 0
    order_kept: bool = True  # False where the fault itself may reorder (a broker restart)
    recover_s: float | None = None
    notes: list[str] = field(default_factory=list)
    passed: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "fault": self.fault,
            "published": self.published,
            "lost": self.lost,
            "counted_twice": self.twice,
            "out_of_order": self.out_of_order,
            "recover_s": None if self.recover_s is None else round(self.recover_s, 1),
            "notes": "; ".join(self.notes),
            "passed": self.passed,
        }


def table(rows: Iterable[FaultRow]) -> str:
    """The rows as a plain-text table."""
    head = ("fault", "published", "lost", "twice", "recover s", "notes")
    lines = [
        (
            r.fault + ("" if r.passed else " (FAILED)"),
            str(r.published),
            str(r.lost),
            str(r.twice),
            "-" if r.recover_s is None else f"{r.recover_s:.1f}",
            "; ".join(r.notes),
        )
        for r in rows
    ]
    widths = [max(5, *(len(x) for x in col)) for col in zip(head, *lines, strict=True)]
    out = []
    for values in [head, *lines]:
        cells = [
            v.ljust(w) if i < 5 else v for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if values is head:
            out.append("  ".join("-" * w for w in widths[:5]) + "  -----")
    return "\n".join(out)


# -- invalid input ----------------------------------------------------------------------------


def invalid_burst(
    building: Building, prefix: str, n: int, tag: str, now: datetime
) -> list[tuple[str, bytes, str]]:
    """`n` invalid messages (topic, payload, dead-letter reason) stamped `now`, each unique in
    its first 200 bytes, cycling through the kinds of bad input the contract names."""
    sensor = building.sensors[0]
    door = f"{prefix}/{building.id}/{sensor.room}/door/{sensor.id}"
    room = sensor.room
    out: list[tuple[str, bytes, str]] = []
    for i in range(n):
        body: dict[str, object] = {
            "event_id": f"bad-{tag}-{i}",
            "seq": i,
            "ts": now.isoformat(),
            "entered": 1,
            "exited": 0,
        }
        raw = json.dumps(body).encode()
        cases = [
            (door, f'{{"event_id": "bad-{tag}-{i}", "seq": '.encode(), "bad_json"),
            (door, json.dumps({**body, "entered": "1"}).encode(), "invalid_payload"),
            (door, json.dumps({**body, "seq": -1 - i}).encode(), "invalid_payload"),
            (
                door,
                json.dumps({**body, "ts": (now + timedelta(hours=1)).isoformat()}).encode(),
                "future_timestamp",
            ),
            (door, json.dumps({**body, "pad": "x" * 5000}).encode(), "too_large"),
            (f"{prefix}/nowhere/r/door/s", raw, "unknown_building"),
            (f"{prefix}/{building.id}/f9-roof/door/s", raw, "unknown_room"),
            (f"{prefix}/{building.id}/{room}/door/ghost", raw, "unknown_sensor"),
            (f"{prefix}/{building.id}/r%20x/door/s", raw, "bad_identifier"),
        ]
        out.append(cases[i % len(cases)])
    return out


def dead_letters(bootstrap: str, topic: str) -> list[tuple[str, bytes, str]]:
    """(topic, payload as kept, reason) of every record in the dead-letter topic."""
    out = []
    for record in read_topics(bootstrap, [topic])[topic]:
        body = json.loads(record.value)
        out.append((body["topic"], base64.b64decode(body["payload_b64"]), body["reason"]))
    return out


def finish(row: FaultRow) -> None:
    """The verdict every fault test ends with: nothing lost, nothing counted twice."""
    assert row.lost == 0, f"{row.fault}: {row.lost} lost ({'; '.join(row.notes)})"
    assert row.twice == 0, f"{row.fault}: {row.twice} counted twice ({'; '.join(row.notes)})"
    if row.order_kept:
        assert row.out_of_order == 0, f"{row.fault}: out of order ({'; '.join(row.notes)})"
    row.passed = True


def check_load(result: LoadResult) -> None:
    """The load itself held up: no error, every message acknowledged by the broker."""
    if result.error is not None:
        raise AssertionError(f"the load failed: {result.error!r}") from result.error
    assert result.unacked == 0, f"Mosquitto did not acknowledge {result.unacked} messages"
