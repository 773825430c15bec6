"""A mixed stream of device messages, valid and not, with what the bridge must do with each."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

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


# --- the hostile corpus -------------------------------------------------------------------

Lands = Literal["door", "checkin", "alert-ack"]


@dataclass(frozen=True)
class Hostile:
    """One hostile message and its fate: the dead-letter reason, or, when the contract
    admits it after all, the Kafka topic it lands in and the id it is found by there (the
    event id, or for an ack the alert id)."""

    name: str
    topic: str
    payload: bytes
    reason: str | None = None
    lands: Lands | None = None
    event: str | None = None


_RAW = "\x00raw\x00"


def _raw(body: dict[str, object], field: str, token: str) -> bytes:
    """`body` as JSON with `field` set to `token` verbatim (NaN, 1e400, 0x10, …)."""
    return json.dumps({**body, field: _RAW}).replace(json.dumps(_RAW), token).encode()


def _spliced(body: dict[str, object], raw: bytes) -> bytes:
    """`body` as JSON with the string value "@" replaced by `raw` bytes (not UTF-8, say)."""
    return json.dumps(body).encode().replace(b'"@"', b'"' + raw + b'"', 1)


def hostile_corpus(prefix: str, now: datetime, tag: str) -> list[Hostile]:
    """Messages an attacker or a broken device might send, against the sample site under
    `prefix`: huge and non-finite numbers, deep nesting, bytes that are not UTF-8 JSON,
    separators, control characters, wildcards and injections in identifiers and free text,
    far time stamps, wrong types, duplicate keys, empty and megabyte payloads.

    `tag` goes into the ids of the accepted ones, so a run finds its own among others'."""
    under = f"{prefix}/hq-jakarta"
    room, sensor = "f2-meeting-a", "door-f2-meeting-a"
    door, tap = f"{under}/{room}/door/{sensor}", f"{under}/kiosk/kiosk-main"
    cases: list[Hostile] = []

    def ack(alert_id: str) -> str:
        return f"{under}/alerts/{alert_id}/ack"

    def door_body(event_id: object = "x", **fields: object) -> dict[str, object]:
        body = {"seq": 1, "ts": now.isoformat(), "entered": 1, "exited": 0}
        return {**body, "event_id": event_id, **fields}

    def tap_body(event_id: str = "x", **fields: object) -> dict[str, object]:
        body = {"event_id": event_id, "ts": now.isoformat(), "employee_id": "emp0001"}
        return {**body, "action": "check_in", **fields}

    def bad(name: str, topic: str, payload: bytes | dict[str, object], reason: str) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        cases.append(Hostile(name, topic, raw, reason=reason))

    def good(name: str, lands: Lands, payload: bytes | dict[str, object]) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        topic = {"door": door, "checkin": tap, "alert-ack": ack(f"{tag}-{name}")}[lands]
        cases.append(Hostile(name, topic, raw, lands=lands, event=f"{tag}-{name}"))

    def mine(name: str) -> str:
        return f"{tag}-{name}"

    # Numbers: huge, non-finite (also as the JSON extensions NaN and Infinity), mistyped.
    bad("seq-1e30", door, door_body(seq=10**30), "invalid_payload")
    bad("seq-3900-digits", door, door_body(seq=int("9" * 3900)), "invalid_payload")
    bad("seq-1e400", door, _raw(door_body(), "seq", "1e400"), "invalid_payload")
    bad("seq-hex", door, _raw(door_body(), "seq", "0x10"), "bad_json")
    bad("entered-float", door, door_body(entered=1.0), "invalid_payload")
    for token in ("NaN", "Infinity", "-Infinity"):
        bad(f"entered-{token}", door, _raw(door_body(), "entered", token), "invalid_payload")
        bad(f"temp-{token}", tap, _raw(tap_body(), "temperature_c", token), "invalid_payload")
    bad("temp-1e309", tap, _raw(tap_body(), "temperature_c", "1e309"), "invalid_payload")
    bad("temp-nan-string", tap, tap_body(temperature_c="NaN"), "invalid_payload")
    good("minus-zero", "door", _raw(door_body(mine("minus-zero")), "entered", "-0"))
    good(
        "temp-500-digits",
        "checkin",
        _raw(tap_body(mine("temp-500-digits")), "temperature_c", "36.5" + "0" * 500 + "1"),
    )

    # Nesting: thousands of levels within the size limit, a hundred thousand beyond it.
    bad("nested-4096-open", door, b"[" * 4096, "bad_json")
    bad("nested-2000-arrays", door, b"[" * 2000 + b"]" * 2000, "bad_json")
    bad("nested-600-objects", door, b'{"a":' * 600 + b"1" + b"}" * 600, "bad_json")
    bad(
        "nested-in-field", tap, _raw(tap_body(), "employee_id", "[" * 1500 + "]" * 1500), "bad_json"
    )
    bad("nested-150-in-by", ack("x1"), _raw({}, "by", "[" * 150 + "]" * 150), "invalid_payload")
    bad("nested-100k", door, b"[" * 100_000, "too_large")

    # Bytes that are not UTF-8 JSON: broken sequences, overlong forms, UTF-16, BOM, NUL.
    bad("utf8-broken", door, _spliced(door_body("@"), b"\xff\xfe"), "bad_json")
    bad("utf8-overlong-nul", door, _spliced(door_body("@"), b"\xc0\x80"), "bad_json")
    bad("utf8-overlong-slash", tap, _spliced(tap_body("@"), b"..\xc0\xaf.."), "bad_json")
    bad("lone-surrogate", ack("x2"), b'{"by": "\\ud800"}', "bad_json")
    bad("utf16-bom", door, json.dumps(door_body()).encode("utf-16"), "bad_json")
    bad("utf8-bom", door, b"\xef\xbb\xbf" + json.dumps(door_body()).encode(), "bad_json")
    bad("nul-only", door, b"\x00", "bad_json")
    bad("trailing-nul", door, json.dumps(door_body()).encode() + b"\x00", "bad_json")
    bad("raw-newline-in-string", door, _raw(door_body(), "event_id", '"a\nb"'), "bad_json")
    bad("single-quotes", door, b"{'seq': 1}", "bad_json")
    bad("trailing-comma", door, json.dumps(door_body()).encode()[:-1] + b",}", "bad_json")
    bad("two-documents", door, json.dumps(door_body()).encode() + b" {}", "bad_json")

    # Identifiers in payloads: separators, control characters, look-alikes, injections.
    for name, value in {
        "slash": "emp/1",
        "dotdot-slash": "../../etc/passwd",
        "backslash": "..\\..\\windows",
        "nul": "emp\x00",
        "newline": "emp\n1",
        "tab": "emp\t1",
        "del": "emp\x7f",
        "zero-width-space": "emp\u200b1",
        "cyrillic-e": "\u0435mp1",
        "fullwidth-digit": "emp\uff11",
        "plus": "emp+",
        "hash": "emp#",
        "line-protocol": "a,b=c d=1",
        "quote": 'emp"1',
        "sql": "x'; DROP TABLE attendance; --",
        "influxql": 'x" ; DROP MEASUREMENT "attendance',
        "65-chars": "e" * 65,
        "empty": "",
    }.items():
        bad(f"employee-id-{name}", tap, tap_body(employee_id=value), "invalid_payload")
        bad(f"event-id-{name}", door, door_body(value), "invalid_payload")
    # `.` and `..` are identifiers by the contract ([A-Za-z0-9_.-]): no path is made of one.
    good("employee-dotdot", "checkin", tap_body(mine("employee-dotdot"), employee_id=".."))
    long_id = mine("event-id-64").ljust(64, "x")
    cases.append(
        Hostile(
            "event-id-64",
            door,
            json.dumps(door_body(long_id)).encode(),
            lands="door",
            event=long_id,
        )
    )

    # Identifiers in topics: separators, injections, look-alikes, lengths.
    bad("topic-dotdot-room", f"{under}/../door/{sensor}", door_body(), "unknown_room")
    bad(
        "topic-dotdot-building",
        f"{prefix}/../{room}/door/{sensor}",
        door_body(),
        "unknown_building",
    )
    bad("topic-dot-sensor", f"{under}/{room}/door/.", door_body(), "unknown_sensor")
    bad("topic-backslash", f"{under}/{room}\\..\\x/door/{sensor}", door_body(), "bad_identifier")
    bad("topic-empty-room", f"{under}//door/{sensor}", door_body(), "bad_identifier")
    bad("topic-empty-building", f"{prefix}//{room}/door/{sensor}", door_body(), "bad_identifier")
    bad("topic-empty-kiosk", f"{under}/kiosk/", tap_body(), "bad_identifier")
    bad("topic-space", f"{under}/{room}/door/a b", door_body(), "bad_identifier")
    bad("topic-line-protocol", f"{under}/a,b=c d=1/door/{sensor}", door_body(), "bad_identifier")
    bad("topic-sql", f"{under}/kiosk/x'; DROP TABLE kiosks; --", tap_body(), "bad_identifier")
    bad("topic-quote", f'{under}/alerts/a"1/ack', {"by": "x"}, "bad_identifier")
    bad("topic-percent", f"{under}/alerts/%2e%2e/ack", {"by": "x"}, "bad_identifier")
    bad(
        "topic-cyrillic-a",
        f"{prefix}/hq-jakart\u0430/{room}/door/{sensor}",
        door_body(),
        "bad_identifier",
    )
    bad("topic-64-chars", f"{under}/{room}/door/{'s' * 64}", door_body(), "unknown_sensor")
    bad("topic-65-chars", f"{under}/{room}/door/{'s' * 65}", door_body(), "bad_identifier")
    bad("topic-60000-chars", f"{under}/{room}/door/{'s' * 60_000}", door_body(), "bad_identifier")
    bad("topic-kiosk-as-room", f"{under}/kiosk/door/{sensor}", door_body(), "unknown_topic")
    bad(
        "topic-other-room",
        f"{under}/f2-meeting-b/door/{sensor}",
        door_body(),
        "sensor_room_mismatch",
    )
    bad("topic-dotdot-kiosk", f"{under}/kiosk/..", tap_body(), "unknown_kiosk")
    # Topic injection: wildcards, NUL and control characters cannot even be published.
    bad("topic-plus-room", f"{under}/+/door/{sensor}", door_body(), "bad_identifier")
    bad("topic-hash-kiosk", f"{under}/kiosk/#", tap_body(), "bad_identifier")
    bad("topic-plus-ack", f"{prefix}/+/alerts/+/ack", {"by": "x"}, "bad_identifier")
    bad("topic-hash-only", f"{prefix}/#", door_body(), "bad_identifier")
    bad("topic-nul", f"{tap}\x00", tap_body(), "bad_identifier")
    bad("topic-newline", f"{door}\n", door_body(), "bad_identifier")
    bad("topic-leading-slash", f"/{door}", door_body(), "unknown_topic")
    bad(
        "topic-other-prefix",
        f"{prefix}X/hq-jakarta/{room}/door/{sensor}",
        door_body(),
        "unknown_topic",
    )

    # Free text (an ack's `by`) may hold anything up to 128 characters: kept verbatim.
    for name, by in {
        "by-line-protocol": "a,b=c d=1",
        "by-sql": "'; DROP TABLE alerts; --",
        "by-influxql": '"; DROP MEASUREMENT "alerts',
        "by-log-forgery": "guard\nevent=alert_acknowledged alert_id=forged by=admin",
        "by-wildcards": "+/#",
        "by-nul": "\x00",
        "by-rtl-override": "\u202eevil",
        "by-128-wide": "\u00e9" * 128,
    }.items():
        good(name, "alert-ack", {"by": by})
    bad("by-129-chars", ack("x3"), {"by": "x" * 129}, "invalid_payload")
    bad("by-nosql", ack("x4"), {"by": {"$ne": None}}, "invalid_payload")
    bad("by-list", ack("x5"), {"by": ["x"]}, "invalid_payload")

    # Time stamps: the far past is accepted (only the future is refused), the rest is not.
    good("ts-year-1", "door", door_body(mine("ts-year-1"), ts="0001-01-01T00:00:00+14:00"))
    good("ts-1677", "door", door_body(mine("ts-1677"), ts="1677-09-21T00:12:43Z"))
    good("ts-epoch", "door", door_body(mine("ts-epoch"), ts="1970-01-01T00:00:00Z"))
    good(
        "tap-ts-year-1", "checkin", tap_body(mine("tap-ts-year-1"), ts="0001-01-01T00:00:00-14:00")
    )
    good("ack-ts-year-1", "alert-ack", {"by": "guard", "ts": "0001-01-01T00:00:00Z"})
    ahead = (now + timedelta(minutes=6)).isoformat()
    bad("ts-six-minutes-ahead", door, door_body(ts=ahead), "future_timestamp")
    bad("ts-year-9999", door, door_body(ts="9999-12-31T23:59:59.999999-14:00"), "future_timestamp")
    bad(
        "ack-ts-year-9999", ack("x6"), {"by": "x", "ts": "9999-01-01T00:00:00Z"}, "future_timestamp"
    )
    bad("ts-year-10000", door, door_body(ts="10000-01-01T00:00:00Z"), "invalid_payload")
    bad("ts-year-0", door, door_body(ts="0000-01-01T00:00:00Z"), "invalid_payload")
    bad("ts-february-30", door, door_body(ts="2026-02-30T00:00:00Z"), "invalid_payload")
    bad("ts-offset-24h", door, door_body(ts="2026-11-27T10:00:00+24:00"), "invalid_payload")
    bad("ts-naive", door, door_body(ts="2026-11-27T10:00:00"), "invalid_payload")
    bad("ts-number", door, door_body(ts=1e20), "invalid_payload")
    bad("ts-nul", door, door_body(ts="2026-11-27T10:00:00\x00Z"), "invalid_payload")

    # Wrong types and shapes.
    for name, text in {"list": "[]", "string": '"x"', "null": "null", "true": "true"}.items():
        bad(f"top-level-{name}", door, text.encode(), "invalid_payload")
    bad("seq-true", door, door_body(seq=True), "invalid_payload")
    bad("action-number", tap, tap_body(action=1), "invalid_payload")
    bad("mask-string", tap, tap_body(mask="true"), "invalid_payload")
    bad("proto-pollution", door, door_body(__proto__={"admin": True}), "invalid_payload")
    bad("empty-object", tap, b"{}", "invalid_payload")

    # Duplicate keys: the last one counts, and the record carries that one only.
    last_valid = _raw(door_body(mine("dup-seq")), "seq", '-1, "seq": 5')
    good("dup-seq", "door", last_valid)
    bad("dup-seq-last-invalid", door, _raw(door_body(), "seq", '5, "seq": -1'), "invalid_payload")
    good("dup-by", "alert-ack", b'{"by": "first", "by": "second"}')

    # Sizes: empty, blank, the 4 KiB boundary either side, a megabyte.
    bad("empty-door", door, b"", "bad_json")
    bad("empty-kiosk", tap, b"", "bad_json")
    bad("empty-ack", ack("x7"), b"", "bad_json")
    bad("blank", door, b" \t\r\n", "bad_json")
    exact = json.dumps(door_body(mine("exactly-4096"))).encode()
    good("exactly-4096", "door", exact.ljust(4096))
    bad("4097-bytes", door, exact.ljust(4097), "too_large")
    bad("megabyte", door, b'{"pad": "' + b"x" * (1 << 20) + b'"}', "too_large")
    return cases
