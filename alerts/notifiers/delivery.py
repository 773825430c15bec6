"""A bounded alert queue drained in order by one background task, with retries and backoff.

Channels that talk to a remote service put alerts here so `send` never waits on the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_random,
)

from ingest.logs import kv
from ingest.models import Alert

log = logging.getLogger(__name__)

Deliver = Callable[[Alert], Awaitable[None]]


class DeliveryQueue:
    """Holds at most `size` alerts; when full the oldest is dropped (and counted), because a
    fresh alert matters more than a stale one. One task delivers them in order, so an
    alert's "resolved" never overtakes its "active"."""

    def __init__(
        self,
        notifier: str,
        deliver: Deliver,
        *,
        retry_on: tuple[type[BaseException], ...],
        size: int = 1000,
        max_attempts: int | None = None,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        target: str = "",
    ) -> None:
        if size < 1 or (max_attempts is not None and max_attempts < 1):
            raise ValueError("size and max_attempts must be at least 1")
        self._notifier = notifier
        self._target = target
        self._deliver = deliver
        self._retry_on = retry_on
        self._max_attempts = max_attempts
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=size)
        self._task: asyncio.Task[None] | None = None
        self._dropping = False
        self.dropped = 0
        self.delivered = 0
        self.failed = 0

    def put(self, alert: Alert) -> None:
        """Queue an alert without waiting; drops the oldest queued one when full."""
        if self._queue.full():
            self._queue.get_nowait()
            self._queue.task_done()
            self.dropped += 1
            # One line per burst of drops, not one per alert, or the log floods too.
            if not self._dropping:
                self._dropping = True
                log.warning(
                    kv(
                        "alert_queue_full",
                        notifier=self._notifier,
                        target=self._target,
                        dropped_total=self.dropped,
                    )
                )
        else:
            self._dropping = False
        self._queue.put_nowait(alert)

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name=f"{self._notifier}-delivery")

    async def stop(self, drain_timeout_s: float) -> None:
        """Give queued alerts up to `drain_timeout_s` to go out, then stop the task."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), drain_timeout_s)
        except TimeoutError:
            log.warning(
                kv(
                    "alert_queue_abandoned",
                    notifier=self._notifier,
                    target=self._target,
                    left=self._queue.qsize(),
                )
            )
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _drain(self) -> None:
        while True:
            alert = await self._queue.get()
            try:
                await self._deliver_with_retry(alert)
                self.delivered += 1
            except Exception as exc:
                self.failed += 1
                log.warning(
                    kv(
                        "alert_delivery_failed",
                        notifier=self._notifier,
                        target=self._target,
                        alert_id=alert.alert_id,
                        error=type(exc).__name__,
                    )
                )
            finally:
                self._queue.task_done()

    async def _deliver_with_retry(self, alert: Alert) -> None:
        def before_sleep(retry: RetryCallState) -> None:
            error = retry.outcome.exception() if retry.outcome else None
            log.info(
                kv(
                    "alert_delivery_retry",
                    notifier=self._notifier,
                    target=self._target,
                    alert_id=alert.alert_id,
                    attempt=retry.attempt_number,
                    error=type(error).__name__,
                )
            )

        retrying = AsyncRetrying(
            # By default an alert is retried until the channel takes it: an outage of the
            # receiver must not lose alerts, and the bounded queue keeps memory in check.
            stop=stop_never
            if self._max_attempts is None
            else stop_after_attempt(self._max_attempts),
            # Jitter spreads the retries of many workers after the same outage.
            wait=wait_exponential(multiplier=self._backoff_min_s, max=self._backoff_max_s)
            + wait_random(0, self._backoff_min_s),
            retry=retry_if_exception_type(self._retry_on),
            before_sleep=before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self._deliver(alert)
