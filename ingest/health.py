"""The health file: the bridge and the workers touch `OCC_HEALTH_FILE` while they make
progress; `occupancy health` (deploy/health.py, a container health check) reads its age.

A file's modification time is the whole protocol: no port to open, no secret to hold, and a
process whose event loop hangs (a deadlock, a SIGSTOP, a stalled consumer) stops touching
it by itself. The writer touches at most once per `min_interval_s`, so calling `touch()`
from a busy loop costs one clock read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from ingest.logs import kv

log = logging.getLogger(__name__)


class HealthFile:
    """Touches `path` (if any) when told the process is healthy, at most once per interval."""

    def __init__(
        self,
        path: Path | None,
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._last: float | None = None
        self._failing = False

    def clear(self) -> None:
        """Remove a file left by an earlier run (a restarted container keeps its /tmp), so
        the health check reports "missing" until this run has made progress."""
        if self.path is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            self._unwritable(exc)
        self._last = None

    def touch(self) -> None:
        if self.path is None:
            return
        now = self._clock()
        if self._last is not None and now - self._last < self._min_interval_s:
            return
        self._last = now
        try:
            self.path.touch()
        except OSError as exc:
            self._unwritable(exc)
            return
        if self._failing:
            self._failing = False
            log.info(kv("health_file_writable", path=str(self.path)))

    def _unwritable(self, exc: OSError) -> None:
        # Once per outage: the process goes on; only its health check will say so.
        if not self._failing:
            self._failing = True
            log.warning(kv("health_file_unwritable", path=str(self.path), error=type(exc).__name__))
