"""Hypothesis strategies for the wire contract, shared by the property tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from ingest.topics import RESERVED_ROOM_IDS

identifiers = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
    min_size=1,
    max_size=64,
)
room_ids = identifiers.filter(lambda s: s not in RESERVED_ROOM_IDS)

offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
timestamps = st.builds(
    lambda seconds, tz: (NOW + timedelta(seconds=seconds)).astimezone(tz),
    st.integers(min_value=-30 * 86400, max_value=299),
    offsets,
)

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)

door_like = st.fixed_dictionaries(
    {},
    optional={
        "seq": st.one_of(st.integers(), st.text(max_size=5), st.floats(), st.none()),
        "ts": st.one_of(timestamps.map(datetime.isoformat), st.text(max_size=30), st.integers()),
        "entered": st.one_of(st.integers(), st.booleans(), st.text(max_size=3)),
        "exited": st.one_of(st.integers(), st.booleans(), st.floats()),
        "event_id": st.one_of(identifiers, st.text(max_size=70), st.none()),
        "extra": json_values,
    },
)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


ack_like = st.fixed_dictionaries(
    {},
    optional={
        "by": st.one_of(st.text(max_size=140), st.integers(), st.none(), st.lists(st.text())),
        "ts": st.one_of(
            timestamps.map(datetime.isoformat),
            timestamps.map(lambda t: t.replace(tzinfo=None).isoformat()),
            st.text(max_size=30),
            st.integers(),
            st.none(),
        ),
        "extra": json_values,
    },
)


# --- hostile input, for the fuzzing in test_hostile.py -----------------------------------

every_character = st.characters(exclude_categories=())
"""Any code point at all, lone surrogates included."""

FRAGMENTS = (
    *("/", "\\", ".", "..", "+", "#", "$", "%2F", "%00", "\x00", "\n", "\r\n", "\t", "\x7f"),
    *(" ", ",", "=", '"', "'", ";", "--", "\\n", "\ufeff", "\u200b", "\u202e", "\u2028"),
    *("\u0430", "\uff11", "\ud800", "a,b=c d=1", "x'; DROP TABLE rooms; --"),
    *('" ; DROP MEASUREMENT "alerts', "${jndi:ldap://x}", "$(reboot)"),
    *("hq-jakarta", "f2-meeting-a", "door-f2-meeting-a", "kiosk-main", "door", "kiosk"),
    *("alerts", "ack", "state", "occupancy"),
)
"""Pieces of hostile text: separators, wildcards, control characters, look-alikes,
injections, and the words of the topic grammar and the sample site."""

hostile_text = st.lists(
    st.sampled_from(FRAGMENTS) | identifiers | st.text(every_character, max_size=3), max_size=6
).map("".join)
"""Short text stitched from hostile fragments, plain identifiers and any characters."""


def hostile_topics(prefix: str) -> st.SearchStrategy[str]:
    """Topics under `prefix` built of hostile segments, or any text at all."""
    segments = st.lists(hostile_text | identifiers, max_size=6)
    return segments.map(lambda parts: "/".join([prefix, *parts])) | st.text(every_character)


_JSON_ATOMS = (
    *("NaN", "-NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", "-0", "0.0"),
    *("0x10", "01", "1.", ".5", "1e", "+1", "nul", "tru", "'x'", '"\\ud800"', '"\\u0000"'),
    *("true", "false", "null", '""', '"\\"', str(2**63), str(-(2**63) - 1), "9" * 400),
)
CONTRACT_FIELDS = (
    *("seq", "ts", "entered", "exited", "event_id", "employee_id", "action", "method"),
    *("temperature_c", "mask", "by"),
)
_valid_values = st.one_of(
    st.integers(0, 10_000).map(str),
    timestamps.map(lambda t: json.dumps(t.isoformat())),
    identifiers.map(json.dumps),
    st.sampled_from(["check_in", "check_out", "badge", "face", "qr"]).map(json.dumps),
    st.floats(30, 45).map(json.dumps),
    st.booleans().map(json.dumps),
)
json_atoms = st.one_of(
    st.sampled_from(_JSON_ATOMS),
    st.integers().map(str),
    st.floats().map(json.dumps),
    hostile_text.map(json.dumps),
    _valid_values,
)
_keys = st.sampled_from((*CONTRACT_FIELDS, "__proto__", "")) | hostile_text


def _array(items: list[str]) -> str:
    return "[" + ",".join(items) + "]"


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


json_texts = st.recursive(
    json_atoms,
    lambda kids: (
        st.lists(kids, max_size=4).map(_array)
        | st.lists(st.tuples(_keys, kids), max_size=6).map(_object)
    ),
    max_leaves=12,
)
"""JSON-ish text with the non-standard tokens (NaN, 0x10, …), odd keys, repeated keys."""

contract_shaped = st.lists(
    st.tuples(st.sampled_from(CONTRACT_FIELDS), _valid_values | json_atoms | json_texts),
    min_size=2,
    max_size=9,
).map(_object)
"""Objects of the contract's own field names (repeats too), valid values among hostile ones,
so that some get past JSON and shape and reach the checks of each field."""


@st.composite
def mangled(draw: st.DrawFn, texts: st.SearchStrategy[str]) -> bytes:
    """UTF-8 of `texts` with a byte-level insult: a BOM, a broken or overlong sequence, NUL,
    a cut, or a repeat beyond the size limit."""
    raw = draw(texts).encode("utf-8", "surrogatepass")
    at = draw(st.integers(0, len(raw)))
    insult = draw(
        st.sampled_from(
            [b"\xef\xbb\xbf", b"\xff", b"\xc0\x80", b"\xc0\xaf", b"\xed\xa0\x80", b"\x00", b""]
        )
    )
    cut = draw(st.booleans())
    body = raw[:at] + insult + (b"" if cut else raw[at:])
    return body * draw(st.sampled_from([1, 1, 1, 2, 300]))


hostile_payloads = st.one_of(
    st.binary(max_size=300),
    json_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    contract_shaped.map(lambda t: t.encode("utf-8", "surrogatepass")),
    mangled(json_texts | contract_shaped),
)
"""Payload bytes: random, JSON-ish, contract-shaped, and mangled at the byte level."""
