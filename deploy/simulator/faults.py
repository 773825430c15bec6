"""Faults the simulator can inject, each turned on by name (`--fault NAME`).

- `silent`: one sensor of a single-door room sends nothing for `silent_minutes` (not even
  heartbeats), then reports what it counted meanwhile, numbering on: the pipeline sees
  the sensor offline and back, and the room's count catches up.
- `gaps`: a share of the sensors' heartbeats and exit-only messages never arrive; their
  seqs are missing (sequence gaps) and the rooms keep people who left (missed exits).
- `underflow`: in one meeting room, the door counts one or two exits more each time the
  room has just emptied (someone passing by): more exits than entries.
- `late-checkouts`: a share of the kiosks' check-outs reach the broker one to three hours
  after the tap, with the tap's own time (a kiosk that was offline).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from deploy.simulator.sensors import Crossing, Silence

Fault = Literal["silent", "gaps", "underflow", "late-checkouts"]
FAULTS: tuple[Fault, ...] = ("silent", "gaps", "underflow", "late-checkouts")

GHOST_EXIT_TIMES = 3
GHOST_EXIT_DELAY_S = (10, 90)
LATE_CHECKOUT_S = (3600, 3 * 3600)


@dataclass(frozen=True, slots=True)
class Faults:
    enabled: frozenset[Fault] = field(default_factory=frozenset)
    silent_minutes: int = 90
    loss: float = 0.03
    late_share: float = 0.15

    def __contains__(self, fault: Fault) -> bool:
        return fault in self.enabled


def ghost_exits(room: list[Crossing], rng: random.Random) -> list[Crossing]:
    """Exits counted right after the room (its crossings in time order) emptied, a few times."""
    ghosts: list[Crossing] = []
    inside = 0
    for crossing in room:
        inside += 1 if crossing.inward else -1
        if inside == 0 and not crossing.inward and len(ghosts) < GHOST_EXIT_TIMES:
            at = crossing.at + rng.randint(*GHOST_EXIT_DELAY_S)
            ghosts.extend(
                Crossing(at, crossing.room, crossing.sensor, inward=False)
                for _ in range(rng.randint(1, 2))
            )
    return ghosts


def silence(
    candidates: list[str], start: int, end: int, minutes: int, rng: random.Random
) -> Silence | None:
    """One of `candidates` (sensors) silent from a time between 30 % and 55 % of the window."""
    if not candidates:
        return None
    span = end - start
    begins = start + rng.randint(int(0.30 * span), int(0.55 * span))
    return Silence(rng.choice(candidates), begins, min(end, begins + minutes * 60))


def late_delivery(tapped: int, end: int, rng: random.Random) -> int:
    """When a late check-out reaches the broker (local seconds), at the latest the window end."""
    return min(end, tapped + rng.randint(*LATE_CHECKOUT_S))
