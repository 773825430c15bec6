"""`occupancy demo`: brokers (the configured ones, or embedded), bridge, worker and the
simulator together, with the terminal board, until Ctrl-C (or `--duration`).

Everything it starts runs in a session of its own and is stopped on the way out, in the
reverse order, whatever ended the demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from deploy.demo.board import TerminalBoard
from deploy.demo.children import Child
from deploy.demo.embedded import EmbeddedKafka, EmbeddedMqtt, free_port
from ingest.settings import Settings
from ingest.site import Site

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
RUN_ROOT = Path(".run")
WORKER_READY_S = 180.0
BRIDGE_READY_S = 60.0


@dataclass
class DemoOptions:
    speed: float = 60.0
    seed: int = 1
    duration_s: float | None = None
    headless: bool = False
    extra_simulate: list[str] = field(default_factory=list)


@dataclass
class DemoResult:
    """What the demo saw, printed as JSON when headless."""

    run_dir: str
    board_url: str | None
    embedded: list[str]
    pids: list[int]
    exit_codes: dict[str, int]
    alerts: int
    peak_rooms_with_people: int  # the most rooms with people at once
    seconds: float


class Demo:
    def __init__(self, settings: Settings, site: Site, options: DemoOptions) -> None:
        self.settings = settings
        self.site = site
        self.options = options
        RUN_ROOT.mkdir(exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="demo-", dir=RUN_ROOT)).resolve()
        self.children: list[Child] = []
        self.mqtt: EmbeddedMqtt | None = None
        self.kafka: EmbeddedKafka | None = None
        self.board = TerminalBoard(site, settings.mqtt_prefix)
        self.board_url: str | None = None
        self.console = Console(stderr=options.headless)

    async def run(self, stop: asyncio.Event) -> DemoResult:
        started = time.monotonic()
        exit_codes: dict[str, int] = {}
        try:
            env = await self._services()
            self.board.connect(env["OCC_MQTT_URL"], self.settings.mqtt_ca_certs)
            await self._start_pipeline(env)
            self.console.print(self._banner(env))
            await self._show(stop)
        finally:
            for child in reversed(self.children):
                exit_codes[child.name] = await child.stop()
            self.board.close()
            if self.kafka is not None:
                await self.kafka.stop()
            if self.mqtt is not None:
                await self.mqtt.stop()
            shutil.rmtree(self.run_dir / "worker", ignore_errors=True)
        return DemoResult(
            run_dir=str(self.run_dir),
            board_url=self.board_url,
            embedded=[
                name for name, s in (("mqtt", self.mqtt), ("kafka", self.kafka)) if s is not None
            ],
            pids=[c.pid for c in self.children]
            + ([self.kafka.pid] if self.kafka and self.kafka.pid else []),
            exit_codes=exit_codes,
            alerts=self.board.alerts_seen,
            peak_rooms_with_people=self.board.peak_rooms_with_people,
            seconds=round(time.monotonic() - started, 1),
        )

    async def _services(self) -> dict[str, str]:
        """The environment of every child: configured services, or embedded ones."""
        given = self.settings.model_fields_set
        env = {**os.environ}
        if "mqtt_url" not in given:
            self.mqtt = EmbeddedMqtt(free_port())
            await self.mqtt.start()
            env["OCC_MQTT_URL"] = self.mqtt.url
        if "kafka_bootstrap" not in given:
            self.kafka = EmbeddedKafka(free_port(), self.run_dir / "tansu.log")
            await self.kafka.start()
            env["OCC_KAFKA_BOOTSTRAP"] = self.kafka.bootstrap
            env["OCC_KAFKA_IDEMPOTENCE"] = "false"  # Tansu has no idempotent producers
            env["OCC_KAFKA_PARTITIONS"] = "3"
        env.setdefault("OCC_SITE_FILE", str(SAMPLE / "site.yaml"))
        env.setdefault("OCC_ROSTER_FILE", str(SAMPLE / "roster.yaml"))
        # The simulator replays a past office day, compressed: kiosk times that old are
        # kept, and the alert timers (on wall time) shrink with the speed.
        speed = max(self.options.speed, 1.0)
        env.setdefault("OCC_ATTENDANCE_MAX_CLOCK_SKEW_S", str(14 * 86400))
        env.setdefault("OCC_ALERT_MIN_DWELL_S", f"{max(1.0, 60 / speed):g}")
        env.setdefault("OCC_ALERT_REMINDER_S", f"{max(30.0, 600 / speed):g}")
        env.setdefault("OCC_ALERT_TICK_S", "2")
        # One key for the demo's processes, so their pseudonyms agree (and no warning).
        env.setdefault("OCC_PSEUDONYM_KEY", secrets.token_hex(32))
        # A fresh store per demo: the embedded broker forgets everything when it stops.
        env["OCC_WORKER_DATA_DIR"] = str(self.run_dir / "worker")
        if "board_port" in Settings.model_fields and "OCC_BOARD_PORT" not in env:
            env["OCC_BOARD_PORT"] = str(8080 if _port_free(8080) else free_port())
        return env

    async def _start_pipeline(self, env: dict[str, str]) -> None:
        bridge = self._child("bridge", ["bridge"], env)
        await bridge.wait_for("event=mqtt_connected", BRIDGE_READY_S)
        worker = self._child("worker", ["worker"], env)
        self.console.print("[dim]starting the worker (Faust joins its group: ~10-30 s)…")
        await worker.wait_for("[^Worker]: Ready", WORKER_READY_S)
        if "OCC_BOARD_PORT" in env and env["OCC_BOARD_PORT"] != "0":
            host = env.get("OCC_BOARD_HOST", "127.0.0.1")
            first = self.site.buildings[0].id
            self.board_url = f"http://{host}:{env['OCC_BOARD_PORT']}/building/{first}"
        simulate = [
            "simulate",
            "--speed",
            str(self.options.speed),
            "--seed",
            str(self.options.seed),
            *self.options.extra_simulate,
        ]
        self._child("simulator", simulate, env)

    def _child(self, name: str, args: list[str], env: dict[str, str]) -> Child:
        child = Child(name, args, env, self.run_dir / f"{name}.log")
        self.children.append(child)
        return child

    async def _show(self, stop: asyncio.Event) -> None:
        deadline = (
            None
            if self.options.duration_s is None
            else asyncio.get_running_loop().time() + self.options.duration_s
        )

        async def until_done(live: Live | None) -> None:
            while not stop.is_set():
                if deadline is not None and asyncio.get_running_loop().time() >= deadline:
                    return
                for child in self.children:
                    if child.name != "simulator" and not child.running():
                        self.console.print(
                            f"[red]the {child.name} stopped (exit {child.process.returncode}); "
                            f"see {child.log}"
                        )
                        return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                if live is not None:
                    live.update(self.board.render())

        if self.options.headless:
            await until_done(None)
            return
        with Live(self.board.render(), console=self.console, refresh_per_second=4) as live:
            await until_done(live)

    def _banner(self, env: dict[str, str]) -> str:
        lines = [
            "[bold]Occupancy demo running[/bold] — Ctrl-C stops everything it started.",
            f"  MQTT  {env['OCC_MQTT_URL']}"
            + (" (embedded amqtt)" if self.mqtt is not None else ""),
            f"  Kafka {env['OCC_KAFKA_BOOTSTRAP']}"
            + (" (embedded Tansu, in memory)" if self.kafka is not None else ""),
            f"  logs  {self.run_dir}",
        ]
        if self.board_url is not None:
            lines.append(f"  web board  [link={self.board_url}]{self.board_url}[/link]")
        if env.get("OCC_INFLUX_URL"):
            lines.append(f"  metrics    {env['OCC_INFLUX_URL']}")
        return "\n".join(lines)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def run_demo(settings: Settings, site: Site, options: DemoOptions) -> DemoResult:
    """Run until Ctrl-C/SIGTERM or the duration; everything started is stopped."""

    async def main() -> DemoResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await Demo(settings, site, options).run(stop)

    return asyncio.run(main())


def result_json(result: DemoResult) -> str:
    data: dict[str, Any] = dict(result.__dict__)
    return json.dumps(data)
