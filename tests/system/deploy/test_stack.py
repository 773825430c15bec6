"""The local stack for real: `occupancy stack …` in a subprocess, then per-service control.

The CLI tests share one stack (module fixture) and run in file order: `down` comes last.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import os
import queue
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import paho.mqtt.client as mqtt
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.domain.write_precision import WritePrecision
from paho.mqtt.enums import CallbackAPIVersion

from deploy.local.stack import SERVICES, Stack, StackPorts, port_variable

REPO = Path(__file__).resolve().parents[3]


# -- helpers: each makes a real request of its own, independent of the stack's probes ----------


def _occupancy(environ: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deploy.cli", "stack", *args],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _cli_environ(run_dir: Path, ports: StackPorts) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OCC_STACK_")}
    environ["OCC_STACK_DIR"] = str(run_dir)
    for field in fields(StackPorts):
        environ[port_variable(field.name)] = str(getattr(ports, field.name))
    return environ


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _http(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _influx_values(port: int, query: str) -> list[list[Any]]:
    status, _, body = _http(port, "GET", "/query?" + urlencode({"db": "occupancy", "q": query}))
    assert status == 200, body
    series = json.loads(body)["results"][0].get("series", [])
    return [] if not series else list(series[0]["values"])


def _mqtt_connect(port: int, client_id: str = "", clean: bool = True) -> mqtt.Client:
    """A connected paho client (its network loop in a thread); fails the test without CONNACK."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    connected = threading.Event()

    def on_connect(_c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if not reason.is_failure:
            connected.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    assert connected.wait(10), f"no successful CONNACK from 127.0.0.1:{port}"
    return client


def _mqtt_close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


async def _kafka_cluster(bootstrap: str, create_topic: str | None = None) -> dict[str, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if create_topic is not None:
            await admin.create_topics([NewTopic(create_topic, 1, 1)])
        cluster: dict[str, Any] = await admin.describe_cluster()
        cluster["topics"] = await admin.list_topics()
        return cluster
    finally:
        await admin.close()


# -- the CLI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliStack:
    run_dir: Path
    ports: StackPorts
    environ: dict[str, str]
    first_up: subprocess.CompletedProcess[str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _occupancy(self.environ, *args)

    def pids(self) -> dict[str, int | None]:
        return {s.name: s.pid for s in Stack(self.run_dir, self.ports).status()}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliStack]:
    run_dir = tmp_path_factory.mktemp("cli-stack")
    ports = StackPorts.free()
    environ = _cli_environ(run_dir, ports)
    try:
        first_up = _occupancy(environ, "up")
        assert first_up.returncode == 0, first_up.stderr
        yield CliStack(run_dir, ports, environ, first_up)
    finally:
        Stack(run_dir, ports).down()  # whatever a failing test left running


def test_up_starts_every_service_and_each_answers(cli: CliStack) -> None:
    for name in SERVICES:
        assert any(
            line.startswith(name) and " up (pid " in line
            for line in cli.first_up.stdout.splitlines()
        ), cli.first_up.stdout
    status = cli.run("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert status.stdout.count(" up ") == len(SERVICES)

    _mqtt_close(_mqtt_connect(cli.ports.mqtt))

    cluster = asyncio.run(_kafka_cluster(f"127.0.0.1:{cli.ports.kafka}"))
    assert [(b["host"], b["port"]) for b in cluster["brokers"]] == [("127.0.0.1", cli.ports.kafka)]

    proxy = cli.ports.influx_proxy
    status_code, headers, _ = _http(proxy, "GET", "/ping")
    assert status_code == 204
    assert headers["X-Influxdb-Version"].startswith("1.6")

    write = "/api/v2/write?" + urlencode(
        {"org": "occupancy", "bucket": "occupancy/autogen", "precision": "s"}
    )
    line = b"stack_check,source=cli value=42i 1700000000"
    auth = {"Authorization": "Token local", "Content-Type": "text/plain; charset=utf-8"}
    assert _http(proxy, "POST", write, line, auth)[0] == 204
    rows = _influx_values(proxy, "SELECT value FROM stack_check WHERE source = 'cli'")
    assert rows == [["2023-11-14T22:13:20Z", 42]]


def test_second_up_starts_nothing(cli: CliStack) -> None:
    before = cli.pids()
    again = cli.run("up")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("already up (pid") == len(SERVICES)
    assert "nothing started" in again.stdout
    assert cli.pids() == before
    assert all(pid is not None for pid in before.values())


def test_env_prints_exports_that_point_at_the_stack(cli: CliStack) -> None:
    result = cli.run("env")
    assert result.returncode == 0, result.stderr
    exported = dict(
        shlex.split(line)[1].split("=", 1) for line in result.stdout.splitlines() if line.strip()
    )
    assert all(line.startswith("export OCC_") for line in result.stdout.splitlines())
    assert exported["OCC_MQTT_URL"] == f"mqtt://127.0.0.1:{cli.ports.mqtt}"
    assert exported["OCC_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{cli.ports.kafka}"
    assert exported["OCC_INFLUX_URL"] == f"http://127.0.0.1:{cli.ports.influx_proxy}"
    assert exported["OCC_INFLUX_BUCKET"] == "occupancy/autogen"
    assert exported["OCC_INFLUX_ORG"] == "occupancy"
    assert exported["OCC_INFLUX_TOKEN"]
    site_file = Path(exported["OCC_SITE_FILE"])
    assert site_file.is_absolute()
    assert site_file == REPO / "deploy" / "sample" / "site.yaml"
    # What a shell makes of the lines is what the user gets.
    shell = subprocess.run(
        ["bash", "-c", 'eval "$(cat)"; printf %s "$OCC_INFLUX_URL"'],
        input=result.stdout,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == exported["OCC_INFLUX_URL"]


def test_proxy_maps_gzip_compressed_v2_writes(cli: CliStack) -> None:
    proxy = cli.ports.influx_proxy
    # Raw: a bucket without retention policy, millisecond precision, gzip body.
    body = gzip.compress(b"gzip_check,via=raw value=1.5 1700000000123\n")
    path = "/api/v2/write?" + urlencode({"org": "x", "bucket": "occupancy", "precision": "ms"})
    headers = {"Content-Encoding": "gzip", "Authorization": "Token local"}
    assert _http(proxy, "POST", path, body, headers)[0] == 204
    assert _influx_values(proxy, "SELECT value FROM gzip_check WHERE via = 'raw'") == [
        ["2023-11-14T22:13:20.123Z", 1.5]
    ]
    # The client the pipeline uses, with gzip on.
    with InfluxDBClient(
        url=f"http://127.0.0.1:{proxy}", token="local", org="occupancy", enable_gzip=True
    ) as client:
        client.write_api(write_options=SYNCHRONOUS).write(
            bucket="occupancy/autogen",
            record="gzip_check,via=client value=2.5 1700000001",
            write_precision=WritePrecision.S,
        )
    assert _influx_values(proxy, "SELECT value FROM gzip_check WHERE via = 'client'") == [
        ["2023-11-14T22:13:21Z", 2.5]
    ]


def test_proxy_rejects_a_v2_write_without_bucket(cli: CliStack) -> None:
    status, _, body = _http(cli.ports.influx_proxy, "POST", "/api/v2/write?org=x", b"m v=1")
    assert status == 400
    assert "bucket" in json.loads(body)["message"]


def test_down_stops_every_process_of_ours(cli: CliStack) -> None:
    pids = cli.pids()
    assert all(pid is not None for pid in pids.values())
    result = cli.run("down")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("stopped (pid") == len(SERVICES)
    assert [pid for pid in pids.values() if pid is not None and _alive(pid)] == []
    status = cli.run("status")
    assert status.returncode == 3
    assert status.stdout.count(" down ") == len(SERVICES)
    assert "nothing of this stack was running" in cli.run("down").stdout


def test_up_refuses_a_port_another_process_holds(tmp_path: Path) -> None:
    ports = StackPorts.free()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.mqtt))
        squatter.listen()
        result = _occupancy(_cli_environ(tmp_path, ports), "up")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert "mosquitto" in message
    assert f"127.0.0.1:{ports.mqtt}" in message
    assert "OCC_STACK_MQTT_PORT" in message
    # Checked before anything started: no half stack is left behind.
    assert not any(s.running for s in Stack(tmp_path, ports).status())


# -- per-service control (the session stack from conftest) -----------------------------------


def test_mosquitto_keeps_a_persistent_session_queue_across_a_crash(stack: Stack) -> None:
    port, topic, count = stack.ports.mqtt, "occupancy/stack-test/door/s1", 1500
    bridge = _mqtt_connect(port, client_id="stack-test-bridge", clean=False)
    subscribed = threading.Event()
    bridge.on_subscribe = lambda *_: subscribed.set()
    bridge.subscribe(topic, qos=1)
    assert subscribed.wait(10)
    _mqtt_close(bridge)

    # More than Mosquitto's default 1000 queued messages, all QoS 1, while the bridge is away.
    sensor = _mqtt_connect(port)
    infos = [sensor.publish(topic, str(seq), qos=1) for seq in range(count)]
    for info in infos:
        info.wait_for_publish(10)
    _mqtt_close(sensor)
    time.sleep(2.5)  # autosave_interval 1: the queue is in the snapshot now

    old_pid = next(s.pid for s in stack.status() if s.name == "mosquitto")
    stack.kill_service("mosquitto")
    assert not next(s for s in stack.status() if s.name == "mosquitto").running
    stack.start_service("mosquitto")
    assert next(s.pid for s in stack.status() if s.name == "mosquitto") not in (None, old_pid)

    received: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    bridge = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id="stack-test-bridge", clean_session=False
    )
    bridge.on_message = lambda _c, _u, message: received.put(bytes(message.payload))
    bridge.connect("127.0.0.1", port)
    bridge.loop_start()
    seen: set[bytes] = set()
    deadline = time.monotonic() + 20
    while len(seen) < count and time.monotonic() < deadline:
        try:
            seen.add(received.get(timeout=0.5))
        except queue.Empty:
            continue
    _mqtt_close(bridge)
    assert seen == {str(seq).encode() for seq in range(count)}


def test_kafka_restarts_gracefully_on_its_own_storage(stack: Stack) -> None:
    bootstrap = f"127.0.0.1:{stack.ports.kafka}"
    asyncio.run(_kafka_cluster(bootstrap, create_topic="stack-test.restart"))
    stack.stop_service("kafka")
    kafka = next(s for s in stack.status() if s.name == "kafka")
    assert not kafka.running
    assert not kafka.answering
    stack.start_service("kafka")
    assert "stack-test.restart" in asyncio.run(_kafka_cluster(bootstrap))["topics"]
    assert stack.is_up()


def test_stack_env_points_at_the_session_stack(stack: Stack, stack_env: dict[str, str]) -> None:
    assert stack_env["OCC_MQTT_URL"] == f"mqtt://127.0.0.1:{stack.ports.mqtt}"
    assert stack_env["OCC_INFLUX_URL"] == f"http://127.0.0.1:{stack.ports.influx_proxy}"
