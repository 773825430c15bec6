"""Health by file: the bridge and the workers touch `OCC_HEALTH_FILE` while they make
progress, and `occupancy health` (a container health check) says whether it is fresh.

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

import click

from ingest.errors import ConfigError
from ingest.logs import kv
from ingest.settings import load_settings

log = logging.getLogger(__name__)

# How long `occupancy health` accepts since the last touch by default. The bridge checks
# every second, a worker every few seconds (see processors/watchdog.py): this leaves room for
# a garbage collection, a rebalance or a slow Kafka round trip without flapping.
DEFAULT_MAX_AGE_S = 30.0
EXIT_UNHEALTHY = 1


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


def check(path: Path, max_age_s: float, now: float | None = None) -> tuple[bool, str]:
    """Whether `path` was touched within `max_age_s`, and one sentence saying so."""
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        return False, f"unhealthy: {path} is missing (not started, or no progress yet)."
    except OSError as exc:
        return False, f"unhealthy: {path} cannot be read ({exc.strerror or type(exc).__name__})."
    age = max(0.0, (time.time() if now is None else now) - mtime)
    if age > max_age_s:
        return False, f"unhealthy: {path} is stale since {age:.0f} s (allowed {max_age_s:g} s)."
    return True, f"healthy: {path} touched {age:.0f} s ago."


@click.command()
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The health file (default: OCC_HEALTH_FILE).",
)
@click.option(
    "--max-age",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_MAX_AGE_S,
    show_default=True,
    help="Seconds since the last touch that still count as healthy.",
)
def health(file: Path | None, max_age: float) -> None:
    """Exit 0 if the bridge or worker here touched its health file lately, else 1."""
    if file is None:
        file = load_settings().health_file
        if file is None:
            raise ConfigError(
                "Setting OCC_HEALTH_FILE is not set: give --file or point it at the file "
                "the bridge or worker touches."
            )
    healthy, sentence = check(file, max_age)
    click.echo(sentence, err=not healthy)
    if not healthy:
        raise SystemExit(EXIT_UNHEALTHY)
