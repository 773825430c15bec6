"""The MQTT→Kafka bridge: every incoming message lands in Kafka before MQTT hears it was received.

paho runs on the asyncio loop (see `mqtt_loop`); each message lands in an inbox from which
the bridge validates what has arrived, produces it (or its dead-letter record) with aiokafka in
one batch per partition, and sends the MQTT PUBACKs only once Kafka confirmed that batch
(paho `manual_ack`). Until then the broker keeps the message in our persistent session and
redelivers it after any crash, so the guarantee is at-least-once; consumers drop the repeats
by the sensor's `seq`, and an alert acknowledged twice stays acknowledged once.

Order: a partition has one batch in flight at a time, and a batch Kafka refused is sent
again before anything newer of its partition, so each sensor's messages reach Kafka in the
order they came (repeats aside). Resending refused records beside newer ones put exits
ahead of their entries after a Kafka restart, and the clamp at zero then miscounted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from tenacity import AsyncRetrying, retry_if_exception_type, wait_exponential

from ingest.errors import PayloadRejected
from ingest.health import HealthFile
from ingest.kafka import ensure_topics, make_producer
from ingest.logs import kv
from ingest.metrics import Deltas, MetricsWriter
from ingest.models import AckRecord, CheckinRecord, DeadLetter, DoorRecord
from ingest.mqtt_loop import AsyncioMqtt
from ingest.pseudonym import Pseudonyms, without_employee_id
from ingest.settings import Settings
from ingest.site import Site
from ingest.topics import Wildcards
from ingest.validation import Validator

log = logging.getLogger(__name__)

# At most 5 s between attempts: a Kafka back from a restart is used within seconds.
_RETRY_WAIT = wait_exponential(multiplier=0.2, max=5)
# Upper bound of messages taken from the inbox per round; bigger rounds batch better but
# hold acknowledgements back longer.
_ROUND = 5000
_PARTITION_CACHE_SIZE = 100_000
# How often the bridge decides whether to touch its health file (OCC_HEALTH_FILE).
_HEALTH_CHECK_S = 1.0


@dataclass(frozen=True, slots=True)
class Incoming:
    """One MQTT message as the network thread saw it."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    received_at: datetime
    redelivered: bool


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What one message becomes in Kafka."""

    topic: str
    key: bytes
    value: bytes


Pending = tuple[Incoming, Outgoing]


class Bridge:
    """Moves door, kiosk and alert-ack messages from MQTT into Kafka; see the module docstring."""

    def __init__(
        self, settings: Settings, site: Site, metrics: MetricsWriter | None = None
    ) -> None:
        self._settings = settings
        self._clock = settings.pipeline_clock
        self._metrics = metrics
        self._deltas = Deltas()
        self._validator = Validator(site, settings.mqtt_prefix)
        self._wildcards = Wildcards(settings.mqtt_prefix)
        self._topics = {
            DoorRecord: settings.kafka_topic("door"),
            CheckinRecord: settings.kafka_topic("checkin"),
            AckRecord: settings.kafka_topic("alert-ack"),
        }
        self._deadletter = settings.kafka_topic("deadletter")
        # Dead letters keep a kiosk payload's employee id only as its pseudonym.
        self._pseudonyms = Pseudonyms.from_settings(settings)
        self._inbox: deque[Incoming] = deque()
        self._inbox_ready = asyncio.Event()
        self._mqtt: AsyncioMqtt | None = None
        self._partitions: dict[str, list[int]] = {}
        self._partition_of: dict[tuple[str, bytes], int] = {}
        self._producer: AIOKafkaProducer | None = None
        self._client = self._make_client()
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Per (topic, partition): what waits to be sent, and the task sending it, one batch
        # in flight at a time, so Kafka keeps the order.
        self._queues: dict[tuple[str, int], deque[Pending]] = {}
        self._senders: dict[tuple[str, int], asyncio.Task[None]] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        # Bumped when a stalled producer is replaced: callbacks of older sends are ignored.
        self._generation = 0
        self._last_progress = time.monotonic()
        self._health = HealthFile(settings.health_file)
        self.counters: Counter[str] = Counter()

    async def run(self, stop: asyncio.Event) -> None:
        """Bridge until `stop` is set, then drain what is in flight and return."""
        stopping = asyncio.create_task(stop.wait())
        self._health.clear()
        try:
            # Kafka or Mosquitto may be down at start-up, and retried for as long as it
            # takes: a SIGTERM meanwhile must still end the bridge.
            starting = asyncio.create_task(self._start())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done():
                starting.cancel()
                return
            starting.result()
            stats = asyncio.create_task(self._log_stats_periodically())
            report = asyncio.create_task(self._report_periodically())
            watchdog = asyncio.create_task(self._watch_kafka())
            health = asyncio.create_task(self._keep_health())
            pump = asyncio.create_task(self._pump())
            await asyncio.wait({pump, stopping}, return_when=asyncio.FIRST_COMPLETED)
            for task in (pump, stats, report, watchdog, health):
                task.cancel()
            if pump.done() and not pump.cancelled() and pump.exception() is not None:
                pump.result()
            await self._drain()
        finally:
            stopping.cancel()
            if self._mqtt is not None:
                await self._mqtt.close()
            if self._producer is not None:
                await self._producer.stop()
            self._log_stats("bridge_stopped")
            if self._metrics is not None:
                self.report(self._metrics, self._clock.now())  # the last interval's counts too

    async def _start(self) -> None:
        self._producer = await self._start_producer()
        await self._ensure_topics()
        await self._load_partitions()
        self._mqtt = AsyncioMqtt(self._client)
        await self._connect_mqtt()

    # --- MQTT side -------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        # MQTT 3.1.1 on purpose: paho parses MQTT 5 properties on every PUBLISH (a tenth of
        # the bridge's CPU, measured), and the bridge needs no MQTT 5 feature. Flow control
        # is the broker's `max_inflight_messages`; session expiry its
        # `persistent_client_expiration` (both set in deploy/local/mosquitto.conf).
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self._settings.bridge_client_id,
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=False,
            manual_ack=True,
        )
        address = self._settings.mqtt
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            ca_file = self._settings.mqtt_ca_file  # the system's CAs when unset; host name checked
            client.tls_set(ca_certs=str(ca_file) if ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    async def _connect_mqtt(self) -> None:
        assert self._mqtt is not None
        address = self._settings.mqtt
        await self._mqtt.connect(address.host, address.port, keepalive=30)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: Any,
        properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.warning(kv("mqtt_connect_failed", reason=reason))
            return
        log.info(kv("mqtt_connected", session_present=flags.session_present))
        client.subscribe(
            [(self._wildcards.doors, 1), (self._wildcards.kiosks, 1), (self._wildcards.acks, 1)]
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: Any,
        properties: Properties | None,
    ) -> None:
        log.warning(kv("mqtt_disconnected", reason=reason))
        assert self._mqtt is not None
        self._mqtt.lost()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # Runs on the asyncio loop, inside paho's read callback.
        incoming = Incoming(
            mid=message.mid,
            qos=message.qos,
            topic=message.topic,
            payload=bytes(message.payload),
            received_at=self._clock.now(),
            redelivered=bool(message.dup),
        )
        self._inbox.append(incoming)
        self._inbox_ready.set()

    # --- Kafka side ------------------------------------------------------------------

    async def _start_producer(self) -> AIOKafkaProducer:
        async for attempt in self._retrying_kafka("kafka_producer_start"):
            with attempt:
                producer = make_producer(self._settings)
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                return producer
        raise AssertionError("unreachable: retries forever")

    async def _ensure_topics(self) -> None:
        async for attempt in self._retrying_kafka("kafka_topics"):
            with attempt:
                await ensure_topics(self._settings)

    async def _load_partitions(self) -> None:
        assert self._producer is not None
        for topic in (*self._topics.values(), self._deadletter):
            self._partitions[topic] = sorted(await self._producer.partitions_for(topic))

    def _partition(self, topic: str, key: bytes) -> int:
        """Kafka's default (murmur2) partition, so every producer of a key agrees with us."""
        cached = self._partition_of.get((topic, key))
        if cached is None:
            if len(self._partition_of) >= _PARTITION_CACHE_SIZE:
                # Dead letters are keyed by topic, which a misbehaving client can vary freely.
                self._partition_of.clear()
            partitions = self._partitions[topic]
            cached = DefaultPartitioner()(key, partitions, partitions)
            self._partition_of[(topic, key)] = cached
        return cached

    async def _pump(self) -> None:
        while True:
            await self._inbox_ready.wait()
            self._inbox_ready.clear()
            while self._inbox:
                round_ = [self._inbox.popleft() for _ in range(min(_ROUND, len(self._inbox)))]
                await self._forward(round_)

    async def _forward(self, round_: list[Incoming]) -> None:
        groups: dict[tuple[str, int], list[Pending]] = {}
        for incoming in round_:
            outgoing = self._route(incoming)
            partition = self._partition(outgoing.topic, outgoing.key)
            groups.setdefault((outgoing.topic, partition), []).append((incoming, outgoing))
        self.counters["received"] += len(round_)
        self.counters["redelivered"] += sum(1 for i in round_ if i.redelivered)
        for where, pending in groups.items():
            self._queue(where, pending)
        await asyncio.sleep(0)  # let the senders run before the next round is read

    def _queue(self, where: tuple[str, int], pending: list[Pending]) -> None:
        """Queue `pending` for its partition, whose sender takes all that waits, batch by batch."""
        self._hand_off(pending)
        queue = self._queues.setdefault(where, deque())
        queue.extend(pending)
        sender = self._senders.get(where)
        if sender is None or sender.done():
            task = asyncio.get_running_loop().create_task(
                self._send_partition(where, queue, self._generation)
            )
            self._senders[where] = task
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _send_partition(
        self, where: tuple[str, int], queue: deque[Pending], generation: int
    ) -> None:
        """One batch of the partition in flight at a time: the next is sent when Kafka has
        confirmed this one (and it is acknowledged), and holds everything queued meanwhile.
        A refused batch is sent again until Kafka takes it, before anything newer."""
        topic, partition = where
        while queue:
            if generation != self._generation:
                return  # replaced: unacknowledged, so the new MQTT session brings it again
            assert self._producer is not None
            builder = self._producer.create_batch()
            chunk: list[Pending] = []
            while queue:
                outgoing = queue[0][1]
                if builder.append(key=outgoing.key, value=outgoing.value, timestamp=None) is None:
                    break
                chunk.append(queue.popleft())
            # Payloads are at most 4 KiB, so one record always fits an empty batch.
            assert chunk, "a record larger than max_batch_size"
            try:
                delivery = await self._producer.send_batch(builder, topic, partition=partition)
                await delivery
            except KafkaError as exc:
                if generation == self._generation:
                    await self._resend(where, chunk, exc, generation)
                continue
            if generation == self._generation:
                self._acknowledge(chunk)

    def _fill(self, pending: list[Pending], start: int) -> tuple[Any, int]:
        """A batch of `pending` from `start` on, as much as fits, and where it stopped."""
        assert self._producer is not None
        builder = self._producer.create_batch()
        end = start
        while end < len(pending):
            outgoing = pending[end][1]
            if builder.append(key=outgoing.key, value=outgoing.value, timestamp=None) is None:
                break
            end += 1
        # Payloads are at most 4 KiB, so one record always fits an empty batch.
        assert end > start, "a record larger than max_batch_size"
        return builder, end

    async def _resend(
        self, where: tuple[str, int], chunk: list[Pending], error: BaseException, generation: int
    ) -> None:
        """Send a refused chunk again, in order, until Kafka takes all of it; nothing newer of
        its partition goes out meanwhile. The stall watchdog ends this by replacing the
        producer (a new generation) if Kafka never takes it."""
        self.counters["kafka_retries"] += 1
        log.warning(kv("kafka_send_failed", records=len(chunk), error=type(error).__name__))
        topic, partition = where
        start = 0
        while start < len(chunk):
            async for attempt in self._retrying_kafka("kafka_send_retry"):
                with attempt:
                    if generation != self._generation:
                        return
                    assert self._producer is not None
                    builder, end = self._fill(chunk, start)
                    delivery = await self._producer.send_batch(builder, topic, partition=partition)
                    await delivery
            if generation != self._generation:
                return
            self._acknowledge(chunk[start:end])
            start = end

    def _hand_off(self, chunk: list[Pending]) -> None:
        if self._inflight == 0:
            self._last_progress = time.monotonic()
        self._inflight += len(chunk)
        self._idle.clear()

    def _route(self, incoming: Incoming) -> Outgoing:
        try:
            record = self._validator.validate(
                incoming.topic, incoming.payload, incoming.received_at
            )
        except PayloadRejected as rejected:
            return self._dead_letter(incoming, rejected)
        except Exception as exc:
            # A bug must not crash-loop the bridge on one message; the original bytes stay
            # in the dead-letter topic and can be replayed once the bug is fixed.
            log.exception(kv("validator_crashed", topic=incoming.topic))
            return self._dead_letter(incoming, PayloadRejected("internal_error", repr(exc)))
        return Outgoing(
            self._topics[type(record)], record.key.encode(), record.model_dump_json().encode()
        )

    def _dead_letter(self, incoming: Incoming, rejected: PayloadRejected) -> Outgoing:
        self.counters[f"rejected.{rejected.reason}"] += 1
        letter = DeadLetter.of(
            incoming.topic,
            without_employee_id(incoming.payload, self._pseudonyms),
            rejected.reason,
            rejected.detail,
            incoming.received_at,
        )
        return Outgoing(
            self._deadletter, incoming.topic.encode(), letter.model_dump_json().encode()
        )

    def _acknowledge(self, chunk: Iterable[Pending]) -> None:
        self._last_progress = time.monotonic()
        settled = 0
        for incoming, outgoing in chunk:
            if incoming.qos > 0:
                self._client.ack(incoming.mid, incoming.qos)
            self.counters[
                "dead_lettered" if outgoing.topic == self._deadletter else "forwarded"
            ] += 1
            settled += 1
        self._settle(settled)

    def _settle(self, count: int) -> None:
        self._inflight -= count
        if self._inflight == 0:
            self._idle.set()

    def _retrying_kafka(self, what: str) -> AsyncRetrying:
        def before_sleep(state: Any) -> None:
            # One line per outage, then one per ten attempts: enough to see it still tries.
            if state.attempt_number == 1 or state.attempt_number % 10 == 0:
                log.warning(
                    kv(
                        "kafka_unavailable",
                        action=what,
                        attempt=state.attempt_number,
                        error=type(state.outcome.exception()).__name__,
                    )
                )

        return AsyncRetrying(
            wait=_RETRY_WAIT,
            retry=retry_if_exception_type((KafkaError, OSError)),
            before_sleep=before_sleep,
            reraise=True,
        )

    async def _watch_kafka(self) -> None:
        """Replace a producer that has delivered nothing for a while although it has work.

        aiokafka can lose every broker from its metadata while Kafka restarts and then loop
        on "Unable to update metadata from []" for good (seen in our restart test). A new
        producer starts from the bootstrap servers again; what the old one held was never
        acknowledged, so a new MQTT session makes the broker send it again.
        """
        stall = self._settings.bridge_kafka_stall_s
        while True:
            await asyncio.sleep(min(5.0, stall / 3))
            if self._inflight and time.monotonic() - self._last_progress > stall:
                await self._replace_producer()

    async def _replace_producer(self) -> None:
        log.warning(kv("kafka_producer_stalled", inflight=self._inflight, action="replace"))
        self.counters["kafka_producer_replaced"] += 1
        # Takes as long as Kafka is away; the pump keeps waiting on the old producer meanwhile.
        new = await self._start_producer()
        # From here to the disconnect nothing awaits, so the pump sends nothing in between:
        # every message not yet acknowledged, in flight or in the inbox, is dropped here and
        # comes again, in its order, in the new MQTT session.
        self._generation += 1
        for task in self._deliveries:
            task.cancel()
        self._senders.clear()
        self._queues.clear()
        self._inbox.clear()
        old, self._producer = self._producer, new
        self._inflight = 0
        self._idle.set()
        self._last_progress = time.monotonic()
        self._client.disconnect()  # reconnects at once: the broker resends what is unacked
        if old is not None:
            with contextlib.suppress(Exception):
                await old.stop()

    async def _keep_health(self) -> None:
        """Touch the health file each second in which the bridge is connected to MQTT and
        Kafka confirmed a delivery, or nothing was waiting for Kafka. A hung loop, a lost
        MQTT session or a Kafka that takes records but never confirms them stops the touches,
        and `occupancy health` reports the file stale."""
        checked = time.monotonic()
        while True:
            await asyncio.sleep(_HEALTH_CHECK_S)
            if self.healthy(since=checked):
                self._health.touch()
            checked = time.monotonic()

    def healthy(self, since: float) -> bool:
        """Connected to MQTT, and nothing in flight to Kafka or a delivery after `since`."""
        connected = self._client.is_connected()
        return connected and (self._inflight == 0 or self._last_progress >= since)

    async def _drain(self) -> None:
        """Wait for every message already sent to Kafka to be confirmed and acknowledged."""
        log.info(kv("bridge_draining", inflight=self._inflight))
        try:
            await asyncio.wait_for(self._idle.wait(), self._settings.bridge_drain_timeout_s)
        except TimeoutError:
            # Safe to give up: what is not acknowledged stays in the broker's session.
            log.warning(kv("bridge_drain_timeout", inflight=self._inflight))

    async def _log_stats_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._settings.bridge_stats_interval_s)
            self._log_stats("bridge_stats")

    async def _report_periodically(self) -> None:
        if self._metrics is None:
            return
        while True:
            await asyncio.sleep(self._settings.metrics_pipeline_s)
            self.report(self._metrics, self._clock.now())

    def report(self, metrics: MetricsWriter, at: datetime) -> None:
        """`pipeline` points for the last interval: one for the bridge, one per reject reason."""
        names = ["forwarded", "dead_lettered", "redelivered"]
        names += [name for name in self.counters if name.startswith("rejected.")]
        delta = self._deltas.take(self.counters, names)
        metrics.write(
            "pipeline",
            {"component": "bridge"},
            {
                "events": delta["forwarded"],
                "invalid": delta["dead_lettered"],
                "duplicates": delta["redelivered"],
                "lag": self._inflight + len(self._inbox),
            },
            at,
        )
        for name, count in sorted(delta.items()):
            if name.startswith("rejected.") and count:
                reason = name.removeprefix("rejected.")
                metrics.write(
                    "pipeline", {"component": "bridge", "reason": reason}, {"rejected": count}, at
                )
        metrics.report(at)

    def _log_stats(self, event: str) -> None:
        fields = {name.replace(".", "_"): value for name, value in sorted(self.counters.items())}
        log.info(kv(event, inflight=self._inflight, **fields))
