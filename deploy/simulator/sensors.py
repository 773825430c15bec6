"""Door sensors: people crossing a door become the sensor's numbered messages.

A sensor boots at the start of the window (seq 0, carrying whatever it counted before; the
sensors of one room boot a second apart, those that counted more in than out first, so the
room's count never dips below zero on the way),
then reports the crossings of every `REPORT_EVERY_S` that had any, sends a heartbeat
(entered = exited = 0) when it has had nothing to report for the heartbeat interval, and
numbers every message it sends: seq 0, 1, 2, … A silent sensor sends nothing and reports
what it counted meanwhile when it is back; a lost message keeps its seq (a gap); a
duplicate is a message sent again unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from deploy.simulator.messages import Scheduled, door_payload, stamp
from deploy.simulator.seeds import stream
from ingest.site import Building
from ingest.topics import DoorTopic

REPORT_EVERY_S = 5
BOOT_JITTER_S = 10
DUPLICATE_DELAY_S = (1, 10)

LocalClock = Callable[[Building, int], datetime]
"""Seconds after a building's local midnight of the simulated date → that instant."""


@dataclass(frozen=True, slots=True)
class Crossing:
    """Someone passing a sensor's door; `at` is seconds after the building's local midnight."""

    at: int
    room: str
    sensor: str
    inward: bool


@dataclass(frozen=True, slots=True)
class Silence:
    """A sensor sends nothing from `start` to `end` (local seconds), then reports again."""

    sensor: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class SensorPlan:
    """What one sensor does in the window: its door's crossings and how it misbehaves."""

    building: Building
    room: str
    sensor: str
    crossings: list[Crossing]
    boot: int
    end: int
    heartbeat_s: int
    duplicates: float
    loss: float
    silence: Silence | None


def door_messages(
    plan: SensorPlan, local: LocalClock, prefix: str, seed: str
) -> tuple[list[Scheduled], list[Scheduled]]:
    """The sensor's messages in time order, and those lost on the way (never published).

    `seed` keys the sensor's own random streams, so that one sensor's choices do not shift
    when another's change.
    """
    boot = plan.boot
    counts = _reports(plan, boot)
    quiet = plan.silence
    times = sorted(counts)
    with_heartbeats: list[int] = []
    for previous, current in zip(times, [*times[1:], None], strict=True):
        with_heartbeats.append(previous)
        beat = previous + plan.heartbeat_s
        while (current is None and beat <= plan.end) or (current is not None and beat < current):
            if quiet is None or not quiet.start <= beat < quiet.end:
                with_heartbeats.append(beat)
            beat += plan.heartbeat_s
    topic = DoorTopic(plan.building.id, plan.room, plan.sensor).format(prefix)
    zone = plan.building.zone
    published: list[Scheduled] = []
    lost: list[Scheduled] = []
    loss_rng = stream(seed, "loss")
    duplicate_rng = stream(seed, "duplicates")
    back = quiet.end if quiet is not None else None
    for seq, at in enumerate(with_heartbeats):
        entered, exited = counts.get(at, (0, 0))
        when = local(plan.building, at)
        message = Scheduled(
            at=when,
            topic=topic,
            payload=door_payload(seq, stamp(when, zone), entered, exited),
            kind="door" if entered or exited else "heartbeat",
        )
        # Only heartbeats and exits go missing: a lost entry would let the room's count go
        # below zero, which is the `underflow` fault's business.
        droppable = seq > 0 and entered == 0 and at != back
        if droppable and plan.loss > 0 and loss_rng.random() < plan.loss:
            lost.append(message)
            continue
        published.append(message)
        if plan.duplicates > 0 and duplicate_rng.random() < plan.duplicates:
            again = min(at + duplicate_rng.randint(*DUPLICATE_DELAY_S), plan.end)
            if quiet is not None and quiet.start <= again < quiet.end:
                again = quiet.end  # a silent sensor redelivers nothing until it is back
            published.append(
                Scheduled(local(plan.building, again), topic, message.payload, "duplicate")
            )
    return published, lost


def _reports(plan: SensorPlan, boot: int) -> dict[int, tuple[int, int]]:
    """(entered, exited) per report time: the boot report, one per busy interval, and the
    report of a sensor back from silence."""
    counts: dict[int, tuple[int, int]] = {boot: (0, 0)}
    quiet = plan.silence
    if quiet is not None:
        counts[quiet.end] = (0, 0)
    for crossing in plan.crossings:
        if crossing.at <= boot:
            at = boot
        else:
            at = boot + math.ceil((crossing.at - boot) / REPORT_EVERY_S) * REPORT_EVERY_S
        if quiet is not None and quiet.start <= at < quiet.end:
            at = quiet.end
        if at > plan.end:
            continue
        entered, exited = counts.get(at, (0, 0))
        counts[at] = (entered + crossing.inward, exited + (not crossing.inward))
    return counts
