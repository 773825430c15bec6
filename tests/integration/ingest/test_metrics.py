"""The metrics writer against the real InfluxDB of the stack (through the v2 write proxy).

Outages are real: InfluxDB itself is stopped and started again (`Stack.stop_service`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from deploy.local.stack import Stack
from ingest.metrics import MetricsWriter
from ingest.settings import Settings
from tests.support.influx import InfluxDb

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


@pytest.fixture
def influx(stack: Stack, stack_env: dict[str, str]) -> Iterator[InfluxDb]:
    db = InfluxDb(stack_env["OCC_INFLUX_URL"])
    yield db
    db.drop()


def _writer(stack_env: dict[str, str], db: InfluxDb, **overrides: object) -> MetricsWriter:
    settings = Settings(
        influx_url=stack_env["OCC_INFLUX_URL"],
        influx_token=stack_env["OCC_INFLUX_TOKEN"],
        influx_bucket=db.bucket,
        influx_flush_interval_ms=50,
        influx_retry_max_s=0.5,
        **overrides,  # type: ignore[arg-type]
    )
    return MetricsWriter(settings, "test")


def _until(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(0.05)


def _probe(writer: MetricsWriter, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        writer.write("probe", {"room": f"r{i % 7}"}, {"i": i}, T0 + timedelta(seconds=i))


# --- pure parts ---------------------------------------------------------------------------


# --- against InfluxDB -------------------------------------------------------------------


def test_every_point_arrives_once_in_batches(stack_env: dict[str, str], influx: InfluxDb) -> None:
    writer = _writer(stack_env, influx, influx_batch_size=500)
    _probe(writer, 3000)
    # Two points of one series at one instant: the second moves 1 ns on instead of
    # overwriting the first.
    later = T0 + timedelta(hours=1)
    writer.write("probe", {"room": "r0"}, {"i": -1}, later)
    writer.write("probe", {"room": "r0"}, {"i": -2}, later)
    assert writer.close(timeout_s=30)
    assert writer.totals["produced"] == writer.totals["written"] == 3002
    assert influx.count("probe", "i") == 3002
    twins = influx.rows("SELECT i FROM probe WHERE i < 0")
    assert [(r["time"] - twins[0]["time"], r["i"]) for r in twins] == [(0, -1), (1, -2)]


def test_the_writer_reports_itself_in_pipeline(stack_env: dict[str, str], influx: InfluxDb) -> None:
    writer = _writer(stack_env, influx, influx_batch_size=10, influx_buffer_points=20)
    _probe(writer, 5)
    writer.report(T0 + timedelta(hours=1))
    assert writer.close(timeout_s=30)
    rows = influx.rows(
        "SELECT buffered, dropped, write_errors FROM pipeline WHERE component = 'metrics'"
    )
    assert len(rows) == 1
    assert rows[0]["dropped"] == 0
    assert rows[0]["write_errors"] == 0
    assert 0 <= rows[0]["buffered"] <= 5
