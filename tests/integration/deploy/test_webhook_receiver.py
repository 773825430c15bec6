"""deploy/examples/webhook_receiver.py, run as its users run it, fed by the real notifier."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from alerts.notifiers.webhook import SIGNATURE_HEADER, WebhookNotifier, sign
from tests.support.samples import sample_alert

SECRET = "webhook-secret-for-tests"
MODULE = "deploy.examples.webhook_receiver"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Receiver:
    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/alerts"
        self.log = tmp_path / "receiver.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", MODULE, "--port", str(self.port), *args],
                env={**os.environ, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        while True:
            assert self.process.poll() is None, self.output()
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    running = Receiver(tmp_path, env={"OCC_WEBHOOK_SECRET": SECRET})
    try:
        running.wait_listening()
        yield running
    finally:
        running.stop()


async def deliver(url: str, secret: str, alert_id: str) -> None:
    notifier = WebhookNotifier(url, SecretStr(secret), max_attempts=1, drain_timeout_s=10)
    await notifier.start()
    await notifier.send(sample_alert(alert_id))
    await notifier.stop()


async def post(url: str, body: bytes, signature: str | None) -> int:
    headers = {} if signature is None else {SIGNATURE_HEADER: signature}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status


def test_signed_alerts_are_taken_and_everything_else_refused(receiver: Receiver) -> None:
    asyncio.run(deliver(receiver.url, SECRET, "alert-signed"))
    asyncio.run(deliver(receiver.url, "a-wrong-secret", "alert-forged"))
    body = sample_alert("alert-tampered").model_dump_json().encode()
    tampered = body.replace(b'"critical"', b'"info"')
    signed = sign(body, SECRET.encode())
    assert asyncio.run(post(receiver.url, body, signed)) == 204
    assert asyncio.run(post(receiver.url, tampered, signed)) == 401
    assert asyncio.run(post(receiver.url, body, None)) == 401
    assert asyncio.run(post(receiver.url, body, signed.upper())) == 401
    assert asyncio.run(post(receiver.url, b"[]", sign(b"[]", SECRET.encode()))) == 400
    receiver.stop()
    out = receiver.output()
    assert "event=alert_received alert_id=alert-signed" in out
    assert out.count("event=alert_received alert_id=alert-tampered") == 1
    assert "alert-forged" not in out
    assert out.count("event=webhook_bad_signature") == 4
    assert "event=webhook_not_an_alert" in out
    assert SECRET not in out


def test_the_secret_comes_from_a_file_or_the_receiver_refuses_to_start(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    from_file = Receiver(tmp_path, "--secret-file", str(secret_file), env={})
    try:
        from_file.wait_listening()
        asyncio.run(deliver(from_file.url, SECRET, "alert-from-file"))
    finally:
        from_file.stop()
    assert "event=alert_received alert_id=alert-from-file" in from_file.output()

    unset = Receiver(tmp_path, env={"OCC_WEBHOOK_SECRET": ""})
    assert unset.process.wait(15) != 0
    assert "no secret: set OCC_WEBHOOK_SECRET or --secret-file" in unset.output()
