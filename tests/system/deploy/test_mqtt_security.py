"""MQTT security on the real Mosquitto: deploy/mosquitto/mosquitto.conf, logins and ACL
written by `occupancy devices add`, TLS with a CA generated here (openssl).

The broker is this module's own, on a free loopback port with its files in a temp dir (the
session stack's Mosquitto is anonymous by design). In MQTT 3.1.1, Mosquitto drops a denied
PUBLISH silently (a QoS-1 one still gets its PUBACK), so every denial is checked by
delivery: a subscriber allowed to read the topic gets an allowed "fence" message published
after the forgeries, and nothing else. Mosquitto handles clients on one thread, in order: a
forgery it had routed would have reached the subscriber before the fence.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from ingest.models import CheckinRecord, RoomState
from tests.conftest import SAMPLE_SITE
from tests.support.kafka import read_topics, wait_for_counts
from tests.support.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[3]
CONF = REPO / "deploy" / "mosquitto" / "mosquitto.conf"
P = "occupancy"
HQ = "hq-jakarta"
KIOSK = f"{P}/{HQ}/kiosk/kiosk-main"
SENSOR = f"{P}/{HQ}/f1-lobby/door/door-f1-lobby-main"
STATE = f"{P}/{HQ}/f1-lobby/state"
ALERTS = f"{P}/{HQ}/alerts"
ACK = f"{P}/{HQ}/alerts/alert-1/ack"
MAKASSAR_ALERTS = f"{P}/ro-makassar/alerts"
# What the bridge account subscribes to, as the bridge does.
BRIDGE_READS = (f"{P}/+/+/door/+", f"{P}/+/kiosk/+", f"{P}/+/alerts/+/ack")
HQ_CONSOLE_READS = (f"{P}/{HQ}/+/state", ALERTS, f"{P}/{HQ}/summary", f"{P}/{HQ}/presence")

# Each account: `occupancy devices add` arguments.
ACCOUNTS = {
    "kiosk": ("kiosk", "kiosk-main", "--building", HQ),
    "sensor": ("sensor", "door-f1-lobby-main", "--building", HQ),
    "console": ("console", "sec-desk", "--building", HQ),
    "control-room": ("console", "control-room"),
    "bridge": ("bridge", "occupancy-bridge"),
    "worker": ("worker", "worker-1"),
}

Message = tuple[str, bytes]
BROKER_CA = Path("the broker's CA")  # Client's default: trust the CA made for the broker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(folder: Path) -> None:
    """A CA, a server certificate it signs for `localhost` only, and an unrelated CA."""
    for name in ("ca", "other-ca"):
        openssl(
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", f"{name}.key", "-out", f"{name}.crt", "-subj", f"/CN=occupancy {name}"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            cwd=folder,
        )
    (folder / "server.ext").write_text(
        "subjectAltName=DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    openssl(
        *("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key"),
        *("-out", "server.csr", "-subj", "/CN=localhost"),
        cwd=folder,
    )
    openssl(
        *("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key"),
        *("-CAcreateserial", "-days", "2", "-out", "server.crt", "-extfile", "server.ext"),
        cwd=folder,
    )


def render_conf(overrides: dict[str, str]) -> str:
    """The production config with some directives' values replaced; each must be in it."""
    lines, replaced = [], set()
    for line in CONF.read_text().splitlines():
        key = line.split(" ", 1)[0]
        lines.append(f"{key} {overrides[key]}" if key in overrides else line)
        replaced |= {key} & overrides.keys()
    assert replaced == set(overrides), f"not in {CONF}: {set(overrides) - replaced}"
    # As root, Mosquitto would become user `mosquitto`, who cannot read a private temp dir.
    return "\n".join([f"user {pwd.getpwuid(os.geteuid()).pw_name}", *lines]) + "\n"


@dataclass
class Broker:
    """This module's secured Mosquitto and the accounts made for it."""

    folder: Path
    port: int
    env: dict[str, str]
    passwords: dict[str, str] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def ca(self) -> Path:
        return self.folder / "ca.crt"

    def devices(self, *args: str) -> str:
        """Run `occupancy devices ARGS` as an operator would; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "deploy.cli", "devices", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def add(self, name: str, *args: str) -> None:
        out = self.devices("add", *args)
        password = re.search(r"^password \(shown only now\): (\S+)$", out, re.MULTILINE)
        username = re.search(r"user name (\S+)", out)
        assert password is not None and username is not None, out
        self.passwords[name] = password[1]
        self.usernames[name] = username[1]

    def start(self) -> None:
        log = (self.folder / "mosquitto.out").open("ab")
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.folder / "mosquitto.conf")], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 15
        while True:
            assert self.process.poll() is None, self.log()
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.05)

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads the password and ACL files."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)

    def log(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, name: str, **kwargs: Any) -> Client:
        return Client(self, self.usernames[name], self.passwords[name], **kwargs)


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    folder = tmp_path_factory.mktemp("mosquitto-secured")
    make_pki(folder)
    port = free_port()
    (folder / "mosquitto.conf").write_text(
        render_conf(
            {
                "password_file": str(folder / "passwd"),
                "acl_file": str(folder / "acl"),
                "listener": f"{port} 127.0.0.1",
                "cafile": str(folder / "ca.crt"),
                "certfile": str(folder / "server.crt"),
                "keyfile": str(folder / "server.key"),
                "persistence_location": f"{folder}/",
                "log_dest": f"file {folder / 'mosquitto.log'}",
            }
        )
    )
    env = {
        "OCC_SITE_FILE": str(SAMPLE_SITE),
        "OCC_MQTT_PREFIX": P,
        "OCC_MQTT_PASSWORD_FILE": str(folder / "passwd"),
        "OCC_MQTT_ACL_FILE": str(folder / "acl"),
    }
    secured = Broker(folder, port, env)
    for name, args in ACCOUNTS.items():
        secured.add(name, *args)
    secured.start()
    try:
        yield secured
    finally:
        secured.stop()


class Client:
    """One account's paho client over TLS, connected on creation (`reason` says how it went),
    keeping every message it receives."""

    def __init__(
        self,
        broker: Broker,
        username: str | None,
        password: str | None,
        *,
        host: str = "localhost",
        ca: Path | None = BROKER_CA,
        client_id: str | None = None,
        clean_session: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self._messages: list[Message] = []
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"test-{uuid.uuid4().hex[:8]}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=clean_session,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        ca_file = broker.ca if ca is BROKER_CA else ca
        self._client.tls_set(ca_certs=str(ca_file) if ca_file else None)
        connected = threading.Event()
        self._subscribed = threading.Event()
        self.reason = ""

        def on_connect(
            client: mqtt.Client, userdata: Any, flags: Any, reason: Any, *_: Any
        ) -> None:
            self.reason = str(reason)
            connected.set()

        self._client.on_connect = on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect(host, broker.port, keepalive=30)  # the TLS handshake: may raise
        self._client.loop_start()
        assert connected.wait(10), "no CONNACK"

    def __enter__(self) -> Client:
        assert self.reason == "Success", self.reason
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self._messages.append((msg.topic, bytes(msg.payload)))

    def subscribe(self, *filters: str) -> None:
        self._subscribed.clear()
        self._client.subscribe([(f, 1) for f in filters])
        assert self._subscribed.wait(10), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1, acknowledged: Mosquitto acknowledges what it denies as well."""
        info = self._client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
        assert info.is_published()

    def connected(self) -> bool:
        return bool(self._client.is_connected())

    def messages(self) -> list[Message]:
        with self._lock:
            return list(self._messages)

    def wait_for(self, check: Callable[[list[Message]], bool], timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not check(self.messages()):
            assert time.monotonic() < deadline, f"timed out; received {self.messages()}"
            time.sleep(0.02)


def received_all(*expected: Message) -> Callable[[list[Message]], bool]:
    return lambda messages: all(m in messages for m in expected)


def connack(broker: Broker, username: str | None, password: str | None) -> str:
    client = Client(broker, username, password)
    client.close()
    return client.reason


# --- who may connect -----------------------------------------------------------------------


def test_anonymous_and_wrong_logins_are_refused(broker: Broker) -> None:
    kiosk = broker.usernames["kiosk"]
    assert connack(broker, None, None) == "Not authorized"
    assert connack(broker, kiosk, "not-" + broker.passwords["kiosk"]) == "Not authorized"
    assert connack(broker, kiosk, broker.passwords["sensor"]) == "Not authorized"
    assert connack(broker, "nobody", broker.passwords["kiosk"]) == "Not authorized"
    assert connack(broker, kiosk, broker.passwords["kiosk"]) == "Success"


def test_tls_needs_the_generated_ca_and_the_certified_host_name(broker: Broker) -> None:
    assert connack(broker, broker.usernames["kiosk"], broker.passwords["kiosk"]) == "Success"
    login = (broker.usernames["kiosk"], broker.passwords["kiosk"])
    # Without the CA (the system's CAs only), or with another CA: the certificate fails.
    for ca in (None, broker.folder / "other-ca.crt"):
        with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
            Client(broker, *login, ca=ca)
    # The certificate names localhost, not 127.0.0.1: the same server by another name fails.
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        Client(broker, *login, host="127.0.0.1")
    # Plain MQTT on the TLS port: no CONNACK ever comes back.
    plain = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv311)
    plain.username_pw_set(*login)
    answered = threading.Event()
    plain.on_connect = lambda *_: answered.set()
    plain.connect("localhost", broker.port)
    plain.loop_start()
    try:
        assert not answered.wait(2)
    finally:
        plain.disconnect()
        plain.loop_stop()
    assert broker.passwords["kiosk"] not in broker.log()


# --- who may publish and read what ---------------------------------------------------------


def test_a_kiosk_publishes_to_its_own_topic_and_nowhere_else(broker: Broker) -> None:
    forged = [
        f"{P}/{HQ}/kiosk/kiosk-east",  # another kiosk of the site
        f"{P}/ro-makassar/kiosk/kiosk-main",  # its own id in another building
        STATE,
        ALERTS,
        ACK,
        SENSOR,
        f"{P}/{HQ}/summary",
    ]
    with (
        broker.client("bridge") as bridge,
        broker.client("worker") as worker,
        broker.client("console") as console,
        broker.client("kiosk") as kiosk,
    ):
        bridge.subscribe(*BRIDGE_READS)
        console.subscribe(*HQ_CONSOLE_READS)
        for topic in forged:
            kiosk.publish(topic, b"forged")
        kiosk.publish(KIOSK, b"fence")
        bridge.wait_for(received_all((KIOSK, b"fence")))
        worker.publish(STATE, b"fence")
        worker.publish(ALERTS, b"fence")
        console.wait_for(received_all((STATE, b"fence"), (ALERTS, b"fence")))
        # The kiosk reads nothing either: not even alerts.
        kiosk.subscribe(ALERTS, STATE)
        worker.publish(ALERTS, b"second")
        console.wait_for(received_all((ALERTS, b"second")))
        assert bridge.messages() == [(KIOSK, b"fence")]
        assert console.messages() == [(STATE, b"fence"), (ALERTS, b"fence"), (ALERTS, b"second")]
        assert kiosk.messages() == []


def test_a_sensor_publishes_to_its_own_door_topic_and_nowhere_else(broker: Broker) -> None:
    forged = [
        f"{P}/{HQ}/f1-lobby/door/door-f1-lobby-east",  # the other sensor of its room
        f"{P}/{HQ}/f2-meeting-a/door/door-f1-lobby-main",  # its own id on another room
        KIOSK,
        STATE,
        ALERTS,
    ]
    with (
        broker.client("bridge") as bridge,
        broker.client("worker") as worker,
        broker.client("console") as console,
        broker.client("sensor") as sensor,
    ):
        bridge.subscribe(*BRIDGE_READS)
        console.subscribe(*HQ_CONSOLE_READS)
        for topic in forged:
            sensor.publish(topic, b"forged")
        sensor.publish(SENSOR, b"fence")
        bridge.wait_for(received_all((SENSOR, b"fence")))
        worker.publish(STATE, b"fence")
        console.wait_for(received_all((STATE, b"fence")))
        assert bridge.messages() == [(SENSOR, b"fence")]
        assert console.messages() == [(STATE, b"fence")]


def test_a_console_reads_its_building_and_acks_alerts_but_writes_no_state(broker: Broker) -> None:
    with (
        broker.client("bridge") as bridge,
        broker.client("worker") as worker,
        broker.client("console") as console,
        broker.client("control-room") as control_room,
    ):
        bridge.subscribe(*BRIDGE_READS)
        console.subscribe(*HQ_CONSOLE_READS)
        console.subscribe(MAKASSAR_ALERTS)  # not its building: never delivered
        control_room.subscribe(f"{P}/+/alerts")
        published = [
            (STATE, b"state"),
            (ALERTS, b"alert"),
            (f"{P}/{HQ}/summary", b"summary"),
            (f"{P}/{HQ}/presence", b"presence"),
        ]
        worker.publish(MAKASSAR_ALERTS, b"makassar")
        for topic, payload in published:
            worker.publish(topic, payload)
        console.wait_for(received_all(*published))
        control_room.wait_for(received_all((MAKASSAR_ALERTS, b"makassar"), (ALERTS, b"alert")))

        for topic in (STATE, ALERTS, f"{P}/{HQ}/summary", KIOSK, f"{MAKASSAR_ALERTS}/a-1/ack"):
            console.publish(topic, b"forged")
        ack = json.dumps({"by": "sec-desk"}).encode()
        console.publish(ACK, ack)
        bridge.wait_for(received_all((ACK, ack)))
        worker.publish(STATE, b"fence")
        console.wait_for(received_all((STATE, b"fence")))
        assert bridge.messages() == [(ACK, ack)]
        assert console.messages() == [*published, (STATE, b"fence")]
        assert control_room.messages() == [(MAKASSAR_ALERTS, b"makassar"), (ALERTS, b"alert")]


def test_devices_added_and_removed_take_effect_on_sighup(broker: Broker) -> None:
    broker.add("kiosk-east", "kiosk", "kiosk-east", "--building", HQ)
    login = (broker.usernames["kiosk-east"], broker.passwords["kiosk-east"])
    assert connack(broker, *login) == "Not authorized"  # not reloaded yet
    broker.reload()
    _wait_for_connack(broker, login, "Success")
    own = f"{P}/{HQ}/kiosk/kiosk-east"
    with broker.client("bridge") as bridge, Client(broker, *login) as kiosk:
        bridge.subscribe(*BRIDGE_READS)
        kiosk.publish(own, b"hello")
        bridge.wait_for(received_all((own, b"hello")))

    out = broker.devices("remove", "kiosk", "kiosk-east", "--building", HQ)
    assert "removed" in out
    broker.reload()
    _wait_for_connack(broker, login, "Not authorized")
    assert connack(broker, broker.usernames["kiosk"], broker.passwords["kiosk"]) == "Success"


def _wait_for_connack(broker: Broker, login: tuple[str, str], reason: str) -> None:
    deadline = time.monotonic() + 10
    while (got := connack(broker, *login)) != reason:
        assert time.monotonic() < deadline, f"still {got!r}, not {reason!r}"
        time.sleep(0.1)


# --- the pipeline itself over mqtts:// -----------------------------------------------------


def test_bridge_and_worker_run_over_mqtts_each_with_its_own_login(
    broker: Broker, stack_env: dict[str, str], tmp_path: Path
) -> None:
    """The real bridge and worker against this Mosquitto (Kafka from the session stack): a
    kiosk's tap reaches Kafka, a door count comes back as a room state on MQTT."""
    bridge_url, worker_url = (
        f"mqtts://{broker.usernames[name]}:{broker.passwords[name]}@localhost:{broker.port}"
        for name in ("bridge", "worker")
    )
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        OCC_MQTT_CA_FILE=str(broker.ca),
        OCC_MQTT_PREFIX=P,  # the ACL's prefix; Kafka topics stay this test's own
    )
    checkin = f"{pipeline.topics}.checkin"
    # The bridge's persistent session exists before the first tap, as after its first start.
    with broker.client("bridge", clean_session=False) as session:
        session.subscribe(*BRIDGE_READS)
    event_id = f"tap-{pipeline.tag}"
    now = pipeline.now().isoformat()
    tap = {"event_id": event_id, "ts": now, "employee_id": "E0001", "action": "check_in"}
    door = {"seq": 0, "ts": now, "entered": 2, "exited": 0}
    try:
        with (
            broker.client("console") as console,
            broker.client("kiosk") as kiosk,
            broker.client("sensor") as sensor,
        ):
            pipeline.bridge(OCC_MQTT_URL=bridge_url)
            kiosk.publish(KIOSK, json.dumps(tap).encode())
            counts = wait_for_counts(pipeline.bootstrap, [checkin], lambda c: c[checkin] > 0, 60)
            assert counts[checkin] == 1
            (record,) = read_topics(pipeline.bootstrap, [checkin])[checkin]
            assert CheckinRecord.model_validate_json(record.value).event_id == event_id

            pipeline.worker(OCC_MQTT_URL=worker_url)
            console.subscribe(STATE)
            sensor.publish(SENSOR, json.dumps(door).encode())
            console.wait_for(lambda messages: 2 in counts_in(messages), timeout=60)
    finally:
        statuses = pipeline.stop_all()
    assert set(statuses.values()) == {0}, statuses
    logs = list(tmp_path.glob("*.log"))
    assert {log.name.split("-")[0] for log in logs} == {"bridge", "worker"}
    for log in logs:
        text = log.read_text(errors="replace")
        assert broker.passwords["bridge"] not in text, log.name
        assert broker.passwords["worker"] not in text, log.name


def counts_in(messages: list[Message]) -> list[int]:
    return [RoomState.model_validate_json(payload).count for topic, payload in messages]


def test_the_web_board_acknowledges_with_the_worker_login(broker: Broker) -> None:
    # The board in a worker publishes the ack as a console would; the bridge carries it on.
    with broker.client("worker") as board, broker.client("bridge") as bridge:
        bridge.subscribe(*BRIDGE_READS)
        ack = json.dumps({"by": "board"}).encode()
        board.publish(ACK, ack)
        bridge.wait_for(received_all((ACK, ack)))
        assert bridge.messages() == [(ACK, ack)]


# --- one device cannot stop the building -----------------------------------------------------


def test_a_device_login_cannot_take_the_bridges_session(broker: Broker) -> None:
    """A door sensor's login asking for the bridge's client id gets its own (its user name):
    the bridge stays connected, and its persistent session keeps every message queued while
    it was away, none lost."""
    bridge_id = broker.usernames["bridge"]
    with broker.client("bridge", clean_session=False) as bridge:
        bridge.subscribe(KIOSK)
    with broker.client("kiosk") as kiosk:
        for n in range(50):  # queued for the bridge's session while it is away
            kiosk.publish(KIOSK, b"away-%d" % n)
        intruder = broker.client("sensor", client_id=bridge_id, clean_session=True)
        assert intruder.reason == "Success"  # connected, under its own user name as id
        intruder.close()
        bridge = broker.client("bridge", clean_session=False)
        try:
            # Another takeover attempt while the bridge is connected: it stays connected.
            intruder = broker.client("sensor", client_id=bridge_id, clean_session=True)
            intruder.close()
            for n in range(50):
                kiosk.publish(KIOSK, b"live-%d" % n)
            expected = [(KIOSK, b"away-%d" % n) for n in range(50)]
            expected += [(KIOSK, b"live-%d" % n) for n in range(50)]
            bridge.wait_for(lambda messages: len(messages) >= len(expected))
            assert bridge.messages() == expected
            assert bridge.connected()
        finally:
            bridge.close()
    log = broker.log()
    assert f"as {broker.usernames['sensor']} " in log  # the id it got
    # Mosquitto names a session it hands over ("already connected, closing old connection").
    assert "already connected" not in log, log


def test_the_broker_refuses_a_64_kib_publish(broker: Broker) -> None:
    """`max_packet_size` cuts a too-big packet at the broker: the sender is disconnected and
    nothing reaches the bridge; a 4 KiB payload still goes through."""
    with broker.client("bridge") as bridge, broker.client("kiosk") as kiosk:
        bridge.subscribe(KIOSK)
        with pytest.raises(AssertionError):
            kiosk.publish(KIOSK, b"x" * 65536)
        assert not kiosk.connected()
    assert f"{broker.usernames['kiosk']} disconnected due to oversize packet" in broker.log()
    with broker.client("bridge") as bridge, broker.client("kiosk") as kiosk:
        bridge.subscribe(KIOSK)
        kiosk.publish(KIOSK, b"y" * 4096)
        bridge.wait_for(received_all((KIOSK, b"y" * 4096)))
    assert bridge.messages() == [(KIOSK, b"y" * 4096)]
