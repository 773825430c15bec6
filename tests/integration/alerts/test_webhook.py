"""Webhook channel against a real local HTTP receiver that checks every signature."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable

import pytest
from aiohttp import web
from pydantic import SecretStr
from standardwebhooks import Webhook

from alerts.notifiers.webhook import WebhookNotifier, sign, verify_signature
from ingest.errors import ConfigError
from ingest.models import Alert
from tests.support.samples import sample_alert
from tests.support.webhook import verified, whsec

SECRET = whsec(b"s3cret-for-tests-of-the-webhook").encode()


class Receiver:
    """An aiohttp server on 127.0.0.1 that answers `fail_first` attempts per alert with
    503 (or always with `status`), and counts what it accepted."""

    def __init__(self, *, fail_first: int = 0, status: int = 200, delay_s: float = 0) -> None:
        self.fail_first = fail_first
        self.status = status
        self.delay_s = delay_s
        self.attempts: Counter[str] = Counter()
        self.received: Counter[str] = Counter()
        self.bodies: list[Alert] = []
        self.bad_signatures = 0
        self.content_types: set[str] = set()
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.content_types.add(request.content_type)
        if not verified(Webhook(SECRET.decode()), body, request.headers):
            self.bad_signatures += 1
            return web.Response(status=401)
        alert = Alert.model_validate_json(body)
        self.attempts[alert.alert_id] += 1
        await asyncio.sleep(self.delay_s)
        if self.attempts[alert.alert_id] <= self.fail_first:
            return web.Response(status=503)
        if self.status == 200:
            self.received[alert.alert_id] += 1
            self.bodies.append(alert)
        return web.Response(status=self.status)

    async def start(self, port: int = 0) -> str:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        bound = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{bound}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def notifier(
    url: str, *, queue_size: int = 1000, max_attempts: int | None = None
) -> WebhookNotifier:
    """A notifier with backoff short enough for tests."""
    return WebhookNotifier(
        url,
        SecretStr(SECRET.decode()),
        queue_size,
        max_attempts,
        timeout_s=2,
        backoff_min_s=0.01,
        backoff_max_s=0.05,
    )


async def eventually(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


ALERTS = [sample_alert(f"a-{i}") for i in range(20)]
ONCE_EACH = Counter({a.alert_id: 1 for a in ALERTS})


def test_every_alert_arrives_once_signed() -> None:
    async def scenario() -> Receiver:
        receiver = Receiver()
        hook = notifier(await receiver.start())
        await hook.start()
        for alert in ALERTS:
            await hook.send(alert)
        await hook.stop()
        await receiver.stop()
        return receiver

    receiver = asyncio.run(scenario())
    assert receiver.received == ONCE_EACH
    assert receiver.bodies == ALERTS, "in order, byte-for-byte the same alerts"
    assert receiver.bad_signatures == 0
    assert receiver.content_types == {"application/json"}


def test_503_then_200_delivers_each_exactly_once() -> None:
    async def scenario() -> tuple[Receiver, WebhookNotifier]:
        receiver = Receiver(fail_first=2)
        hook = notifier(await receiver.start())
        await hook.start()
        for alert in ALERTS:
            await hook.send(alert)
        await eventually(lambda: sum(receiver.received.values()) == len(ALERTS))
        await hook.stop()
        await receiver.stop()
        return receiver, hook

    receiver, hook = asyncio.run(scenario())
    assert receiver.received == ONCE_EACH
    assert set(receiver.attempts.values()) == {3}
    assert (hook.queue.delivered, hook.queue.failed) == (len(ALERTS), 0)


def test_receiver_down_then_up_gets_every_alert_once() -> None:
    async def scenario() -> Receiver:
        port = free_port()
        hook = notifier(f"http://127.0.0.1:{port}/hook")  # retries until delivered
        await hook.start()
        for alert in ALERTS[:5]:
            await hook.send(alert)
        await asyncio.sleep(1.5)  # many more attempts than any fixed limit would allow
        receiver = Receiver()
        await receiver.start(port)
        await eventually(lambda: sum(receiver.received.values()) == 5)
        await hook.stop()
        await receiver.stop()
        return receiver

    receiver = asyncio.run(scenario())
    assert receiver.received == Counter({a.alert_id: 1 for a in ALERTS[:5]})


def test_send_returns_without_waiting_for_http() -> None:
    async def scenario() -> tuple[float, Receiver]:
        receiver = Receiver(delay_s=0.2)
        hook = notifier(await receiver.start())
        await hook.start()
        started = time.perf_counter()
        for alert in ALERTS[:5]:
            await hook.send(alert)
        elapsed = time.perf_counter() - started
        assert not receiver.received
        await hook.stop()
        await receiver.stop()
        return elapsed, receiver

    elapsed, receiver = asyncio.run(scenario())
    assert elapsed < 0.05
    assert receiver.received == Counter({a.alert_id: 1 for a in ALERTS[:5]})


def test_full_queue_drops_the_oldest_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[Receiver, WebhookNotifier]:
        receiver = Receiver()
        hook = notifier(await receiver.start(), queue_size=3)
        # Not started yet, so nothing drains: the queue fills up.
        for alert in ALERTS[:8]:
            await hook.send(alert)
        await hook.start()
        await hook.stop()
        await receiver.stop()
        return receiver, hook

    with caplog.at_level(logging.WARNING):
        receiver, hook = asyncio.run(scenario())
    assert hook.queue.dropped == 5
    assert receiver.bodies == ALERTS[5:8]
    full = [r.getMessage() for r in caplog.records if "alert_queue_full" in r.getMessage()]
    assert full == ["event=alert_queue_full notifier=webhook target=127.0.0.1 dropped_total=1"]


@pytest.mark.parametrize("status", [400, 404])
def test_client_errors_are_not_retried(status: int) -> None:
    async def scenario() -> tuple[Receiver, WebhookNotifier]:
        receiver = Receiver(status=status)
        hook = notifier(await receiver.start())
        await hook.start()
        await hook.send(ALERTS[0])
        await hook.send(ALERTS[1])
        await hook.stop()
        await receiver.stop()
        return receiver, hook

    receiver, hook = asyncio.run(scenario())
    assert receiver.attempts == Counter({"a-0": 1, "a-1": 1})
    assert (hook.queue.delivered, hook.queue.failed) == (0, 2)


def test_gives_up_after_max_attempts_and_moves_on(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[Receiver, WebhookNotifier]:
        receiver = Receiver(fail_first=3)
        hook = notifier(await receiver.start(), max_attempts=3)
        await hook.start()
        await hook.send(ALERTS[0])
        await hook.stop()
        await receiver.stop()
        return receiver, hook

    with caplog.at_level(logging.INFO):
        receiver, hook = asyncio.run(scenario())
    assert receiver.attempts == Counter({"a-0": 3})
    assert hook.queue.failed == 1
    lines = " ".join(r.getMessage() for r in caplog.records)
    assert "event=alert_delivery_failed" in lines
    assert SECRET.decode() not in lines


def test_signature_checks() -> None:
    body = ALERTS[0].model_dump_json().encode()
    header = sign(body, SECRET)
    assert header.startswith("sha256=")
    assert len(header) == len("sha256=") + 64
    assert verify_signature(body, header, SECRET)
    assert not verify_signature(body + b" ", header, SECRET)
    assert not verify_signature(body, header, b"other")
    assert not verify_signature(body, header.removeprefix("sha256="), SECRET)
    assert not verify_signature(body, "sha256=é", SECRET)


def test_every_attempt_carries_standard_webhooks_headers_and_the_deprecated_one() -> None:
    hook = notifier("https://hooks.example.com/alerts")
    body = ALERTS[0].model_dump_json().encode()
    first, again = hook.headers(body), hook.headers(body)
    assert verified(Webhook(SECRET.decode()), body, first)
    # One message keeps its id across attempts; another message has another.
    assert first["webhook-id"] == again["webhook-id"].strip()
    assert hook.headers(ALERTS[1].model_dump_json().encode())["webhook-id"] != first["webhook-id"]
    assert verify_signature(body, first["X-Signature"], SECRET)
    assert not verified(Webhook(SECRET.decode()), body[:-1] + b" ", first)


@pytest.mark.parametrize(
    ("url", "secret", "message"),
    [
        ("https://hooks.example.com/a", "", "Setting OCC_WEBHOOK_SECRET is empty"),
        ("https://hooks.example.com/a", "s3cret", "must be whsec_ followed by at least 24"),
        ("https://hooks.example.com/a", whsec(b"short"), "must be whsec_ followed by at least"),
        ("http://hooks.example.com/a", SECRET.decode(), "must be an https:// URL"),
        ("http://10.0.0.8/a", SECRET.decode(), "must be an https:// URL"),
        ("ftp://127.0.0.1/a", SECRET.decode(), "must be an https:// URL"),
    ],
)
def test_a_webhook_without_a_secret_or_tls_is_refused_in_one_sentence(
    url: str, secret: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        WebhookNotifier(url, SecretStr(secret))
    assert str(refused.value).count(". ") == 0 and str(refused.value).endswith(".")
    assert secret not in str(refused.value) or not secret


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/a", "http://localhost/a", "http://[::1]/a"])
def test_plain_http_is_allowed_to_this_machine_only(url: str) -> None:
    """Loopback over plain http is accepted (other hosts are refused, above): the notifier is
    made and signs what it would send."""
    headers = WebhookNotifier(url, SecretStr(SECRET.decode())).headers(b"{}")
    assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= set(headers)


def test_redirects_are_not_followed(caplog: pytest.LogCaptureFixture) -> None:
    """A 302 to another receiver is a refusal: the alert does not travel to the new place."""

    async def scenario() -> tuple[Receiver, WebhookNotifier]:
        target = Receiver()
        target_url = await target.start()

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound(target_url)

        app = web.Application()
        app.router.add_post("/hook", redirect)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        hook = notifier(f"http://127.0.0.1:{port}/hook", max_attempts=3)
        await hook.start()
        await hook.send(ALERTS[0])
        await eventually(lambda: hook.queue.failed == 1)
        await hook.stop()
        await runner.cleanup()
        await target.stop()
        return target, hook

    target, hook = asyncio.run(scenario())
    assert target.attempts == Counter()
    assert hook.queue.failed == 1
