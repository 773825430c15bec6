"""Hostile input: a corpus of attacks and broken devices, and fuzzing of every parser.

Every message is rejected with one of the documented reasons (and a one-line detail) or
accepted and handled; the settings, site and roster loaders fail only with a ConfigError
of one sentence naming the variable or the file; metric lines round-trip through line
protocol, checked with InfluxDB's own parsing rules here and against the real InfluxDB of
the stack; and the corpus goes through the real Mosquitto and a running bridge.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.errors import ConfigError, PayloadRejected
from ingest.logs import kv
from ingest.metrics import line
from ingest.models import (
    DEAD_LETTER_PAYLOAD_BYTES,
    IDENTIFIER_PATTERN,
    AckRecord,
    CheckinRecord,
    DeadLetter,
    DoorRecord,
)
from ingest.roster import load_roster
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site
from ingest.topics import parse_topic
from ingest.validation import REASONS, Validator
from tests.conftest import SAMPLE_SITE
from tests.support.corpus import Hostile, hostile_corpus
from tests.support.influx import InfluxDb
from tests.support.strategies import (
    NOW,
    contract_shaped,
    every_character,
    hostile_payloads,
    hostile_text,
    hostile_topics,
    identifiers,
)

IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
DOOR = "occupancy/hq-jakarta/f2-meeting-a/door/door-f2-meeting-a"
KIOSK = "occupancy/hq-jakarta/kiosk/kiosk-main"
ACK = "occupancy/hq-jakarta/alerts/a-1/ack"
CORPUS = hostile_corpus("occupancy", NOW, "h")
RECORDS: dict[str, type[DoorRecord | CheckinRecord | AckRecord]] = {
    "door": DoorRecord,
    "checkin": CheckinRecord,
    "alert-ack": AckRecord,
}

# Session fixtures are never mutated, so sharing them across examples is safe; examples
# are kept moderate so the file runs in well under a minute.
fuzz = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
fuzz_files = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_explained(rejected: PayloadRejected) -> None:
    """A documented reason, and a detail of one printable line."""
    assert rejected.reason in REASONS, rejected.reason
    assert rejected.detail and rejected.detail.isprintable(), repr(rejected.detail)


def assert_sound(record: DoorRecord | CheckinRecord | AckRecord) -> None:
    """What the bridge forwards: identifiers only where the contract says so, and JSON
    that every consumer reads back as the same record."""
    ids = ("building", "room", "sensor", "kiosk", "employee_id", "event_id", "alert_id")
    for name in ids:
        value = getattr(record, name, None)
        assert value is None or IDENTIFIER.fullmatch(value), (name, value)
    assert type(record).model_validate_json(record.model_dump_json()) == record


# --- the corpus against the validator -----------------------------------------------------


def test_corpus_covers_every_reason_and_acceptance() -> None:
    assert {c.reason for c in CORPUS if c.reason} == set(REASONS)
    assert {c.lands for c in CORPUS if c.lands} == set(RECORDS)
    assert len({c.name for c in CORPUS}) == len(CORPUS), "names are unique"
    assert len({(c.topic, c.payload) for c in CORPUS}) == len(CORPUS), "messages are unique"
    assert all((c.reason is None) != (c.lands is None) for c in CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_message_is_rejected_with_its_reason_or_handled(
    validator: Validator, case: Hostile
) -> None:
    try:
        record = validator.validate(case.topic, case.payload, NOW)
    except PayloadRejected as rejected:
        assert rejected.reason == case.reason, rejected.detail
        assert_explained(rejected)
        return
    assert case.lands is not None, f"accepted, but {case.reason} was expected"
    assert isinstance(record, RECORDS[case.lands])
    found = record.alert_id if isinstance(record, AckRecord) else record.event_id
    assert found == case.event
    assert_sound(record)


def test_the_last_of_duplicate_keys_counts(validator: Validator) -> None:
    by_name = {c.name: c for c in CORPUS}
    door = validator.validate(by_name["dup-seq"].topic, by_name["dup-seq"].payload, NOW)
    ack = validator.validate(by_name["dup-by"].topic, by_name["dup-by"].payload, NOW)
    assert isinstance(door, DoorRecord) and door.seq == 5
    assert isinstance(ack, AckRecord) and ack.by == "second"
    # What goes on carries the one value only: no consumer can read the other.
    assert '"seq":-1' not in door.model_dump_json()
    assert "first" not in ack.model_dump_json()


def test_free_text_is_kept_verbatim(validator: Validator) -> None:
    free = [c for c in CORPUS if c.name.startswith("by-") and c.lands]
    assert len(free) >= 6
    for case in free:
        record = validator.validate(case.topic, case.payload, NOW)
        assert isinstance(record, AckRecord)
        assert record.by == json.loads(case.payload)["by"]


def test_a_megabyte_dead_letter_still_fits_a_kafka_record(validator: Validator) -> None:
    megabyte = next(c for c in CORPUS if c.name == "megabyte")
    with pytest.raises(PayloadRejected) as caught:
        validator.validate(megabyte.topic, megabyte.payload, NOW)
    assert caught.value.detail.endswith(f"the dead letter keeps its first {64 * 1024}")
    letter = DeadLetter.of(megabyte.topic, megabyte.payload, "too_large", "x", NOW)
    # Kafka's default limit is 1 MB a record: a whole megabyte in base64 never got there.
    assert len(letter.model_dump_json()) < 100_000
    assert letter.payload == megabyte.payload[:DEAD_LETTER_PAYLOAD_BYTES]


# --- fuzzing the validator and the topic grammar ------------------------------------------


@fuzz
@given(
    topic=hostile_topics("occupancy") | st.sampled_from([DOOR, KIOSK, ACK]),
    payload=hostile_payloads,
)
def test_any_bytes_on_any_topic_are_rejected_with_a_reason_or_handled(
    validator: Validator, topic: str, payload: bytes
) -> None:
    try:
        record = validator.validate(topic, payload, NOW)
    except PayloadRejected as rejected:
        assert_explained(rejected)
    else:
        assert_sound(record)


@fuzz
@given(payload=contract_shaped)
def test_contract_shaped_json_is_rejected_with_a_reason_or_handled(
    validator: Validator, payload: str
) -> None:
    raw = payload.encode("utf-8", "surrogatepass")
    for topic in (DOOR, KIOSK, ACK):
        try:
            record = validator.validate(topic, raw, NOW)
        except PayloadRejected as rejected:
            assert_explained(rejected)
        else:
            assert_sound(record)
            assert record.received_at == NOW and record.ts - NOW <= timedelta(minutes=5)


prefixes = st.lists(identifiers, min_size=1, max_size=3).map("/".join)


@fuzz
@given(
    prefix=prefixes | st.text(every_character, max_size=12),
    topic=st.text(every_character) | hostile_topics("occupancy"),
)
def test_parse_topic_names_a_place_or_says_why_not(prefix: str, topic: str) -> None:
    try:
        parsed = parse_topic(prefix, topic)
    except PayloadRejected as rejected:
        assert rejected.reason in {"unknown_topic", "bad_identifier"}
        assert rejected.detail.isprintable()
        return
    assert parsed.format(prefix) == topic
    # Whatever a topic names is made of identifiers: no separator, wildcard or NUL in it.
    assert all(IDENTIFIER.fullmatch(part) for part in dataclasses.astuple(parsed))


# --- settings from hostile environments ---------------------------------------------------

URL_VARIABLES = {
    "mqtt_url": "OCC_MQTT_URL",
    "kafka_bootstrap": "OCC_KAFKA_BOOTSTRAP",
    "influx_url": "OCC_INFLUX_URL",
    "grafana_url": "OCC_GRAFANA_URL",
}
passwords = st.from_regex(r"\AZq[0-9]{6}\Z")
HOSTS = (
    *("127.0.0.1", "localhost", "[::1]", "[::1", "::1", "[", "]", "", "a..b", "-", "h\x7f"),
    *("\u00fc.example", "x" * 70, "%00", "host name", "h@h", "h:1:2", "h/", "h?#"),
)
PORTS = (
    *("", ":", ":0", ":1883", ":65535", ":65536", ":99999", ":-1", ":\uff11\uff12", ":1e3"),
    *(":0x50", ": 80", ":80:80", ":8O"),
)
hosts = st.sampled_from(HOSTS) | hostile_text
ports = st.sampled_from(PORTS) | st.integers().map(lambda n: f":{n}")
userinfo = st.just("") | st.builds(lambda u, p: f"{u}:{p}@", identifiers | hostile_text, passwords)
url_values = st.builds(
    lambda scheme, user, host, port, rest: f"{scheme}://{user}{host}{port}{rest}",
    st.sampled_from(["mqtt", "mqtts", "http", "https", "kafka", "", "MQTT", "file"]),
    userinfo,
    hosts,
    ports,
    st.sampled_from(["", "/", "/x?y#z", "\n", "#@", "\t"]),
) | st.text(every_character)
bootstrap_values = (
    st.lists(st.builds(lambda h, p: f"{h}{p}", hosts, ports), min_size=1, max_size=3).map(",".join)
    | url_values
)


def _env_safe(value: str) -> bool:
    # An environment variable cannot hold NUL, nor what the file system encoding cannot.
    try:
        os.fsencode(value)
    except UnicodeError:
        return False
    return "\x00" not in value


@contextlib.contextmanager
def only_env(variables: dict[str, str]) -> Iterator[None]:
    """The process environment with no OCC_* variable but `variables`, for a moment."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("OCC_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(variables)
    try:
        yield
    finally:
        for key in variables:
            os.environ.pop(key, None)
        os.environ.update(saved)


def _usable_port(text: str | None) -> bool:
    return text is not None and text.isascii() and text.isdigit() and 0 < int(text) < 65536


def assert_usable(settings_: Settings, field: str) -> None:
    """An accepted address is one the socket library takes: an IDNA-encodable host and a
    port it can connect to (else the bridge would die on a UnicodeError or OverflowError
    that no connection retry catches)."""
    if field == "kafka_bootstrap":
        for server in settings_.kafka_bootstrap.split(","):
            name, _, number = server.strip().rpartition(":")
            assert name and _usable_port(number), server
            assert not any(c in name for c in "/@ "), server
            name.encode("idna")
        return
    if field == "mqtt_url":
        address = settings_.mqtt
        host, port = address.host, address.port
    else:
        url = settings_.influx_url if field == "influx_url" else settings_.grafana_url
        assert url is not None
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
    assert host and 0 <= port < 65536
    host.encode("idna")


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(URL_VARIABLES)), data=st.data())
def test_url_settings_load_usable_or_fail_with_one_sentence(
    field: str, data: st.DataObject
) -> None:
    values = bootstrap_values if field == "kafka_bootstrap" else url_values
    value = data.draw(values.filter(_env_safe), label="value")
    variable = URL_VARIABLES[field]
    with only_env({variable: value}):
        try:
            loaded = load_settings()
        except ConfigError as exc:
            message = str(exc)
            assert message.startswith(f"Setting {variable} is invalid: "), message
            assert message.endswith(".") and message.isprintable(), message
            password = re.search(r":(Zq[0-9]{6})@", value)
            if password and value.count(password.group(1)) == 1:
                assert password.group(1) not in message, "a password is never echoed"
            return
    assert_usable(loaded, field)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OCC_MQTT_URL", "mqtt://user:Zq123456@[bad"),
        ("OCC_INFLUX_URL", "http://user:Zq123456@[::1"),
        ("OCC_GRAFANA_URL", "http://[:Zq123456@[::1]"),
        ("OCC_MQTT_URL", "user:Zq123456@host:1883"),
        ("OCC_KAFKA_BOOTSTRAP", "mqtt://user:Zq123456@[bad"),
        ("OCC_KAFKA_BOOTSTRAP", "127.0.0.1:99999"),
        ("OCC_KAFKA_BOOTSTRAP", "127.0.0.1:\uff19\uff10\uff19\uff12"),
        ("OCC_KAFKA_BOOTSTRAP", "a..b:9092"),
        ("OCC_MQTT_URL", "mqtt://a..b:1883"),
        ("OCC_MQTT_URL", f"mqtt://{'x' * 64}.example"),
        ("OCC_GRAFANA_URL", "http://a..b"),
    ],
)
def test_unusable_addresses_are_config_errors(variable: str, value: str) -> None:
    with only_env({variable: value}), pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"Setting {variable} is invalid: ") and message.endswith(".")
    assert "Zq123456" not in message


# --- site and roster files ----------------------------------------------------------------

# Nesting deep enough to exhaust Python's stack costs a second per example (PyYAML gets
# there slowly): the fuzzing nests less, the table below exhausts it once per form.
YAML_INSULTS = (
    "[" * 150,
    "{a: " * 150,
    "- " * 150 + "x",
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 2\n",
    "x: 2026-02-30\n",
    "x: 2026-13-45\n",
    "x: !!int abc\n",
    "x: !!float abc\n",
    "x: !!bool abc\n",
    "x: !!timestamp abc\n",
    "x: !!binary '@@'\n",
    "x: !!python/object/apply:os.system [echo]\n",
    "x: !!set {a, b}\n",
    "x: !!omap [a]\n",
    "x: !!str [1]\n",
    "a: &a [*a]\n",
    "a: &a {b: *a}\n",
    "b: *nowhere\n",
    "<<: {a: 1}\n",
    "%YAML 1.3\n---\n",
    "---\n---\n",
    "x: \x00\n",
    "x: \x1b[31m\n",
    "\ufeffx: 1\n",
    "\t- a\n",
    "x: 'unterminated\n",
    "x: |\n bad\n  indent\n",
    "x: 1e999\n",
    "x: .nan\n",
    "x: 0x\n",
    "x: 99999999999999999999999999999999\n",
    "id: ../../etc/passwd\n",
    "id: a,b=c d=1\n",
    "timezone: ../../../etc/localtime\n",
    "timezone: /etc/localtime\n",
    "timezone: \x00\n",
    "name: " + "n" * 5000 + "\n",
    "employees_csv: " + "c" * 300 + "\n",
    "employees_csv: /etc/passwd\n",
    "employees_csv: ../../../../../../etc/passwd\n",
    "employees_csv: .\n",
    "employees_csv: '\\x00'\n",
)
LAUGHS = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)
)
SITE_TEXT = SAMPLE_SITE.read_text(encoding="utf-8")
ROSTER_TEXT = """\
units: [{id: u1}]
groups:
  - {id: A, office_days: [mon], start_window: "07:00-09:00", required_hours: 8}
holidays: [2026-12-25]
employees:
  - {id: e1, unit: u1, group: A, building: hq-jakarta}
employees_csv: staff.csv
"""


@st.composite
def insulted(draw: st.DrawFn, text: str) -> str:
    """`text` with a piece of hostile YAML put in at a line, indented at random, in place
    of up to three lines."""
    lines = text.splitlines(keepends=True)
    at = draw(st.integers(0, len(lines)))
    gone = draw(st.integers(0, 3))
    insult = draw(st.sampled_from(YAML_INSULTS) | hostile_text.map(lambda t: t + "\n"))
    indent = " " * draw(st.sampled_from([0, 2, 4, 6, 8]))
    return "".join([*lines[:at], indent + insult, *lines[at + gone :]])


yaml_texts = st.one_of(
    insulted(SITE_TEXT),
    st.text(every_character, max_size=200),
    st.sampled_from([*YAML_INSULTS, LAUGHS]),
)


def write_text(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    return path


def assert_one_sentence_naming(message: str, *files: Path) -> None:
    assert message.startswith(tuple(str(f) for f in files)), message[:300]
    assert message.endswith(".") and message.isprintable(), message[:300]


@fuzz_files
@given(text=yaml_texts)
def test_any_site_file_loads_or_fails_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = write_text(tmp_path_factory.mktemp("site"), "site.yaml", text)
    try:
        site = load_site(path)
    except ConfigError as exc:
        assert_one_sentence_naming(str(exc), path)
    else:
        assert isinstance(site, Site) and site.buildings


csv_texts = st.sampled_from(
    ["id,unit,group,building\ne2,u1,A,hq-jakarta\n", "\x00", "id,unit\n" + "x," * 100_000]
) | st.text(every_character, max_size=120)


@fuzz_files
@given(text=insulted(ROSTER_TEXT) | yaml_texts, csv_text=csv_texts)
def test_any_roster_loads_or_fails_naming_the_file(
    tmp_path_factory: pytest.TempPathFactory, sample_site: Site, text: str, csv_text: str
) -> None:
    folder = tmp_path_factory.mktemp("roster")
    path = write_text(folder, "roster.yaml", text)
    csv_path = write_text(folder, "staff.csv", csv_text)
    try:
        roster = load_roster(path, sample_site)
    except ConfigError as exc:
        message = str(exc)
        if not message.startswith((str(path), str(csv_path))):
            # The roster named another CSV (/etc/passwd, say): the message names that one.
            assert "employees_csv" in text and message.startswith("/"), message
        assert message.endswith(".") and message.isprintable(), message[:300]
    else:
        assert roster.employees


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[" * 5000, "nested too deeply"),
        ("x: " + "{a: " * 3000, "nested too deeply"),
        ("- " * 3000 + "x", "nested too deeply"),
        ("? [a, b]\n: 1\n", "not valid YAML"),
        ("policy: {? {a: 1} : 2}\n", "not valid YAML"),
        ("policy: 2026-02-30\n", "not valid YAML (day is out of range for month)"),
        ("x: !!int abc\n", "not valid YAML"),
        ("x: !!bool abc\n", "not valid YAML"),
        ("x: !!timestamp abc\n", "not valid YAML"),
        ("a: &a [*a]\n", "its aliases expand it beyond"),
        ("x: \x00\n", "not valid YAML (unacceptable character #x0000"),
    ],
    ids=[
        "deep-flow-sequence",
        "deep-flow-mapping",
        "deep-block-sequence",
        "list-key",
        "mapping-key",
        "february-30",
        "bad-int",
        "bad-bool",
        "bad-timestamp",
        "self-alias",
        "nul",
    ],
)
def test_yaml_that_crashed_the_loader_is_a_config_error(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write_text(tmp_path, "site.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert_one_sentence_naming(str(caught.value), path)
    assert problem in str(caught.value)


def test_alias_bombs_are_refused_quickly(tmp_path: Path) -> None:
    # A billion laughs: 10**9 leaves in a 400-byte file, if every alias were expanded.
    path = write_text(tmp_path, "site.yaml", LAUGHS)
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    assert time.monotonic() - started < 2
    assert_one_sentence_naming(str(caught.value), path)


def test_an_employee_csv_name_too_long_for_the_file_system(
    tmp_path: Path, sample_site: Site
) -> None:
    text = ROSTER_TEXT.replace("staff.csv", "c" * 300)
    path = write_text(tmp_path, "roster.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_roster(path, sample_site)
    assert_one_sentence_naming(str(caught.value), path)
    assert "employees_csv" in str(caught.value)


# --- metric lines -------------------------------------------------------------------------

REPLACEMENT = "\ufffd"


def carried(text: str) -> str:
    """What line protocol carries of a string value: all of it but line feeds (and lone
    surrogates, which are not UTF-8), which become U+FFFD."""
    return re.sub("[\n\ud800-\udfff]", REPLACEMENT, text)


def carried_tag(text: str) -> str:
    """Of a tag value, also not a backslash at its end (it would escape the separator)."""
    out = carried(text)
    return out[:-1] + REPLACEMENT if out.endswith("\\") else out


def _scan(buf: bytes, i: int, stops: bytes) -> int:
    # InfluxDB (models/points.go): a byte is escaped when the byte before it is a backslash.
    start = i
    while i < len(buf) and not (buf[i] in stops and (i == start or buf[i - 1] != 0x5C)):
        i += 1
    return i


def _unescape(raw: bytes, chars: bytes) -> str:
    for char in chars:
        raw = raw.replace(b"\\" + bytes([char]), bytes([char]))
    return raw.decode()


def parse_line(text: str) -> tuple[str, dict[str, str], dict[str, Any], int]:
    """A point in line protocol as InfluxDB 1.x/2.x reads it (its scanning and unescaping
    rules, not influxdb-client's), independent of the code under test."""
    buf = text.encode()
    assert b"\n" not in buf, "one point, one line"
    end = _scan(buf, 0, b", ")
    measurement = _unescape(buf[:end], b", ")
    tags: dict[str, str] = {}
    i = end
    while buf[i : i + 1] == b",":
        key_end = _scan(buf, i + 1, b"=, ")
        assert buf[key_end : key_end + 1] == b"=", text
        value_end = _scan(buf, key_end + 1, b"=, ")
        assert buf[value_end : value_end + 1] in (b",", b" "), text
        tags[_unescape(buf[i + 1 : key_end], b",= ")] = _unescape(
            buf[key_end + 1 : value_end], b",= "
        )
        i = value_end
    assert buf[i : i + 1] == b" ", text
    fields: dict[str, Any] = {}
    i += 1
    while True:
        key_end = _scan(buf, i, b"=")
        key = _unescape(buf[i:key_end], b",= ")
        i = key_end + 1
        if buf[i : i + 1] == b'"':
            out, i = bytearray(), i + 1
            while buf[i] != 0x22:
                if buf[i] == 0x5C and buf[i + 1] in b'\\"':
                    i += 1
                out.append(buf[i])
                i += 1
            fields[key], i = out.decode(), i + 1
        else:
            value_end = _scan(buf, i, b", ")
            fields[key], i = _number(buf[i:value_end].decode()), value_end
        if buf[i : i + 1] != b",":
            break
        i += 1
    assert buf[i : i + 1] == b" ", text
    return measurement, tags, fields, int(buf[i + 1 :])


def _number(raw: str) -> int | float | bool:
    if raw in ("true", "false"):
        return raw == "true"
    return int(raw[:-1]) if raw.endswith("i") else float(raw)


tag_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_-., =", min_size=1, max_size=8).filter(
    lambda k: not k.startswith((" ", ",", "="))
)
free_strings = st.text(every_character, max_size=30) | hostile_text


@fuzz
@given(
    tags=st.dictionaries(tag_keys, free_strings, max_size=4),
    texts=st.dictionaries(tag_keys, free_strings, max_size=3),
    numbers=st.dictionaries(
        tag_keys, st.integers(-(2**63), 2**63 - 1) | st.floats() | st.booleans(), max_size=3
    ),
    at=st.datetimes(datetime(1678, 1, 1), datetime(2262, 1, 1), timezones=st.just(UTC)),
)
def test_line_protocol_round_trips_any_tag_and_field(
    tags: dict[str, str],
    texts: dict[str, str],
    numbers: dict[str, int | float | bool],
    at: datetime,
) -> None:
    fields: dict[str, int | float | bool | str] = {**numbers, **texts, "n": 1}
    text = line("m,x y=z", tags, fields, at)
    measurement, got_tags, got_fields, ns = parse_line(text)
    assert measurement == "m,x y=z"
    assert got_tags == {k: carried_tag(v) for k, v in tags.items() if v}
    expected: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, str):
            expected[key] = carried(value)
        elif not (isinstance(value, float) and not math.isfinite(value)):
            expected[key] = value  # non-finite floats are left out
    assert got_fields == expected
    assert ns == (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


def test_line_protocol_escapes_what_is_known_to_break_it() -> None:
    at = datetime(2026, 11, 27, tzinfo=UTC)
    text = line(
        "alerts",
        {"building": "a,b=c d=1", "room": "x\\", "kind": "a\nb\tc\rd"},
        {"alert_id": 'say "hi"\n', "value": 1.0},
        at,
    )
    assert parse_line(text) == (
        "alerts",
        {"building": "a,b=c d=1", "room": f"x{REPLACEMENT}", "kind": f"a{REPLACEMENT}b\tc\rd"},
        {"alert_id": f'say "hi"{REPLACEMENT}', "value": 1.0},
        int(at.timestamp()) * 10**9,
    )


HOSTILE_VALUES = [
    "a,b=c d=1",
    'x"y',
    "'; DROP MEASUREMENT probe; --",
    '" ; DROP MEASUREMENT "probe',
    "a\\ b",
    "a\\,b",
    "a\\=b",
    "a\\\\b",
    '\\"',
    "tab\there",
    "cr\rhere",
    "nul\x00here",
    "#comment",
    " lead",
    "trail ",
    "=",
    "\u00e9\u202e\u2028\U0001f600",
    "line\nfeed",
    "ends\\",
]


@pytest.fixture
def influx(stack_env: dict[str, str]) -> Iterator[InfluxDb]:
    db = InfluxDb(stack_env["OCC_INFLUX_URL"])
    yield db
    db.drop()


# --- log lines ----------------------------------------------------------------------------

_KV = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


@fuzz
@given(values=st.lists(st.text(every_character, max_size=20) | hostile_text, max_size=4))
def test_a_log_line_is_one_line_and_no_value_forges_a_field(values: list[str]) -> None:
    fields = {f"k{i}": value for i, value in enumerate(values)}
    text = kv("alert_acknowledged", **fields)
    assert text.isprintable(), "one line: no line break, no control character"
    found = _KV.findall(text)
    assert [k for k, _ in found] == ["event", *fields], text


def test_an_ack_cannot_forge_a_log_line() -> None:
    forged = "guard\nevent=alert_acknowledged alert_id=a-2 by=admin"
    text = kv("alert_acknowledged", alert_id="a-1", by=forged)
    assert text == (
        'event=alert_acknowledged alert_id=a-1 by="guard\\nevent=alert_acknowledged '
        'alert_id=a-2 by=admin"'
    )


# --- through the real Mosquitto and bridge ------------------------------------------------


def _publishable(topic: str, filters: list[str]) -> bool:
    """MQTT refuses wildcards and NUL in a topic one publishes to; Mosquitto disconnects a
    client that sends control characters. The bridge sees only what its filters match."""
    if any(c in topic for c in "+#") or not topic.isprintable():
        return False
    levels = topic.split("/")
    for pattern in filters:
        wanted = pattern.split("/")
        if len(wanted) == len(levels) and all(
            w in ("+", lv) for w, lv in zip(wanted, levels, strict=True)
        ):
            return True
    return False
