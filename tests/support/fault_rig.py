"""The fault suite's shared pipeline (`Rig`) and one fault's counting window (`Window`)."""

from __future__ import annotations

import time
from pathlib import Path

from deploy.local.stack import Stack
from ingest.site import Site
from tests.support.faults import (
    FaultRow,
    Identity,
    Load,
    Snapshot,
    check_load,
    drift,
    identity_of,
    off_by,
    settle,
    tally,
)
from tests.support.influx import InfluxDb
from tests.support.pipeline import Pipeline
from tests.support.processes import Command
from tests.support.webhook import whsec
from tests.support.webhook_switch import SwitchableWebhook

SECRET = whsec(b"fault-suite-webhook-secret")
RATE = 100.0  # door messages a second: correctness under faults, not speed
SETTLE_S = 180.0  # a generous ceiling on catching up, as a failure guard only


class Rig:
    """The shared pipeline and what a fault test needs around it."""

    def __init__(self, stack: Stack, stack_env: dict[str, str], site: Site, tmp_path: Path) -> None:
        self.stack = stack
        self.site = site
        self.receiver = SwitchableWebhook(SECRET)
        self.db = InfluxDb(stack_env["OCC_INFLUX_URL"])
        self.pipeline = Pipeline(
            stack_env,
            tmp_path,
            OCC_WEBHOOK_URL=self.receiver.url,
            OCC_WEBHOOK_SECRET=SECRET,
            OCC_INFLUX_BUCKET=self.db.bucket,
            OCC_INFLUX_RETRY_MAX_S="2",
            OCC_METRICS_PIPELINE_S="2",
            OCC_ALERT_MIN_DWELL_S="2",
            OCC_ALERT_FORECAST_HORIZON_S="0",
            OCC_SENSOR_OFFLINE_AFTER_S="3600",
            OCC_BRIDGE_KAFKA_STALL_S="10",
            OCC_BOARD_PORT="0",
        )
        self.load = Load(
            site, self.pipeline.mqtt_url, self.pipeline.prefix, seed=7, clock=self.pipeline.clock
        )
        self.bridge: Command | None = None
        self.worker: Command | None = None
        self.topic = {
            name: f"{self.pipeline.topics}.{name}"
            for name in ("door", "deadletter", "alerts", "room-state")
        }

    def ensure_running(self) -> None:
        """Bridge and worker up (again, if a failed test left one dead)."""
        if self.bridge is None or self.bridge.process.poll() is not None:
            self.bridge = self.pipeline.bridge()
        if self.worker is None or self.worker.process.poll() is not None:
            self.worker = self.start_worker()

    def start_worker(self) -> Command:
        # The same local store as the one before it: a worker restarted on its own machine.
        return self.pipeline.worker("a", ready_within=120)

    def alive(self) -> None:
        for command in (self.bridge, self.worker):
            assert command is not None
            assert command.process.poll() is None, f"exited:\n{command.output()[-3000:]}"

    def stop_processes(self) -> dict[str, int]:
        """SIGTERM bridge and worker; exit status by log name."""
        statuses = self.pipeline.stop_all()
        self.bridge = self.worker = None
        return statuses

    def expected(self) -> set[Identity]:
        return {identity_of(t, p) for t, p in self.load.published()}

    def settle(self, baseline: dict[str, int]) -> tuple[float | None, Snapshot]:
        return settle(self.pipeline, self.expected(), baseline, SETTLE_S, self.alive)


class Window:
    """One fault's counting window: from a settled start to a settled end."""

    def __init__(self, rig: Rig, row: FaultRow) -> None:
        self.rig = rig
        self.row = row
        rig.ensure_running()
        waited, start = rig.settle({})
        if waited is None:
            # Whatever an earlier fault left behind is its row's business, not this one's.
            row.notes.append(f"started from a pipeline off by {start.diff()}")
        self.start = start
        self.first = len(rig.load.published())
        self.fault_end = 0.0

    def ended(self) -> None:
        """The fault is over: the process is back, the service answers."""
        self.fault_end = time.monotonic()

    def recovered(self) -> Snapshot:
        """Wait until everything published is in and counted; records the time to recover."""
        waited, shot = self.rig.settle(self.start.diff())
        if waited is not None:
            self.row.recover_s = time.monotonic() - self.fault_end
        return shot

    def after(self, seconds: float = 3) -> Snapshot:
        """A little load after the fault (the pipeline takes new traffic), then settled."""
        check_load(self.rig.load.run(RATE, seconds))
        waited, end = self.rig.settle(self.start.diff())
        if waited is None:
            self.row.notes.append("did not settle after the fault")
        return end

    def close(self, end: Snapshot) -> FaultRow:
        """Fill the row from the window's end: lost, counted twice."""
        mine = [identity_of(t, p) for t, p in self.rig.load.published()[self.first :]]
        self.row.published += len(mine)
        missing = set(mine) - end.recount.identities
        twice, dropped = drift(self.start.diff(), end.diff())
        self.row.lost += len(missing) + dropped
        self.row.twice += twice
        if missing:
            self.row.notes.append(f"{len(missing)} never reached Kafka, e.g. {min(missing)}")
        if dropped:
            self.row.notes.append(f"{dropped} people in Kafka missing from the room counts")
        late = end.recount.late - self.start.recount.late
        if late:
            self.row.out_of_order += late
            self.row.notes.append(f"{late} reached Kafka behind a later seq of their sensor")
        clamped = end.recount.clamped - self.start.recount.clamped
        if clamped:
            self.row.notes.append(f"the rule clamped at zero {clamped} times")
        # The rule counts in Kafka's order, the load's own tally in the order it published:
        # they part only when Kafka holds a room's events out of order and the rule clamps.
        before = off_by(self.start.states, tally(self.rig.load.published()[: self.first]))
        after = off_by(end.states, tally(self.rig.load.published()))
        if after != before:
            self.row.out_of_order += abs(after - before)
            self.row.notes.append(f"room counts off the load's own tally by {after - before}")
        repeats = end.recount.repeats - self.start.recount.repeats
        if repeats:
            self.row.notes.append(f"{repeats} repeated in Kafka, dropped by seq")
        return self.row
