"""`occupancy worker`: the Faust app with every domain registered on it, run until SIGTERM.

This is the composition root: it alone sees processors and alerts together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.errors import OutOfOrderSequenceNumber

from alerts.acks import AckBook, AckHolder
from alerts.attendance import BuildingHeadcount, HealthScreening
from alerts.board import Board
from alerts.board.attendance import AttendanceBoard
from alerts.capacity import CapacityAlerts
from alerts.notifiers import (
    Fanout,
    InfluxNotifier,
    KafkaNotifier,
    MqttNotifier,
    Notifier,
    WebhookNotifier,
)
from alerts.notifiers.webhook import check_url, webhook_of
from alerts.quality import DataQualityAlerts
from alerts.summary import BuildingSummaries
from ingest.kafka import ensure_topics, make_producer
from ingest.logs import kv
from ingest.metrics import MetricsWriter
from ingest.roster import load_roster
from ingest.settings import Settings
from ingest.site import Site
from processors.acks import AckFollower
from processors.app import build_app
from processors.attendance import Attendance, PresenceBoard
from processors.looplag import LoopLag
from processors.metrics import AttendanceMetrics, PipelineMetrics, RoomMetrics
from processors.occupancy import Occupancy
from processors.policy import PolicyFollower
from processors.publisher import MqttPublisher
from processors.watchdog import StallWatchdog

log = logging.getLogger(__name__)


def worker_client_id(settings: Settings) -> str:
    """The worker's MQTT client id, unique per process on every machine and container: in
    containers each worker is pid 1, and two clients with one id knock each other off."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname())[:64]
    return f"{settings.kafka_topic_prefix}-worker-{host}-{os.getpid()}"


class _LoopBoundProducer:
    """An aiokafka producer must be created inside the running loop, which Faust starts
    later than the notifiers are wired; this one is created by `start`.

    After a Kafka restart an idempotent aiokafka producer can answer every send with
    `OutOfOrderSequenceNumber` for good (aiokafka issue 1017): the alerts log then stopped
    taking alerts until the worker restarted. Such a producer is replaced at once; the
    notifier's retry sends the alert again through the new one."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._replacing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._producer = make_producer(self._settings)
        await self._producer.start()

    async def stop(self) -> None:
        if self._replacing is not None:
            await asyncio.wait([self._replacing])
        if self._producer is not None:
            await self._producer.stop()

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        producer = self._producer
        assert producer is not None, "started by the worker's first task"
        future: asyncio.Future[Any] = await producer.send(topic, value, key=key)
        future.add_done_callback(lambda done: self._check(done, producer))
        return future

    def _check(self, done: asyncio.Future[Any], producer: AIOKafkaProducer) -> None:
        if done.cancelled() or not isinstance(done.exception(), OutOfOrderSequenceNumber):
            return
        if producer is self._producer and self._replacing is None:
            self._replacing = asyncio.get_running_loop().create_task(self._replace(producer))

    async def _replace(self, old: AIOKafkaProducer) -> None:
        log.warning(kv("kafka_producer_replaced", reason="OutOfOrderSequenceNumber"))
        try:
            new = make_producer(self._settings)
            await new.start()
        except Exception as exc:  # Kafka away again: the next refused send tries again
            log.warning(kv("kafka_producer_replace_failed", error=type(exc).__name__))
            return
        finally:
            self._replacing = None
        self._producer = new
        with contextlib.suppress(Exception):
            await old.stop()


class Workers:
    """The app and its parts, wired; kept together so tests and later domains can reach them."""

    def __init__(self, settings: Settings, site: Site) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self.publisher = MqttPublisher(settings, client_id=worker_client_id(settings))
        self.policy = PolicyFollower(settings, site)
        self.occupancy = Occupancy(self.app, settings, site, self.publisher, self.policy)
        self.producer = _LoopBoundProducer(settings)
        self.metrics: MetricsWriter | None = None
        self.notifiers = Fanout(self._channels(settings, site))
        self.summaries = BuildingSummaries(settings, self.publisher.publish)
        self.capacity = CapacityAlerts(
            self.app, settings, site, self.occupancy, self.notifiers, summaries=self.summaries
        )
        self.quality = DataQualityAlerts(self.app, settings, site, self.occupancy, self.notifiers)
        self.attendance: Attendance | None = None
        self.presence: PresenceBoard | None = None
        holders: list[AckHolder] = [self.capacity, self.quality]
        if settings.roster_file is None:
            log.info(kv("attendance_off", reason="OCC_ROSTER_FILE is not set"))
        else:
            holders += self._attendance(settings, site, settings.roster_file)
        self.acks = AckFollower(settings)
        self.ack_book = AckBook(self.app, settings, holders)
        self.acks.listeners.append(self.ack_book.on_ack)
        topics = [self.occupancy.door_topic.get_topic_name()]
        if self.attendance is not None:
            topics.append(self.attendance.checkin_topic.get_topic_name())
        StallWatchdog(self.app, settings, topics)
        self.loop_lag = LoopLag(self.app, settings)
        self.pipeline_metrics: PipelineMetrics | None = None
        if self.metrics is not None:
            self.pipeline_metrics = PipelineMetrics(
                self.app, settings, self.occupancy, self.attendance, self.metrics
            )
        self.policy.listeners.append(self._rerate_soon)
        self.board: Board | None = None
        if settings.board_port:
            self.board = Board(
                self.app,
                settings,
                site,
                self.publisher.publish,
                self.policy,
                producer=self.producer,
            )
            if self.presence is not None:
                self.presence.listeners.append(self.board.take_presence)
                self.board.attendance = AttendanceBoard(
                    settings, site, self.presence.roster, self.presence.inside
                )
        self.app.task(self._start_channels)
        self.app.task(self._follow_policy)
        self.app.task(self._follow_acks)
        self.app.task(self._follow_summaries)
        self.app.on_before_shutdown.connect(self._stop_channels)

    def _channels(self, settings: Settings, site: Site) -> list[Notifier]:
        """Where alerts go; with InfluxDB configured, also where metrics go."""
        channels: list[Notifier] = [
            MqttNotifier(self.publisher.publish, settings.mqtt_prefix),
            KafkaNotifier(self.producer, settings.kafka_topic("alerts")),
        ]
        if settings.influx_url is None:
            log.info(kv("metrics_off", reason="OCC_INFLUX_URL is not set"))
        else:
            self.metrics = MetricsWriter(settings, "worker")
            channels.append(InfluxNotifier(self.metrics))
            RoomMetrics(self.app, settings, site, self.occupancy, self.metrics)
        if settings.webhook_url is not None:
            channels.append(
                WebhookNotifier(settings.webhook_url.get_secret_value(), settings.webhook_secret)
            )
        return channels

    def _attendance(self, settings: Settings, site: Site, roster_file: Path) -> list[AckHolder]:
        """The attendance agent, presence, their alerts and metrics; the alerts' holders."""
        roster = load_roster(roster_file, site)
        self.attendance = Attendance(self.app, settings, site, roster)
        self.presence = PresenceBoard(settings, site, roster, self.publisher.publish)
        self.health = HealthScreening(self.app, settings, site, self.attendance, self.notifiers)
        self.headcount = BuildingHeadcount(
            self.app,
            settings,
            site,
            self.attendance,
            board=self.presence,
            notifiers=self.notifiers,
        )
        self.app.task(self._follow_presence)
        if self.metrics is not None:
            AttendanceMetrics(self.app, settings, site, roster, self.attendance, self.metrics)
        return [self.health, self.headcount]

    async def _start_channels(self) -> None:
        await self.producer.start()
        await self.notifiers.start()

    async def _stop_channels(self, app: Any, /, *args: Any, **kwargs: Any) -> None:
        # Deliver what the channels still hold before the producer goes.
        await self.occupancy.write_back()
        await self.notifiers.stop()
        await self.producer.stop()
        if self.pipeline_metrics is not None:
            await self.pipeline_metrics.report_last()  # the last interval's counts too
        if self.metrics is not None:
            await asyncio.to_thread(self.metrics.close)

    async def _follow_policy(self) -> None:
        await self.policy.follow()

    async def _follow_acks(self) -> None:
        await self.acks.follow()

    async def _follow_summaries(self) -> None:
        await self.summaries.follow()

    async def _follow_presence(self) -> None:
        assert self.presence is not None, "started only with a roster"
        await self.presence.follow()

    def _rerate_soon(self, level: str) -> None:
        asyncio.get_running_loop().create_task(self._rerate())

    async def _rerate(self) -> None:
        await self.occupancy.rerate()


def run_worker(settings: Settings, site: Site, loglevel: str = "INFO") -> None:
    """Create the topics, then run one worker of the group until SIGTERM."""
    if settings.webhook_url is not None:
        # Refused before anything connects: a worker that cannot sign would drop every alert.
        check_url(settings.webhook_url.get_secret_value())
        webhook_of(settings.webhook_secret)
    # Faust subscribes only to topics that exist when it starts.
    asyncio.run(ensure_topics(settings))
    workers = Workers(settings, site)
    workers.publisher.start()
    try:
        faust.Worker(workers.app, loglevel=loglevel, quiet=True).execute_from_commandline()
    finally:
        workers.publisher.stop()
