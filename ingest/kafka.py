"""The pipeline's Kafka topics, created explicitly, and a producer with safe defaults."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from ingest.errors import ConfigError
from ingest.logs import kv
from ingest.settings import Settings

log = logging.getLogger(__name__)

_COMPACTED = {"cleanup.policy": "compact"}
_TOPIC_ALREADY_EXISTS = 36
AUDIT_RETENTION_DAYS = 400
"""Over a year: an audit of the last twelve months can always be read back whole."""
TOPICS_LISTED_S = 10.0
"""How long created topics may take to show in the broker's metadata (KRaft propagates the
creation asynchronously: a listing right after it can miss them)."""
_WEEK_MS = str(7 * 24 * 3600 * 1000)
DAY_MS = 24 * 3600 * 1000
# On a compacted topic that carries deletions (tombstones of people's days): the cleaner
# takes a deleted record away within a day, not whenever the segment happens to be cleaned.
_DELETIONS_GONE_IN_A_DAY = {"max.compaction.lag.ms": str(DAY_MS)}


@dataclass(frozen=True)
class TopicSpec:
    """A logical topic: its name after the prefix, how it is partitioned and cleaned."""

    name: str
    partitioned: bool = True
    config: dict[str, str] = field(default_factory=dict)


TOPICS = (
    TopicSpec("door", config={"retention.ms": _WEEK_MS}),
    TopicSpec("checkin", config={"retention.ms": _WEEK_MS}),
    TopicSpec("alert-ack", config={"retention.ms": _WEEK_MS}),
    TopicSpec("deadletter", partitioned=False, config={"retention.ms": _WEEK_MS}),
    TopicSpec("room-state", config=_COMPACTED),
    TopicSpec("alerts"),
    # Attendance: each employee's day records (keyed employee/date) for the reports, and
    # whether each employee is in a building now (keyed employee) for every worker's tally.
    # A day's segment rolls daily, so a day deleted by the retention (a tombstone) is
    # compacted away within about two days rather than the broker's default week.
    TopicSpec(
        "attendance",
        config={**_COMPACTED, "segment.ms": str(DAY_MS), **_DELETIONS_GONE_IN_A_DAY},
    ),
    TopicSpec("presence", config={**_COMPACTED, **_DELETIONS_GONE_IN_A_DAY}),
    # One partition: policy changes and room edits must be read in the order written.
    TopicSpec("config", partitioned=False, config=_COMPACTED),
    # Who did what (ingest/audit.py): one partition, so the trail reads in the order written.
    TopicSpec(
        "audit",
        partitioned=False,
        config={"retention.ms": str(AUDIT_RETENTION_DAYS * 24 * 3600 * 1000)},
    ),
)


def topic_names(settings: Settings) -> list[str]:
    return [settings.kafka_topic(spec.name) for spec in TOPICS]


async def ensure_topics(settings: Settings) -> list[str]:
    """Create every pipeline topic that is missing (never rely on broker auto-create)."""
    admin = make_admin(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name=settings.kafka_topic(spec.name),
                num_partitions=settings.kafka_partitions if spec.partitioned else 1,
                replication_factor=settings.kafka_replication,
                topic_configs=spec.config,
            )
            for spec in TOPICS
            if settings.kafka_topic(spec.name) not in existing
        ]
        if missing:
            # Another process may create them between our list and create: that is fine.
            with contextlib.suppress(TopicAlreadyExistsError):
                _check_created(await admin.create_topics(missing))
            await _until_listed(admin, {t.name for t in missing})
            log.info(kv("kafka_topics_created", topics=",".join(t.name for t in missing)))
        return [t.name for t in missing]
    finally:
        await admin.close()


def _check_created(response: Any) -> None:
    """A topic the broker refused to create (a replication factor above its brokers, say)."""
    for topic, code, *message in getattr(response, "topic_errors", []):
        if code not in (0, _TOPIC_ALREADY_EXISTS):
            why = message[0] if message and message[0] else f"error code {code}"
            raise KafkaError(f"topic {topic} was not created: {why}")


async def _until_listed(admin: AIOKafkaAdminClient, names: set[str]) -> None:
    """Wait, bounded, until the broker's metadata lists every topic of `names`."""
    deadline = time.monotonic() + TOPICS_LISTED_S
    pause = 0.05
    while absent := names - set(await admin.list_topics()):
        if time.monotonic() >= deadline:
            raise KafkaError(
                f"topics created but not listed after {TOPICS_LISTED_S:g} s: "
                + ", ".join(sorted(absent))
            )
        await asyncio.sleep(pause)
        pause = min(1.0, pause * 2)


def make_admin(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, **kafka_security(settings)
    )


def make_producer(settings: Settings, **overrides: object) -> AIOKafkaProducer:
    """A producer that does not lose acknowledged records: acks=all, and idempotence unless
    the broker lacks it (`OCC_KAFKA_IDEMPOTENCE=false`: the demo's Tansu broker)."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "acks": "all",
        "enable_idempotence": settings.kafka_idempotence,
        "linger_ms": settings.kafka_linger_ms,
        "max_batch_size": 256 * 1024,
        "client_id": "occupancy",
        **kafka_security(settings),
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def broadcast_consumer(settings: Settings, name: str, **overrides: object) -> AIOKafkaConsumer:
    """A consumer of every partition of topic `name` from its start, in no consumer group:
    for what every worker must see whole (acks, room states, presence), not share out.
    `overrides` are further aiokafka options (fetch sizes)."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        **kafka_security(settings),
    }
    options.update(overrides)
    return AIOKafkaConsumer(settings.kafka_topic(name), **options)


def partition_consumer(
    settings: Settings, name: str, partitions: list[int], **overrides: object
) -> AIOKafkaConsumer:
    """A consumer of `partitions` of topic `name` from their start, in no consumer group (one
    of several processes sharing a whole topic's read); assigned when started."""
    options: dict[str, object] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        **kafka_security(settings),
    }
    options.update(overrides)
    consumer = AIOKafkaConsumer(**options)
    consumer.assign([TopicPartition(settings.kafka_topic(name), p) for p in partitions])
    return consumer


def kafka_security(settings: Settings) -> dict[str, Any]:
    """The aiokafka options for `OCC_KAFKA_SECURITY_PROTOCOL` (none for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        if not settings.kafka_sasl_username:
            raise ConfigError(
                f"Setting OCC_KAFKA_SASL_USERNAME is not set: {protocol} needs a user name."
            )
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options


def _ssl_context(settings: Settings) -> ssl.SSLContext:
    """Verifies the broker's certificate and host name against OCC_KAFKA_SSL_CA_FILE, or
    against the system's CAs when it is unset."""
    ca_file = settings.kafka_ssl_ca_file
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as exc:  # ssl.SSLError is one too
        raise ConfigError(
            f"Setting OCC_KAFKA_SSL_CA_FILE names {ca_file}, which is not a readable CA file"
            f" ({exc.strerror or exc})."
        ) from None
