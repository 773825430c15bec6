"""What the benchmarks share: their error, their settings, paho clients connected the way the
pipeline's are, Kafka partitions and offsets, stopping a process, and the table's flags."""

from __future__ import annotations

import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest.settings import Settings, load_settings

CONNECT_TIMEOUT_S = 15.0
RETAINED_SETTLE_S = 1.0  # retained messages follow the SUBACK; this long is enough on loopback


class BenchError(Exception):
    """The measurement itself could not be made (not a finding about the pipeline)."""


def bench_settings(stack_env: dict[str, str], tag: str, **overrides: Any) -> Settings:
    """A run's settings on the stack: its own Kafka topics (`bench-<tag>.…`) and MQTT prefix,
    so no other run or session on the stack reads or queues its messages."""
    values: dict[str, Any] = {
        "mqtt_url": stack_env["OCC_MQTT_URL"],
        "kafka_bootstrap": stack_env["OCC_KAFKA_BOOTSTRAP"],
        "site_file": Path(stack_env["OCC_SITE_FILE"]),
        "mqtt_prefix": f"bench-{tag}/occupancy",
        "kafka_topic_prefix": f"bench-{tag}",
        "bridge_client_id": f"bench-bridge-{tag}",
    }
    return load_settings(**(values | overrides))


def site_file(settings: Settings) -> Path:
    if settings.site_file is None:
        raise BenchError("no site file: the stack's env must set OCC_SITE_FILE")
    return settings.site_file


def raise_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    """Installed for SIGTERM so `finally` still stops what a run started and leaves the stack
    as found."""
    raise SystemExit(128 + signum)


def stop(process: subprocess.Popen[bytes], sig: int, timeout_s: float) -> int | None:
    """Signal, then SIGKILL after `timeout_s`; the exit code, None when it was killed."""
    if process.poll() is not None:
        return process.returncode
    process.send_signal(sig)
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        return None


def flag(value: object, good: bool) -> str:
    """A table cell, in bold red when it is not what a sound run shows."""
    return str(value) if good else f"[bold red]{value}[/bold red]"


def mqtt_client(settings: Settings, client_id: str, *, clean: bool = True) -> mqtt.Client:
    # MQTT 3.1.1 as the bridge and the workers connect: a baseline must parse what they do.
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv311,
        clean_session=clean,
    )
    address = settings.mqtt
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set(ca_certs=settings.mqtt_ca_certs)
    return client


def mqtt_connect(client: mqtt.Client, settings: Settings) -> bool:
    """Connect, start the network thread, wait for CONNACK; whether a session was present."""
    connacks: list[tuple[bool, bool]] = []
    connected = threading.Event()

    def on_connect(
        _client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        connacks.append((reason.is_failure, flags.session_present))
        connected.set()

    client.on_connect = on_connect
    address = settings.mqtt
    try:
        client.connect(address.host, address.port, keepalive=30)
    except OSError as exc:
        raise BenchError(f"no MQTT connection to {address.host}:{address.port}: {exc}") from exc
    client.loop_start()
    if not connected.wait(CONNECT_TIMEOUT_S) or connacks[0][0]:
        mqtt_close(client)
        raise BenchError(f"no MQTT connection to {address.host}:{address.port}")
    return connacks[0][1]


def mqtt_close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def mqtt_subscribe(client: mqtt.Client, filters: list[str]) -> None:
    subacks: list[list[ReasonCode]] = []
    subscribed = threading.Event()

    def on_subscribe(
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        subacks.append(reasons)
        subscribed.set()

    client.on_subscribe = on_subscribe
    client.subscribe([(f, 1) for f in filters])
    if not subscribed.wait(CONNECT_TIMEOUT_S) or any(r.is_failure for r in subacks[0]):
        raise BenchError(f"MQTT subscription to {filters} was refused or not answered")


async def delete_run_topics(settings: Settings) -> None:
    """Every topic of the run: the pipeline's (`<prefix>.…`) and those of any Faust app named
    after it (`<prefix>-workers-…`, changelogs and leader topics)."""
    prefix = settings.kafka_topic_prefix
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith((f"{prefix}.", f"{prefix}-"))]
        if ours:
            await admin.delete_topics(ours, timeout_ms=30_000)
    finally:
        await admin.close()


def delete_session(settings: Settings, client_id: str) -> None:
    """A clean-session connect discards a persistent session and whatever it still queues."""
    client = mqtt_client(settings, client_id, clean=True)
    mqtt_connect(client, settings)
    mqtt_close(client)


def kafka_consumer(settings: Settings) -> AIOKafkaConsumer:
    """A consumer outside any group that commits nothing: it reads, it never moves a group."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=None, enable_auto_commit=False
    )


async def topic_partitions(settings: Settings, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics`, sorted; BenchError unless Kafka describes them all."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        described: list[dict[str, Any]] = await admin.describe_topics(topics)
    finally:
        await admin.close()
    found = [
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["topic"] in topics
        for p in t["partitions"]
    ]
    if {tp.topic for tp in found} != set(topics):
        raise BenchError(f"Kafka did not describe every one of {', '.join(topics)}")
    return sorted(found)


async def end_offsets(settings: Settings, of: list[TopicPartition]) -> dict[TopicPartition, int]:
    reader = kafka_consumer(settings)
    await reader.start()
    try:
        offsets: dict[TopicPartition, int] = await reader.end_offsets(of)
        return offsets
    finally:
        await reader.stop()


def clear_retained(settings: Settings) -> int:
    """Clear every retained message under the run's MQTT prefix (room states, summaries…)."""
    retained: set[str] = set()

    def on_message(_client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.retain and message.payload:
            retained.add(message.topic)

    client = mqtt_client(settings, f"{settings.kafka_topic_prefix}-clear")
    client.on_message = on_message
    mqtt_connect(client, settings)
    try:
        mqtt_subscribe(client, [f"{settings.mqtt_prefix}/#"])
        time.sleep(RETAINED_SETTLE_S)
        infos = [client.publish(topic, b"", qos=1, retain=True) for topic in sorted(retained)]
        for info in infos:
            info.wait_for_publish(timeout=CONNECT_TIMEOUT_S)
    finally:
        mqtt_close(client)
    return len(retained)


def metrics_env(stack_env: dict[str, str], tag: str) -> dict[str, str]:
    """A run's own InfluxDB database (`bench_<tag>`), so no bench point reaches the stack's
    dashboards; the settings that point the run's processes at it. Drop it with
    `drop_metrics`."""
    _influx_query(stack_env, f'CREATE DATABASE "bench_{tag}"')
    return {"OCC_INFLUX_BUCKET": f"bench_{tag}/autogen"}


def drop_metrics(stack_env: dict[str, str], tag: str) -> None:
    _influx_query(stack_env, f'DROP DATABASE "bench_{tag}"')


def _influx_query(stack_env: dict[str, str], statement: str) -> None:
    query = urllib.parse.urlencode({"q": statement})
    url = f"{stack_env['OCC_INFLUX_URL']}/query?{query}"
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=30):
        pass
