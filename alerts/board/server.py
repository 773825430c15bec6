"""The board in a worker: an aiohttp server on its own port, fed from Kafka, acking over MQTT,
writing limits and levels to the config topic and every action to the audit trail.

Faust's own web server stays off (processors/app.py); the board is a task of the worker's
app. Each worker shows every building: it follows the whole room-state topic and the whole
alerts log without a consumer group, not only the rooms whose partitions it holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import faust
from aiohttp import web
from pydantic import ValidationError

from alerts.board.attendance import AttendanceBoard
from alerts.board.routes import Guard, make_app
from alerts.board.state import BoardState
from ingest.audit import AuditRecord
from ingest.logs import kv
from ingest.models import AckRecord, Alert, AlertAck, RoomState
from ingest.settings import Settings
from ingest.site import Site
from ingest.topics import AckTopic
from processors.attendance import PresenceCount
from processors.follow import follow_topic
from processors.policy import PolicyFollower, limit_override, policy_change, policy_key

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int, bool], object]
"""(topic, payload, qos, retain), like `paho.mqtt.client.Client.publish`."""

SHUTDOWN_TIMEOUT_S = 2.0
"""Open event streams end at shutdown at once; requests still running get this long."""
RECENT_AUDIT = 200
"""Audit records the board keeps to show admins (the topic keeps them all)."""


class Producer(Protocol):
    """The worker's Kafka producer (deploy/worker.py:_LoopBoundProducer)."""

    async def send(
        self, topic: str, value: bytes | None = None, key: bytes | None = None
    ) -> asyncio.Future[Any]: ...


class Board:
    """The live web board of one worker; `serve` runs it until the worker stops."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        site: Site,
        publish: Publish,
        policy: PolicyFollower,
        *,
        producer: Producer,
    ) -> None:
        self._settings = settings
        self._site = site
        self._publish = publish
        self._producer = producer
        self._sending: set[asyncio.Task[None]] = set()
        self._audit_order = asyncio.Lock()  # records reach the topic in the order made
        self._recent: deque[AuditRecord] = deque(maxlen=RECENT_AUDIT)
        self.guard = Guard.from_settings(settings)
        self.state = BoardState(site, policy)
        # Rooms never counted are drawn with their limit under the level in force.
        policy.listeners.append(lambda _: self.state.touch())
        self.url: str | None = None
        self.attendance: AttendanceBoard | None = None
        """The attendance page and muster list, set by a worker with a roster before it runs."""
        app.task(self.serve)

    async def serve(self) -> None:
        host, port = self._settings.board_host, self._settings.board_port
        runner = web.AppRunner(
            make_app(
                self.state, self, self.guard, self._settings.pipeline_clock.now, self.attendance
            ),
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            access_log=None,
        )
        await runner.setup()
        try:
            try:
                await web.TCPSite(runner, host, port).start()
            except OSError as exc:
                # The board is a window on the pipeline: counting goes on without it.
                log.warning(kv("board_unavailable", host=host, port=port, error=exc.strerror))
                return
            self.url = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
            log.info(kv("board_listening", url=self.url))
            follows = [self._follow_rooms(), self._follow_alerts(), self._follow_audit()]
            if self.attendance is not None:
                follows.append(self.attendance.follow())
            await asyncio.gather(*follows)
        finally:
            await runner.cleanup()
            if self.url is not None:
                log.info(kv("board_stopped", url=self.url))

    async def take_presence(self, counted: PresenceCount) -> None:
        """A listener of the worker's presence board: checked in per building."""
        self.state.take_presence(counted)

    def acknowledge(self, alert: Alert, by: str) -> AlertAck:
        """Publish the ack as a security console does; it comes back through the bridge,
        Kafka and the worker holding the alert, as the alert again with its `ack`."""
        ack = AlertAck(by=by, ts=self._settings.pipeline_clock.now())
        topic = AckTopic(alert.building, alert.alert_id).format(self._settings.mqtt_prefix)
        self._publish(topic, ack.model_dump_json().encode(), 1, False)
        log.info(kv("board_ack_sent", building=alert.building, alert_id=alert.alert_id))
        return ack

    async def resolve(self, alert: Alert, by: str, reason: str) -> None:
        """Send the resolve straight to the acks topic (MQTT consoles cannot resolve); the
        worker holding the alert resolves it and sends it, resolved, to the board."""
        now = self._settings.pipeline_clock.now()
        record = AckRecord(
            building=alert.building,
            alert_id=alert.alert_id,
            by=by,
            ts=now,
            received_at=now,
            resolve=reason,
        )
        topic = self._settings.kafka_topic("alert-ack")
        sent = await self._producer.send(
            topic, record.model_dump_json().encode(), key=record.key.encode()
        )
        await sent
        log.info(kv("board_resolve_sent", building=alert.building, alert_id=alert.alert_id))

    async def set_limit(self, building: str, room: str, limit: int | None, by: str) -> None:
        key, override = limit_override(self._settings, self._site, building, room, limit, by=by)
        value = override.model_dump_json().encode() if override is not None else None
        await self._config(key, value)

    async def set_level(self, building: str, level: str, by: str) -> None:
        change = policy_change(self._settings, self._site, level, by, building)
        await self._config(policy_key(building), change.model_dump_json().encode())

    async def _config(self, key: bytes, value: bytes | None) -> None:
        sent = await self._producer.send(self._settings.kafka_topic("config"), value, key=key)
        await sent  # the operator's answer says it is in Kafka
        log.info(kv("board_config_sent", key=key.decode()))

    def audit(self, record: AuditRecord) -> None:
        """Send a record to the audit topic; the request does not wait for Kafka."""
        task = asyncio.get_running_loop().create_task(self._send_audit(record))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send_audit(self, record: AuditRecord) -> None:
        topic = self._settings.kafka_topic("audit")
        try:
            async with self._audit_order:
                sent = await self._producer.send(
                    topic, record.model_dump_json().encode(), key=record.actor.encode()
                )
            await sent
        except Exception as exc:  # logged with what it was: the trail must show the gap
            log.error(
                kv(
                    "audit_not_sent",
                    action=record.action,
                    target=record.target,
                    error=type(exc).__name__,
                )
            )

    def recent_audit(self) -> list[AuditRecord]:
        return list(self._recent)

    async def _follow_audit(self) -> None:
        def take(value: bytes) -> None:
            self._recent.append(AuditRecord.model_validate_json(value))

        await self._follow("audit", take, lambda: None)

    async def _follow_rooms(self) -> None:
        def take(value: bytes) -> None:
            self.state.take_room_state(RoomState.model_validate_json(value))

        await self._follow("room-state", take, lambda: self.state.mark_caught_up(rooms=True))

    async def _follow_alerts(self) -> None:
        def take(value: bytes) -> None:
            self.state.take_alert(Alert.model_validate_json(value))

        await self._follow("alerts", take, lambda: self.state.mark_caught_up(alerts=True))

    async def _follow(
        self, name: str, take: Callable[[bytes], None], caught_up: Callable[[], None]
    ) -> None:
        """Topic `name` whole, from its start, forever; `caught_up` once its backlog is read."""
        done = asyncio.Event()

        def take_record(key: bytes | None, value: bytes | None) -> None:
            if value is None:
                return
            try:
                take(value)
            except ValidationError:
                log.warning(kv("board_record_unreadable", topic=name, bytes=len(value)))

        async def then() -> None:
            caught_up()

        await follow_topic(self._settings, name, take_record, caught_up=done, then=then, every=1.0)
