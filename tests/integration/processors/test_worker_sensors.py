"""A door sensor that goes silent raises `sensor_offline`; hearing from it again resolves it.

Through the real stack (MQTT → bridge → Kafka → worker → MQTT), with a short silence limit.
"""

from __future__ import annotations

import json
from pathlib import Path

from ingest.models import Alert
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline, replay_clock

CLOCK = replay_clock()
ROOM = "f3-server"
SENSOR = "door-f3-server"
OTHER_ROOM = "f3-meeting-c"  # heard from once at the start, silent after: offline too


def door(prefix: str, room: str, seq: int) -> tuple[str, bytes]:
    body = {"seq": seq, "ts": CLOCK.now().isoformat(), "entered": 0, "exited": 0}
    return f"{prefix}/hq-jakarta/{room}/door/door-{room}", json.dumps(body).encode()


def test_a_silent_sensor_goes_offline_and_comes_back(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        CLOCK,
        OCC_SENSOR_OFFLINE_AFTER_S="3",
        OCC_ALERT_TICK_S="0.5",
    )
    collector = Collector(pipeline.mqtt_url, [f"{pipeline.prefix}/+/alerts"], f"w-{pipeline.tag}")

    def offline_alerts(room: str) -> list[tuple[str, float | None]]:
        sent = [Alert.model_validate_json(p) for _, p, _ in collector.messages()]
        return [(a.state, a.value) for a in sent if a.kind == "sensor_offline" and a.room == room]

    try:
        pipeline.bridge()
        pipeline.worker()
        publish(pipeline.mqtt_url, [door(pipeline.prefix, ROOM, 1)], f"p1-{pipeline.tag}")
        publish(pipeline.mqtt_url, [door(pipeline.prefix, OTHER_ROOM, 1)], f"p2-{pipeline.tag}")
        # Heartbeats (entered = exited = 0) from one sensor keep it online.
        for seq in range(2, 6):
            collector.wait_for(lambda _: False, timeout=1)
            publish(pipeline.mqtt_url, [door(pipeline.prefix, ROOM, seq)], f"p{seq}-{pipeline.tag}")
        collector.wait_for(lambda _: bool(offline_alerts(OTHER_ROOM)), timeout=30)
        assert offline_alerts(ROOM) == []
        assert offline_alerts(OTHER_ROOM) == [("active", 1)]

        collector.wait_for(lambda _: bool(offline_alerts(ROOM)), timeout=30)
        assert offline_alerts(ROOM) == [("active", 1)]
        publish(pipeline.mqtt_url, [door(pipeline.prefix, ROOM, 6)], f"p6-{pipeline.tag}")
        collector.wait_for(lambda _: len(offline_alerts(ROOM)) == 2, timeout=30)
        assert offline_alerts(ROOM) == [("active", 1), ("resolved", 0)]
        assert offline_alerts(OTHER_ROOM) == [("active", 1)]  # still silent: still open
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert set(statuses.values()) == {0}, statuses
