"""Local table stores never outrank Kafka: a partition whose store is ahead of its changelog
(topics deleted, reset or restored from an older backup) is emptied and restored from it."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from faust.tables.recovery import Recovery
from faust.types import TP, ConsumerT

from ingest.logs import kv

log = logging.getLogger(__name__)


class ChangelogFirstRecovery(Recovery):
    """Faust's recovery, except that where Faust would stop the worker with ConsistencyError
    ("persisted offset … is higher than the last offset in that topic"), and the restarted
    worker again, for good, the partition's local store is discarded and read back from the
    changelog, as Kafka Streams does with a corrupted task."""

    async def _build_offsets(
        self, consumer: ConsumerT, tps: set[TP], destination: Counter[TP], title: str
    ) -> None:
        await super()._build_offsets(consumer, tps, destination, title)
        if not tps:
            return
        highwaters = await consumer.highwaters(*tps)
        earliest = await consumer.earliest_offsets(*tps)
        for tp in tps:
            # Offsets as Faust keeps them: the last offset read, -1 for none.
            last = (highwaters.get(tp) or 0) - 1
            local = destination.get(tp)
            if local is None or local <= last:
                continue
            table = self.tp_to_table.get(tp)
            store = getattr(table, "data", None)
            if table is None or not discard_partition(store, tp.partition):
                continue
            start = (earliest.get(tp) or 0) - 1
            destination[tp] = start
            log.warning(
                kv(
                    "table_store_discarded",
                    table=table.name,
                    changelog=tp.topic,
                    partition=tp.partition,
                    local_offset=local,
                    changelog_last_offset=last,
                    reason="local store ahead of its changelog: restored from the changelog",
                )
            )


def discard_partition(store: Any, partition: int) -> bool:
    """Empty a RocksDB store's partition, its persisted offset included; False for a store
    that keeps none across restarts (memory), which can never be ahead."""
    open_db = getattr(store, "_db_for_partition", None)
    if open_db is None:
        return False
    db = open_db(partition)
    for key in list(db.keys()):
        db.delete(key)
    index = getattr(store, "_key_index", None)
    if index is not None:
        for key in [k for k, p in list(index.items()) if p == partition]:
            index.pop(key, None)
    return True
