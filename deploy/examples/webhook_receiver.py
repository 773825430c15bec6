"""An alert webhook receiver: trusts a body only after its `X-Signature` checks out.

The signature is HMAC-SHA256 over the exact bytes received, compared in constant time
(`verify_signature`, `hmac.compare_digest`), so check it before parsing anything. Run:

    OCC_WEBHOOK_SECRET=... python -m deploy.examples.webhook_receiver --port 8090
    python -m deploy.examples.webhook_receiver --secret-file /run/secrets/webhook

and point the workers' OCC_WEBHOOK_URL at http://HOST:8090/alerts with the same secret.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr, ValidationError

from alerts.notifiers.webhook import SIGNATURE_HEADER, verify_signature
from ingest.logs import kv, setup_logging
from ingest.models import Alert

log = logging.getLogger(__name__)

# An alert is well under 4 KiB; anything much bigger is not one of ours.
MAX_BODY_BYTES = 64 * 1024

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


def make_app(secret: SecretStr, on_alert: AlertHandler = log_alert) -> web.Application:
    """POST /alerts: 401 for a missing or wrong signature, 400 for a signed body that is not
    an alert, 204 once `on_alert` has taken it (the sender retries 5xx, not 4xx)."""
    key = secret.get_secret_value().encode()

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        if not verify_signature(body, request.headers.get(SIGNATURE_HEADER, ""), key):
            log.warning(kv("webhook_bad_signature", remote=request.remote or ""))
            return web.Response(status=401)
        try:
            alert = Alert.model_validate_json(body)
        except ValidationError as exc:
            log.warning(kv("webhook_not_an_alert", errors=exc.error_count()))
            return web.Response(status=400)
        await on_alert(alert)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--secret-file", type=Path, help="else OCC_WEBHOOK_SECRET")
    args = parser.parse_args(argv)
    setup_logging()
    app = make_app(read_secret(args.secret_file))
    log.info(kv("webhook_receiver_listening", host=args.host, port=args.port))
    web.run_app(app, host=args.host, port=args.port, print=None)


if __name__ == "__main__":
    main()
