"""Table values kept decoded in the worker and written to their Faust table in batches.

A door event changes its room's count, and often its alert machines: written one by one,
each change was a store write, a JSON encoding and a changelog record, most of the worker's
time. `WriteBehind` keeps the latest value per key and writes each changed key once per
write-back; the occupancy agent acknowledges its events only after the write-back that
covers them has sent their changelog records, so a worker that dies before that has its
events delivered again, and they are applied again to the state its tables restore.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from faust.types import TableT

from processors.ownership import Ownership

V = TypeVar("V")


class WriteBehind(Generic[V]):
    """The values of one table this worker writes, decoded, with the keys changed since the
    last `flush`."""

    def __init__(self, table: TableT[bytes, Any], ownership: Ownership) -> None:
        self.table = table
        self._ownership = ownership
        self._values: dict[bytes, V] = {}
        self._dirty: dict[bytes, V] = {}

    def get(self, key: bytes) -> V | None:
        """The latest value: written or not yet, else read (and decoded once) from the table."""
        value = self._values.get(key)
        if value is None:
            value = self.table.get(key)
            if value is not None:
                self._values[key] = value
        return value

    def put(self, key: bytes, value: V) -> None:
        self._values[key] = value
        self._dirty[key] = value

    def keys(self) -> Iterator[bytes]:
        """Every key in the table and every key changed since the last flush."""
        seen = set(self._dirty)
        yield from self._dirty
        for key in list(self.table.keys()):
            if key not in seen:
                yield key

    @property
    def pending(self) -> int:
        return len(self._dirty)

    def flush(self) -> int:
        """Write every changed key once (its changelog record goes to the producer); how many."""
        dirty, self._dirty = self._dirty, {}
        for key, value in dirty.items():
            self._ownership.store(self.table, key, value)
        return len(dirty)

    def forget(self) -> None:
        """After a rebalance: the keys held may have changed hands; read them again."""
        self._values.clear()
        self._dirty.clear()
