"""How long the worker's event loop was held: a task sleeps 100 ms over and over and logs
(`loop_lag`) how late it woke at worst, each `OCC_WORKER_LOOP_LAG_S`.

`max_ms` is the wall-clock lateness; `busy_ms` the part of it the loop's own thread spent
running (its CPU time meanwhile): on a machine shared with others, a process not given a
core is late too, and that is no callback of ours holding the loop. `gc_ms` is the longest
garbage collection. (Freezing what survives one, `gc.freeze`, was tried and dropped: with it
a worker taking over another's partitions after a rebalance stopped counting them.)"""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import faust

from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)

PERIOD_S = 0.1
STALL_MS = 50.0
"""A wake-up this late, by the loop's own running, counts as a stall: a timer or agent step
that held the loop."""


class LoopLag:
    """The loop's lateness since the last log line: the worst, and how many stalls."""

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self._every = settings.worker_loop_lag_s
        self.worst_ms = 0.0
        self.busy_ms = 0.0
        self.stalls = 0
        self.gc_ms = 0.0
        self._collecting = 0.0
        gc.callbacks.append(self._collected)
        app.task(self._watch)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._collecting = time.perf_counter()
            return
        took_ms = (time.perf_counter() - self._collecting) * 1000
        self.gc_ms = max(self.gc_ms, took_ms)

    def note(self, late_s: float, ran_s: float) -> None:
        """One wake-up `late_s` late, the loop's thread having run `ran_s` meanwhile."""
        late_ms = max(0.0, late_s * 1000)
        busy_ms = min(late_ms, ran_s * 1000)
        self.worst_ms = max(self.worst_ms, late_ms)
        self.busy_ms = max(self.busy_ms, busy_ms)
        self.stalls += busy_ms > STALL_MS

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        logged = loop.time()
        while True:
            before, ran = loop.time(), time.thread_time()
            await asyncio.sleep(PERIOD_S)
            after = loop.time()
            self.note(after - before - PERIOD_S, time.thread_time() - ran)
            if self._every > 0 and after - logged >= self._every:
                log.info(
                    kv(
                        "loop_lag",
                        max_ms=round(self.worst_ms, 1),
                        busy_ms=round(self.busy_ms, 1),
                        stalls=self.stalls,
                        gc_ms=round(self.gc_ms, 1),
                    )
                )
                self.worst_ms, self.busy_ms, self.stalls, logged = 0.0, 0.0, 0, after
                self.gc_ms = 0.0
