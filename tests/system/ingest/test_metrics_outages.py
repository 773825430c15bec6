"""The metrics writer through real InfluxDB outages: InfluxDB is stopped and started again."""

from __future__ import annotations

import logging
import time

import pytest

from deploy.local.stack import Stack
from tests.integration.ingest.test_metrics import (
    _probe,
    _until,
    _writer,
    influx,  # noqa: F401 - a fixture
)
from tests.support.influx import InfluxDb


def test_an_outage_is_ridden_out_and_logged_once(
    stack: Stack,
    stack_env: dict[str, str],
    influx: InfluxDb,
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = _writer(stack_env, influx, influx_batch_size=100)
    caplog.set_level(logging.INFO, logger="ingest.metrics")
    try:
        _probe(writer, 200)
        _until(lambda: writer.totals["written"] == 200)
        stack.stop_service("influxdb")
        try:
            started = time.monotonic()
            _probe(writer, 1000, start=200)  # never waits on InfluxDB
            assert time.monotonic() - started < 2
            _until(lambda: writer.totals["write_errors"] >= 3)  # retried, with backoff
            assert writer.buffered + writer.in_flight == 1000
        finally:
            stack.start_service("influxdb")
        _until(lambda: writer.totals["written"] == 1200, timeout=60)
    finally:
        assert writer.close(timeout_s=30)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("event=influx_unavailable" in m for m in messages) == 1, messages
    assert sum("event=influx_recovered" in m for m in messages) == 1, messages
    assert writer.totals["dropped"] == 0
    assert influx.count("probe", "i") == 1200


def test_a_full_buffer_drops_its_oldest_points_and_counts_them(
    stack: Stack, stack_env: dict[str, str], influx: InfluxDb
) -> None:
    writer = _writer(stack_env, influx, influx_batch_size=50, influx_buffer_points=300)
    stack.stop_service("influxdb")
    try:
        _probe(writer, 1000)
        _until(lambda: writer.totals["write_errors"] >= 1)
    finally:
        stack.start_service("influxdb")
    assert writer.close(timeout_s=60)
    totals = writer.totals
    assert totals["produced"] == 1000
    assert totals["dropped"] == 700
    assert totals["written"] == totals["produced"] - totals["dropped"] == 300
    kept = sorted(r["i"] for r in influx.rows("SELECT i FROM probe"))
    assert kept == list(range(700, 1000)), str(kept)  # the newest survive
