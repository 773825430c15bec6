"""Batches of decoded values from a Faust stream, typed, for agents that coalesce their writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar, cast

import faust

from ingest.settings import Settings

M = TypeVar("M")


async def batches(
    stream: faust.StreamT[Any], model: type[M], settings: Settings
) -> AsyncIterator[list[M]]:
    """Up to `OCC_WORKER_BATCH_MAX` values, or what came within `OCC_WORKER_BATCH_WITHIN_S`.

    The events of a batch are acknowledged (their offsets may be committed) only after the
    caller has finished with it and asks for the next.
    """
    taker: Any = stream  # take_events is on faust.Stream, not on its StreamT protocol
    async for events in taker.take_events(
        settings.worker_batch_max, within=settings.worker_batch_within_s
    ):
        yield [cast(M, event.value) for event in events]
