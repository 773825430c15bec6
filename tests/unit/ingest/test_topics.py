"""The MQTT topic grammar: parse and format are inverse; everything else is rejected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import PayloadRejected
from ingest.topics import (
    AckTopic,
    AlertsTopic,
    DoorTopic,
    KioskTopic,
    PresenceTopic,
    StateTopic,
    SummaryTopic,
    Wildcards,
    parse_topic,
)
from tests.support.strategies import identifiers, room_ids

prefixes = st.lists(identifiers, min_size=1, max_size=3).map("/".join)
topics = st.one_of(
    st.builds(DoorTopic, identifiers, room_ids, identifiers),
    st.builds(KioskTopic, identifiers, identifiers),
    st.builds(StateTopic, identifiers, room_ids),
    st.builds(AlertsTopic, identifiers),
    st.builds(AckTopic, identifiers, identifiers),
    st.builds(PresenceTopic, identifiers),
    st.builds(SummaryTopic, identifiers),
)


@given(prefix=prefixes, topic=topics)
def test_parse_of_format_is_identity(prefix: str, topic: object) -> None:
    assert parse_topic(prefix, topic.format(prefix)) == topic  # type: ignore[attr-defined]


@given(prefix=prefixes, text=st.text(max_size=120))
def test_format_of_parse_is_identity_or_rejection(prefix: str, text: str) -> None:
    candidate = f"{prefix}/{text}"
    try:
        parsed = parse_topic(prefix, candidate)
    except PayloadRejected as rejected:
        assert rejected.reason in {"unknown_topic", "bad_identifier"}
        return
    assert parsed.format(prefix) == candidate


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("occupancy/hq/f2-meeting-a/door/d1", DoorTopic("hq", "f2-meeting-a", "d1")),
        ("occupancy/hq/kiosk/kiosk-main", KioskTopic("hq", "kiosk-main")),
        ("occupancy/hq/f2-meeting-a/state", StateTopic("hq", "f2-meeting-a")),
        ("occupancy/hq/alerts", AlertsTopic("hq")),
        ("occupancy/hq/alerts/a-17/ack", AckTopic("hq", "a-17")),
        ("occupancy/hq/presence", PresenceTopic("hq")),
        ("occupancy/hq/summary", SummaryTopic("hq")),
        # a kiosk named "state" is a kiosk: "kiosk" can never be a room id
        ("occupancy/hq/kiosk/state", KioskTopic("hq", "state")),
        ("occupancy/hq/alerts/door/ack", AckTopic("hq", "door")),
    ],
)
def test_parses_contract_topics(topic: str, expected: object) -> None:
    assert parse_topic("occupancy", topic) == expected


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("other/hq/r/door/d1", "unknown_topic"),
        ("occupancy/hq/r/window/d1", "unknown_topic"),
        ("occupancy/hq/r/door/d1/extra", "unknown_topic"),
        ("occupancy/hq/r/door", "unknown_topic"),
        ("occupancy/hq/r/door/", "bad_identifier"),
        ("occupancy/hq/r/door/+", "bad_identifier"),
        ("occupancy/hq/r/door/#", "bad_identifier"),
        ("occupancy/hq/r o/door/d1", "bad_identifier"),
        ("occupancy/hq/r/door/" + "x" * 65, "bad_identifier"),
        ("occupancyX/hq/r/door/d1", "unknown_topic"),
    ],
)
def test_rejects_with_reason(topic: str, reason: str) -> None:
    with pytest.raises(PayloadRejected) as caught:
        parse_topic("occupancy", topic)
    assert caught.value.reason == reason


def test_wildcards_cover_device_topics_only() -> None:
    wildcards = Wildcards("site/occupancy")
    assert wildcards.doors == "site/occupancy/+/+/door/+"
    assert wildcards.kiosks == "site/occupancy/+/kiosk/+"
    assert wildcards.acks == "site/occupancy/+/alerts/+/ack"
