"""A Faust codec for our pydantic models: the wire contract is the Kafka schema, no second set."""

from __future__ import annotations

from typing import Any

import faust
from faust.serializers import codecs
from faust.types import TableT, TopicT
from pydantic import BaseModel

from ingest.kafka import DAY_MS


class PydanticCodec(codecs.Codec):
    """JSON bytes ⇄ one pydantic model, validated on the way in."""

    def __init__(self, model: type[BaseModel] | None = None, **kwargs: Any) -> None:
        super().__init__(model=model, **kwargs)
        self.model = model

    def _dumps(self, obj: Any) -> bytes:
        assert isinstance(obj, BaseModel), f"{type(obj).__name__} is not a pydantic model"
        return obj.model_dump_json().encode()

    def _loads(self, s: bytes) -> Any:
        assert self.model is not None
        return self.model.model_validate_json(s)


def codec_for(model: type[BaseModel]) -> str:
    """Register (once) and name the codec of `model`, for `value_serializer=`."""
    name = f"pydantic.{model.__module__}.{model.__qualname__}"
    if name not in codecs.codecs:
        codecs.register(name, PydanticCodec(model=model))
    return name


def pydantic_topic(app: faust.App, name: str, model: type[BaseModel]) -> TopicT:
    """A topic keyed by raw bytes (the key strings of the contract) whose values are `model`."""
    return app.topic(name, key_serializer="raw", value_serializer=codec_for(model))


def pydantic_table(
    app: faust.App,
    name: str,
    model: type[BaseModel],
    partitions: int,
    *,
    use_partitioner: bool = True,
) -> TableT[bytes, Any]:
    """A table keyed by raw bytes (a room's `building/room`) whose values are `model`.

    Its changelog partition is the key's partition under Kafka's default partitioner
    (`use_partitioner`), not the partition of the event being processed: timers and
    acknowledgements write outside any event. Every producer of our
    room-keyed topics uses that partitioner on the same key bytes, so a room's changelog
    records land in the partition of its door events and are restored by the worker that
    owns them.

    faust.Table takes no serializer arguments (it derives them from faust.Record types), so
    they are set after construction; the changelog topic that registering the table already
    built with the default JSON serializers is built again with ours, or recovery would
    decode our raw keys as JSON, fail on every record and never finish.

    `use_partitioner=False`: the changelog partition is the current event's instead (a table
    keyed by pseudonym, written in the partition of the employee id, see Ownership.store).
    Its changelog drops deleted keys within a day (`max.compaction.lag.ms`), like every
    changelog here: a deleted entry must not stay on disk for weeks.
    """
    table: TableT[bytes, Any] = app.Table(
        name, partitions=partitions, use_partitioner=use_partitioner
    )
    serialized: Any = table  # the attributes exist on faust.Table, not on its TableT protocol
    serialized.key_serializer = "raw"
    serialized.value_serializer = codec_for(model)
    # Given to faust.Table itself, the setting made a worker crash at its first table write
    # outside an event (the producer did not know the changelog's partitions yet).
    serialized.extra_topic_configs = {"max.compaction.lag.ms": str(DAY_MS)}
    serialized.changelog_topic = serialized._new_changelog_topic()
    return table
