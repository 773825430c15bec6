"""Bridge throughput (MQTT→Kafka, msgs/s) beside a plain-paho MQTT ceiling, in the same run.

Run: `python bench/bridge.py [--n 50000] [--repeat 1]`; last line JSON; exit 1 on loss, 2 on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from aiokafka import TopicPartition
from benchkit import (
    BenchError,
    bench_settings,
    delete_run_topics,
    delete_session,
    end_offsets,
    flag,
    kafka_consumer,
    mqtt_client,
    mqtt_close,
    mqtt_connect,
    mqtt_subscribe,
    raise_on_sigterm,
    site_file,
    stop,
    topic_partitions,
)
from rich.console import Console
from rich.table import Table

from deploy.local.stack import Stack, default_stack
from ingest.errors import OccupancyError
from ingest.kafka import ensure_topics
from ingest.models import DoorRecord
from ingest.settings import Settings
from ingest.site import load_site
from ingest.topics import Wildcards

REPO_ROOT = Path(__file__).resolve().parents[1]
PUBLISH_TIMEOUT_S = 120.0
CEILING_TIMEOUT_S = 120.0
BRIDGE_TIMEOUT_S = 180.0
# The bridge drains for up to OCC_BRIDGE_DRAIN_TIMEOUT_S (30 s by default) after SIGTERM.
BRIDGE_STOP_TIMEOUT_S = 60.0
READ_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.5
# What the bridge gets on Mosquitto too (deploy/local/mosquitto.conf `max_inflight_messages`).
PUBLISH_INFLIGHT = 1000
PUBLISH_WINDOW = 30_000

progress = Console(stderr=True)


@dataclass(frozen=True)
class Ceiling:
    received: int
    seconds: float
    per_s: float


@dataclass(frozen=True)
class BridgeRun:
    records: int
    distinct: int
    lost: int
    duplicates: int
    dead_lettered: int
    seconds: float
    per_s: float
    wall_s: float  # bridge process start → last record produced
    exit_code: int | None
    counters: str  # the bridge's own final counters, from its log


@dataclass(frozen=True)
class Run:
    ceiling: Ceiling
    bridge: BridgeRun

    @property
    def ratio(self) -> float:
        return self.bridge.per_s / self.ceiling.per_s


# --- MQTT ------------------------------------------------------------------------------------


def _create_session(settings: Settings, client_id: str, filters: list[str]) -> None:
    """Leave a persistent session with QoS-1 subscriptions: Mosquitto queues for it from now."""
    client = mqtt_client(settings, client_id, clean=False)
    mqtt_connect(client, settings)
    try:
        mqtt_subscribe(client, filters)
    finally:
        mqtt_close(client)


def _publish(settings: Settings, client_id: str, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and return once the broker acknowledged every message."""
    client = mqtt_client(settings, client_id, clean=True)
    client.max_inflight_messages_set(PUBLISH_INFLIGHT)
    mqtt_connect(client, settings)
    deadline = time.monotonic() + PUBLISH_TIMEOUT_S

    def wait(info: mqtt.MQTTMessageInfo) -> None:
        try:
            info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
        except (ValueError, RuntimeError) as exc:
            raise BenchError(f"publishing failed: {exc}") from exc
        if not info.is_published():
            raise BenchError(f"publishing {len(messages)} messages took over the timeout")

    try:
        unacked: deque[mqtt.MQTTMessageInfo] = deque()
        for topic, payload in messages:
            # paho refuses a message whose 16-bit mid is still unacknowledged: keep the
            # window well below 65535 (it is far above the 1000 in flight anyway).
            if len(unacked) >= PUBLISH_WINDOW:
                wait(unacked.popleft())
            unacked.append(client.publish(topic, payload, qos=1))
        for info in unacked:
            wait(info)
    finally:
        mqtt_close(client)


def _measure_ceiling(settings: Settings, client_id: str, n: int) -> Ceiling:
    """Drain the session's backlog of `n` messages with plain paho (auto-ack)."""
    client = mqtt_client(settings, client_id, clean=False)
    times: list[float] = []  # [first, last] arrival
    count = 0
    done = threading.Event()

    def on_message(_client: mqtt.Client, _userdata: Any, _message: mqtt.MQTTMessage) -> None:
        # As little as possible here: this callback is the ceiling being measured.
        nonlocal count
        now = time.perf_counter()
        count += 1
        if count == 1:
            times.extend((now, now))
        else:
            times[1] = now
        if count >= n:
            done.set()

    client.on_message = on_message  # before connecting: the backlog flows right after CONNACK
    session_present = mqtt_connect(client, settings)
    try:
        if not session_present:
            raise BenchError(f"the ceiling's session {client_id!r} was not kept by the broker")
        done.wait(CEILING_TIMEOUT_S)
    finally:
        mqtt_close(client)
    if count < n:
        raise BenchError(f"the plain MQTT subscriber got only {count} of {n} messages")
    seconds = max(times[1] - times[0], 1e-9)
    return Ceiling(count, seconds, (count - 1) / seconds)


class Events:
    """Valid door events, round-robin over every sensor of a building, seq counted per sensor."""

    def __init__(self, settings: Settings, tag: str) -> None:
        site = load_site(site_file(settings))
        building = site.buildings[0]
        self._topics = [
            f"{settings.mqtt_prefix}/{building.id}/{s.room}/door/{s.id}" for s in building.sensors
        ]
        self._seq = [0] * len(self._topics)
        self._tag = tag

    def series_prefix(self, name: str) -> str:
        return f"{self._tag}-{name}-"

    def series(self, name: str, n: int) -> list[tuple[str, bytes]]:
        """`n` messages whose event ids `<tag>-<name>-<i>` are this series' identity."""
        ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        messages: list[tuple[str, bytes]] = []
        for i in range(n):
            sensor = i % len(self._topics)
            payload = {
                "seq": self._seq[sensor],
                "ts": ts,
                "entered": 1,
                "exited": 0,
                "event_id": f"{self.series_prefix(name)}{i}",
            }
            self._seq[sensor] += 1
            messages.append((self._topics[sensor], json.dumps(payload).encode()))
        return messages


# --- Kafka -----------------------------------------------------------------------------------


async def _end_offsets(settings: Settings, topics: list[str]) -> dict[TopicPartition, int]:
    return await end_offsets(settings, await topic_partitions(settings, topics))


async def _await_records(
    settings: Settings,
    start: dict[TopicPartition, int],
    n: int,
    bridge: subprocess.Popen[bytes],
) -> None:
    """Wait until `n` records arrived past `start`, the bridge died, or the timeout passed."""
    consumer = kafka_consumer(settings)
    await consumer.start()
    try:
        deadline = time.monotonic() + BRIDGE_TIMEOUT_S
        while time.monotonic() < deadline and bridge.poll() is None:
            end = await consumer.end_offsets(list(start))
            if sum(end[tp] - start[tp] for tp in start) >= n:
                return
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Records:
    event_ids: list[str]
    timestamps_ms: list[int]  # CreateTime: when the bridge's producer made each record
    dead_lettered: int


async def _read(settings: Settings, start: dict[TopicPartition, int], prefix: str) -> Records:
    """The series' door records from `start` to the end, and how many were dead-lettered."""
    consumer = kafka_consumer(settings)
    await consumer.start()
    try:
        end: dict[TopicPartition, int] = await consumer.end_offsets(list(start))
        door = settings.kafka_topic("door")
        wanted = {tp for tp in start if tp.topic == door and end[tp] > start[tp]}
        dead_lettered = sum(end[tp] - start[tp] for tp in start if tp.topic != door)
        consumer.assign(list(wanted))
        for tp in wanted:
            consumer.seek(tp, start[tp])
        event_ids: list[str] = []
        timestamps: list[int] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while wanted:
            if time.monotonic() > deadline:
                raise BenchError(f"reading {door} back took over {READ_TIMEOUT_S:.0f} s")
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, messages in batches.items():
                for message in messages:
                    record = DoorRecord.model_validate_json(message.value)
                    if record.event_id is not None and record.event_id.startswith(prefix):
                        event_ids.append(record.event_id)
                        timestamps.append(message.timestamp)
                if await consumer.position(tp) >= end[tp]:
                    wanted.discard(tp)
        return Records(event_ids, timestamps, dead_lettered)
    finally:
        await consumer.stop()


# --- the bridge ------------------------------------------------------------------------------


def _bridge_env(settings: Settings, stack_env: dict[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        **stack_env,
        "OCC_MQTT_PREFIX": settings.mqtt_prefix,
        "OCC_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "OCC_BRIDGE_CLIENT_ID": settings.bridge_client_id,
        "OCC_BRIDGE_STATS_INTERVAL_S": "5",
    }


def _final_counters(log_file: Path) -> str:
    """The bridge's own counts from its last stats line (`bridge_stopped` on a clean exit)."""
    last = ""
    with log_file.open(errors="replace") as lines:
        for line in lines:
            if "event=bridge_stopped" in line or "event=bridge_stats" in line:
                last = line
    fields = dict(re.findall(r"(\w+)=(\S+)", last))
    shown = ("received", "forwarded", "redelivered", "kafka_retries")
    return ", ".join(f"{k} {fields[k]}" for k in shown if k in fields) or "(no stats line)"


@dataclass(frozen=True)
class Bench:
    """One benchmark invocation: its run tag, settings, events and where bridge logs go."""

    tag: str
    settings: Settings
    stack_env: dict[str, str]
    events: Events
    logs: Path
    n: int

    def run(self, k: int) -> Run:
        ceiling_id = f"bench-ceiling-{self.tag}"
        try:
            _create_session(self.settings, ceiling_id, [self._wildcards.doors])
            progress.print(f"run {k}: publishing {self.n} messages for the plain MQTT subscriber")
            _publish(self.settings, f"bench-pub-{self.tag}", self.events.series(f"c{k}", self.n))
            progress.print(f"  ceiling: draining {self.n} queued messages")
            ceiling = _measure_ceiling(self.settings, ceiling_id, self.n)
        finally:
            # Gone before the bridge series: it would queue those too, competing for the broker.
            with contextlib.suppress(Exception):
                delete_session(self.settings, ceiling_id)
        try:
            bridge = self._measure_bridge(k)
        finally:
            # Not left to queue (for a week) whatever else is published under the prefix.
            with contextlib.suppress(Exception):
                delete_session(self.settings, self.settings.bridge_client_id)
        return Run(ceiling, bridge)

    @property
    def _wildcards(self) -> Wildcards:
        return Wildcards(self.settings.mqtt_prefix)

    def _measure_bridge(self, k: int) -> BridgeRun:
        settings, n = self.settings, self.n
        # Topics first, so the bridge's own ensure_topics is a no-op and the offsets are known.
        asyncio.run(ensure_topics(settings))
        kafka_topics = [settings.kafka_topic("door"), settings.kafka_topic("deadletter")]
        start = asyncio.run(_end_offsets(settings, kafka_topics))
        _create_session(
            settings, settings.bridge_client_id, [self._wildcards.doors, self._wildcards.kiosks]
        )
        progress.print(f"run {k}: publishing {n} messages for the bridge")
        _publish(settings, f"bench-pub-{self.tag}", self.events.series(f"b{k}", n))

        progress.print(f"  bridge: draining {n} queued messages")
        log_file = self.logs / f"bridge-{k}.log"
        with log_file.open("ab") as out:
            started = time.time()
            bridge = subprocess.Popen(
                [sys.executable, "-m", "deploy.cli", "bridge"],
                cwd=REPO_ROOT,
                env=_bridge_env(settings, self.stack_env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            asyncio.run(_await_records(settings, start, n, bridge))
            exit_code = stop(bridge, signal.SIGTERM, BRIDGE_STOP_TIMEOUT_S)
        finally:
            stop(
                bridge, signal.SIGTERM, BRIDGE_STOP_TIMEOUT_S
            )  # a no-op unless something above failed

        records = asyncio.run(_read(settings, start, self.events.series_prefix(f"b{k}")))
        count = len(records.event_ids)
        distinct = len(set(records.event_ids))
        if count >= 2:
            first, last = min(records.timestamps_ms), max(records.timestamps_ms)
            seconds = max(last - first, 1) / 1000  # CreateTime has millisecond resolution
            per_s = (count - 1) / seconds
            wall_s = last / 1000 - started
        else:
            seconds = per_s = wall_s = 0.0
        return BridgeRun(
            records=count,
            distinct=distinct,
            lost=n - distinct,
            duplicates=count - distinct,
            dead_lettered=records.dead_lettered,
            seconds=seconds,
            per_s=per_s,
            wall_s=wall_s,
            exit_code=exit_code,
            counters=_final_counters(log_file),
        )


def _table(runs: list[Run], n: int) -> tuple[Table, Table]:
    throughput = Table(title=f"Draining {n} queued MQTT messages: bridge vs. plain paho")
    for column in ("run", "path", "messages", "seconds", "msgs/s", "ratio"):
        throughput.add_column(column, justify="left" if column in {"run", "path"} else "right")
    for k, run in enumerate(runs, 1):
        c, b = run.ceiling, run.bridge
        throughput.add_row(
            str(k), "plain paho", str(c.received), f"{c.seconds:.2f}", f"{c.per_s:,.0f}", ""
        )
        throughput.add_row(
            str(k),
            "bridge → Kafka",
            str(b.records),
            f"{b.seconds:.2f}",
            f"{b.per_s:,.0f}",
            f"{run.ratio:.2f}",
            end_section=True,
        )
    if len(runs) > 1:
        ceiling = statistics.median(r.ceiling.per_s for r in runs)
        bridge = statistics.median(r.bridge.per_s for r in runs)
        ratio = statistics.median(r.ratio for r in runs)
        throughput.add_row("median", "plain paho", "", "", f"{ceiling:,.0f}", "")
        throughput.add_row("median", "bridge → Kafka", "", "", f"{bridge:,.0f}", f"{ratio:.2f}")

    checks = Table(title="Bridge delivery (Kafka read back by event_id)")
    for column in ("run", "lost", "duplicates", "dead-lettered", "exit", "wall s", "bridge log"):
        checks.add_column(column, justify="left" if column in {"run", "bridge log"} else "right")
    for k, run in enumerate(runs, 1):
        b = run.bridge
        checks.add_row(
            str(k),
            flag(b.lost, b.lost == 0),
            str(b.duplicates),
            flag(b.dead_lettered, b.dead_lettered == 0),
            flag("killed" if b.exit_code is None else b.exit_code, b.exit_code == 0),
            f"{b.wall_s:.2f}",
            b.counters,
        )
    checks.caption = "wall s: bridge process start → its last record in Kafka (start-up included)"
    return throughput, checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000, help="messages per measurement")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs; the JSON then holds the medians, and `lost` the sum over all runs",
    )
    args = parser.parse_args(argv)
    if args.n < 2 or args.repeat < 1:
        parser.error("--n must be at least 2 and --repeat at least 1")
    signal.signal(signal.SIGTERM, raise_on_sigterm)

    tag = secrets.token_hex(4)
    stack = default_stack()
    logs = Path(tempfile.mkdtemp(prefix=f"bench-bridge-{tag}-"))
    clean = False
    try:
        try:
            runs = _run_all(stack, tag, logs, args.n, args.repeat)
        except (BenchError, OccupancyError) as exc:
            progress.print(f"[bold red]bench failed:[/bold red] {exc}")
            return 2

        # Wide enough for the bridge-log column when piped (rich assumes 80 columns then).
        output = Console(width=None if sys.stdout.isatty() else 130)
        for table in _table(runs, args.n):
            output.print(table)
        lost = sum(r.bridge.lost for r in runs)
        clean = lost == 0 and all(r.bridge.exit_code == 0 for r in runs)
        summary = {
            "ceiling_per_s": round(statistics.median(r.ceiling.per_s for r in runs), 1),
            "bridge_per_s": round(statistics.median(r.bridge.per_s for r in runs), 1),
            "ratio": round(statistics.median(r.ratio for r in runs), 4),
            "lost": lost,
            "n": args.n,
        }
        print(json.dumps(summary))
        return 0 if lost == 0 else 1
    finally:
        # The bridge's logs are what explains a failure: kept then, dropped after a clean run.
        if clean or not any(logs.iterdir()):
            shutil.rmtree(logs, ignore_errors=True)
        else:
            progress.print(f"bridge logs kept in {logs}")


def _run_all(stack: Stack, tag: str, logs: Path, n: int, repeat: int) -> list[Run]:
    with stack.as_found(progress.print):
        stack_env = stack.env()
        settings = bench_settings(stack_env, tag, mqtt_prefix=f"bench-{tag}")
        bench = Bench(tag, settings, stack_env, Events(settings, tag), logs, n)
        try:
            return [bench.run(k) for k in range(1, repeat + 1)]
        finally:
            try:
                asyncio.run(delete_run_topics(settings))
            except Exception as exc:  # best effort: a leftover bench-* topic is harmless
                progress.print(f"[yellow]could not delete the bench-{tag}.* topics: {exc}")


if __name__ == "__main__":
    sys.exit(main())
