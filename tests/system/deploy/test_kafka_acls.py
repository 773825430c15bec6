"""Kafka least privilege on a real broker: the local stack's Kafka with a SASL_SSL listener
(SCRAM logins, TLS with a CA made here) and the ACLs of deploy/kafka_acls.py; each account
tries every operation of the table below and gets exactly what its grants say.

This module starts its own Kafka (the session stack stays PLAINTEXT for everyone else).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from click.testing import CliRunner
from pydantic import SecretStr

from deploy.cli import main
from deploy.kafka_acls import ACCOUNTS, acls
from deploy.local.stack import KafkaSasl, Stack, StackPorts
from ingest.kafka import kafka_security, make_producer
from ingest.models import RoomState
from ingest.settings import Settings, load_settings
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline

pytestmark = pytest.mark.integration

PREFIX = "occupancy"
LIVE = "live"  # the topics of the test that runs the real bridge and worker


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> tuple[Path, Path]:
    """A CA and a broker key and certificate for 127.0.0.1 in one PEM file (the keystore)."""
    openssl(
        *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
        *("-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=occupancy kafka test CA"),
        *("-addext", "basicConstraints=critical,CA:TRUE"),
        *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
        cwd=folder,
    )
    (folder / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
    )
    openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key"),
        *("-out", "server.csr", "-subj", "/CN=127.0.0.1"),
        cwd=folder,
    )
    openssl(
        *("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key"),
        *("-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", "server.ext"),
        cwd=folder,
    )
    keystore = folder / "server.pem"
    keystore.write_text((folder / "server.key").read_text() + (folder / "server.crt").read_text())
    return keystore, folder / "ca.crt"


@dataclass
class SecuredKafka:
    stack: Stack
    sasl: KafkaSasl

    def env(self, user: str) -> dict[str, str]:
        password = self.sasl.admin_password if user == "admin" else self.sasl.users[user]
        return {
            "OCC_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.stack.ports.kafka}",
            "OCC_KAFKA_TOPIC_PREFIX": PREFIX,
            "OCC_KAFKA_PARTITIONS": "1",
            "OCC_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "OCC_KAFKA_SASL_MECHANISM": self.sasl.mechanism,
            "OCC_KAFKA_SASL_USERNAME": user,
            "OCC_KAFKA_SASL_PASSWORD": password,
            "OCC_KAFKA_SSL_CA_FILE": str(self.sasl.ca_file),
        }

    def settings(self, user: str) -> Settings:
        return load_settings(
            **{k.removeprefix("OCC_").lower(): v for k, v in self.env(user).items()}
        )


@pytest.fixture(scope="module")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    folder = tmp_path_factory.mktemp("kafka-sasl")
    keystore, ca = make_pki(folder)
    sasl = KafkaSasl(
        keystore=keystore,
        ca_file=ca,
        admin_password=secrets.token_urlsafe(24),
        users={name: secrets.token_urlsafe(24) for name in ACCOUNTS},
    )
    stack = Stack(folder / "run", StackPorts.free(), kafka_sasl=sasl)
    stack.start_service("kafka")
    try:
        secured = SecuredKafka(stack, sasl)
        admin = secured.settings("admin")
        # As an operator would: `occupancy kafka setup` with the admin login.
        setup = CliRunner().invoke(main, ["kafka", "setup"], env=secured.env("admin"))
        assert setup.exit_code == 0, setup.output
        assert f"{len(acls(PREFIX))} grants applied" in setup.output
        asyncio.run(_seed(admin))
        yield secured
    finally:
        stack.stop_service("kafka")


async def _seed(settings: Settings) -> None:
    """One record in every topic, so that an allowed read reads something."""
    producer = make_producer(settings)
    await producer.start()
    try:
        for name in ("door", "checkin", "config", "attendance", "room-state", "audit"):
            await producer.send_and_wait(settings.kafka_topic(name), b"{}", key=b"seed")
    finally:
        await producer.stop()


async def write(settings: Settings, topic: str) -> None:
    producer = make_producer(settings, request_timeout_ms=10_000)
    await producer.start()
    try:
        await producer.send_and_wait(settings.kafka_topic(topic), b"{}", key=b"probe")
    finally:
        await producer.stop()


async def read(settings: Settings, topic: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_security(settings),
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(settings.kafka_topic(topic), 0)])
        records = await consumer.getmany(timeout_ms=10_000)
        assert sum(len(r) for r in records.values()) >= 1, "nothing read"
    finally:
        await consumer.stop()


Probe = Callable[[Settings], Awaitable[None]]
OPERATIONS: dict[str, Probe] = {
    "write door": lambda s: write(s, "door"),
    "write checkin": lambda s: write(s, "checkin"),
    "write occupancy.config": lambda s: write(s, "config"),
    "write room-state": lambda s: write(s, "room-state"),
    "write audit": lambda s: write(s, "audit"),
    "read door": lambda s: read(s, "door"),
    "read checkin": lambda s: read(s, "checkin"),
    "read config": lambda s: read(s, "config"),
    "read attendance": lambda s: read(s, "attendance"),
    "read audit": lambda s: read(s, "audit"),
}
# What each account may do; everything else of OPERATIONS is refused.
ALLOWED = {
    "bridge": {"write door", "write checkin"},
    # The board in each worker writes limits, levels and audit records, and shows the audit.
    "worker": {
        "write room-state",
        "write occupancy.config",
        "write audit",
        "read door",
        "read checkin",
        "read config",
        "read attendance",
        "read audit",
    },
    "cli": {"write occupancy.config", "write audit", "read config"},
    "reports": {"read attendance"},
}


def attempt(settings: Settings, probe: Probe) -> str:
    try:
        asyncio.run(asyncio.wait_for(probe(settings), 60))
    except KafkaError as exc:
        return f"refused ({type(exc).__name__})"
    return "allowed"


def test_each_account_gets_exactly_its_grants(kafka: SecuredKafka) -> None:
    table = {
        account: {op: attempt(kafka.settings(account), probe) for op, probe in OPERATIONS.items()}
        for account in ACCOUNTS
    }
    width = max(map(len, OPERATIONS))
    print("\n| operation".ljust(width + 3) + "".join(f"| {a:<42}" for a in ACCOUNTS) + "|")
    for op in OPERATIONS:
        print(f"| {op:<{width}} " + "".join(f"| {table[a][op]:<42}" for a in ACCOUNTS) + "|")
    for account in ACCOUNTS:
        allowed = {op for op, result in table[account].items() if result == "allowed"}
        assert allowed == ALLOWED[account], account
    assert table["bridge"]["write occupancy.config"].startswith("refused")


def test_a_wrong_password_is_refused(kafka: SecuredKafka) -> None:
    wrong = kafka.settings("bridge").model_copy(
        update={"kafka_sasl_password": SecretStr("not-the-password")}
    )
    assert attempt(wrong, lambda s: write(s, "door")).startswith("refused")


def test_the_bridge_and_a_worker_run_with_their_own_grants_only(
    kafka: SecuredKafka, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """The real processes on the secured broker, each with its own login: a door count
    goes MQTT → bridge → Kafka → worker → room state, nothing refused on the way. Topics of
    their own (the probes above wrote `{}` into the others), set up as an operator would."""
    live = {**kafka.env("admin"), "OCC_KAFKA_TOPIC_PREFIX": LIVE}
    setup = CliRunner().invoke(main, ["kafka", "setup"], env=live)
    assert setup.exit_code == 0, setup.output
    logins = {
        name: {
            "OCC_KAFKA_SASL_USERNAME": name,
            "OCC_KAFKA_SASL_PASSWORD": kafka.sasl.users[name],
        }
        for name in ("bridge", "worker")
    }
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        OCC_KAFKA_BOOTSTRAP=f"127.0.0.1:{kafka.stack.ports.kafka}",
        OCC_KAFKA_TOPIC_PREFIX=LIVE,
        OCC_KAFKA_PARTITIONS="1",
        OCC_KAFKA_SECURITY_PROTOCOL="SASL_SSL",
        OCC_KAFKA_SASL_MECHANISM=kafka.sasl.mechanism,
        OCC_KAFKA_SSL_CA_FILE=str(kafka.sasl.ca_file),
    )
    room = "f2-meeting-a"
    body = {"seq": 0, "ts": pipeline.now().isoformat(), "entered": 3, "exited": 0}
    try:
        pipeline.bridge(**logins["bridge"])
        pipeline.worker("a", 120, **logins["worker"])
        publish(
            pipeline.env["OCC_MQTT_URL"],
            [(f"{pipeline.prefix}/hq-jakarta/{room}/door/door-{room}", json.dumps(body).encode())],
            f"pub-{pipeline.tag}",
        )
        deadline = time.monotonic() + 60
        admin = kafka.settings("admin").model_copy(update={"kafka_topic_prefix": LIVE})
        while 3 not in room_counts(admin, room):
            assert time.monotonic() < deadline, "no room state of 3 people"
            time.sleep(0.5)
        # The worker's followers (web board, presence, metrics) subscribe after it is ready:
        # give a topic they may not read the time to show up as a crash.
        time.sleep(5)
    finally:
        statuses = pipeline.stop_all()
    assert set(statuses.values()) == {0}, statuses
    for log in tmp_path.glob("*.log"):
        text = log.read_text(errors="replace")
        assert "AuthorizationFailed" not in text, (log.name, text[-2000:])
        assert kafka.sasl.users["bridge"] not in text and kafka.sasl.users["worker"] not in text


def room_counts(settings: Settings, room: str) -> list[int]:
    async def read_all() -> list[int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kafka_security(settings),
        )
        await consumer.start()
        try:
            consumer.assign([TopicPartition(settings.kafka_topic("room-state"), 0)])
            batches = await consumer.getmany(timeout_ms=2000)
            states = [RoomState.model_validate_json(r.value) for b in batches.values() for r in b]
            return [s.count for s in states if s.room == room]
        finally:
            await consumer.stop()

    return asyncio.run(read_all())
