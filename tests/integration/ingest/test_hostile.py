"""The hostile corpus through the real services: Mosquitto and a running bridge, and InfluxDB."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.metrics import MetricsWriter
from ingest.models import (
    DEAD_LETTER_PAYLOAD_BYTES,
    AckRecord,
    DeadLetter,
)
from ingest.pseudonym import Pseudonyms, without_employee_id
from ingest.settings import Settings
from ingest.topics import Wildcards
from ingest.validation import REASONS
from tests.support.corpus import hostile_corpus
from tests.support.influx import InfluxDb
from tests.support.kafka import read_topics, wait_for_counts
from tests.support.mqtt import fits_broker, prepare_session, publish
from tests.support.pipeline import Pipeline
from tests.unit.ingest.test_hostile import (
    HOSTILE_VALUES,
    RECORDS,
    _publishable,
    carried,
    carried_tag,
    influx,  # noqa: F401 - a fixture
)


def test_hostile_tags_and_fields_come_back_from_influxdb_as_written(
    stack_env: dict[str, str], influx: InfluxDb
) -> None:
    rng = random.Random(7)
    alphabet = " ,=\"\\'#\t\r\x00\n=\u00e9\u2028" + "abc"
    values = HOSTILE_VALUES + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))) for _ in range(200)
    ]
    writer = MetricsWriter(
        Settings(
            influx_url=stack_env["OCC_INFLUX_URL"],
            influx_token=stack_env["OCC_INFLUX_TOKEN"],
            influx_bucket=influx.bucket,
            influx_flush_interval_ms=50,
        ),
        "hostile",
    )
    t0 = datetime(2026, 11, 27, tzinfo=UTC)
    try:
        for i, value in enumerate(values):
            tags = {"tag": value, "i": str(i)}
            writer.write("probe", tags, {"text": value, "i": i}, t0 + timedelta(seconds=i))
    finally:
        assert writer.close(timeout_s=30)
    assert writer.totals["written"] == len(values) and not writer.totals["rejected"]
    rows = {row["i"]: row for row in influx.rows('SELECT * FROM "probe"')}
    assert len(rows) == len(values)
    for i, value in enumerate(values):
        assert (rows[i]["tag"], rows[i]["text"]) == (carried_tag(value), carried(value)), value
    for i, value in enumerate(HOSTILE_VALUES[:-2]):
        assert rows[i]["tag"] == rows[i]["text"] == value


KEY = "a-test-key-for-pseudonyms-0123456789"


def _kept(payload: bytes) -> bytes:
    """What a dead letter keeps of a payload: an employee id only as its pseudonym, the rest
    as it came, up to its size limit."""
    return without_employee_id(payload, Pseudonyms(KEY.encode()))[:DEAD_LETTER_PAYLOAD_BYTES]


def test_the_corpus_through_mosquitto_and_the_bridge(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = Pipeline(stack_env, tmp_path, OCC_PSEUDONYM_KEY=KEY)
    wildcards = Wildcards(pipeline.prefix)
    filters = [wildcards.doors, wildcards.kiosks, wildcards.acks]
    now = pipeline.now()
    # Payloads over the broker's packet limit are refused by Mosquitto itself; the validator
    # meets them in tests/unit/ingest/test_hostile.py.
    cases = [
        c
        for c in hostile_corpus(pipeline.prefix, now, pipeline.tag)
        if _publishable(c.topic, filters) and fits_broker(c.topic, c.payload)
    ]
    invalid = [c for c in cases if c.reason]
    assert len(cases) >= 100 and {c.reason for c in invalid} == set(REASONS)
    # The bridge's session exists before the first message, as after its first start.
    prepare_session(pipeline.mqtt_url, f"bridge-{pipeline.tag}", filters)
    topics = {name: f"{pipeline.topics}.{name}" for name in ("door", "checkin", "alert-ack")}
    deadletter = f"{pipeline.topics}.deadletter"
    everything = [*topics.values(), deadletter]
    accepted = Counter(c.lands for c in cases if c.lands)
    started = time.monotonic()
    bridge = pipeline.bridge()
    try:
        publish(pipeline.mqtt_url, [(c.topic, c.payload) for c in cases], f"pub-{pipeline.tag}")

        def arrived(counts: dict[str, int]) -> bool:
            return counts[deadletter] >= len(invalid) and all(
                counts[topics[lands]] >= n for lands, n in accepted.items()
            )

        wait_for_counts(pipeline.bootstrap, everything, arrived, timeout=60)
        # Still alive, and still forwarding: one plain door event after the storm.
        assert bridge.process.poll() is None
        after = f"{pipeline.tag}-after-the-storm"
        door = f"{pipeline.prefix}/hq-jakarta/f2-meeting-a/door/door-f2-meeting-a"
        body = {"seq": 2, "ts": pipeline.now().isoformat(), "entered": 1, "exited": 0}
        publish(
            pipeline.mqtt_url,
            [(door, json.dumps({**body, "event_id": after}).encode())],
            f"pub-{pipeline.tag}-after",
        )
        wait_for_counts(
            pipeline.bootstrap,
            [topics["door"]],
            lambda c: c[topics["door"]] >= accepted["door"] + 1,
            timeout=30,
        )
    finally:
        status = pipeline.stop_all()
    elapsed = time.monotonic() - started
    assert set(status.values()) == {0}, bridge.output()[-3000:]
    assert "Traceback" not in bridge.output() and "validator_crashed" not in bridge.output()

    records = read_topics(pipeline.bootstrap, everything)
    letters = [DeadLetter.model_validate_json(r.value) for r in records[deadletter]]
    by_message = Counter((letter.topic, letter.payload) for letter in letters)
    for case in invalid:
        assert by_message[(case.topic, _kept(case.payload))] == 1, case.name
    assert len(letters) == len(invalid), "nothing else dead-lettered, nothing twice"
    reasons = {(letter.topic, letter.payload): letter for letter in letters}
    for case in invalid:
        letter = reasons[(case.topic, _kept(case.payload))]
        assert letter.reason == case.reason, (case.name, letter.detail)
        assert letter.detail and letter.detail.isprintable()

    forwarded: Counter[str | None] = Counter()
    for lands, topic in topics.items():
        for record in records[topic]:
            parsed = RECORDS[lands].model_validate_json(record.value)
            forwarded[parsed.alert_id if isinstance(parsed, AckRecord) else parsed.event_id] += 1
    expected = Counter(c.event for c in cases if c.lands) + Counter([after])
    assert forwarded == expected, "every accepted message exactly once, nothing else"
    assert elapsed < 60, f"took {elapsed:.0f} s"
