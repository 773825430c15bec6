"""The one `faust.App` of the workers, configured from the settings."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.auth import CredentialsT

from ingest.kafka import kafka_security
from ingest.settings import Settings
from processors.local_state import ChangelogFirstRecovery


def store_url(settings: Settings) -> str:
    """RocksDB when its binding is installed (tables survive a restart locally), else memory."""
    if settings.worker_store == "auto":
        return "rocksdb://" if importlib.util.find_spec("rocksdict") else "memory://"
    return f"{settings.worker_store}://"


FETCH_MAX_WAIT_MS = 100
"""How long the broker may hold a fetch of the workers' consumer that finds no new records.

Faust hard-codes 1,500 ms. aiokafka keeps one fetch in flight per broker and leaves out of
it the partitions whose records are still being processed, so while door events were
buffered, the fetch in flight asked only for the quiet partitions (kiosk taps, in the small
hours all of them) and the broker held it for 1.5 s: every second or two the door events
stopped for about a second, and alerts came that late (seen at 500 and 1,000 events/s)."""


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read when the consumer starts
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


def build_app(settings: Settings) -> faust.App:
    """Workers started with the same settings join one consumer group and share partitions."""
    app = _app(settings)
    # This app's transport only (the attribute is the class's default for every transport).
    transport: Any = app.transport
    transport.Consumer = _Consumer
    tables: Any = app.tables
    tables._recovery = ChangelogFirstRecovery(app, tables, beacon=tables.beacon)
    return app


def app_id(settings: Settings) -> str:
    """The Faust app id: the consumer group and the prefix of every changelog topic."""
    return f"{settings.kafka_topic_prefix}-workers"


def data_dir(settings: Settings) -> Path:
    """The worker's local stores, one folder per app id: stores kept for one deployment's
    changelogs must never be read against another's (another OCC_KAFKA_TOPIC_PREFIX, a test
    run in the same directory)."""
    return settings.worker_data_dir / app_id(settings)


def _app(settings: Settings) -> faust.App:
    # Faust makes its datadir without parents.
    settings.worker_data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        app_id(settings),
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap.split(",")],
        broker_credentials=broker_credentials(settings),
        store=store_url(settings),
        datadir=str(data_dir(settings)),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication,
        # Not exactly_once: it has open duplicate and crash bugs in faust-streaming; our
        # state is idempotent by sensor seq, so at-least-once redelivery changes nothing.
        processing_guarantee="at_least_once",
        producer_acks=-1,
        # Faust's default (no linger, 16 KiB batches) sent one produce request per changelog
        # record and room state: a tenth of the worker's time went into socket writes.
        producer_linger=settings.kafka_linger_ms / 1000,
        producer_max_batch_size=256 * 1024,
        # A worker that dies without saying goodbye holds its partitions until its session
        # times out; Faust's 60 s default would stall its rooms for a minute.
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=settings.worker_session_timeout_s / 4,
        web_enabled=False,
        autodiscover=False,
    )


def broker_credentials(settings: Settings) -> CredentialsT | None:
    """The Kafka TLS/SASL settings in Faust's form; None for PLAINTEXT."""
    options = kafka_security(settings)
    match options.get("security_protocol"):
        case "SSL":
            return faust.SSLCredentials(options["ssl_context"])
        case "SASL_PLAINTEXT" | "SASL_SSL":
            # Faust picks SASL_SSL over SASL_PLAINTEXT by whether a context is given.
            return faust.SASLCredentials(
                username=options["sasl_plain_username"],
                password=options["sasl_plain_password"],
                ssl_context=options.get("ssl_context"),
                mechanism=options["sasl_mechanism"],
            )
    return None
