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
