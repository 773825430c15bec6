"""`occupancy demo`: brokers (the configured ones, or embedded), bridge, worker and the
simulator together, with the terminal board, until Ctrl-C (or `--duration`).

They all run on one replay clock of the simulated day (`OCC_CLOCK`, `OCC_CLOCK_ANCHOR`):
held at the day's start until the anchor, a little after the demo starts, then at
`--speed`; so people check in, days close and reminders fall due in simulated time.
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
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live

from deploy.demo.board import TerminalBoard
from deploy.demo.children import Child
from deploy.demo.embedded import EmbeddedKafka, EmbeddedMqtt, free_port
from deploy.simulator.clock import Window, latest_office_day
from ingest.clock import ReplayClock, parse_clock, wall_now
from ingest.roster import Roster
from ingest.settings import Settings, load_settings
from ingest.site import Site

SAMPLE = Path(__file__).resolve().parents[1] / "sample"
RUN_ROOT = Path(".run")
WORKER_READY_S = 180.0
BRIDGE_READY_S = 60.0
DAY_STARTS = clock_time(6)
"""Local time the simulator's day starts in each building (its default --start)."""
START_LEAD_S = 40.0
"""How long the replay clock is held at the day's start: about what the brokers, bridge and
worker take to come up, so the morning is not sent in one burst."""


@dataclass
class DemoOptions:
    speed: float = 60.0
    seed: int = 1
    day: date | None = None
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
    date: str  # the simulated day
    clock: str  # OCC_CLOCK of every process
    simulated_until: str  # the pipeline's clock when the demo ended
    checked_in_peak: dict[str, int]  # per building, the most people checked in at once
    planned_wfo: dict[str, int]  # per building, the roster's office attendance that day
    attendance: dict[str, int]  # the day's records in occupancy.attendance, by status


class Demo:
    def __init__(
        self, settings: Settings, site: Site, roster: Roster, options: DemoOptions
    ) -> None:
        self.settings = settings
        self.site = site
        self.roster = roster
        self.options = options
        today = wall_now().astimezone(site.buildings[0].zone).date()
        self.day = options.day or latest_office_day(site, roster, today)
        self.clock = settings.pipeline_clock
        self.env: dict[str, str] = {}
        RUN_ROOT.mkdir(exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="demo-", dir=RUN_ROOT)).resolve()
        self.children: list[Child] = []
        self.mqtt: EmbeddedMqtt | None = None
        self.kafka: EmbeddedKafka | None = None
        self.board = TerminalBoard(site, settings.mqtt_prefix)
        self.board_url: str | None = None
        self.board_password: str | None = None
        self.console = Console(stderr=options.headless)

    async def run(self, stop: asyncio.Event) -> DemoResult:
        started = time.monotonic()
        exit_codes: dict[str, int] = {}
        attendance: Counter[str] = Counter()
        try:
            env = self.env = await self._services()
            self.board.clock = self.clock
            self.board.connect(env["OCC_MQTT_URL"], self.settings.mqtt_ca_certs)
            await self._start_pipeline(env)
            self.console.print(self._banner(env))
            await self._show(stop)
            attendance = await self._attendance(env)
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
            date=self.day.isoformat(),
            clock=self.clock.spec,
            simulated_until=self.clock.now().isoformat(timespec="seconds"),
            checked_in_peak=dict(self.board.checked_in_peak),
            planned_wfo={
                b.id: self.roster.planned_wfo(b.id, self.day) for b in self.site.buildings
            },
            attendance=dict(sorted(attendance.items())),
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
        if "clock" not in given:
            self.clock = self._replay_clock()
            env["OCC_CLOCK"] = self.clock.spec
            env["OCC_CLOCK_ANCHOR"] = self.clock.anchor.isoformat()
        # Timers look at the clock every tick (real seconds): often enough for simulated time.
        env.setdefault("OCC_ALERT_TICK_S", "2")
        # Attendance begins on the simulated day: no week of absences before it.
        env.setdefault("OCC_ATTENDANCE_SINCE", self.day.isoformat())
        # Delays are real seconds, times the speed on the replay clock: at 600x a worker a
        # second behind hears a sensor ten simulated minutes late. Silence is judged with
        # that margin.
        offline_s = max(300.0, 3 * self.options.speed)
        env.setdefault("OCC_SENSOR_OFFLINE_AFTER_S", f"{offline_s:g}")
        # One key for the demo's processes, so their pseudonyms agree (and no warning).
        env.setdefault("OCC_PSEUDONYM_KEY", secrets.token_hex(32))
        # A fresh store per demo: the embedded broker forgets everything when it stops.
        env["OCC_WORKER_DATA_DIR"] = str(self.run_dir / "worker")
        if "board_port" in Settings.model_fields and "OCC_BOARD_PORT" not in env:
            env["OCC_BOARD_PORT"] = str(8080 if _port_free(8080) else free_port())
        if "OCC_USERS_FILE" not in env:
            env["OCC_USERS_FILE"] = str(self._demo_account())
        return env

    def _demo_account(self) -> Path:
        """The board needs a login: one admin account, `demo`, with a password of this run."""
        from alerts.board.accounts import Account, hash_password, write_users

        self.board_password = secrets.token_urlsafe(12)
        path = self.run_dir / "users.json"
        write_users(path, {"demo": Account("demo", "admin", hash_password(self.board_password))})
        return path

    def _replay_clock(self) -> ReplayClock:
        """Held at the first building's start of the day until START_LEAD_S from now."""
        first, _ = Window(self.day, DAY_STARTS, clock_time(23, 59)).span(self.site)
        anchor = wall_now() + timedelta(seconds=START_LEAD_S)
        clock = parse_clock(f"replay:{first.isoformat()}@{self.options.speed:g}", anchor)
        assert isinstance(clock, ReplayClock)
        return clock

    async def _attendance(self, env: dict[str, str]) -> Counter[str]:
        """The simulated day's records in occupancy.attendance, by status."""
        from processors.attendance import read_latest
        from processors.attendance_rules import DailyRecord

        settings = load_settings(
            kafka_bootstrap=env["OCC_KAFKA_BOOTSTRAP"],
            kafka_idempotence=env.get("OCC_KAFKA_IDEMPOTENCE", "true") == "true",
        )
        try:
            records = await asyncio.wait_for(
                read_latest(settings, "attendance", DailyRecord), timeout=30
            )
        except Exception as exc:  # the summary still tells the rest
            self.console.print(f"[yellow]attendance not read: {type(exc).__name__}")
            return Counter()
        return Counter(r.status for r in records.values() if r.date == self.day)

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
        simulate = ["simulate", "--date", self.day.isoformat(), "--seed", str(self.options.seed)]
        if not isinstance(self.clock, ReplayClock):  # OCC_CLOCK=wall: a compressed past day
            simulate += ["--speed", str(self.options.speed)]
        simulate += self.options.extra_simulate
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
            f"  clock {self._clock_line()}",
        ]
        if self.board_url is not None:
            lines.append(f"  web board  [link={self.board_url}]{self.board_url}[/link]")
            if self.board_password is not None:
                lines.append(f"  board login  demo / {self.board_password}")
        if env.get("OCC_INFLUX_URL"):
            lines.append(f"  metrics    {env['OCC_INFLUX_URL']}")
        return "\n".join(lines)

    def _clock_line(self) -> str:
        if not isinstance(self.clock, ReplayClock):
            return f"{self.clock.spec} (a past day, compressed)"
        zone = self.site.buildings[0].zone
        starts = self.clock.start.astimezone(zone)
        held = max(0.0, (self.clock.anchor - wall_now()).total_seconds())
        return (
            f"replaying {self.day:%A %Y-%m-%d} from {starts:%H:%M %Z} at {self.clock.speed:g}x"
            + (f", starting in {held:.0f} s" if held > 1 else "")
        )


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def run_demo(settings: Settings, site: Site, roster: Roster, options: DemoOptions) -> DemoResult:
    """Run until Ctrl-C/SIGTERM/SIGHUP or the duration; everything started is stopped."""

    async def main() -> DemoResult:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # SIGHUP too: a terminal closed (or an SSH session lost) hangs the demo up, often
        # right after a Ctrl-C, while it is stopping its children in their own sessions;
        # dying then would leave the bridge and the embedded Kafka running.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(signum, stop.set)
        return await Demo(settings, site, roster, options).run(stop)

    return asyncio.run(main())


def result_json(result: DemoResult) -> str:
    data: dict[str, Any] = dict(result.__dict__)
    return json.dumps(data)
