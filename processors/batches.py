"""Batches of decoded values from a Faust stream, typed, for agents that coalesce their writes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, TypeVar, cast

import faust

from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)

M = TypeVar("M")


async def batches(
    stream: faust.StreamT[Any], model: type[M], settings: Settings
) -> AsyncIterator[list[M]]:
    """Up to `OCC_WORKER_BATCH_MAX` values, or what came within `OCC_WORKER_BATCH_WITHIN_S`.

    The events of a batch are acknowledged (their offsets may be committed) only after the
    caller has finished with it and asks for the next. Events of partitions taken from this
    worker in a rebalance while they waited in the batch are left out: their new owner reads
    them again from the last committed offset, and a write for them here would land in a
    changelog partition this worker no longer owns.
    """
    taker: Any = stream  # take_events is on faust.Stream, not on its StreamT protocol
    assignor = stream.app.assignor
    async for events in taker.take_events(
        settings.worker_batch_max, within=settings.worker_batch_within_s
    ):
        actives = assignor.assigned_actives()
        kept = [cast(M, event.value) for event in events if event.message.tp in actives]
        if len(kept) < len(events):
            log.info(kv("batch_events_of_revoked_partitions", left_out=len(events) - len(kept)))
        yield kept
