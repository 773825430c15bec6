"""Capacity-alert latency: MQTT publish of the door event that crosses a room's limit → the
critical alert on the MQTT alerts topic, through the real bridge and worker, under a paced
background load of door events in other rooms.

Run: `python bench/alert_latency.py [--crossings 200] [--background 500]`; last line JSON;
exit 1 when a crossing got no alert within 5 s, 2 on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import queue
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import paho.mqtt.client as mqtt
from benchkit import (
    BenchError,
    bench_settings,
    clear_retained,
    delete_run_topics,
    delete_session,
    drop_metrics,
    metrics_env,
    mqtt_client,
    mqtt_close,
    mqtt_connect,
    mqtt_subscribe,
    raise_on_sigterm,
    site_file,
)
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from deploy.demo.embedded import free_port
from deploy.local.stack import default_stack
from ingest.errors import OccupancyError
from ingest.kafka import ensure_topics
from ingest.models import Alert, RoomState
from ingest.settings import Settings
from ingest.site import Site, load_site

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILDING = "hq-jakarta"
# Rooms whose limits are crossed, each with its door sensor: capacity 12 → limit 6 at the
# sample site's "transition" level. Crossings alternate between them, one cycle in flight each.
CROSSING_ROOMS = (("f2-meeting-b", "door-f2-meeting-b"), ("f4-leadership", "door-f4-leadership"))
BRIDGE_READY_TIMEOUT_S = 60.0
WORKER_READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0  # SIGTERM, then SIGKILL
ANSWER_TIMEOUT_S = 5.0  # a crossing with no critical alert within this is a timeout
# ... but a late alert is still waited for (and its latency kept): a worker falling behind
# shows as growing latencies, not just as a count of timeouts.
LATE_ANSWER_S = 30.0
WARNING_TIMEOUT_S = 5.0
RESOLVE_TIMEOUT_S = 30.0
FIRST_ANSWER_TIMEOUT_S = 60.0  # the warm-up: partitions may still be being assigned
BACKGROUND_WARMUP_S = 2.0
BACKGROUND_TICK_S = 0.1
MAX_JITTER_S = 0.05  # a random pause before each crossing: no phase-lock with any timer

progress = Console(stderr=True)


# --- MQTT ------------------------------------------------------------------------------------


def _door(seq: int, entered: int, exited: int, event_id: str) -> bytes:
    ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    body = {"seq": seq, "ts": ts, "entered": entered, "exited": exited, "event_id": event_id}
    return json.dumps(body).encode()


def _mqtt_error(rc: int) -> str:
    if rc == mqtt.MQTT_ERR_NO_CONN:
        return "the MQTT connection was lost (was the broker restarted meanwhile?)"
    return mqtt.error_string(rc)


Arrival = tuple[float, Alert | RoomState]


class Watcher:
    """One subscriber on the alerts topic and the crossing rooms' state topics; every message
    is stamped with `perf_counter()` on arrival and queued for its room."""

    def __init__(
        self, settings: Settings, tag: str, rooms: list[str], building: str = BUILDING
    ) -> None:
        self._prefix = settings.mqtt_prefix
        self.queues: dict[str, queue.Queue[Arrival]] = {room: queue.Queue() for room in rooms}
        self._state_topics = {f"{self._prefix}/{building}/{room}/state": room for room in rooms}
        self.undecodable = 0
        self._client = mqtt_client(settings, f"bench-watch-{tag}")
        self._client.on_message = self._on_message
        mqtt_connect(self._client, settings)
        try:
            mqtt_subscribe(self._client, [f"{self._prefix}/+/alerts", *self._state_topics])
        except BaseException:
            mqtt_close(self._client)
            raise

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        if message.retain or not message.payload:
            return  # a state from before this run's cycle, or a cleared one
        try:
            if message.topic in self._state_topics:
                state = RoomState.model_validate_json(message.payload)
                self.queues[state.room].put((now, state))
                return
            alert = Alert.model_validate_json(message.payload)
        except ValidationError:
            self.undecodable += 1
            return
        if alert.kind == "capacity" and alert.room in self.queues:
            self.queues[alert.room].put((now, alert))

    def close(self) -> None:
        mqtt_close(self._client)


# --- background load -------------------------------------------------------------------------


class Background(threading.Thread):
    """Door events at `rate` per second, paced every 100 ms, round-robin over `topics`.

    Round k of the sensors enters one person each, round k+1 lets them out: a room never holds
    more people than it has sensors, so no background room comes near its limit.
    """

    def __init__(self, settings: Settings, tag: str, topics: list[str], rate: float) -> None:
        super().__init__(name="background", daemon=True)
        self._settings = settings
        self._tag = tag
        self._topics = topics
        self._rate = rate
        self._stopping = threading.Event()
        self._acked = 0
        self.published = 0
        self.error: BaseException | None = None
        self._client = mqtt_client(settings, f"bench-load-{tag}")
        self._client.max_inflight_messages_set(1000)
        self._client.on_publish = self._on_publish

    def _on_publish(self, *_args: Any) -> None:
        self._acked += 1  # only the network thread writes it

    @property
    def acked(self) -> int:
        return self._acked

    def start(self) -> None:
        mqtt_connect(self._client, self._settings)
        super().start()

    def run(self) -> None:
        try:
            self._publish_paced()
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _publish_paced(self) -> None:
        seqs = [0] * len(self._topics)
        started = time.perf_counter()
        k = 0
        while not self._stopping.is_set():
            due = math.floor(self._rate * (time.perf_counter() - started))
            while k < due:
                sensor, round_ = k % len(self._topics), k // len(self._topics)
                entered, exited = (1, 0) if round_ % 2 == 0 else (0, 1)
                payload = _door(seqs[sensor], entered, exited, f"{self._tag}-b{sensor}-{k}")
                info = self._client.publish(self._topics[sensor], payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    raise BenchError(f"background publish failed: {_mqtt_error(info.rc)}")
                seqs[sensor] += 1
                k += 1
                self.published = k
            self._stopping.wait(BACKGROUND_TICK_S)

    def stop(self) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(10)
        # The last window's PUBACKs: the measured rate counts acknowledged messages.
        deadline = time.monotonic() + 10
        while self._acked < self.published and time.monotonic() < deadline:
            time.sleep(0.05)
        mqtt_close(self._client)


def _background_topics(
    settings: Settings, site: Site, crossing: set[str], building: str = BUILDING
) -> list[str]:
    return [
        f"{settings.mqtt_prefix}/{b.id}/{s.room}/door/{s.id}"
        for b in site.buildings
        for s in b.sensors
        if not (b.id == building and s.room in crossing)
    ]


# --- crossings -------------------------------------------------------------------------------


@dataclass
class Crossing:
    room: str
    warm_up: bool
    latency_s: float | None  # publish → critical alert; None: none within LATE_ANSWER_S
    state_s: float | None  # publish → the room's state with the new count (first hop)
    warning_s: float | None  # publish of the event to the limit → the warning alert
    resolve_s: float | None  # publish of the exit → the resolved alert
    bridge_s: float | None = None  # publish → the bridge's stamp on it (the alert's ts)


@dataclass
class Tickets:
    """The crossings still to measure, shared by the rooms' threads, until a deadline."""

    left: int
    deadline: float  # time.monotonic()
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0 or time.monotonic() > self.deadline:
                return False
            self.left -= 1
            return True


class RoomCycle:
    """Drives one room: up to its limit, over it (measured), back to empty, again."""

    def __init__(
        self,
        settings: Settings,
        tag: str,
        publisher: mqtt.Client,
        arrivals: queue.Queue[Arrival],
        *,
        room: str,
        sensor: str,
        limit: int,
        building: str = BUILDING,
    ) -> None:
        self._publisher = publisher
        self._arrivals = arrivals
        self._tag = tag
        self.room = room
        self._sensor = sensor
        self.limit = limit
        self._topic = f"{settings.mqtt_prefix}/{building}/{room}/door/{sensor}"
        self._seq = 0
        self._count = 0
        self.results: list[Crossing] = []
        self.error: BaseException | None = None
        self._last_answer: Alert | None = None

    def run(self, tickets: Tickets, warm_up: int) -> None:
        try:
            for _ in range(warm_up):
                self.results.append(self.cycle(warm_up=True))
            while tickets.take():
                self.results.append(self.cycle(warm_up=False))
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def _publish(self, entered: int, exited: int) -> float:
        payload = _door(self._seq, entered, exited, f"{self._tag}-x-{self._sensor}-{self._seq}")
        t0 = time.perf_counter()
        info = self._publisher.publish(self._topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise BenchError(f"publish to {self._topic} failed: {_mqtt_error(info.rc)}")
        self._seq += 1
        self._count = max(0, self._count + entered - exited)
        return t0

    def _wait(
        self, matches: Callable[[Alert | RoomState], bool], after: float, deadline: float
    ) -> float | None:
        """Seconds from `after` to the first arrival after it that matches, if one comes before
        `deadline` (both `perf_counter` times); what does not match is dropped."""
        while (left := deadline - time.perf_counter()) > 0:
            try:
                at, message = self._arrivals.get(timeout=left)
            except queue.Empty:
                break
            if at > after and matches(message):
                return at - after
        return None

    def _wait_both(
        self,
        first: Callable[[Alert | RoomState], bool],
        second: Callable[[Alert | RoomState], bool],
        after: float,
        deadline: float,
    ) -> tuple[float | None, float | None]:
        """Seconds from `after` to the first arrival matching each of two tests, whichever
        comes first, until both came or `deadline`; what matches neither is dropped."""
        found: list[float | None] = [None, None]
        while None in found and (left := deadline - time.perf_counter()) > 0:
            try:
                at, message = self._arrivals.get(timeout=left)
            except queue.Empty:
                break
            if at <= after:
                continue
            for i, test in enumerate((first, second)):
                if found[i] is None and test(message):
                    found[i] = at - after
                    if i == 1 and isinstance(message, Alert):
                        self._last_answer = message
        return found[0], found[1]

    def cycle(self, *, warm_up: bool) -> Crossing:
        limit, over = self.limit, self.limit + 1
        first = warm_up and not self.results

        t_limit = self._publish(limit - self._count, 0)
        timeout = FIRST_ANSWER_TIMEOUT_S if first else WARNING_TIMEOUT_S
        warning: str | None = None

        def is_warning(m: Alert | RoomState) -> bool:
            nonlocal warning
            if isinstance(m, Alert) and m.severity == "warning" and m.state == "active":
                warning = m.alert_id if m.value == limit else None
                return m.value == limit
            return False

        warning_s = self._wait(is_warning, t_limit, t_limit + timeout)
        time.sleep(random.uniform(0, MAX_JITTER_S))

        def is_state(m: Alert | RoomState) -> bool:
            return isinstance(m, RoomState) and m.count == over

        def is_answer(m: Alert | RoomState) -> bool:
            # The critical that escalates this cycle's warning (its id), else any new one.
            return (
                isinstance(m, Alert)
                and m.severity == "critical"
                and m.state == "active"
                and m.value == over
                and (warning is None or m.alert_id == warning)
            )

        published_at = time.time()
        t0 = self._publish(1, 0)
        # The worker sends the alert as soon as it counts the event and the room's state
        # up to OCC_WORKER_STATE_FLUSH_S later, so either may arrive first.
        state_s, latency = self._wait_both(is_state, is_answer, t0, t0 + LATE_ANSWER_S)
        # The alert's ts is the bridge's arrival stamp of the crossing event: the first hop.
        bridge_s = None
        if self._last_answer is not None:
            bridge_s = self._last_answer.ts.timestamp() - published_at

        t_exit = self._publish(0, self._count)
        resolve_s = self._wait(
            lambda m: isinstance(m, Alert) and m.state == "resolved",
            t_exit,
            t_exit + RESOLVE_TIMEOUT_S,
        )
        return Crossing(self.room, warm_up, latency, state_s, warning_s, resolve_s, bridge_s)


# --- the pipeline ----------------------------------------------------------------------------


class Process:
    """`occupancy <command>` as a subprocess, its output in a log file."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.log = log
        self._out: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", command],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            # Not in our process group: a Ctrl-C reaches only us, and `stop` drains them.
            start_new_session=True,
        )

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text(errors="replace"):
            if self.popen.poll() is not None:
                raise BenchError(
                    f"the {self.command} exited early ({self.popen.returncode}); {self.log}"
                )
            if time.monotonic() > deadline:
                raise BenchError(
                    f"no {text!r} from the {self.command} in {timeout:.0f} s; {self.log}"
                )
            time.sleep(0.1)

    def stop(self) -> int | None:
        """SIGTERM, SIGKILL after STOP_TIMEOUT_S; the exit code, None when it was killed."""
        try:
            if self.popen.poll() is not None:
                return self.popen.returncode
            self.popen.terminate()
            try:
                return self.popen.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
                return None
        finally:
            self._out.close()


def _pipeline_env(settings: Settings, stack_env: dict[str, str], data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        **stack_env,
        "OCC_MQTT_PREFIX": settings.mqtt_prefix,
        "OCC_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "OCC_BRIDGE_CLIENT_ID": settings.bridge_client_id,
        "OCC_WORKER_DATA_DIR": str(data_dir),
        # As in production: the web board on, attendance on.
        "OCC_BOARD_PORT": str(free_port()),
        "OCC_ROSTER_FILE": str(REPO_ROOT / "deploy" / "sample" / "roster.yaml"),
        # A released alert resolves at once, so every crossing opens a new one.
        "OCC_ALERT_MIN_DWELL_S": "0",
        "OCC_ALERT_HYSTERESIS": "0",
    }


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    crossings: list[Crossing]  # measured ones (no warm-ups)
    warm_ups: list[Crossing]
    rooms: list[tuple[str, int]]  # (room, limit)
    background_requested: float
    background_per_s: float
    background_acked: int
    exit_codes: dict[str, int | None]


@dataclass(frozen=True)
class Bench:
    """One invocation: its run tag, settings, where logs (and the worker's tables) go."""

    tag: str
    settings: Settings
    stack_env: dict[str, str]
    logs: Path
    crossings: int
    background: float
    rooms: int
    max_minutes: float

    def measure(self) -> Result:
        settings = self.settings
        site = load_site(site_file(settings))
        chosen = CROSSING_ROOMS[: self.rooms]
        limits = [_limit(site, room, sensor) for room, sensor in chosen]
        described = ", ".join(
            f"{room} (limit {n})" for (room, _), n in zip(chosen, limits, strict=True)
        )

        asyncio.run(ensure_topics(settings))
        env = _pipeline_env(settings, self.stack_env, self.logs / "worker-data")
        processes: list[Process] = []
        watcher: Watcher | None = None
        load: Background | None = None
        publisher: mqtt.Client | None = None
        exit_codes: dict[str, int | None] = {}
        try:
            progress.print("starting the bridge and the worker")
            processes.append(Process("bridge", env, self.logs / "bridge.log"))
            processes.append(Process("worker", env, self.logs / "worker.log"))
            processes[0].wait_for("event=mqtt_connected", BRIDGE_READY_TIMEOUT_S)
            processes[1].wait_for("[^Worker]: Ready", WORKER_READY_TIMEOUT_S)

            watcher = Watcher(settings, self.tag, [room for room, _ in chosen])
            publisher = mqtt_client(settings, f"bench-cross-{self.tag}")
            mqtt_connect(publisher, settings)
            cycles = [
                RoomCycle(
                    settings,
                    self.tag,
                    publisher,
                    watcher.queues[room],
                    room=room,
                    sensor=sensor,
                    limit=limit,
                )
                for (room, sensor), limit in zip(chosen, limits, strict=True)
            ]
            topics = _background_topics(settings, site, {room for room, _ in chosen})
            load = Background(settings, self.tag, topics, self.background)
            progress.print(
                f"background: {self.background:g} door events/s over {len(topics)} sensors; "
                f"crossings in {described}"
            )
            load.start()
            time.sleep(BACKGROUND_WARMUP_S)
            acked_before, started = load.acked, time.perf_counter()
            self._cross(cycles, load)
            acked_after, ended = load.acked, time.perf_counter()
            results = [r for c in cycles for r in c.results]
            return Result(
                crossings=[r for r in results if not r.warm_up],
                warm_ups=[r for r in results if r.warm_up],
                rooms=[(room, limit) for (room, _), limit in zip(chosen, limits, strict=True)],
                background_requested=self.background,
                background_per_s=(acked_after - acked_before) / max(ended - started, 1e-9),
                background_acked=acked_after - acked_before,
                exit_codes=exit_codes,
            )
        finally:
            if load is not None:
                load.stop()
            if publisher is not None:
                mqtt_close(publisher)
            if watcher is not None:
                watcher.close()
            for process in reversed(processes):  # the worker first: the bridge feeds it
                exit_codes[process.command] = process.stop()
            with contextlib.suppress(Exception):
                delete_session(settings, settings.bridge_client_id)
            with contextlib.suppress(Exception):
                clear_retained(settings)

    def run(self) -> Result:
        try:
            return self.measure()
        finally:
            try:
                asyncio.run(delete_run_topics(self.settings))
            except Exception as exc:  # best effort: a leftover bench-* topic is harmless
                progress.print(f"[yellow]could not delete the bench-{self.tag} topics: {exc}")

    def _cross(self, cycles: list[RoomCycle], load: Background) -> None:
        """Every room's thread cycling (one warm-up each) until the crossings are done."""
        tickets = Tickets(self.crossings, time.monotonic() + self.max_minutes * 60)
        threads = [
            threading.Thread(target=c.run, args=(tickets, 1), name=c.room, daemon=True)
            for c in cycles
        ]
        for thread in threads:
            thread.start()
        with progress.status("crossing limits") as status:
            while any(t.is_alive() for t in threads):
                done = max(0, sum(len(c.results) for c in cycles) - len(cycles))
                status.update(f"crossing limits: {done}/{self.crossings}")
                if load.error is not None:
                    raise BenchError(f"the background load failed: {load.error}")
                time.sleep(0.5)
        for c in cycles:
            if isinstance(c.error, BenchError):
                raise c.error
            if c.error is not None:
                raise BenchError(f"{c.room}: {c.error!r}") from c.error


def _limit(site: Site, room_id: str, sensor_id: str) -> int:
    room = site.room(BUILDING, room_id)
    sensor = site.sensor(BUILDING, sensor_id)
    if room is None or sensor is None or sensor.room != room_id:
        raise BenchError(f"the site has no room {room_id} with a sensor {sensor_id}")
    return site.limit(room)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 (inclusive method: with 200 values p99 lies between the two largest)."""
    if len(values) == 1:
        return values[0], values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def _timed_out(crossing: Crossing) -> bool:
    return crossing.latency_s is None or crossing.latency_s > ANSWER_TIMEOUT_S


def _row(
    table: Table, name: str, values: list[float | None], total: int, limit: float | None = None
) -> None:
    got = sorted(v * 1000 for v in values if v is not None)
    missing = total - len(got)
    if limit is not None:
        missing += sum(1 for v in got if v > limit * 1000)
    if not got:
        table.add_row(name, "0", str(missing), "", "", "", "", "")
        return
    p50, p95, p99 = _percentiles(got)
    table.add_row(
        name,
        str(len(got)),
        str(missing) if missing == 0 else f"[bold red]{missing}[/bold red]",
        f"{got[0]:.1f}",
        f"{p50:.1f}",
        f"{p95:.1f}",
        f"{p99:.1f}",
        f"{got[-1]:.1f}",
    )


def _table(result: Result) -> Table:
    rooms = ", ".join(f"{r} (limit {n})" for r, n in result.rooms)
    table = Table(
        title=(
            f"Capacity alert latency: {len(result.crossings)} crossings in {rooms}, "
            f"background {result.background_per_s:,.0f}/s "
            f"(asked {result.background_requested:g}/s)"
        )
    )
    for column in ("path", "n", "timeouts", "min ms", "p50 ms", "p95 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="left" if column == "path" else "right")
    n = len(result.crossings)
    _row(
        table,
        "crossing event → critical alert",
        [c.latency_s for c in result.crossings],
        n,
        ANSWER_TIMEOUT_S,
    )
    _row(table, "  of it: event → the bridge's stamp", [c.bridge_s for c in result.crossings], n)
    _row(table, "crossing event → room state on MQTT", [c.state_s for c in result.crossings], n)
    _row(table, "event to the limit → warning alert", [c.warning_s for c in result.crossings], n)
    _row(table, "exit to 0 → resolved alert", [c.resolve_s for c in result.crossings], n)
    warm = ", ".join(
        f"{c.room} {c.latency_s * 1000:.0f} ms" if c.latency_s is not None else f"{c.room} timeout"
        for c in result.warm_ups
    )
    codes = ", ".join(f"{k} {'killed' if v is None else v}" for k, v in result.exit_codes.items())
    table.caption = (
        f"timeouts: critical later than {ANSWER_TIMEOUT_S:.0f} s (latencies up to "
        f"{LATE_ANSWER_S:.0f} s are still counted in the percentiles) or none; other rows: "
        f"none within {LATE_ANSWER_S:.0f} s; "
        f"room state: the worker's retained MQTT state for the new count (sent up to "
        f"OCC_WORKER_STATE_FLUSH_S after the alert, which leaves as the event is counted). "
        f"Background: {result.background_acked} events acknowledged during the crossings. "
        f"Not counted: one warm-up crossing per room ({warm}). Exit codes: {codes}."
    )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crossings", type=int, default=200, help="measured limit crossings")
    parser.add_argument(
        "--background", type=float, default=500.0, help="background door events per second"
    )
    parser.add_argument(
        "--rooms",
        type=int,
        default=len(CROSSING_ROOMS),
        choices=range(1, len(CROSSING_ROOMS) + 1),
        help="rooms crossed concurrently, one crossing in flight each",
    )
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=10.0,
        help="stop starting crossings after this long (a worker falling behind is slow)",
    )
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the bridge's and worker's logs"
    )
    args = parser.parse_args(argv)
    if args.crossings < 1 or args.background < 0:
        parser.error("--crossings must be at least 1 and --background not negative")
    signal.signal(signal.SIGTERM, raise_on_sigterm)

    tag = secrets.token_hex(4)
    stack = default_stack()
    logs = Path(tempfile.mkdtemp(prefix=f"bench-alert-latency-{tag}-"))
    clean = False
    try:
        try:
            with stack.as_found(progress.print):
                stack_env = stack.env() | metrics_env(stack.env(), tag)
                bench = Bench(
                    tag,
                    bench_settings(stack_env, tag),
                    stack_env,
                    logs,
                    args.crossings,
                    args.background,
                    args.rooms,
                    args.max_minutes,
                )
                try:
                    result = bench.run()
                finally:
                    drop_metrics(stack_env, tag)
        except (BenchError, OccupancyError) as exc:
            progress.print(f"[bold red]bench failed:[/bold red] {exc}")
            return 2

        output = Console(width=None if sys.stdout.isatty() else 130)
        output.print(_table(result))
        latencies = [c.latency_s * 1000 for c in result.crossings if c.latency_s is not None]
        timeouts = sum(1 for c in result.crossings if _timed_out(c))
        p50, p95, p99 = _percentiles(sorted(latencies)) if latencies else (math.nan,) * 3
        summary = {
            "p50_ms": round(p50, 1),
            "p95_ms": round(p95, 1),
            "p99_ms": round(p99, 1),
            "crossings": len(result.crossings),
            "background_per_s": round(result.background_per_s, 1),
        }
        clean = timeouts == 0 and all(v == 0 for v in result.exit_codes.values())
        print(json.dumps(summary))
        return 0 if timeouts == 0 else 1
    finally:
        # The logs explain a failure: kept then, dropped (with the worker's tables) otherwise.
        if clean and not args.keep_logs:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            progress.print(f"bridge and worker logs kept in {logs}")


if __name__ == "__main__":
    sys.exit(main())
