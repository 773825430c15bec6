"""Which partition a room key belongs to, whether this worker holds it, and table writes made
for that partition outside Faust's per-event iteration.

Timers and acknowledgements write tables with no event being processed, but
Faust's RocksDB store files a written key under the partition of "the event being
processed" (`faust.current_event()`). `store` names the key's own partition there for the
duration of one write. A table's local store may also still hold rooms whose partitions
moved to another worker (the in-memory store keeps them); timers ask `owned` first so a
second worker never alerts for a room it gave away.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka.partitioner import DefaultPartitioner
from faust.streams import _current_event
from faust.types import TP, TableT

_partitioner = DefaultPartitioner()


@dataclass(frozen=True)
class _Message:
    topic: str
    partition: int

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)


@dataclass(frozen=True)
class _PartitionEvent:
    """What Faust's stores read of the current event: its message's partition."""

    message: _Message


class Ownership:
    """Room keys ↔ partitions of the door topic (every room-keyed topic is partitioned alike)."""

    def __init__(self, app: faust.App, topic: str, partitions: int) -> None:
        self._app = app
        self._topic = topic
        self._partitions = partitions
        self._known: dict[tuple[bytes, int], int] = {}

    def partition_of(self, key: bytes) -> int:
        """The partition Kafka's default partitioner gives `key` (what every producer uses)."""
        count = self._app.consumer.topic_partitions(self._topic) or self._partitions
        partition = self._known.get((key, count))
        if partition is None:
            every = list(range(count))
            partition = self._known[(key, count)] = _partitioner(key, every, every)
        return partition

    def owned(self) -> set[int]:
        """The door-topic partitions assigned to this worker now."""
        actives = self._app.assignor.assigned_actives()
        return {tp.partition for tp in actives if tp.topic == self._topic}

    def store(
        self, table: TableT[bytes, Any], key: bytes, value: Any, partition: int | None = None
    ) -> None:
        """`table[key] = value`, kept locally and in the changelog under the key's partition
        (or `partition`: a table keyed by pseudonym files an employee where its id goes)."""
        with self._in(self.partition_of(key) if partition is None else partition):
            table[key] = value

    def delete(self, table: TableT[bytes, Any], key: bytes, partition: int) -> None:
        """`del table[key]` in `partition`, outside any event."""
        with self._in(partition):
            del table[key]

    @contextlib.contextmanager
    def _in(self, partition: int) -> Iterator[None]:
        event = _PartitionEvent(_Message(self._topic, partition))
        token = _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
        try:
            yield
        finally:
            _current_event.reset(token)
