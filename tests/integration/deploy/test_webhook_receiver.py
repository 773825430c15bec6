"""deploy/examples/webhook_receiver.py, run as its users run it, fed by the real notifier."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from standardwebhooks import Webhook

from alerts.notifiers.webhook import SIGNATURE_HEADER, WebhookNotifier, message_id, sign
from deploy.cli import main
from tests.conftest import SAMPLE_ROSTER, SAMPLE_SITE
from tests.support.samples import sample_alert
from tests.support.webhook import whsec

SECRET = whsec(b"webhook-secret-for-tests")
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


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers=headers) as r,
    ):
        return r.status


def signed(body: bytes, *, age: timedelta = timedelta(0), secret: str = SECRET) -> dict[str, str]:
    """Standard Webhooks headers as the notifier sends them, stamped `age` ago (real time:
    the receiver holds the timestamp against its own clock)."""
    sent = datetime.now(UTC) - age
    msg_id = message_id(body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(sent.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, sent, body),
    }


def test_standard_webhooks_deliveries_are_taken_and_everything_else_refused(
    receiver: Receiver,
) -> None:
    asyncio.run(deliver(receiver.url, SECRET, "alert-signed"))
    asyncio.run(deliver(receiver.url, whsec(b"a-wrong-secret-of-24-bytes"), "alert-forged"))
    body = sample_alert("alert-tampered").model_dump_json().encode()
    headers = signed(body)
    one_byte = body.replace(b'"critical"', b'"criticaL"')
    assert sum(a != b for a, b in zip(one_byte, body, strict=True)) == 1
    assert asyncio.run(post(receiver.url, one_byte, headers)) == 401
    assert asyncio.run(post(receiver.url, body, headers)) == 204
    assert asyncio.run(post(receiver.url, body, headers)) == 409  # the same request replayed
    old = sample_alert("alert-old").model_dump_json().encode()
    assert asyncio.run(post(receiver.url, old, signed(old, age=timedelta(minutes=6)))) == 401
    assert asyncio.run(post(receiver.url, old, signed(old, age=timedelta(minutes=4)))) == 204
    # The deprecated X-Signature alone, however right, is not enough.
    legacy = sample_alert("alert-legacy").model_dump_json().encode()
    x_signature = {SIGNATURE_HEADER: sign(legacy, SECRET.encode())}
    assert asyncio.run(post(receiver.url, legacy, x_signature)) == 401
    assert asyncio.run(post(receiver.url, b"[]", signed(b"[]"))) == 400
    receiver.stop()
    out = receiver.output()
    assert "event=alert_received alert_id=alert-signed" in out
    assert out.count("event=alert_received alert_id=alert-tampered") == 1
    assert out.count("event=alert_received alert_id=alert-old") == 1
    assert "alert-forged" not in out and "alert-legacy" not in out
    assert out.count("event=webhook_refused") == 4
    assert 'reason="Message timestamp too old"' in out
    assert out.count("event=webhook_replayed") == 1
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

    weak = Receiver(tmp_path, env={"OCC_WEBHOOK_SECRET": "not-a-whsec-secret"})
    assert weak.process.wait(15) != 0
    assert "OCC_WEBHOOK_SECRET is invalid: it must be whsec_" in weak.output()


def test_a_new_secret_is_one_the_notifier_takes() -> None:
    done = subprocess.run(
        [sys.executable, "-m", MODULE, "--new-secret"], capture_output=True, text=True, check=True
    )
    WebhookNotifier("https://hooks.example.com/a", SecretStr(done.stdout.strip()))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OCC_WEBHOOK_SECRET": ""}, "Setting OCC_WEBHOOK_SECRET is empty"),
        (
            {"OCC_WEBHOOK_URL": "http://hooks.example.com/a"},
            "Setting OCC_WEBHOOK_URL is invalid: it must be an https:// URL",
        ),
    ],
)
def test_the_worker_stops_in_one_sentence_without_a_secret_or_tls(
    env: dict[str, str], message: str
) -> None:
    """Before it connects to anything (no Kafka here)."""
    settings = {
        "OCC_WEBHOOK_URL": "https://hooks.example.com/a",
        "OCC_WEBHOOK_SECRET": SECRET,
        "OCC_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
        "OCC_SITE_FILE": str(SAMPLE_SITE),
        "OCC_ROSTER_FILE": str(SAMPLE_ROSTER),
        **env,
    }
    result = CliRunner().invoke(main, ["worker"], env=settings)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
