"""Validation of device messages: strict, with a reason for every rejection, never a crash."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import PayloadRejected
from ingest.models import AckRecord, CheckinRecord, DoorRecord
from ingest.validation import MAX_PAYLOAD_BYTES, REASONS, Validator
from tests.support.strategies import (
    NOW,
    ack_like,
    door_like,
    dumps,
    identifiers,
    json_values,
    timestamps,
)

DOOR = "occupancy/hq-jakarta/f2-meeting-a/door/door-f2-meeting-a"
KIOSK = "occupancy/hq-jakarta/kiosk/kiosk-main"
ACK = "occupancy/hq-jakarta/alerts/a-7f3e.1_x/ack"
GOOD_DOOR: dict[str, Any] = {
    "seq": 7,
    "ts": "2026-11-27T10:00:00+07:00",
    "entered": 3,
    "exited": 1,
}
GOOD_TAP: dict[str, Any] = {
    "event_id": "k-000001",
    "ts": "2026-11-27T07:31:05+07:00",
    "employee_id": "198503152010011001",
    "action": "check_in",
    "method": "face",
    "temperature_c": 36.4,
    "mask": True,
}
GOOD_ACK: dict[str, Any] = {"by": "satpam-lobby", "ts": "2026-11-27T10:00:00+07:00"}
fixture_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def reason_of(validator: Validator, topic: str, payload: bytes) -> str:
    with pytest.raises(PayloadRejected) as caught:
        validator.validate(topic, payload, NOW)
    assert caught.value.detail, "every rejection explains itself"
    return caught.value.reason


def test_door_event_becomes_a_record_keyed_by_room(validator: Validator) -> None:
    record = validator.validate(DOOR, dumps(GOOD_DOOR), NOW)
    assert isinstance(record, DoorRecord)
    assert (record.building, record.room, record.sensor) == (
        "hq-jakarta",
        "f2-meeting-a",
        "door-f2-meeting-a",
    )
    assert (record.seq, record.entered, record.exited) == (7, 3, 1)
    assert record.ts == datetime.fromisoformat("2026-11-27T10:00:00+07:00")
    assert record.key == "hq-jakarta/f2-meeting-a"
    assert record.received_at == NOW
    assert DoorRecord.model_validate_json(record.model_dump_json()) == record


def test_kiosk_event_becomes_a_record_keyed_by_employee(validator: Validator) -> None:
    record = validator.validate(KIOSK, dumps(GOOD_TAP), NOW)
    assert isinstance(record, CheckinRecord)
    assert record.key == "198503152010011001"
    assert (record.kiosk, record.action, record.temperature_c) == ("kiosk-main", "check_in", 36.4)
    assert CheckinRecord.model_validate_json(record.model_dump_json()) == record


def test_ack_becomes_a_record_keyed_by_alert(validator: Validator) -> None:
    record = validator.validate(ACK, dumps(GOOD_ACK), NOW)
    assert isinstance(record, AckRecord)
    assert (record.building, record.alert_id, record.by) == (
        "hq-jakarta",
        "a-7f3e.1_x",
        "satpam-lobby",
    )
    assert record.ts == datetime.fromisoformat("2026-11-27T10:00:00+07:00")
    assert record.received_at == NOW
    assert record.key == "a-7f3e.1_x"
    assert AckRecord.model_validate_json(record.model_dump_json()) == record


def test_ack_without_ts_is_stamped_with_its_arrival(validator: Validator) -> None:
    record = validator.validate(ACK, dumps({"by": "console-2"}), NOW)
    assert isinstance(record, AckRecord)
    assert record.ts == record.received_at == NOW


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (DOOR, b"{not json", "bad_json"),
        (DOOR, b"\xff\xfe\x00garbage", "bad_json"),
        (DOOR, b"[" * 10_000 + b"]" * 10_000, "too_large"),
        (DOOR, b"[" * 2000 + b"]" * 2000, "bad_json"),  # nested too deep
        (DOOR, b"", "bad_json"),
        (DOOR, dumps([GOOD_DOOR]), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "seq": "7"}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "seq": 7.0}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "entered": True}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "entered": -1}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "exited": 10**6}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "seq": -1}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "seq": 2**63}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "ts": "2026-11-27T10:00:00"}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "ts": 1795000000}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "ts": "yesterday"}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "event_id": "a/b"}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "colour": "red"}), "invalid_payload"),
        (DOOR, dumps({"seq": 1}), "invalid_payload"),
        (DOOR, dumps({**GOOD_DOOR, "ts": "2026-11-27T10:06:00+07:00"}), "future_timestamp"),
        (DOOR, dumps({**GOOD_DOOR, "pad": "x" * MAX_PAYLOAD_BYTES}), "too_large"),
        (KIOSK, dumps({**GOOD_TAP, "action": "check_in_late"}), "invalid_payload"),
        (KIOSK, dumps({**GOOD_TAP, "method": "retina"}), "invalid_payload"),
        (KIOSK, dumps({**GOOD_TAP, "temperature_c": 99.0}), "invalid_payload"),
        (KIOSK, dumps(GOOD_TAP).replace(b"36.4", b"NaN"), "invalid_payload"),
        (KIOSK, dumps(GOOD_TAP).replace(b"36.4", b"Infinity"), "invalid_payload"),
        (KIOSK, dumps(GOOD_TAP).replace(b"36.4", b"1e999"), "invalid_payload"),
        (KIOSK, dumps({**GOOD_TAP, "employee_id": "../../etc/passwd"}), "invalid_payload"),
        (KIOSK, dumps({**GOOD_TAP, "employee_id": "x'; DROP TABLE"}), "invalid_payload"),
        (KIOSK, dumps({k: v for k, v in GOOD_TAP.items() if k != "event_id"}), "invalid_payload"),
        ("occupancy/nowhere/f2-meeting-a/door/d", dumps(GOOD_DOOR), "unknown_building"),
        ("occupancy/hq-jakarta/f9-roof/door/d", dumps(GOOD_DOOR), "unknown_room"),
        ("occupancy/hq-jakarta/f2-meeting-a/door/d-x", dumps(GOOD_DOOR), "unknown_sensor"),
        (
            "occupancy/hq-jakarta/f2-meeting-b/door/door-f2-meeting-a",
            dumps(GOOD_DOOR),
            "sensor_room_mismatch",
        ),
        ("occupancy/nowhere/kiosk/kiosk-main", dumps(GOOD_TAP), "unknown_building"),
        ("occupancy/hq-jakarta/kiosk/kiosk-roof", dumps(GOOD_TAP), "unknown_kiosk"),
        ("occupancy/hq-jakarta/f2-meeting-a/state", dumps(GOOD_DOOR), "unknown_topic"),
        ("occupancy/hq-jakarta/f2-meeting-a/window/d", dumps(GOOD_DOOR), "unknown_topic"),
        ("occupancy/hq-jakarta/f2 meeting/door/d", dumps(GOOD_DOOR), "bad_identifier"),
        ("occupancy/nowhere/alerts/a1/ack", dumps(GOOD_ACK), "unknown_building"),
        ("occupancy/hq-jakarta/alerts/a 1/ack", dumps(GOOD_ACK), "bad_identifier"),
        ("occupancy/hq-jakarta/alerts/" + "a" * 65 + "/ack", dumps(GOOD_ACK), "bad_identifier"),
        ("occupancy/hq-jakarta/alerts/a1/ack/x", dumps(GOOD_ACK), "unknown_topic"),
        ("occupancy/hq-jakarta/alerts", dumps(GOOD_ACK), "unknown_topic"),
        (ACK, b'{"by": "x"', "bad_json"),
        (ACK, b"", "bad_json"),
        (ACK, dumps({}), "invalid_payload"),
        (ACK, dumps({"by": ""}), "invalid_payload"),
        (ACK, dumps({"by": "x" * 129}), "invalid_payload"),
        (ACK, dumps({"by": 7}), "invalid_payload"),
        (ACK, dumps({"by": None}), "invalid_payload"),
        (ACK, dumps({**GOOD_ACK, "note": "seen"}), "invalid_payload"),
        (ACK, dumps({**GOOD_ACK, "ts": "2026-11-27T10:00:00"}), "invalid_payload"),
        (ACK, dumps({**GOOD_ACK, "ts": 1795000000}), "invalid_payload"),
        (ACK, dumps({**GOOD_ACK, "ts": "2026-11-27T10:06:00+07:00"}), "future_timestamp"),
        (ACK, dumps({**GOOD_ACK, "by": "x" * 100, "pad": "x" * MAX_PAYLOAD_BYTES}), "too_large"),
    ],
)
def test_rejections_have_reasons(
    validator: Validator, topic: str, payload: bytes, reason: str
) -> None:
    assert reason_of(validator, topic, payload) == reason


def test_clock_skew_up_to_five_minutes_is_accepted(validator: Validator) -> None:
    ahead = (NOW + timedelta(minutes=5)).isoformat()
    assert validator.validate(DOOR, dumps({**GOOD_DOOR, "ts": ahead}), NOW).ts.isoformat() == ahead


def test_a_buffered_tap_is_judged_by_when_it_was_sent(validator: Validator) -> None:
    # Tapped at 07:31, kept by a kiosk offline for hours, sent just now: accepted as it is.
    sent = {**GOOD_TAP, "sent_at": NOW.isoformat()}
    record = validator.validate(KIOSK, dumps(sent), NOW)
    assert isinstance(record, CheckinRecord)
    assert (record.ts.isoformat(), record.sent_at) == (GOOD_TAP["ts"], NOW)
    assert CheckinRecord.model_validate_json(record.model_dump_json()) == record
    # A kiosk that says it sent the tap from the future is refused, naming sent_at.
    ahead = {**GOOD_TAP, "sent_at": (NOW + timedelta(minutes=6)).isoformat()}
    with pytest.raises(PayloadRejected) as caught:
        validator.validate(KIOSK, dumps(ahead), NOW)
    assert (caught.value.reason, caught.value.detail[:8]) == ("future_timestamp", "sent_at ")
    # Sent before it was made: no such tap.
    before = {**GOOD_TAP, "sent_at": "2026-11-27T07:30:00+07:00"}
    with pytest.raises(PayloadRejected) as caught:
        validator.validate(KIOSK, dumps(before), NOW)
    assert caught.value.reason == "invalid_payload"
    assert "sent_at is earlier than ts" in caught.value.detail


def test_rejection_detail_names_the_field(validator: Validator) -> None:
    with pytest.raises(PayloadRejected) as caught:
        validator.validate(DOOR, dumps({**GOOD_DOOR, "entered": -1}), NOW)
    assert caught.value.detail.startswith("entered:")


@fixture_settings
@given(topic=st.text(max_size=100), payload=st.binary(max_size=5000))
def test_arbitrary_bytes_are_accepted_or_rejected_never_crash(
    validator: Validator, topic: str, payload: bytes
) -> None:
    for where in (topic, DOOR, KIOSK, ACK):
        try:
            validator.validate(where, payload, NOW)
        except PayloadRejected as rejected:
            assert rejected.reason in REASONS


@fixture_settings
@given(value=json_values)
def test_arbitrary_json_is_rejected_with_a_known_reason(validator: Validator, value: Any) -> None:
    for where in (DOOR, KIOSK):
        try:
            validator.validate(where, dumps(value), NOW)
        except PayloadRejected as rejected:
            assert rejected.reason in REASONS
        else:
            pytest.fail(f"{value!r} was accepted")


@fixture_settings
@given(value=door_like)
def test_door_shaped_json_is_accepted_only_when_valid(
    validator: Validator, value: dict[str, Any]
) -> None:
    payload = dumps(value)
    try:
        record = validator.validate(DOOR, payload, NOW)
    except PayloadRejected as rejected:
        assert rejected.reason in REASONS
        return
    # Accepted: then it honoured the contract, field by field.
    assert isinstance(record, DoorRecord)
    assert set(value) <= {"seq", "ts", "entered", "exited", "event_id"}
    assert isinstance(value["seq"], int) and not isinstance(value["seq"], bool)
    assert record.seq == value["seq"] >= 0
    assert record.entered == value["entered"] and record.exited == value["exited"]
    assert record.ts == datetime.fromisoformat(value["ts"])


@fixture_settings
@given(
    seq=st.integers(min_value=0, max_value=2**63 - 1),
    ts=timestamps,
    entered=st.integers(min_value=0, max_value=10_000),
    exited=st.integers(min_value=0, max_value=10_000),
    event_id=st.one_of(st.none(), identifiers),
)
def test_every_valid_door_event_is_accepted_unchanged(
    validator: Validator, seq: int, ts: datetime, entered: int, exited: int, event_id: str | None
) -> None:
    body = {"seq": seq, "ts": ts.isoformat(), "entered": entered, "exited": exited}
    if event_id is not None:
        body["event_id"] = event_id
    record = validator.validate(DOOR, json.dumps(body).encode(), NOW)
    assert isinstance(record, DoorRecord) and record.event_id == event_id
    assert (record.seq, record.ts, record.entered, record.exited) == (seq, ts, entered, exited)


@fixture_settings
@given(value=ack_like)
def test_ack_shaped_json_is_accepted_only_when_valid(
    validator: Validator, value: dict[str, Any]
) -> None:
    try:
        record = validator.validate(ACK, dumps(value), NOW)
    except PayloadRejected as rejected:
        assert rejected.reason in REASONS
        return
    assert isinstance(record, AckRecord)
    assert set(value) <= {"by", "ts"}
    assert isinstance(value["by"], str) and 1 <= len(value["by"]) <= 128
    assert record.by == value["by"]
    if value.get("ts") is None:
        assert record.ts == NOW
    else:
        assert record.ts == datetime.fromisoformat(value["ts"])
        assert record.ts.tzinfo is not None and record.ts - NOW <= timedelta(minutes=5)


@fixture_settings
@given(
    alert_id=identifiers,
    by=st.text(min_size=1, max_size=128),
    ts=st.one_of(st.none(), timestamps),
)
def test_every_valid_ack_is_accepted_unchanged(
    validator: Validator, alert_id: str, by: str, ts: datetime | None
) -> None:
    body: dict[str, Any] = {"by": by}
    if ts is not None:
        body["ts"] = ts.isoformat()
    record = validator.validate(f"occupancy/hq-jakarta/alerts/{alert_id}/ack", dumps(body), NOW)
    assert isinstance(record, AckRecord)
    assert (record.building, record.alert_id, record.by) == ("hq-jakarta", alert_id, by)
    assert record.ts == (NOW if ts is None else ts)
    assert record.key == alert_id
    assert AckRecord.model_validate_json(record.model_dump_json()) == record
