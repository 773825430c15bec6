"""A mixed stream of device messages, valid and not, with what the bridge must do with each."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ingest.site import Site


@dataclass
class Corpus:
    """Messages in publish order, and the expectation computed while generating them."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)
    door_ids: set[str] = field(default_factory=set)
    checkin_ids: set[str] = field(default_factory=set)
    invalid: dict[tuple[str, bytes], str] = field(default_factory=dict)

    def reasons(self) -> Counter[str]:
        return Counter(self.invalid.values())


def mixed_corpus(site: Site, n: int, seed: int, tag: str, prefix: str = "occupancy") -> Corpus:
    """`n` messages: about 70 % door events, 15 % kiosk taps, 15 % of every kind of bad input."""
    rng = random.Random(seed)
    building = site.buildings[0]
    sensors = building.sensors
    kiosks = building.kiosks
    seqs: Counter[str] = Counter()
    corpus = Corpus()
    now = datetime.now(UTC)

    def ts(offset_s: float = 0) -> str:
        return (now + timedelta(seconds=offset_s)).isoformat()

    def door(i: int) -> tuple[str, dict[str, object]]:
        sensor = rng.choice(sensors)
        seqs[sensor.id] += 1
        topic = f"{prefix}/{building.id}/{sensor.room}/door/{sensor.id}"
        return topic, {
            "seq": seqs[sensor.id],
            "ts": ts(-rng.uniform(0, 60)),
            "entered": rng.randint(0, 3),
            "exited": rng.randint(0, 3),
            "event_id": f"{tag}-d{i}",
        }

    def tap(i: int) -> tuple[str, dict[str, object]]:
        kiosk = rng.choice(kiosks)
        return f"{prefix}/{building.id}/kiosk/{kiosk.id}", {
            "event_id": f"{tag}-k{i}",
            "ts": ts(-rng.uniform(0, 60)),
            "employee_id": f"emp{rng.randint(1, 300):04d}",
            "action": rng.choice(["check_in", "check_out"]),
            "method": rng.choice(["badge", "face", "qr"]),
        }

    def bad(i: int) -> tuple[str, bytes, str]:
        topic, body = door(i)
        _, tap_body = tap(i)
        raw = json.dumps(body).encode()
        room = building.rooms[0].id
        cases = [
            (topic, f'{{"seq": {i}, "ts": '.encode(), "bad_json"),
            (topic, json.dumps({**body, "entered": "1"}).encode(), "invalid_payload"),
            (topic, json.dumps({**body, "seq": -i}).encode(), "invalid_payload"),
            (topic, json.dumps({**body, "ts": ts(3600)}).encode(), "future_timestamp"),
            (topic, json.dumps({**body, "pad": "x" * 5000}).encode(), "too_large"),
            (f"{prefix}/nowhere/r/door/s", raw, "unknown_building"),
            (f"{prefix}/{building.id}/f9-roof/door/s{i}", raw, "unknown_room"),
            (f"{prefix}/{building.id}/{room}/door/ghost-{i}", raw, "unknown_sensor"),
            (
                f"{prefix}/{building.id}/kiosk/ghost-{i}",
                json.dumps(tap_body).encode(),
                "unknown_kiosk",
            ),
            (f"{prefix}/{building.id}/r%20x/door/s", raw, "bad_identifier"),
        ]
        return rng.choice(cases)

    for i in range(n):
        roll = rng.random()
        if roll < 0.70:
            topic, body = door(i)
            corpus.messages.append((topic, json.dumps(body).encode()))
            corpus.door_ids.add(str(body["event_id"]))
        elif roll < 0.85:
            topic, body = tap(i)
            corpus.messages.append((topic, json.dumps(body).encode()))
            corpus.checkin_ids.add(str(body["event_id"]))
        else:
            topic, payload, reason = bad(i)
            corpus.messages.append((topic, payload))
            corpus.invalid[(topic, payload)] = reason
    return corpus
