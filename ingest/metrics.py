"""Metrics to InfluxDB: a bounded buffer in front of `influxdb-client`'s batching write API.

Callers (the event loop) only build a line and append it under a lock: writing never waits
on InfluxDB. A feeder thread cuts the buffer into batches (`OCC_INFLUX_BATCH_SIZE` points,
or what `OCC_INFLUX_FLUSH_INTERVAL_MS` gathered) and hands each, as one item, to the
library's batching `WriteApi`, which sends it gzipped from a thread of its own. Handing it
points one by one cost the event loop a third of its throughput (the library's reactive
pipeline runs per item, under the GIL). The library's own retries are off: a batch that
fails comes back through `error_callback` into our buffer, in production order, and the
feeder waits (exponential backoff up to `OCC_INFLUX_RETRY_MAX_S`) before it probes again.
So the only memory an outage takes is the buffer, which is bounded
(`OCC_INFLUX_BUFFER_POINTS`): when full, its oldest points go and are counted.

Every point is accounted for: `produced == written + dropped + rejected + buffered +
in_flight` (`rejected`: points InfluxDB refused as malformed, which no retry can mend).
An outage is logged once when it starts and once when it ends, not once per batch.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import WriteApi, WriteOptions, WriteType
from reactivex.scheduler import ThreadPoolScheduler

from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)

FieldValue = int | float | str | bool
Tags = Mapping[str, str | None]
Fields = Mapping[str, FieldValue | None]

_LIBRARY_LOG = "influxdb_client.client.write_api"


class Sink(Protocol):
    """Where points go: `MetricsWriter`, or anything that takes points the same way."""

    def write(self, measurement: str, tags: Tags, fields: Fields, at: datetime) -> None: ...


def line(measurement: str, tags: Tags, fields: Fields, at: datetime) -> str:
    """One point in line protocol, tags and fields in key order (those that are None, empty
    tags and non-finite numbers are left out), time in nanoseconds.

    Escaped as InfluxDB itself parses (models/points.go), not as influxdb-client's `Point`
    does, which turns a tab or CR in a tag into the two characters `\\t`, `\\r`. What line
    protocol cannot carry becomes U+FFFD: a line feed anywhere, a lone surrogate, and a
    backslash at the end of a name or tag (it would escape the separator after it).
    """
    head = _name(measurement, _MEASUREMENT)
    for key, tag in sorted(tags.items()):
        if key and tag:
            head += f",{_name(key, _KEY)}={_name(tag, _KEY)}"
    body = []
    for key, value in sorted(fields.items()):
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, int):
            text = f"{value}i"
        elif isinstance(value, float):
            text = str(value).removesuffix(".0")
        else:
            text = '"' + value.translate(_STRING) + '"'
        body.append(f"{_name(key, _KEY)}={text}")
    stamp = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    ns = (stamp - _EPOCH) // timedelta(microseconds=1) * 1000
    return f"{head} {','.join(body)} {ns}" if body else ""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNCARRIED = {"\n": "\ufffd"} | {chr(c): "\ufffd" for c in range(0xD800, 0xE000)}
_MEASUREMENT = str.maketrans({",": "\\,", " ": "\\ ", **_UNCARRIED})
_KEY = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", **_UNCARRIED})
_STRING = str.maketrans({"\\": "\\\\", '"': '\\"', **_UNCARRIED})


def _name(text: str, table: dict[int, str]) -> str:
    escaped = text.translate(table)
    return escaped[:-1] + "\ufffd" if escaped.endswith("\\") else escaped


class MetricsWriter:
    """Accepts points from any thread; writes them to InfluxDB from its own threads."""

    def __init__(self, settings: Settings, component: str) -> None:
        assert settings.influx_url is not None, "metrics are written only when configured"
        self._settings = settings
        self.component = component
        self._lock = threading.Condition()
        # (production number, line), oldest first; lines in the library by line.
        self._buffer: deque[tuple[int, bytes]] = deque()
        self._flying: dict[bytes, int] = {}
        self._limit = settings.influx_buffer_points
        self._in_flight = 0
        self._last_ns: dict[tuple[object, ...], int] = {}
        self.totals: Counter[str] = Counter()
        self._reported: Counter[str] = Counter()
        self._failures = 0
        self._retry_at = 0.0
        self._outage_since: float | None = None
        self._closing = False
        self._batch = settings.influx_batch_size
        self._flush_s = settings.influx_flush_interval_ms / 1000
        self._flush_at = 0.0
        self._client = InfluxDBClient(
            url=settings.influx_url,
            token=settings.influx_token.get_secret_value(),
            org=settings.influx_org,
            timeout=settings.influx_timeout_ms,
            enable_gzip=True,
        )
        self._write_api: WriteApi = self._client.write_api(
            write_options=WriteOptions(
                write_type=WriteType.batching,
                batch_size=1,  # an item is one of our batches: the library sends it at once
                flush_interval=settings.influx_flush_interval_ms,
                max_retries=0,  # retries are ours: a failed batch returns to the buffer
                max_retry_time=0,
                # the library's default scheduler is one thread shared by every WriteApi
                write_scheduler=ThreadPoolScheduler(max_workers=1),
            ),
            success_callback=self._written,
            error_callback=self._failed,
        )
        # The library logs every failed batch at ERROR (and its client resets that logger's
        # level when created); the writer says it once per outage instead.
        logging.getLogger(_LIBRARY_LOG).setLevel(logging.CRITICAL)
        self._feeder = threading.Thread(target=self._feed, name=f"metrics-{component}", daemon=True)
        self._feeder.start()

    # --- producing ---------------------------------------------------------------------

    def write(self, measurement: str, tags: Tags, fields: Fields, at: datetime) -> None:
        """Queue one point; never blocks on InfluxDB. A repeat of a series' last timestamp
        is moved 1 ns on, so two observations in a row never overwrite each other."""
        text = line(measurement, tags, fields, at)
        rest, _, stamp = text.rpartition(" ")
        ns = int(stamp)
        series = (measurement, *sorted((k, v) for k, v in tags.items() if v))
        with self._lock:
            if self._last_ns.get(series) == ns:
                ns += 1
                text = f"{rest} {ns}"
            self._last_ns[series] = ns
            self.totals["produced"] += 1
            self._buffer.append((self.totals["produced"], text.encode()))
            self._trim()
            if len(self._buffer) >= self._batch:
                self._lock.notify()  # a full batch; otherwise the feeder wakes on its interval

    def _trim(self) -> None:
        # Under the lock. A full buffer loses its oldest points, counted.
        over = len(self._buffer) - self._limit
        if over > 0:
            for _ in range(over):
                self._buffer.popleft()
            self.totals["dropped"] += over

    # --- reporting -----------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def report(self, at: datetime) -> None:
        """The writer's own `pipeline` point: buffered now, drops and failed writes since
        the last report."""
        with self._lock:
            delta = {k: self.totals[k] - self._reported[k] for k in ("dropped", "write_errors")}
            self._reported.update(delta)
            buffered = len(self._buffer) + self._in_flight
        self.write(
            "pipeline",
            {"component": "metrics"},
            {"buffered": buffered, **delta},
            at,
        )

    # --- the feeder thread ---------------------------------------------------------------

    def _feed(self) -> None:
        batch = self._batch
        while True:
            with self._lock:
                while not self._ready(batch):
                    if self._closing and not self._buffer and not self._in_flight:
                        return
                    self._lock.wait(timeout=self._wait_s())
                self._flush_at = time.monotonic() + self._flush_s
                take = min(len(self._buffer), batch)
                lines = []
                for _ in range(take):
                    number, text = self._buffer.popleft()
                    self._flying[text] = number
                    lines.append(text)
                self._in_flight += take
            # Outside the lock: the library's window thread may call back at once.
            self._write_api.write(
                bucket=self._settings.influx_bucket,
                org=self._settings.influx_org,
                record=b"\n".join(lines),
            )

    def _ready(self, batch: int) -> bool:
        if not self._buffer:
            return False
        if self._outage_since is not None:
            # One batch at a time probes InfluxDB until it answers.
            return self._in_flight == 0 and time.monotonic() >= self._retry_at
        # Two batches in the library at most: the rest waits here, where it is bounded.
        if self._in_flight >= 2 * batch:
            return False
        return len(self._buffer) >= batch or self._closing or time.monotonic() >= self._flush_at

    def _wait_s(self) -> float:
        due = self._retry_at if self._outage_since is not None else self._flush_at
        return min(1.0, max(0.005, due - time.monotonic()))

    def _written(self, conf: tuple[str, str, str], data: bytes | str) -> None:
        lines = _split_lines(data)
        count = len(lines)
        with self._lock:
            for text in lines:
                self._flying.pop(text, None)
            self._in_flight -= count
            self.totals["written"] += count
            self._failures = 0
            if self._outage_since is not None:
                log.warning(
                    kv(
                        "influx_recovered",
                        component=self.component,
                        after_s=round(time.monotonic() - self._outage_since, 1),
                        buffered=len(self._buffer),
                        dropped=self.totals["dropped"],
                    )
                )
                self._outage_since = None
            self._lock.notify()

    def _failed(self, conf: tuple[str, str, str], data: bytes | str, error: Exception) -> None:
        lines = _split_lines(data)
        with self._lock:
            self._in_flight -= len(lines)
            self.totals["write_errors"] += 1
            if _rejected(error):
                for text in lines:
                    self._flying.pop(text, None)
                # InfluxDB refused the points themselves (400/413): retrying cannot help.
                self.totals["rejected"] += len(lines)
                log.error(
                    kv(
                        "influx_rejected",
                        component=self.component,
                        points=len(lines),
                        error=str(error)[:300],
                    )
                )
                self._lock.notify()
                return
            # Back in the buffer in production order (batches may fail in any order).
            back = sorted((self._flying.pop(text, 0), text) for text in lines)
            self._buffer = deque(heapq.merge(back, self._buffer))
            self._trim()
            self._failures += 1
            delay = min(self._settings.influx_retry_max_s, 0.5 * 2 ** min(self._failures, 20))
            self._retry_at = time.monotonic() + delay
            if self._outage_since is None:
                self._outage_since = time.monotonic()
                log.warning(
                    kv(
                        "influx_unavailable",
                        component=self.component,
                        url=self._settings.influx_url,
                        error=_short(error),
                        buffered=len(self._buffer),
                        limit=self._limit,
                    )
                )
            self._lock.notify()

    # --- stopping ------------------------------------------------------------------------

    def close(self, timeout_s: float = 10.0) -> bool:
        """Write what is buffered (waiting at most `timeout_s`), then stop. True when
        nothing was left behind."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            self._closing = True
            self._lock.notify_all()
            while (self._buffer or self._in_flight) and time.monotonic() < deadline:
                if self._outage_since is not None and self._retry_at > deadline:
                    break
                self._lock.wait(timeout=0.05)
            left = len(self._buffer) + self._in_flight
            self._buffer.clear()
            self._flying.clear()
            self._in_flight = 0
            self._lock.notify_all()
        self._feeder.join(timeout=1.0)
        self._write_api.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]
        log.info(
            kv(
                "metrics_writer_stopped",
                component=self.component,
                left=left,
                **dict(sorted(self.totals.items())),
            )
        )
        return left == 0


class Deltas:
    """Turns growing counters into what they grew by since the last `take`."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def take(self, totals: Mapping[str, int], names: Iterable[str] | None = None) -> dict[str, int]:
        picked = totals.keys() if names is None else names
        delta = {}
        for name in picked:
            now = totals.get(name, 0)
            delta[name] = now - self._seen.get(name, 0)
            self._seen[name] = now
        return delta


def _split_lines(data: bytes | str) -> list[bytes]:
    raw = data.encode() if isinstance(data, str) else data
    return [part for part in raw.split(b"\n") if part]


def _rejected(error: Exception) -> bool:
    status: Any = getattr(error, "status", None)
    return isinstance(status, int) and status in {400, 413, 422}


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
