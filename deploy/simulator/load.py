"""Load mode (`--rate N --duration S`): door messages at a steady rate, for benchmarks.

Messages go round every door sensor of the site in turn, so each sensor numbers its own
(seq 0, 1, 2, …, no gaps, no duplicates) and carries the current time: a benchmark measures
the pipeline, not its data-quality alerts. Each message counts one or two people in or
out, never more out than a room holds, never more in than its capacity.
"""

from __future__ import annotations

from datetime import datetime

from deploy.simulator.messages import door_payload, stamp
from deploy.simulator.seeds import stream
from ingest.errors import ConfigError
from ingest.site import Site
from ingest.topics import DoorTopic


class LoadStream:
    """The next door message of the round, stamped with the time it is sent."""

    def __init__(self, site: Site, prefix: str, seed: int) -> None:
        self._sensors = [
            (b, s, DoorTopic(b.id, s.room, s.id).format(prefix))
            for b in site.buildings
            for s in b.sensors
        ]
        if not self._sensors:
            raise ConfigError("The site file has no door sensors to send load to.")
        self._capacity = {(b.id, r.id): r.capacity for b in site.buildings for r in b.rooms}
        self._inside = dict.fromkeys(self._capacity, 0)
        self._seq = [0] * len(self._sensors)
        self._rng = stream(seed, "load")
        self._turn = 0

    @property
    def sensors(self) -> int:
        return len(self._sensors)

    def next(self, now: datetime) -> tuple[str, bytes]:
        index = self._turn % len(self._sensors)
        self._turn += 1
        building, sensor, topic = self._sensors[index]
        room = (building.id, sensor.room)
        inside = self._inside[room]
        people = self._rng.randint(1, 2)
        if inside + people <= self._capacity[room] and (inside == 0 or self._rng.random() < 0.5):
            entered, exited = people, 0
        else:
            entered, exited = 0, min(people, inside)
        self._inside[room] = inside + entered - exited
        seq = self._seq[index]
        self._seq[index] = seq + 1
        return topic, door_payload(seq, stamp(now, building.zone), entered, exited)
