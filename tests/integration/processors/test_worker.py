"""The occupancy worker on the real stack: MQTT → bridge → Kafka → worker → Kafka and MQTT."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from ingest.models import Alert, RoomState
from tests.support.kafka import read_topics
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import SESSION_CLOCK, clock_env
from tests.support.processes import Command

CLOCK = SESSION_CLOCK
ROOM = "f2-meeting-a"  # capacity 20; limit 10 at "transition", 20 at "normal"
QUALITY_ROOM = "f2-meeting-b"  # limit 6: the counts below never alert on capacity


def door(prefix: str, seq: int, entered: int, exited: int, room: str = ROOM) -> tuple[str, bytes]:
    body = {
        "seq": seq,
        "ts": CLOCK.now().isoformat(),
        "entered": entered,
        "exited": exited,
        "event_id": f"s{seq}",
    }
    return f"{prefix}/hq-jakarta/{room}/door/door-{room}", json.dumps(body).encode()


def latest_state(collector: Collector, prefix: str) -> RoomState | None:
    topic = f"{prefix}/hq-jakarta/{ROOM}/state"
    states = [RoomState.model_validate_json(p) for t, p, _ in collector.messages() if t == topic]
    return states[-1] if states else None


def alerts(collector: Collector, prefix: str, room: str = ROOM) -> list[Alert]:
    topic = f"{prefix}/hq-jakarta/alerts"
    sent = [Alert.model_validate_json(p) for t, p, _ in collector.messages() if t == topic]
    return [a for a in sent if a.room == room]


def test_counts_reach_kafka_and_retained_mqtt_and_follow_the_policy(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    prefix = f"t{tag}/occupancy"
    env = {
        **stack_env,
        "OCC_MQTT_PREFIX": prefix,
        "OCC_KAFKA_TOPIC_PREFIX": f"t{tag}",
        "OCC_BRIDGE_CLIENT_ID": f"bridge-{tag}",
        "OCC_WORKER_DATA_DIR": str(tmp_path / "worker"),
        "OCC_KAFKA_PARTITIONS": "3",
        **clock_env(CLOCK),
        # Resolve quickly once released, and re-check open alerts every second.
        "OCC_ALERT_MIN_DWELL_S": "1",
        "OCC_ALERT_TICK_S": "1",
    }
    collector = Collector(
        env["OCC_MQTT_URL"],
        [f"{prefix}/+/+/state", f"{prefix}/+/alerts", f"{prefix}/+/summary"],
        f"watch-{tag}",
    )
    bridge = Command(["bridge"], env, tmp_path / "bridge.log")
    worker = Command(["worker"], env, tmp_path / "worker.log")
    try:
        bridge.wait_for("event=mqtt_connected")
        worker.wait_for("[^Worker]: Ready", timeout=120)
        script = [
            door(prefix, 1, 4, 0),
            door(prefix, 2, 4, 0),
            door(prefix, 2, 4, 0),  # a QoS-1 redelivery: must change nothing
            door(prefix, 3, 0, 1),
            door(prefix, 4, 5, 0),
            # Another room: seq 2 goes missing, arrives late, then more leave than entered.
            door(prefix, 1, 1, 0, QUALITY_ROOM),
            door(prefix, 3, 1, 0, QUALITY_ROOM),
            door(prefix, 2, 1, 0, QUALITY_ROOM),
            door(prefix, 4, 0, 5, QUALITY_ROOM),
        ]
        publish(env["OCC_MQTT_URL"], script, f"pub-{tag}")

        def over(_: object) -> bool:
            state = latest_state(collector, prefix)
            return state is not None and state.count == 12

        collector.wait_for(over)
        state = latest_state(collector, prefix)
        assert state is not None, worker.output()[-3000:]
        assert (state.count, state.limit, state.capacity, state.free, state.status) == (
            12,
            10,
            20,
            0,
            "over",
        )

        # The building summary (retained) names the room over its limit.
        def summarised(_: object) -> bool:
            summary = f"{prefix}/hq-jakarta/summary"
            return any(
                t == summary and ROOM in json.loads(p)["rooms_over_limit"]
                for t, p, _ in collector.messages()
            )

        collector.wait_for(summarised)

        # Security acknowledges the critical alert over MQTT (through the bridge and Kafka).
        def critical(_: object) -> bool:
            return any(a.severity == "critical" for a in alerts(collector, prefix))

        collector.wait_for(critical)
        alert_id = next(a.alert_id for a in alerts(collector, prefix) if a.severity == "critical")
        ack = (f"{prefix}/hq-jakarta/alerts/{alert_id}/ack", json.dumps({"by": "guard-1"}).encode())
        publish(env["OCC_MQTT_URL"], [ack], f"ack-{tag}")

        def acked(_: object) -> bool:
            return any(a.ack is not None for a in alerts(collector, prefix))

        collector.wait_for(acked)

        result = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "policy", "set", "normal", "--by", "test"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr

        def rerated(_: object) -> bool:
            state = latest_state(collector, prefix)
            return state is not None and state.limit == 20

        collector.wait_for(rerated)
        state = latest_state(collector, prefix)
        assert state is not None
        assert (state.count, state.limit, state.free, state.status) == (12, 20, 8, "open")

        def resolved(_: object) -> bool:
            return any(a.state == "resolved" for a in alerts(collector, prefix))

        collector.wait_for(resolved, timeout=30)
        sent = alerts(collector, prefix)
        # warning at 8 of 10 (the warn ratio 0.8), critical at 12 of 10, acknowledged, and
        # once the new level makes it 12 of 20 and that held for the dwell, resolved (still
        # acknowledged): one alert id.
        assert [(a.severity, a.state, a.value, a.limit, a.ack and a.ack.by) for a in sent] == [
            ("warning", "active", 8, 10, None),
            ("critical", "active", 12, 10, None),
            ("critical", "active", 12, 10, "guard-1"),
            ("critical", "resolved", 12, 20, "guard-1"),
        ], worker.output()[-3000:]
        assert len({a.alert_id for a in sent}) == 1

        quality = alerts(collector, prefix, QUALITY_ROOM)
        assert [(a.kind, a.state, a.value) for a in quality] == [
            ("sequence_gap", "active", 1),
            ("sequence_gap", "resolved", 0),
            ("count_underflow", "active", 2),
        ], worker.output()[-3000:]
    finally:
        collector.close()
        assert bridge.terminate() == 0
        worker_status = worker.terminate()
    assert worker_status == 0, worker.output()[-3000:]

    # The room-state topic holds the same history; the alerts log the same alerts.
    records = read_topics(
        stack_env["OCC_KAFKA_BOOTSTRAP"], [f"t{tag}.room-state", f"t{tag}.alerts"]
    )
    states = [RoomState.model_validate_json(r.value) for r in records[f"t{tag}.room-state"]]
    history = [(s.count, s.limit) for s in states if s.room == ROOM]
    # States of one batch are coalesced to the room's latest, so the topic holds the true
    # states in their order with some intermediate ones skipped, never a state twice in a
    # row (the redelivered message changed nothing), and ends re-rated.
    true_states = [(4, 10), (8, 10), (7, 10), (12, 10), (12, 20)]
    assert history[-2:] == [(12, 10), (12, 20)]
    assert all(a != b for a, b in itertools.pairwise(history))
    positions = [true_states.index(h) for h in history]
    assert positions == sorted(positions)
    # The log is keyed by alert id, so its order holds per alert, not across alerts.
    logged = [Alert.model_validate_json(r.value) for r in records[f"t{tag}.alerts"]]
    for delivered in (sent, quality):
        for alert_id in {a.alert_id for a in delivered}:
            assert [(a.kind, a.state) for a in logged if a.alert_id == alert_id] == [
                (a.kind, a.state) for a in delivered if a.alert_id == alert_id
            ]
    assert len(logged) == len(sent) + len(quality)
    # A late subscriber (door signage after a reboot) gets the retained state at once.
    late = Collector(env["OCC_MQTT_URL"], [f"{prefix}/+/+/state"], f"late-{tag}")
    try:
        state_topic = f"{prefix}/hq-jakarta/{ROOM}/state"
        retained = late.wait_for(lambda m: any(t == state_topic for t, _, _ in m), timeout=10)
    finally:
        late.close()
    mine = [(p, r) for t, p, r in retained if t == state_topic]
    assert mine and mine[-1][1] is True
    assert RoomState.model_validate_json(mine[-1][0]).limit == 20
