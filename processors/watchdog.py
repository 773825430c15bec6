"""A watchdog for the takeover stall: a partition this worker holds, with records waiting,
whose fetch position has not moved for `OCC_WORKER_STALL_S`.

faust-streaming sometimes assigns partitions in a rebalance and then never fetches them
(its issue 629; seen here in the two-worker fault test). Nothing is lost, the offsets are
still committed where they were, but the rooms on those partitions stop counting. The
watchdog notices, logs `worker_stalled` with the partitions, and stops the worker with
SIGTERM: an orderly stop, after which the supervisor (docker compose `restart:`, systemd
`Restart=`) starts it again and the group hands the partitions out afresh.

The same look at the partitions keeps the worker's health file (`OCC_HEALTH_FILE`, read by
`occupancy health`) fresh: it is touched at each check where nothing is waiting on the
partitions this worker holds, or at least one of them moved. A worker whose loop hangs, whose
consumer does not answer, or that sits on waiting records lets it go stale.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import faust

from ingest.health import HealthFile
from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)

# How often the partitions are looked at when there is a health file to keep fresh.
HEALTH_CHECK_S = 5.0


@dataclass(frozen=True)
class Seen:
    """A partition's fetch position, and since when it has been there."""

    position: int
    since: float


def stalled(
    seen: dict[str, Seen],
    positions: Iterable[tuple[str, int | None, int | None]],
    now: float,
    after_s: float,
) -> tuple[dict[str, Seen], list[str]]:
    """Given (partition, position, end) now: the positions to remember, and the partitions
    that have had records waiting (`position < end`) without moving for `after_s`.

    A partition with nothing waiting, or whose position is not known, is never stalled.
    """
    kept: dict[str, Seen] = {}
    stuck: list[str] = []
    for tp, position, end in positions:
        if position is None or end is None or position >= end:
            continue
        before = seen.get(tp)
        if before is None or before.position != position:
            kept[tp] = Seen(position, now)
            continue
        kept[tp] = before
        if now - before.since >= after_s:
            stuck.append(tp)
    return kept, sorted(stuck)


def progressing(kept: dict[str, Seen], now: float) -> bool:
    """After `stalled(..., now, ...)` returned `kept`: nothing is waiting on any partition,
    or at least one waiting partition moved (or began to wait) at this check."""
    return not kept or any(seen.since == now for seen in kept.values())


class StallWatchdog:
    """Checks the partitions of `topics` this worker holds every `after_s / 4`, or every
    `HEALTH_CHECK_S` when that is sooner and there is a health file."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        topics: list[str],
        stop: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._topics = set(topics)
        self._after_s = settings.worker_stall_s
        self._seen: dict[str, Seen] = {}
        self._stop = stop or (lambda: os.kill(os.getpid(), signal.SIGTERM))
        self._stopping = False
        self._clock = clock
        self.health = HealthFile(settings.health_file, clock=clock)
        self.health.clear()
        intervals = []
        if self._after_s > 0:
            intervals.append(max(1.0, self._after_s / 4))
        if self.health.path is not None:
            intervals.append(HEALTH_CHECK_S)
        if intervals:
            app.timer(interval=min(intervals))(self.check)

    async def check(self) -> None:
        consumer = self._app.consumer
        positions: list[tuple[str, int | None, int | None]] = []
        try:
            for tp in consumer.assignment():
                if tp.topic in self._topics:
                    positions.append(
                        (
                            f"{tp.topic}:{tp.partition}",
                            await consumer.position(tp),
                            consumer.highwater(tp),
                        )
                    )
        except Exception as exc:  # between rebalances the consumer may not answer
            log.debug(kv("watchdog_skipped", error=repr(exc)))
            return
        now = self._clock()
        after_s = self._after_s if self._after_s > 0 else math.inf
        self._seen, stuck = stalled(self._seen, positions, now, after_s)
        if progressing(self._seen, now):
            self.health.touch()
        if stuck and not self._stopping:
            self._stopping = True
            log.error(
                kv(
                    "worker_stalled",
                    partitions=",".join(stuck),
                    after_s=self._after_s,
                    action="stopping; the supervisor restarts the worker",
                )
            )
            self._stop()
