"""An alert webhook receiver per the Standard Webhooks specification: trusts a body only
after its signature, its timestamp (five minutes at most) and its unseen id check out.

The signature (`webhook-signature`) covers the message id, the timestamp and the exact bytes
received, so check it before parsing anything; `standardwebhooks` does, in constant time.
Run:

    python -m deploy.examples.webhook_receiver --new-secret   # prints a whsec_ secret
    OCC_WEBHOOK_SECRET=whsec_... python -m deploy.examples.webhook_receiver --port 8090
    python -m deploy.examples.webhook_receiver --secret-file /run/secrets/webhook

and point the workers' OCC_WEBHOOK_URL at https://HOST/alerts (behind your TLS proxy) with
the same secret.
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr, ValidationError
from standardwebhooks import WebhookVerificationError

from alerts.notifiers.webhook import SECRET_PREFIX, webhook_of
from ingest.errors import ConfigError
from ingest.logs import kv, setup_logging
from ingest.models import Alert

log = logging.getLogger(__name__)

# An alert is well under 4 KiB; anything much bigger is not one of ours.
MAX_BODY_BYTES = 64 * 1024
# standardwebhooks refuses timestamps more than five minutes off; an id seen within twice
# that is a replay, and an older one would fail the timestamp check anyway.
REPLAY_WINDOW_S = 600.0

AlertHandler = Callable[[Alert], Awaitable[None]]


async def log_alert(alert: Alert) -> None:
    """What a real receiver would replace: page someone, open a ticket, …"""
    log.info(
        kv(
            "alert_received",
            alert_id=alert.alert_id,
            kind=alert.kind,
            severity=alert.severity,
            state=alert.state,
            building=alert.building,
            room=alert.room or "",
        )
    )


class SeenIds:
    """Message ids taken in the replay window, oldest first; forgets what the timestamp
    check alone refuses. Monotonic time: a wall clock set back must not forget early."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S) -> None:
        self._window_s = window_s
        self._seen: OrderedDict[str, float] = OrderedDict()

    def add(self, msg_id: str) -> bool:
        """Record `msg_id`; False when it was already there (a replay)."""
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now - self._window_s:
            self._seen.popitem(last=False)
        if msg_id in self._seen:
            return False
        self._seen[msg_id] = now
        return True

    def discard(self, msg_id: str) -> None:
        self._seen.pop(msg_id, None)


def make_app(secret: SecretStr, on_alert: AlertHandler = log_alert) -> web.Application:
    """POST /alerts: 401 for a missing or wrong signature or a timestamp over five minutes
    off, 409 for an id already taken (a replay), 400 for a signed body that is not an alert,
    204 once `on_alert` has taken it (the sender retries 5xx, not 4xx)."""
    webhook = webhook_of(secret)
    seen = SeenIds()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            webhook.verify(body, dict(request.headers))
        except (WebhookVerificationError, ValueError) as exc:
            log.warning(kv("webhook_refused", reason=str(exc), remote=request.remote or ""))
            return web.Response(status=401)
        msg_id = request.headers["webhook-id"]
        if not seen.add(msg_id):
            log.warning(kv("webhook_replayed", id=msg_id, remote=request.remote or ""))
            return web.Response(status=409)
        try:
            alert = Alert.model_validate_json(body)
        except ValidationError as exc:
            log.warning(kv("webhook_not_an_alert", errors=exc.error_count()))
            return web.Response(status=400)
        try:
            await on_alert(alert)
        except Exception:
            seen.discard(msg_id)  # not taken: the sender's retry must get through
            raise
        return web.Response(status=204)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/alerts", receive)
    return app


def read_secret(secret_file: Path | None) -> SecretStr:
    """The shared secret from `secret_file` (first line) or OCC_WEBHOOK_SECRET; never empty."""
    if secret_file is not None:
        lines = secret_file.read_text().splitlines()
        secret = lines[0] if lines else ""
    else:
        secret = os.environ.get("OCC_WEBHOOK_SECRET", "")
    if not secret:
        # An empty key would accept whatever anyone signs with an empty key.
        raise SystemExit("webhook_receiver: no secret: set OCC_WEBHOOK_SECRET or --secret-file.")
    return SecretStr(secret)


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--secret-file", type=Path, help="else OCC_WEBHOOK_SECRET")
    parser.add_argument("--new-secret", action="store_true", help="print a new secret and exit")
    args = parser.parse_args(argv)
    if args.new_secret:
        print(new_secret())
        return
    setup_logging()
    try:
        app = make_app(read_secret(args.secret_file))
    except ConfigError as exc:
        raise SystemExit(f"webhook_receiver: {exc}") from None
    log.info(kv("webhook_receiver_listening", host=args.host, port=args.port))
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
