"""Limits at runtime on the real stack: a room's limit override and a building's own policy
level, set with `occupancy limit set` and `occupancy policy set --building`, re-rate the
rooms at once, survive a worker's restart and a rebalance onto another worker, clear back
to the site file's limit, and are audited."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.audit import AuditRecord
from ingest.models import RoomState
from tests.integration.processors.test_worker import door
from tests.support.kafka import read_topics
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HQ = "hq-jakarta"
ROOM = "f2-meeting-a"  # capacity 20: limit 10 at the sample's "transition"
OTHER = "f3-work-it"  # capacity 24: limit 12 at "transition", 6 at "strict"


def occupancy(pipeline: Pipeline, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        env={**os.environ, **pipeline.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def states_become(
    pipeline: Pipeline, want: dict[str, tuple[int, int]], what: str, timeout: float = 60
) -> dict[str, RoomState]:
    """Wait until each room's latest state has (count, limit) as in `want`."""
    deadline = time.monotonic() + timeout
    while True:
        states = pipeline.room_states()
        seen = {
            room: (s.count, s.limit)
            for room in want
            if (s := states.get(f"{HQ}/{room}")) is not None
        }
        if seen == want:
            return states
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {seen} != {want}"
        time.sleep(0.3)


def test_overrides_survive_a_restart_and_a_rebalance(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    pipeline = Pipeline(stack_env, tmp_path, OCC_BOARD_PORT="0", OCC_ALERT_TICK_S="1")
    mqtt = pipeline.mqtt_url
    try:
        pipeline.bridge()
        first = pipeline.worker("a")
        publish(mqtt, [door(pipeline.prefix, 1, 4, 0), door(pipeline.prefix, 1, 3, 0, OTHER)], "p1")
        states_become(pipeline, {ROOM: (4, 10), OTHER: (3, 12)}, "the site file's limits")

        occupancy(pipeline, "limit", "set", HQ, ROOM, "3")
        occupancy(pipeline, "policy", "set", "strict", "--building", HQ)
        states = states_become(pipeline, {ROOM: (4, 3), OTHER: (3, 6)}, "the overrides")
        assert states[f"{HQ}/{ROOM}"].status == "over"

        # A restart starts from the site file and re-applies what the config topic holds.
        assert first.terminate() == 0
        restarted = pipeline.worker("a")
        publish(mqtt, [door(pipeline.prefix, 2, 1, 0), door(pipeline.prefix, 2, 1, 0, OTHER)], "p2")
        states_become(pipeline, {ROOM: (5, 3), OTHER: (4, 6)}, "the overrides after a restart")

        # A second worker joins, the first leaves: the rooms move, the overrides hold.
        second = pipeline.worker("b")
        second.wait_for("event=room_limit_set", timeout=60)  # it re-applies the override
        assert restarted.terminate() == 0
        publish(mqtt, [door(pipeline.prefix, 3, 1, 0), door(pipeline.prefix, 3, 1, 0, OTHER)], "p3")
        states_become(pipeline, {ROOM: (6, 3), OTHER: (5, 6)}, "the overrides after a rebalance")

        # Cleared, the room is back on its site-file limit (under the building's level).
        occupancy(pipeline, "limit", "set", HQ, ROOM, "--clear")
        occupancy(pipeline, "policy", "set", "transition", "--building", HQ)
        states_become(pipeline, {ROOM: (6, 10), OTHER: (5, 12)}, "the site file's limits again")

        topic = f"{pipeline.topics}.audit"
        trail = [
            AuditRecord.model_validate_json(r.value)
            for r in read_topics(pipeline.bootstrap, [topic])[topic]
        ]
        assert [(r.role, r.action, r.target) for r in trail] == [
            ("cli", "limit_set", f"{HQ}/{ROOM}"),
            ("cli", "policy_set", HQ),
            ("cli", "limit_cleared", f"{HQ}/{ROOM}"),
            ("cli", "policy_set", HQ),
        ]
    finally:
        statuses = pipeline.stop_all()
    assert set(statuses.values()) <= {0}, statuses
