"""The pipeline clock: the one answer to "what time is it" in every process of a run.

`wall` (the default, and production) is the system's clock. A replay clock runs the
pipeline through a simulated day: it reads `start` until the real instant `anchor`, then
moves `speed` simulated seconds per real second, so every process given the same
`OCC_CLOCK` and `OCC_CLOCK_ANCHOR` tells the same time, whatever the hour and weekday
outside.

What paces real work (retries, flush intervals, Faust timer intervals, watchdogs) stays on
`time.monotonic`; what those compare against ("is the day over", "has the alert dwelt long
enough", "is this timestamp from the future") reads this clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["MAX_SPEED", "Clock", "ReplayClock", "WallClock", "parse_clock", "wall_now"]

MAX_SPEED = 100_000.0
"""A day in under a second is already more than any pipeline keeps up with."""

_REPLAY = re.compile(r"^replay:(?P<start>[^@]+)@(?P<speed>[0-9]+(\.[0-9]+)?)$")


def wall_now() -> datetime:
    """The system's clock, in UTC. Only clocks call this; everything else asks a `Clock`."""
    return datetime.now(UTC)


class Clock(Protocol):
    """What every part of the pipeline asks for the time."""

    def now(self) -> datetime:
        """The pipeline's current instant, timezone-aware (UTC)."""
        ...

    def seconds_until(self, instant: datetime) -> float:
        """Real seconds from now until this clock reads `instant` (negative: it did)."""
        ...

    @property
    def spec(self) -> str:
        """The `OCC_CLOCK` value that makes another process tell this time."""
        ...


@dataclass(frozen=True, slots=True)
class WallClock:
    """The system's clock (production)."""

    def now(self) -> datetime:
        return wall_now()

    def seconds_until(self, instant: datetime) -> float:
        return (instant - wall_now()).total_seconds()

    @property
    def spec(self) -> str:
        return "wall"


@dataclass(frozen=True, slots=True)
class ReplayClock:
    """Simulated time: `start` until the real instant `anchor`, then `speed` times real time.

    Held before the anchor, so the processes of a run can start ahead of it (a demo gives
    them an anchor a little in the future) and the day begins for all of them at once.
    """

    start: datetime
    speed: float
    anchor: datetime
    wall: Callable[[], datetime] = field(default=wall_now, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.anchor.tzinfo is None:
            raise ValueError("a replay clock's start and anchor carry a UTC offset")
        if not 0 < self.speed <= MAX_SPEED:
            raise ValueError(f"its speed must be above 0 and at most {MAX_SPEED:g}")

    def now(self) -> datetime:
        running = max(timedelta(0), self.wall() - self.anchor)
        return (self.start + running * self.speed).astimezone(UTC)

    def seconds_until(self, instant: datetime) -> float:
        return (self.at(instant) - self.wall()).total_seconds()

    @property
    def spec(self) -> str:
        return f"replay:{self.start.isoformat()}@{self.speed:g}"

    def at(self, simulated: datetime) -> datetime:
        """The real instant from which this clock reads `simulated` (the anchor for any
        instant up to `start`)."""
        return self.anchor + max(timedelta(0), simulated - self.start) / self.speed


def parse_clock(
    text: str, anchor: datetime | None = None, wall: Callable[[], datetime] = wall_now
) -> WallClock | ReplayClock:
    """`wall`, or `replay:<simulated start, ISO 8601 with offset>@<speed>` anchored at
    `anchor` (now, when None). Raises ValueError with what is wrong."""
    if text.strip() == "wall":
        return WallClock()
    match = _REPLAY.match(text.strip())
    if match is None:
        raise ValueError(
            "must be 'wall' or 'replay:<start>@<speed>', e.g. replay:2026-12-04T06:00:00+07:00@60"
        )
    try:
        start = datetime.fromisoformat(match["start"])
    except ValueError:
        raise ValueError(f"{match['start']!r} is not an ISO 8601 time") from None
    if start.tzinfo is None:
        raise ValueError(f"the start {match['start']!r} needs a UTC offset, e.g. +07:00")
    return ReplayClock(start=start, speed=float(match["speed"]), anchor=anchor or wall(), wall=wall)
