"""Webhook channel: each alert POSTed as JSON, signed per the Standard Webhooks specification
(standardwebhooks.com), retried with backoff."""

from __future__ import annotations

import binascii
import hashlib
import hmac
import ipaddress

import aiohttp
from pydantic import SecretStr
from standardwebhooks import Webhook
from yarl import URL

from alerts.notifiers.delivery import DeliveryQueue
from ingest.clock import wall_now
from ingest.errors import ConfigError
from ingest.models import Alert

# Deprecated: HMAC of the body alone, which a captured delivery replays as it is. Sent for
# one more release beside the Standard Webhooks headers, then dropped.
SIGNATURE_HEADER = "X-Signature"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's marker, not a secret
_MIN_SECRET_BYTES = 24


class WebhookRejectedError(Exception):
    """The receiver answered with a status that says do not try again (3xx, 4xx)."""


class WebhookUnavailableError(Exception):
    """The receiver answered 5xx or 429: worth another attempt later."""


def sign(body: bytes, secret: bytes) -> str:
    """The deprecated `X-Signature` value for a body: `sha256=<hex HMAC-SHA256 of the bytes>`."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str, secret: bytes) -> bool:
    """The receiver's check of the deprecated `X-Signature`, in constant time."""
    return hmac.compare_digest(sign(body, secret).encode(), header.encode())


def message_id(body: bytes) -> str:
    """`webhook-id`: the same for every attempt at one alert message (receivers deduplicate
    on it), different for every other message (each carries its own state and time)."""
    return "msg_" + hashlib.sha256(body).hexdigest()[:32]


def webhook_of(secret: SecretStr) -> Webhook:
    """The signer of `OCC_WEBHOOK_SECRET`, or ConfigError saying what is wrong with it."""
    value = secret.get_secret_value()
    if not value:
        raise ConfigError(
            "Setting OCC_WEBHOOK_SECRET is empty: give it a secret (whsec_ and 32 random bytes"
            " in base64: python -m deploy.examples.webhook_receiver --new-secret) or unset"
            " OCC_WEBHOOK_URL."
        )
    try:
        raw = binascii.a2b_base64(value.removeprefix(SECRET_PREFIX).encode() + b"==")
    except binascii.Error:
        raw = b""
    if not value.startswith(SECRET_PREFIX) or len(raw) < _MIN_SECRET_BYTES:
        raise ConfigError(
            f"Setting OCC_WEBHOOK_SECRET is invalid: it must be {SECRET_PREFIX} followed by at"
            f" least {_MIN_SECRET_BYTES} random bytes in base64."
        )
    return Webhook(value)


def check_url(url: str) -> None:
    """Alerts name rooms and employees' pseudonyms: they travel over TLS, except to a
    receiver on this machine."""
    parsed = URL(url)
    if parsed.scheme == "https" and parsed.host:
        return
    if parsed.scheme == "http" and parsed.host and _loopback(parsed.host):
        return
    raise ConfigError(
        "Setting OCC_WEBHOOK_URL is invalid: it must be an https:// URL (http:// only to"
        " localhost or a loopback address)."
    )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        check_url(url)
        self._webhook = webhook_of(secret)
        self._url = url
        self._legacy_secret = secret.get_secret_value().encode()
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

    def headers(self, body: bytes) -> dict[str, str]:
        """The headers of one attempt. The timestamp is the real instant of sending, not
        pipeline time: the receiver holds it against its own clock to refuse replays."""
        msg_id = message_id(body)
        sent = wall_now()
        return {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(sent.timestamp())),
            "webhook-signature": self._webhook.sign(msg_id, sent, body),
            SIGNATURE_HEADER: sign(body, self._legacy_secret),
        }

    async def _post(self, alert: Alert) -> None:
        if self._session is None:
            raise RuntimeError("WebhookNotifier.start() was not called")
        body = alert.model_dump_json().encode()
        # A redirect could carry the alert to a host nobody configured: not followed.
        async with self._session.post(
            self._url, data=body, headers=self.headers(body), allow_redirects=False
        ) as response:
            if response.status >= 500 or response.status == 429:
                raise WebhookUnavailableError(f"status {response.status}")
            if response.status >= 300:
                raise WebhookRejectedError(f"status {response.status}")
