"""Pseudonyms of employee ids: stable under a key, apart under two keys, and revealing nothing."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from ingest import pseudonym
from ingest.errors import ConfigError
from ingest.pseudonym import Pseudonyms, is_pseudonym, without_employee_id
from ingest.settings import Settings

# The contract's identifiers; six characters and more, as a shorter id (say "7") may well
# turn up inside any 16-character token by chance.
ids = st.from_regex(r"\A[A-Za-z0-9_.-]{6,64}\Z")
keys = st.binary(min_size=16, max_size=64)


@given(key=keys, employee=ids)
def test_a_key_gives_one_fixed_format_pseudonym_per_id(key: bytes, employee: str) -> None:
    first = Pseudonyms(key)(employee)
    assert first == Pseudonyms(key)(employee)
    assert is_pseudonym(first) and len(first) == 18
    assert employee not in first and employee.lower() not in first


@given(one=keys, other=keys, employee=ids)
def test_two_keys_give_two_pseudonyms(one: bytes, other: bytes, employee: str) -> None:
    if one != other:
        assert Pseudonyms(one)(employee) != Pseudonyms(other)(employee)


@given(key=keys, employees=st.lists(ids, min_size=2, max_size=20, unique=True))
def test_ids_get_pseudonyms_of_their_own_and_reveal_finds_each(
    key: bytes, employees: list[str]
) -> None:
    names = Pseudonyms(key)
    made = [names(e) for e in employees]
    assert len(set(made)) == len(employees)
    for employee, name in zip(employees, made, strict=True):
        assert names.reveal(name, employees) == employee
        assert Pseudonyms(bytes(reversed(key)) + b"!").reveal(name, employees) is None


def test_the_pseudonym_of_a_known_id_under_a_known_key() -> None:
    # Pinned: the same key must give the same pseudonyms in every release, or alerts of last
    # month could no longer be revealed.
    assert Pseudonyms(b"0123456789abcdef")("196903151996012001") == "p-zdcy4clsdihugjnf"


def test_settings_with_a_key_give_stable_pseudonyms() -> None:
    settings = Settings(pseudonym_key=SecretStr("k" * 32))
    names = Pseudonyms.from_settings(settings)
    assert names.stable
    assert names("x-123456") == Pseudonyms.required(settings)("x-123456")


def test_without_a_key_a_random_one_per_process_and_one_warning(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pseudonym, "_process_key", None)
    with caplog.at_level(logging.WARNING, logger="ingest.pseudonym"):
        one = Pseudonyms.from_settings(Settings())
        two = Pseudonyms.from_settings(Settings())
    assert not one.stable
    assert one("x-123456") == two("x-123456")
    [line] = [r.getMessage() for r in caplog.records]
    assert line.startswith("event=pseudonym_key_unset")
    assert "differ between workers and restarts" in line
    monkeypatch.setattr(pseudonym, "_process_key", None)
    assert Pseudonyms.from_settings(Settings())("x-123456") != one("x-123456")


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        (None, "Setting OCC_PSEUDONYM_KEY is not set"),
        ("s3cr3t", "Setting OCC_PSEUDONYM_KEY is too short: give it at least 16 characters"),
    ],
)
def test_a_missing_or_short_key_is_one_sentence(key: str | None, needle: str) -> None:
    settings = Settings(pseudonym_key=None if key is None else SecretStr(key))
    with pytest.raises(ConfigError) as raised:
        Pseudonyms.required(settings)
    message = str(raised.value)
    assert message.startswith(needle) and message.endswith(".") and "\n" not in message
    assert key is None or key not in message


@given(
    employee=st.text(min_size=1, max_size=40),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_a_dead_letter_payload_keeps_every_byte_but_the_employee_id(
    employee: str, before: str, after: str
) -> None:
    names = Pseudonyms(b"dead-letter-test-key-0001")
    body = {"event_id": before, "employee_id": employee, "note": after}
    payload = json.dumps(body).encode()
    cleaned = without_employee_id(payload, names)
    parsed = json.loads(cleaned)
    assert parsed == {**body, "employee_id": names(employee)}
    # Also in a payload that is not JSON as a whole (why it was dead-lettered).
    broken = b'{"employee_id": "E-1234", "ts": oops'
    assert without_employee_id(broken, names) == (
        b'{"employee_id": "' + names("E-1234").encode() + b'", "ts": oops'
    )
