"""A whole pipeline (bridge and workers as subprocesses) isolated by a tag, for end-to-end tests.

Its processes run on one replay clock that starts at a fixed instant (a Monday morning in
Jakarta unless a test picks another), so no test depends on the real time of day or weekday:
payloads are stamped with `pipeline.now()`, never with the wall clock.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ingest.clock import ReplayClock, wall_now
from ingest.models import RoomState
from tests.support.kafka import read_topics
from tests.support.processes import Command

WIB = timezone(timedelta(hours=7))
MONDAY_MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=WIB)
"""Where a pipeline's clock starts by default: an office day for every sample group, hours
from the daily reset and from midnight in every zone."""


class Pipeline:
    """Bridge and workers of one test: own MQTT prefix, Kafka topics, consumer group, clock."""

    def __init__(
        self,
        stack_env: dict[str, str],
        tmp_path: Path,
        clock: ReplayClock | None = None,
        /,
        **settings: str,
    ) -> None:
        self.clock = clock or SESSION_CLOCK
        self.tag = uuid.uuid4().hex[:8]
        self.prefix = f"t{self.tag}/occupancy"
        self.topics = f"t{self.tag}"
        self.tmp_path = tmp_path
        self.bootstrap = stack_env["OCC_KAFKA_BOOTSTRAP"]
        self.mqtt_url = stack_env["OCC_MQTT_URL"]
        self.env = {
            **stack_env,
            "OCC_MQTT_PREFIX": self.prefix,
            "OCC_KAFKA_TOPIC_PREFIX": self.topics,
            "OCC_BRIDGE_CLIENT_ID": f"bridge-{self.tag}",
            "OCC_KAFKA_PARTITIONS": "3",
            **clock_env(self.clock),
            **settings,
        }
        self._commands: list[Command] = []

    def now(self) -> datetime:
        """The pipeline's time: what its devices stamp their messages with."""
        return self.clock.now()

    def bridge(self, **settings: str) -> Command:
        """The bridge, with `settings` over the pipeline's (its own MQTT login, say)."""
        bridge = self._start("bridge", settings)
        bridge.wait_for("event=mqtt_connected")
        return bridge

    def worker(self, name: str = "a", ready_within: float = 120, **settings: str) -> Command:
        """A worker with its own local store (as on its own machine); ready when it returns."""
        worker = self._start(
            "worker", {"OCC_WORKER_DATA_DIR": str(self.tmp_path / f"worker-{name}"), **settings}
        )
        worker.wait_for("[^Worker]: Ready", timeout=ready_within)
        return worker

    def room_states(self) -> dict[str, RoomState]:
        """The latest state per room in the room-state topic (what compaction would keep)."""
        topic = f"{self.topics}.room-state"
        latest: dict[str, RoomState] = {}
        for record in read_topics(self.bootstrap, [topic])[topic]:
            state = RoomState.model_validate_json(record.value)
            latest[f"{state.building}/{state.room}"] = state
        return latest

    def stop_all(self) -> dict[str, int]:
        """SIGTERM everything this pipeline started that still runs; exit status by log name."""
        return {c.log.name: c.terminate() for c in self._commands if c.process.poll() is None}

    def _start(self, command: str, extra: dict[str, str]) -> Command:
        log = self.tmp_path / f"{command}-{len(self._commands) + 1}.log"
        started = Command([command], {**self.env, **extra}, log)
        self._commands.append(started)
        return started


def replay_clock(starts: datetime = MONDAY_MORNING, speed: float = 1.0) -> ReplayClock:
    """A clock for processes a test starts by hand: pass `clock_env(clock)` to each."""
    return ReplayClock(start=starts, speed=speed, anchor=wall_now())


def clock_env(clock: ReplayClock) -> dict[str, str]:
    """The settings that put a process on `clock`."""
    return {"OCC_CLOCK": clock.spec, "OCC_CLOCK_ANCHOR": clock.anchor.isoformat()}


SESSION_CLOCK = replay_clock()
"""The clock of every pipeline that does not bring its own, anchored once per test session:
helpers that stamp messages for several modules' pipelines
(`tests.integration.processors.test_worker.door`)
agree with all of them."""
