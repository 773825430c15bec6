"""A webhook receiver for end-to-end tests: stdlib HTTP on 127.0.0.1, every signature checked."""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from standardwebhooks import Webhook, WebhookVerificationError


def whsec(raw: bytes) -> str:
    """A webhook secret as `OCC_WEBHOOK_SECRET` takes it: whsec_ and the bytes in base64."""
    return "whsec_" + base64.b64encode(raw).decode()


def verified(webhook: Webhook, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether the Standard Webhooks headers hold for `body` (timestamp within 5 minutes)."""
    try:
        webhook.verify(body, dict(headers))
    except WebhookVerificationError:
        return False
    return True


class Receiver(Protocol):
    def accept(self, body: bytes, headers: Mapping[str, str]) -> bool: ...


class ReceiverServer(ThreadingHTTPServer):
    """Hands each POST to its `receiver`, which checks the signature and keeps the body."""

    daemon_threads = True
    receiver: Receiver


class _Server(ReceiverServer):
    # The port is held from the start, unlistened: nobody else may bind it meanwhile.
    allow_reuse_address = False


class SignedHandler(BaseHTTPRequestHandler):
    server: ReceiverServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signed = self.server.receiver.accept(body, dict(self.headers.items()))
        self.send_response(200 if signed else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return None


class WebhookReceiver:
    """Binds a free port at once but listens only after `up()`: until then every POST is
    refused, as by a receiver that is down. Keeps the bodies whose signature holds."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret)
        self._lock = threading.Lock()
        self._bodies: list[bytes] = []
        self._bad_signatures = 0
        self._server = _Server(("127.0.0.1", 0), SignedHandler, bind_and_activate=False)
        self._server.receiver = self
        self._server.server_bind()
        self._thread: threading.Thread | None = None
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"

    def accept(self, body: bytes, headers: Mapping[str, str]) -> bool:
        """Record one delivery; whether its signature holds."""
        signed = verified(self._webhook, body, headers)
        with self._lock:
            if signed:
                self._bodies.append(body)
            else:
                self._bad_signatures += 1
        return signed

    def up(self) -> None:
        """Start listening and answering."""
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def bodies(self) -> list[bytes]:
        with self._lock:
            return list(self._bodies)

    @property
    def bad_signatures(self) -> int:
        with self._lock:
            return self._bad_signatures

    def close(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(10)
        self._server.server_close()
