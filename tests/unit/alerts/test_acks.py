"""The ack book: an ack goes to the machine holding its alert, or waits for one to hold it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import faust

from alerts.acks import MAX_PENDING, AckBook
from ingest.clock import wall_now
from ingest.models import AckRecord
from ingest.settings import load_settings


class Holder:
    """Holds a set of open alert ids; records what it acknowledged."""

    def __init__(self, *alert_ids: str) -> None:
        self.open = set(alert_ids)
        self.acked: list[tuple[str, str]] = []

    async def acknowledge(self, ack: AckRecord) -> bool:
        if ack.alert_id not in self.open:
            return False
        self.acked.append((ack.alert_id, ack.by))
        return True


def ack(alert_id: str, by: str = "guard-1", age: timedelta = timedelta(0)) -> AckRecord:
    at = wall_now() - age
    return AckRecord(building="hq-jakarta", alert_id=alert_id, by=by, ts=at, received_at=at)


def book(*holders: Holder) -> AckBook:
    return AckBook(faust.App("acks-test"), load_settings(), list(holders))


def test_the_holder_of_the_alert_applies_it_and_no_one_else() -> None:
    capacity, quality = Holder("a1"), Holder("q1")
    acks = book(capacity, quality)
    asyncio.run(acks.on_ack(ack("q1")))
    assert (capacity.acked, quality.acked, acks.pending) == ([], [("q1", "guard-1")], 0)


def test_an_unheld_ack_waits_and_applies_once_its_alert_arrives() -> None:
    capacity = Holder()
    acks = book(capacity)
    asyncio.run(acks.on_ack(ack("late")))
    assert acks.pending == 1
    asyncio.run(acks.retry())
    assert (capacity.acked, acks.pending) == ([], 1)
    capacity.open.add("late")  # e.g. the room's table finished restoring
    asyncio.run(acks.retry())
    asyncio.run(acks.retry())
    assert (capacity.acked, acks.pending) == ([("late", "guard-1")], 0)


def test_unheld_acks_expire() -> None:
    acks = book(Holder())
    asyncio.run(acks.on_ack(ack("elsewhere", age=timedelta(hours=2))))
    asyncio.run(acks.on_ack(ack("recent")))
    asyncio.run(acks.retry())
    assert acks.pending == 1


def test_pending_acks_are_bounded_oldest_first() -> None:
    capacity = Holder()
    acks = book(capacity)

    async def flood() -> None:
        for i in range(MAX_PENDING + 5):
            await acks.on_ack(ack(f"a{i}"))

    asyncio.run(flood())
    assert acks.pending == MAX_PENDING
    capacity.open.update({"a0", f"a{MAX_PENDING + 4}"})
    asyncio.run(acks.retry())
    assert capacity.acked == [(f"a{MAX_PENDING + 4}", "guard-1")]
