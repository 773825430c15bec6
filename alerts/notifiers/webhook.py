"""Webhook channel: each alert POSTed as JSON, signed with HMAC-SHA256, retried with backoff."""

from __future__ import annotations

import hashlib
import hmac

import aiohttp
from pydantic import SecretStr
from yarl import URL

from alerts.notifiers.delivery import DeliveryQueue
from ingest.models import Alert

SIGNATURE_HEADER = "X-Signature"


class WebhookRejectedError(Exception):
    """The receiver answered with a status that says do not try again (4xx)."""


class WebhookUnavailableError(Exception):
    """The receiver answered 5xx or 429: worth another attempt later."""


def sign(body: bytes, secret: bytes) -> str:
    """The `X-Signature` value for a body: `sha256=<hex HMAC-SHA256 of the exact bytes>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str, secret: bytes) -> bool:
    """The receiver's check of `X-Signature`, in constant time."""
    return hmac.compare_digest(sign(body, secret).encode(), header.encode())


class WebhookNotifier:
    """POSTs alerts to one URL from a bounded queue; `send` only enqueues."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        secret: SecretStr,
        queue_size: int = 1000,
        max_attempts: int | None = None,
        timeout_s: float = 5,
        *,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        drain_timeout_s: float = 5.0,
    ) -> None:
        self._url = url
        self._secret = secret.get_secret_value().encode()
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._drain_timeout_s = drain_timeout_s
        self._session: aiohttp.ClientSession | None = None
        # Only the host is logged: webhook paths and queries often carry tokens.
        self.queue = DeliveryQueue(
            self.name,
            self._post,
            retry_on=(aiohttp.ClientConnectionError, TimeoutError, WebhookUnavailableError),
            size=queue_size,
            max_attempts=max_attempts,
            backoff_min_s=backoff_min_s,
            backoff_max_s=backoff_max_s,
            target=URL(url).host or "",
        )

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        await self.queue.start()

    async def send(self, alert: Alert) -> None:
        self.queue.put(alert)

    async def stop(self) -> None:
        await self.queue.stop(self._drain_timeout_s)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(self, alert: Alert) -> None:
        if self._session is None:
            raise RuntimeError("WebhookNotifier.start() was not called")
        body = alert.model_dump_json().encode()
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self._secret)}
        async with self._session.post(self._url, data=body, headers=headers) as response:
            if response.status >= 500 or response.status == 429:
                raise WebhookUnavailableError(f"status {response.status}")
            if response.status >= 400:
                raise WebhookRejectedError(f"status {response.status}")
