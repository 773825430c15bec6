"""Fan-out: every channel gets the alert even when another fails, hangs or cannot start."""

from __future__ import annotations

import asyncio
import time

from alerts.notifiers import Fanout, Notifier
from ingest.models import Alert
from tests.support.samples import sample_alert


class Recording:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[Alert] = []
        self.started = self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def send(self, alert: Alert) -> None:
        self.sent.append(alert)

    async def stop(self) -> None:
        self.stopped = True


class Broken(Recording):
    async def start(self) -> None:
        raise OSError("cannot start")

    async def send(self, alert: Alert) -> None:
        raise RuntimeError("broken channel")

    async def stop(self) -> None:
        raise RuntimeError("cannot stop")


class Hanging(Recording):
    async def send(self, alert: Alert) -> None:
        await asyncio.sleep(3600)


def test_a_failing_notifier_does_not_stop_the_others() -> None:
    first, second = Recording("first"), Recording("second")
    channels: list[Notifier] = [first, Broken("broken"), second]
    fanout = Fanout(channels)
    alerts = [sample_alert("a-1"), sample_alert("a-2")]

    async def scenario() -> None:
        await fanout.start()
        for alert in alerts:
            await fanout.send(alert)
        await fanout.stop()

    asyncio.run(scenario())
    assert first.sent == second.sent == alerts
    assert first.started and second.started
    assert first.stopped and second.stopped


def test_a_hanging_notifier_is_cut_off() -> None:
    quick = Recording("quick")
    fanout = Fanout([Hanging("hanging"), quick], send_timeout_s=0.1)

    async def scenario() -> float:
        started = time.perf_counter()
        await fanout.send(sample_alert())
        return time.perf_counter() - started

    elapsed = asyncio.run(scenario())
    assert elapsed < 1
    assert quick.sent == [sample_alert()]
