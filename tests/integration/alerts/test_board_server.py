"""The board in a worker: the ack it publishes is what the bridge accepts, and a port already
taken leaves the worker counting without a board."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from alerts.board import Board
from ingest.clock import wall_now
from ingest.models import AckRecord
from ingest.settings import load_settings
from ingest.site import Site
from ingest.validation import Validator
from processors.app import build_app
from processors.policy import PolicyFollower
from tests.unit.alerts.test_board_state import HQ, alert


class Published:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes, int, bool]] = []

    def __call__(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        self.messages.append((topic, payload, qos, retain))


class Sent:
    """Stands in for the worker's Kafka producer: keeps what the board sent."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes | None, bytes | None]] = []

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        self.records.append((topic, value, key))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def board(site: Site, tmp_path: Path, port: int) -> tuple[Board, Published]:
    settings = load_settings(
        mqtt_prefix="site/occupancy",
        board_port=port,
        worker_data_dir=tmp_path,
        worker_store="memory",
    )
    published = Published()
    policy = PolicyFollower(settings, site)
    return Board(build_app(settings), settings, site, published, policy, producer=Sent()), published


def test_the_ack_goes_out_as_a_security_console_sends_it(sample_site: Site, tmp_path: Path) -> None:
    web, published = board(sample_site, tmp_path, 8080)
    sent = web.acknowledge(alert("a1b2"), "guard-1")
    [(topic, payload, qos, retain)] = published.messages
    assert (topic, qos, retain) == (f"site/occupancy/{HQ}/alerts/a1b2/ack", 1, False)
    # The bridge's own validation takes it as an ack of that alert, by that person.
    record = Validator(sample_site, "site/occupancy").validate(topic, payload, wall_now())
    assert isinstance(record, AckRecord)
    assert (record.building, record.alert_id, record.by, record.ts) == (
        HQ,
        "a1b2",
        "guard-1",
        sent.ts,
    )


def test_a_port_already_taken_leaves_the_worker_without_a_board(
    sample_site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        web, _ = board(sample_site, tmp_path, taken.getsockname()[1])
        with caplog.at_level(logging.INFO, logger="alerts.board.server"):
            asyncio.run(asyncio.wait_for(web.serve(), 10))
    assert web.url is None
    assert any("event=board_unavailable" in r.getMessage() for r in caplog.records)
    assert not any("event=board_listening" in r.getMessage() for r in caplog.records)
