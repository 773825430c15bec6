"""The local stack without Docker: Mosquitto, Kafka (KRaft), InfluxDB 1.6 and its v2 write proxy.

Every service binds 127.0.0.1 and keeps config, data, log and pid file under one run directory.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import fcntl
import hashlib
import http.client
import logging
import os
import pwd
import shutil
import signal
import socket
import ssl
import string
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import deploy
from ingest.errors import ConfigError
from ingest.logs import kv

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.1.1"
DATABASE = "occupancy"
SERVICES = ("mosquitto", "kafka", "influxdb", "influx-proxy")
TEMPLATES = Path(__file__).resolve().parent
DEPLOY_DIR = Path(deploy.__file__).resolve().parent
REPO_ROOT = DEPLOY_DIR.parent
# Kafka is launched first: it takes longest to answer, the others start while it boots.
_LAUNCH_ORDER = ("kafka", "mosquitto", "influxdb", "influx-proxy")
# (command, Debian package) each service needs; Maven is needed only for the first Kafka fetch.
_REQUIRES = {
    # mosquitto_pub/_sub come along for operators poking at the stack by hand.
    "mosquitto": [("mosquitto", "mosquitto"), ("mosquitto_pub", "mosquitto-clients")],
    "kafka": [("java", "openjdk-17-jre-headless")],
    "influxdb": [("influxd", "influxdb")],
    "influx-proxy": [],
}


class StackError(ConfigError):
    """The local stack could not be installed or started: one sentence naming service and log."""


@dataclass(frozen=True)
class StackPorts:
    """The loopback ports of the stack; the defaults keep clear of each service's usual port."""

    mqtt: int = 11883
    kafka: int = 19092
    kafka_controller: int = 19093
    influx: int = 18086  # influxd HTTP (internal)
    influx_rpc: int = 18088  # influxd backup/restore RPC, off its default 8088
    influx_proxy: int = 18087  # the /api/v2/write compatibility proxy: OCC_INFLUX_URL

    @classmethod
    def free(cls) -> StackPorts:
        """Ports free on 127.0.0.1 right now, all different (for tests)."""
        with contextlib.ExitStack() as sockets:
            # Holding every socket open until all are bound keeps the ports distinct.
            bound = [sockets.enter_context(socket.socket()) for _ in fields(cls)]
            for sock in bound:
                sock.bind(("127.0.0.1", 0))
            return cls(*(sock.getsockname()[1] for sock in bound))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StackPorts:
        """The defaults, overridden by `OCC_STACK_<FIELD>_PORT` (e.g. OCC_STACK_MQTT_PORT)."""
        ports: dict[str, int] = {}
        for field in fields(cls):
            variable = port_variable(field.name)
            raw = environ.get(variable)
            if raw is None:
                continue
            if not raw.strip().isdigit() or not 0 < int(raw) < 65536:
                raise ConfigError(f"Setting {variable} must be a port number (got {raw!r}).")
            ports[field.name] = int(raw)
        return cls(**ports)


DEFAULT_PORTS = StackPorts()


def port_variable(field: str) -> str:
    """The environment variable that moves a StackPorts field: kafka → OCC_STACK_KAFKA_PORT."""
    return f"OCC_STACK_{field.upper()}_PORT"


@dataclass
class ServiceStatus:
    """One service of the stack as `status()` found it."""

    name: str  # "mosquitto" | "kafka" | "influxdb" | "influx-proxy"
    port: int
    pid: int | None
    running: bool  # pid alive and it is our process
    answering: bool  # answers a real request right now


@dataclass(frozen=True)
class _Service:
    name: str
    ports: dict[str, int]  # StackPorts field → port; the first is the one users connect to
    directory: Path
    log_file: Path
    marks: tuple[str, ...]  # every one appears in the argv of our process, and not in others'
    ready_timeout: float
    stop_timeout: float

    @property
    def port(self) -> int:
        return next(iter(self.ports.values()))

    @property
    def pid_file(self) -> Path:
        return self.directory / f"{self.name}.pid"


@dataclass(frozen=True)
class KafkaSasl:
    """Kafka with SASL/SCRAM over TLS and ACLs instead of PLAINTEXT (a test setting: the
    shared stack stays PLAINTEXT). `keystore` holds the broker's key and certificate (PEM,
    naming 127.0.0.1), `ca_file` what clients trust; `users` are SCRAM logins made at format
    time besides `admin`, the only super user."""

    keystore: Path
    ca_file: Path
    admin_password: str
    users: Mapping[str, str]
    mechanism: str = "SCRAM-SHA-512"

    def client_options(self, username: str, password: str) -> dict[str, Any]:
        """aiokafka options for one login."""
        return {
            "security_protocol": "SASL_SSL",
            "ssl_context": ssl.create_default_context(cafile=self.ca_file),
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }

    def properties(self, port: int, controller_port: int) -> dict[str, str]:
        """Broker settings that replace or add to kafka-server.properties."""
        scram = self.mechanism.lower()
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required"
            f' username="admin" password="{self.admin_password}";'
        )
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": self.mechanism,
            "sasl.mechanism.inter.broker.protocol": self.mechanism,
            f"listener.name.sasl_ssl.{scram}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.ca_file),
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            # ANONYMOUS is the controller listener's principal (PLAINTEXT, which KRaft's own
            # traffic needs before SCRAM logins are readable); it listens on loopback only.
            "super.users": "User:admin;User:ANONYMOUS",
        }

    def scram_arguments(self) -> list[str]:
        """`kafka-storage format` arguments that create the SCRAM logins."""
        logins = {"admin": self.admin_password, **self.users}
        return [
            arg
            for name, password in logins.items()
            for arg in ("--add-scram", f"{self.mechanism}=[name={name},password={password}]")
        ]


class Stack:
    """Mosquitto, Kafka, InfluxDB and the v2 write proxy, run from and kept in `run_dir`."""

    def __init__(
        self,
        run_dir: Path,
        ports: StackPorts = DEFAULT_PORTS,
        kafka_cache: Path | None = None,
        kafka_sasl: KafkaSasl | None = None,
    ) -> None:
        self.run_dir = run_dir.resolve()
        self.ports = ports
        self.kafka_sasl = kafka_sasl
        default_cache = Path.home() / ".cache" / "occupancy" / f"kafka-{KAFKA_VERSION}"
        self.kafka_cache = (
            kafka_cache or Path(os.environ.get("OCC_KAFKA_CACHE") or default_cache)
        ).resolve()
        # Processes this object started: polling them reaps them, so a dead one is not a zombie.
        self._children: dict[int, subprocess.Popen[bytes]] = {}
        run = self.run_dir
        self._services = {
            svc.name: svc
            for svc in (
                _Service(
                    "mosquitto",
                    {"mqtt": ports.mqtt},
                    run / "mosquitto",
                    run / "mosquitto" / "mosquitto.log",
                    (str(run / "mosquitto" / "mosquitto.conf"),),
                    ready_timeout=15,
                    stop_timeout=10,
                ),
                _Service(
                    "kafka",
                    {"kafka": ports.kafka, "kafka_controller": ports.kafka_controller},
                    run / "kafka",
                    run / "kafka" / "server.log",
                    ("kafka.Kafka", str(run / "kafka" / "server.properties")),
                    ready_timeout=60,
                    stop_timeout=30,
                ),
                _Service(
                    "influxdb",
                    {"influx": ports.influx, "influx_rpc": ports.influx_rpc},
                    run / "influxdb",
                    run / "influxdb" / "influxd.log",
                    (str(run / "influxdb" / "influxdb.conf"),),
                    ready_timeout=30,
                    stop_timeout=15,
                ),
                _Service(
                    "influx-proxy",
                    {"influx_proxy": ports.influx_proxy},
                    run / "influx-proxy",
                    run / "influx-proxy" / "proxy.log",
                    ("deploy.local.influx_proxy", f"127.0.0.1:{ports.influx_proxy}"),
                    ready_timeout=15,
                    stop_timeout=5,
                ),
            )
        }

    # -- public interface ------------------------------------------------------------------

    def up(self, on_ready: Callable[[ServiceStatus, bool], None] | None = None) -> None:
        """Install what is missing, start what is not running, wait until every service answers.

        `on_ready(status, started)` is called per service once it answers; `started` is False
        when it was already running. A second `up` starts nothing.
        """
        with self._locked():
            missing = [
                self._services[n] for n in _LAUNCH_ORDER if self._pid(self._services[n]) is None
            ]
            # Every check before the first start: a taken port must not leave half a stack.
            for svc in missing:
                self._install(svc.name)
                self._check_ports(svc)
            for svc in missing:
                self._launch(svc)
            for name in SERVICES:
                svc = self._services[name]
                self._await_answer(svc)
                if on_ready is not None:
                    on_ready(self._status_of(svc, answering=True), svc in missing)

    def down(self) -> None:
        """Stop what `up()` started (found by pid file and checked to be ours), gracefully."""
        with self._locked():
            self._stop(list(reversed(SERVICES)), signal.SIGTERM)

    def status(self) -> list[ServiceStatus]:
        """Each service: its pid if ours is running, and whether its port answers right now."""
        return [self._status_of(svc, self._answers(svc, 2.0)) for svc in self._services.values()]

    def is_up(self) -> bool:
        """Every service running and answering."""
        return all(s.running and s.answering for s in self.status())

    def env(self) -> dict[str, str]:
        """The `OCC_*` settings that point the pipeline at this stack."""
        return {
            "OCC_MQTT_URL": f"mqtt://127.0.0.1:{self.ports.mqtt}",
            "OCC_KAFKA_BOOTSTRAP": f"127.0.0.1:{self.ports.kafka}",
            "OCC_INFLUX_URL": f"http://127.0.0.1:{self.ports.influx_proxy}",
            "OCC_INFLUX_ORG": "occupancy",
            "OCC_INFLUX_BUCKET": f"{DATABASE}/autogen",
            # InfluxDB 1.6 runs without auth here; influxdb-client insists on some token.
            "OCC_INFLUX_TOKEN": "local-stack-no-auth",
            "OCC_SITE_FILE": str(DEPLOY_DIR / "sample" / "site.yaml"),
        }

    @contextlib.contextmanager
    def as_found(self, report: Callable[[str], None] = lambda _: None) -> Iterator[None]:
        """Up for the block; afterwards stop exactly the services this started (benchmarks)."""
        if self.is_up():
            yield
            return
        running = {s.name for s in self.status() if s.running}
        report("starting the local stack (it was not up; it is stopped again at the end)")
        try:
            self.up()
            yield
        finally:
            report("stopping the local stack")
            if not running:
                self.down()
            else:
                for name in reversed(SERVICES):
                    if name not in running:
                        self.stop_service(name)

    def start_service(self, name: str) -> None:
        """Start one service (if it is not running) and wait until it answers."""
        svc = self._service(name)
        with self._locked():
            if self._pid(svc) is None:
                self._install(name)
                self._check_ports(svc)
                self._launch(svc)
            self._await_answer(svc)

    def stop_service(self, name: str) -> None:
        """Stop one service gracefully (SIGTERM, SIGKILL after its timeout)."""
        with self._locked():
            self._stop([self._service(name).name], signal.SIGTERM)

    def kill_service(self, name: str) -> None:
        """Kill one service with SIGKILL, as a crash would, and wait until it is gone."""
        with self._locked():
            self._stop([self._service(name).name], signal.SIGKILL)

    # -- processes -------------------------------------------------------------------------

    def _service(self, name: str) -> _Service:
        try:
            return self._services[name]
        except KeyError:
            raise ValueError(f"unknown service {name!r}; one of {', '.join(SERVICES)}") from None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Two `up`s at once on one run dir would both see a service down and start it twice.
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with (self.run_dir / "stack.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _pid(self, svc: _Service) -> int | None:
        """The pid of our running process for `svc`, None when it is not running."""
        try:
            pid = int(svc.pid_file.read_text())
        except (OSError, ValueError):
            return None
        child = self._children.get(pid)
        if child is not None and child.poll() is not None:
            return None
        argv = _live_argv(pid)
        if argv is None or not all(mark in argv for mark in svc.marks):
            return None
        return pid

    def _status_of(self, svc: _Service, answering: bool) -> ServiceStatus:
        pid = self._pid(svc)
        return ServiceStatus(svc.name, svc.port, pid, pid is not None, answering)

    def _check_ports(self, svc: _Service) -> None:
        for field, port in svc.ports.items():
            if not _port_free(port):
                raise StackError(
                    f"{svc.name} cannot start: 127.0.0.1:{port} is taken by a process this stack"
                    f" did not start; stop it or choose another port with {port_variable(field)}."
                )

    def _launch(self, svc: _Service) -> None:
        svc.directory.mkdir(parents=True, exist_ok=True)
        argv = self._prepare(svc)
        with svc.log_file.open("ab") as out:
            # A session of its own: the service outlives `occupancy stack up` and its terminal.
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT if svc.name == "influx-proxy" else svc.directory,
                start_new_session=True,
            )
        self._children[child.pid] = child
        svc.pid_file.write_text(f"{child.pid}\n")
        log.info(
            kv("service_started", name=svc.name, pid=child.pid, port=svc.port, log=svc.log_file)
        )

    def _await_answer(self, svc: _Service) -> None:
        started = time.monotonic()
        deadline = started + svc.ready_timeout
        while not self._answers(svc, min(5.0, max(deadline - time.monotonic(), 0.5))):
            pid = self._pid(svc)
            if pid is None:
                # Seen once in CI right after a restart: a service that then ran fine was not
                # found for a moment. Look again before calling it dead.
                time.sleep(0.5)
                pid = self._pid(svc)
            if pid is None and not self._answers(svc, 2.0):
                raise StackError(
                    f"{svc.name} stopped before answering on 127.0.0.1:{svc.port};"
                    f" see {svc.log_file}."
                )
            if pid is None:
                break  # it answered on the second look
            if time.monotonic() >= deadline:
                raise StackError(
                    f"{svc.name} (pid {pid}) did not answer on 127.0.0.1:{svc.port} within"
                    f" {svc.ready_timeout:.0f} s; see {svc.log_file}."
                )
            time.sleep(0.2)
        if svc.name == "influxdb":
            self._create_database(svc)
        log.info(kv("service_ready", name=svc.name, elapsed_s=time.monotonic() - started))

    def _stop(self, names: list[str], sig: signal.Signals) -> None:
        running = {name: pid for name in names if (pid := self._pid(self._services[name]))}
        for name, pid in running.items():
            log.info(kv("service_stopping", name=name, pid=pid, signal=sig.name))
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        for name, pid in running.items():
            svc = self._services[name]
            if not self._wait_gone(pid, svc.stop_timeout):
                log.warning(
                    kv("service_stop_timeout", name=name, pid=pid, timeout_s=svc.stop_timeout)
                )
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                self._wait_gone(pid, 10)
            svc.pid_file.unlink(missing_ok=True)
            log.info(kv("service_stopped", name=name, pid=pid))

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            child = self._children.get(pid)
            gone = child.poll() is not None if child is not None else _live_argv(pid) is None
            if gone:
                self._children.pop(pid, None)
                return True
            time.sleep(0.05)
        return False

    # -- installation and configuration -------------------------------------------------------

    def _install(self, name: str) -> None:
        for command, package in _REQUIRES[name]:
            if _which(command) is None:
                self._apt_install(package, name)

    def _apt_install(self, package: str, service: str) -> None:
        if os.geteuid() != 0:
            raise StackError(
                f"{service} needs the Debian package {package}:"
                f" run `sudo apt-get install -y {package}`."
            )
        install_log = self.run_dir / "install.log"
        log.info("package installing name=%s service=%s log=%s", package, service, install_log)
        install = ["apt-get", "install", "-y", "--no-install-recommends", package]
        # A fresh machine has no package lists yet: update once, then try again.
        if _run_logged(install, install_log, 900) != 0 and (
            _run_logged(["apt-get", "update"], install_log, 900) != 0
            or _run_logged(install, install_log, 900) != 0
        ):
            raise StackError(
                f"{service} could not be installed (apt-get install {package} failed);"
                f" see {install_log}."
            )

    def _prepare(self, svc: _Service) -> list[str]:
        """Write the service's config into the run dir and return its command line."""
        match svc.name:
            case "mosquitto":
                conf = svc.directory / "mosquitto.conf"
                _render(
                    "mosquitto.conf",
                    conf,
                    run_dir=self.run_dir,
                    user=pwd.getpwuid(os.geteuid()).pw_name,
                    port=svc.port,
                    data_dir=svc.directory,
                    log_file=svc.log_file,
                )
                return [_require("mosquitto"), "-c", str(conf)]
            case "kafka":
                return self._prepare_kafka(svc)
            case "influxdb":
                conf = svc.directory / "influxdb.conf"
                _render(
                    "influxdb.conf",
                    conf,
                    port=svc.port,
                    rpc_port=self.ports.influx_rpc,
                    data_dir=svc.directory,
                )
                return [_require("influxd"), "-config", str(conf)]
            case _:
                return [
                    sys.executable,
                    "-m",
                    "deploy.local.influx_proxy",
                    "--listen",
                    f"127.0.0.1:{svc.port}",
                    "--upstream",
                    f"http://127.0.0.1:{self.ports.influx}",
                ]

    def _prepare_kafka(self, svc: _Service) -> list[str]:
        libs = self._kafka_jars(svc)
        props = svc.directory / "server.properties"
        log4j = svc.directory / "log4j2.xml"
        data = svc.directory / "data"
        _render(
            "kafka-server.properties",
            props,
            port=svc.port,
            controller_port=self.ports.kafka_controller,
            data_dir=data,
        )
        if self.kafka_sasl is not None:
            _override(props, self.kafka_sasl.properties(svc.port, self.ports.kafka_controller))
        _render("kafka-log4j2.xml", log4j, log_file=svc.log_file)
        java = [_require("java"), f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{libs}/*"]
        if not (data / "meta.properties").exists():
            format_storage = [
                *java,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                _cluster_id(),
                "-c",
                str(props),
                *(self.kafka_sasl.scram_arguments() if self.kafka_sasl else []),
            ]
            if _run_logged(format_storage, svc.log_file, 120) != 0:
                raise StackError(f"kafka storage could not be formatted; see {svc.log_file}.")
        return [
            *java[:1],
            "-Xms256m",
            "-Xmx1g",
            "-Djava.awt.headless=true",
            *java[1:],
            "kafka.Kafka",
            str(props),
        ]

    def _kafka_jars(self, svc: _Service) -> Path:
        """The Kafka jars from Maven Central, fetched once into the cache and reused."""
        libs = self.kafka_cache / "libs"
        marker = self.kafka_cache / "libs.complete"
        pom = TEMPLATES / "kafka-pom.xml"
        # The marker holds the pom's digest: a half-finished fetch or a changed pom fetches anew.
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        if marker.is_file() and marker.read_text().strip() == digest:
            return libs
        self.kafka_cache.mkdir(parents=True, exist_ok=True)
        with (self.kafka_cache / "fetch.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if marker.is_file() and marker.read_text().strip() == digest:
                return libs
            if _which("mvn") is None:
                self._apt_install("maven", "kafka")
            marker.unlink(missing_ok=True)
            shutil.rmtree(libs, ignore_errors=True)
            fetch_log = svc.directory / "fetch.log"
            log.info("kafka jars fetching cache=%s log=%s", self.kafka_cache, fetch_log)
            fetch = [
                _require("mvn"),
                "-q",
                "-B",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ]
            if _run_logged(fetch, fetch_log, 900) != 0:
                raise StackError(
                    f"kafka jars could not be fetched from Maven Central into {libs};"
                    f" see {fetch_log}."
                )
            marker.write_text(f"{digest}\n")
        return libs

    # -- readiness ---------------------------------------------------------------------------

    def _answers(self, svc: _Service, timeout: float) -> bool:
        """Whether the service answers a real protocol request on its port right now."""
        match svc.name:
            case "mosquitto":
                return _mqtt_answers(svc.port, timeout)
            case "kafka":
                sasl = self.kafka_sasl
                options = sasl.client_options("admin", sasl.admin_password) if sasl else {}
                return _kafka_answers(svc.port, timeout, options)
            case _:
                return _http_status(svc.port, "GET", "/ping", timeout) == 204

    def _create_database(self, svc: _Service) -> None:
        query = urlencode({"q": f"CREATE DATABASE {DATABASE}"})
        if _http_status(svc.port, "POST", f"/query?{query}", 10.0) != 200:
            raise StackError(
                f"influxdb did not create the database {DATABASE}; see {svc.log_file}."
            )


def default_stack() -> Stack:
    """The stack `occupancy stack …` runs: in OCC_STACK_DIR (else <repo>/.run/stack), on the
    default ports unless OCC_STACK_<NAME>_PORT moves them."""
    run_dir = Path(os.environ.get("OCC_STACK_DIR") or REPO_ROOT / ".run" / "stack")
    return Stack(run_dir, StackPorts.from_env(os.environ))


# -- helpers ---------------------------------------------------------------------------------


def _which(command: str) -> str | None:
    # Debian installs mosquitto into /usr/sbin, which a non-root PATH may lack.
    return shutil.which(command, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/usr/bin")


def _require(command: str) -> str:
    path = _which(command)
    if path is None:
        raise StackError(f"{command} is not installed although its package install succeeded.")
    return path


def _render(template: str, target: Path, **values: object) -> None:
    text = string.Template((TEMPLATES / template).read_text()).substitute(values)
    target.write_text(text)


def _override(properties: Path, values: Mapping[str, str]) -> None:
    """Replace the keys of `values` in a properties file, adding those it lacks."""
    lines = [
        line
        for line in properties.read_text().splitlines()
        if line.split("=", 1)[0].strip() not in values
    ]
    properties.write_text("\n".join([*lines, *(f"{k}={v}" for k, v in values.items())]) + "\n")


def _run_logged(argv: list[str], log_file: Path, timeout: float) -> int:
    """Run a command with its output appended to `log_file`; its exit code, -1 on timeout."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        try:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            ).returncode
        except subprocess.TimeoutExpired:
            return -1


def _cluster_id() -> str:
    """A random Kafka cluster id: 16 bytes, base64url, 22 characters."""
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        # Kafka avoids ids that start with "-": its own CLI would read one as an option.
        if not cluster_id.startswith("-"):
            return cluster_id


def _live_argv(pid: int) -> list[str] | None:
    """The argv of a live process, None when there is none (or only a zombie) with that pid."""
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        argv = (proc / "cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return None
    if state in ("Z", "X"):
        return None
    return [arg.decode(errors="replace") for arg in argv if arg]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the services themselves do: TIME_WAIT leftovers do not count as taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _http_status(port: int, method: str, path: str, timeout: float) -> int | None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _mqtt_answers(port: int, timeout: float) -> bool:
    """A real MQTT CONNECT (clean session, so the broker keeps nothing) answered by CONNACK."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    connacks: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, clean_session=True)
    client.on_connect = lambda _c, _u, _f, reason, _p: connacks.append(not reason.is_failure)
    client.connect_timeout = timeout
    try:
        client.connect("127.0.0.1", port, keepalive=10)
        deadline = time.monotonic() + timeout
        while not connacks and time.monotonic() < deadline:
            if client.loop(timeout=0.05) != mqtt.MQTT_ERR_SUCCESS:
                break
        return connacks == [True]
    except OSError:
        return False
    finally:
        client.disconnect()  # in manual-loop mode this sends DISCONNECT and closes the socket


def _kafka_answers(port: int, timeout: float, options: Mapping[str, Any] | None = None) -> bool:
    """A real Kafka metadata request (aiokafka admin client listing topics) that succeeds."""
    # Skip the client while nothing listens: aiokafka logs every refused connection as an error.
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
    except OSError:
        return False

    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    async def list_topics() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"127.0.0.1:{port}",
            request_timeout_ms=int(timeout * 1000),
            **(options or {}),
        )
        try:
            await admin.start()
            await admin.list_topics()
        finally:
            await admin.close()

    try:
        _run_coroutine(asyncio.wait_for(list_topics(), timeout))
    except (KafkaError, OSError, TimeoutError):
        return False
    return True


def _run_coroutine(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine to completion, also when called from code already inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()
