"""A webhook receiver that can go down and come back on the same port (fault tests).

`tests.support.webhook.WebhookReceiver` starts down and comes up once; this one is up from
the start and `down()` closes its listening socket, so that every POST meanwhile is refused
(connection refused, as from a receiver that crashed); `up()` listens on the same port again.
Every body whose signature holds is kept, with the time it arrived.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

from standardwebhooks import Webhook

from tests.support.webhook import ReceiverServer, SignedHandler, verified


class SwitchableWebhook:
    """Listening on 127.0.0.1 from the start; `down()` and `up()` switch it off and on."""

    def __init__(self, secret: str) -> None:
        self._webhook = Webhook(secret)
        self._lock = threading.Lock()
        self._bodies: list[tuple[float, bytes]] = []
        self._bad_signatures = 0
        self._server: ReceiverServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.up()
        self.url = f"http://127.0.0.1:{self.port}/hook"

    def accept(self, body: bytes, headers: Mapping[str, str]) -> bool:
        signed = verified(self._webhook, body, headers)
        with self._lock:
            if signed:
                self._bodies.append((time.monotonic(), body))
            else:
                self._bad_signatures += 1
        return signed

    def up(self) -> None:
        if self._server is not None:
            return
        server = ReceiverServer(("127.0.0.1", self.port), SignedHandler)
        server.receiver = self
        self.port = server.server_port
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def down(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(10)
        self._server, self._thread = None, None

    def bodies(self) -> list[tuple[float, bytes]]:
        """(monotonic time received, body) of every correctly signed POST."""
        with self._lock:
            return list(self._bodies)

    @property
    def bad_signatures(self) -> int:
        with self._lock:
            return self._bad_signatures

    def close(self) -> None:
        self.down()
