"""Metrics from a running bridge and worker into the real InfluxDB, through an outage of it.

Counted, not sampled: every process logs what its writer produced, wrote and dropped when
it stops, and the database must hold exactly the points written.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from deploy.local.stack import Stack
from tests.support.influx import InfluxDb
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline, replay_clock

CLOCK = replay_clock()

ROOMS = ["f2-meeting-a", "f2-meeting-b", "f3-meeting-c"]
ALL_ROOMS = 19  # rooms of the sample site: each gets a heartbeat point


def _door(prefix: str, room: str, seq: int, entered: int, exited: int) -> tuple[str, bytes]:
    body = {
        "seq": seq,
        "ts": CLOCK.now().isoformat(),
        "entered": entered,
        "exited": exited,
    }
    return f"{prefix}/hq-jakarta/{room}/door/door-{room}", json.dumps(body).encode()


def _script(prefix: str, first_seq: int, rounds: int) -> tuple[list[tuple[str, bytes]], int]:
    """Each round: 2 in and 1 out per room; returns the messages and the people each adds."""
    messages = []
    seq = first_seq
    for _ in range(rounds):
        for room in ROOMS:
            messages.append(_door(prefix, room, seq, 2, 0))
            messages.append(_door(prefix, room, seq + 1, 0, 1))
        seq += 2
    return messages, rounds


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


def _writer_totals(log: str) -> dict[str, int]:
    line = [x for x in log.splitlines() if "event=metrics_writer_stopped" in x][-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def _points_in(db: InfluxDb) -> int:
    # Every point of each measurement carries one of these fields, and no point two of them.
    return sum(
        db.count(measurement, field)
        for measurement, field in [
            ("room_occupancy", "count"),
            ("alerts", "alert_id"),
            ("attendance", "planned_wfo"),
            ("pipeline", "events"),
            ("pipeline", "rejected"),
            ("pipeline", "buffered"),
        ]
    )


def test_metrics_survive_an_influxdb_outage_and_add_up(
    stack: Stack, stack_env: dict[str, str], tmp_path: Path
) -> None:
    db = InfluxDb(stack_env["OCC_INFLUX_URL"])
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        CLOCK,
        OCC_INFLUX_BUCKET=db.bucket,
        OCC_INFLUX_FLUSH_INTERVAL_MS="100",
        OCC_INFLUX_RETRY_MAX_S="1",
        OCC_METRICS_HEARTBEAT_S="1",
        OCC_METRICS_PIPELINE_S="1",
    )
    prefix = pipeline.prefix
    try:
        pipeline.bridge()
        pipeline.worker()
        before, rounds_1 = _script(prefix, 1, 5)
        publish(pipeline.mqtt_url, before, f"pub1-{pipeline.tag}")
        _until(
            lambda: (
                {
                    r["room"]
                    for r in db.rows('SELECT LAST("count") FROM room_occupancy GROUP BY room')
                }
                >= set(ROOMS)
            ),
            60,
            "room points in InfluxDB",
        )
        stack.stop_service("influxdb")
        try:
            during, rounds_2 = _script(prefix, 11, 5)
            publish(pipeline.mqtt_url, during, f"pub2-{pipeline.tag}")
            # The pipeline keeps counting while InfluxDB is away.
            expected = rounds_1 + rounds_2
            _until(
                lambda: (
                    all(
                        s.count == expected
                        for k, s in pipeline.room_states().items()
                        if k.split("/")[1] in ROOMS
                    )
                    and len(pipeline.room_states()) >= len(ROOMS)
                ),
                60,
                "room states with InfluxDB down",
            )
            time.sleep(3)  # heartbeats and pipeline points pile up in the buffers
        finally:
            stack.start_service("influxdb")
        after, rounds_3 = _script(prefix, 21, 2)
        publish(pipeline.mqtt_url, after, f"pub3-{pipeline.tag}")
        expected = rounds_1 + rounds_2 + rounds_3

        def caught_up() -> bool:
            rows = db.rows('SELECT LAST("count") FROM room_occupancy GROUP BY room')
            return {r["room"]: r["last"] for r in rows if r["room"] in ROOMS} == dict.fromkeys(
                ROOMS, expected
            )

        _until(caught_up, 60, "InfluxDB caught up with the last counts")
        statuses = pipeline.stop_all()
        assert set(statuses.values()) == {0}, statuses
        logs = {p.name: p.read_text() for p in tmp_path.glob("*.log")}
        totals = {name: _writer_totals(text) for name, text in logs.items()}
        for name, t in totals.items():
            assert t["left"] == 0, (name, t)
            assert t.get("rejected", 0) == 0, (name, t)
            assert t["written"] == t["produced"] - t.get("dropped", 0), (name, t)
        assert any(t.get("write_errors", 0) > 0 for t in totals.values()), totals
        assert _points_in(db) == sum(t["written"] for t in totals.values())
        # Every room of the site had a heartbeat, also the ones nobody walked into.
        rooms = db.rows('SELECT COUNT("count") FROM room_occupancy GROUP BY building, room')
        assert len(rooms) == ALL_ROOMS
        # The bridge and the worker counted the door events once each.
        events = db.rows("SELECT SUM(events) FROM pipeline GROUP BY component")
        by_component = {r["component"]: r["sum"] for r in events}
        door_events = len(before) + len(during) + len(after)
        assert by_component["bridge"] == door_events
        assert by_component["occupancy"] == door_events
        # Caught up at the end: nothing left behind in Kafka or in flight.
        lags = {
            r["component"]: r["last"]
            for r in db.rows("SELECT LAST(lag) FROM pipeline GROUP BY component")
        }
        # Attendance reports its lag too once its partitions were assigned in time.
        assert {"bridge", "occupancy"} <= lags.keys() <= {"bridge", "occupancy", "attendance"}
        assert set(lags.values()) == {0}, lags
    finally:
        pipeline.stop_all()
        db.drop()
