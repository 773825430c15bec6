"""A ministry in one deployment: 200 buildings × 50 rooms (100 door sensors and 2 kiosks
each) and 100,000 employees in 400 units, on the local stack.

Measures `site check` and `roster check`, the worker's ready time, its RSS idle and under
door traffic, the loop's longest stall (the worker's `loop_lag` lines: how late a 100 ms
sleep woke) idle and at `--rate` events/s, the capacity-alert p99 at that rate, and the exit
codes of a SIGTERM after and during start-up.

Run: `python bench/scale.py [--idle-minutes 5] [--load-minutes 5] [--rate 500]`; prints a
table and a JSON line last; exit 1 when a Must-show bound is missed, 2 on error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from alert_latency import (
    BRIDGE_READY_TIMEOUT_S,
    Background,
    Process,
    RoomCycle,
    Tickets,
    Watcher,
    _background_topics,
    _percentiles,
)
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
    raise_on_sigterm,
)
from rich.console import Console
from rich.table import Table

from deploy.demo.embedded import free_port
from deploy.local.stack import default_stack
from deploy.ministry import MINISTRY, Deployment, Scale, generate, room_id, sensor_id
from ingest.errors import OccupancyError
from ingest.kafka import ensure_topics
from ingest.settings import Settings
from ingest.site import load_site

REPO_ROOT = Path(__file__).resolve().parents[1]
CROSSING_BUILDING = "b000"
CROSSING_ROOMS = (2, 8)  # meeting rooms of b000 (limits 20 and 15 at "transition")
READY_TIMEOUT_S = 300.0
LOOP_LAG_EVERY_S = 5.0
SAMPLE_EVERY_S = 1.0

BEFORE = {
    # The measurements on the unchanged code (2026-12-06, same machine, quiet).
    "site_check_s": 16.4,
    "roster_check_s": 42.4,
    "ready_s": 24.0,
    "rss_idle_mb": 337.0,
    "stall_idle_ms": 16_900.0,
    "sigterm_exit": "crash (NotReady)",
}
BOUNDS = {
    "site_check_s": 2.0,
    "roster_check_s": 5.0,
    "ready_s": 15.0,
    "rss_idle_mb": 400.0,
    "stall_idle_ms": 50.0,
    "stall_load_ms": 50.0,
    "alert_p99_ms": 150.0,
}

progress = Console(stderr=True)


@dataclass
class Figures:
    """What one run measured (None: not measured)."""

    site_check_s: float | None = None
    site_check_cpu_s: float | None = None
    roster_check_s: float | None = None
    roster_check_cpu_s: float | None = None
    ready_s: float | None = None
    rss_idle_mb: float | None = None
    rss_load_mb: float | None = None
    stall_idle_ms: float | None = None  # the loop's own running (busy_ms)
    stall_load_ms: float | None = None
    late_idle_ms: float | None = None  # wall-clock lateness, a busy machine's share in it
    late_load_ms: float | None = None
    stalls_idle: int | None = None
    stalls_load: int | None = None
    faust_late_timers: int | None = None
    alert_p50_ms: float | None = None
    alert_p99_ms: float | None = None
    crossings: int | None = None
    events_per_s: float | None = None
    exit_after_start: int | None = None
    exit_during_start: int | None = None
    crash_lines: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def timed_cli(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of `occupancy ARGS` (output discarded); fails on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise BenchError(f"occupancy {' '.join(args)} failed: {done.stderr.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


class RssSampler(threading.Thread):
    """The worker's resident memory every second; the peak of each phase."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss", daemon=True)
        self._status = Path(f"/proc/{pid}/status")  # Linux, as the local stack
        self._stop = threading.Event()
        self.peak = 0
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            with contextlib.suppress(OSError):
                rss = _vm_rss(self._status.read_text())
                with self.lock:
                    self.peak = max(self.peak, rss)

    def take_peak(self) -> float:
        with self.lock:
            peak, self.peak = self.peak, 0
        return peak / 2**20

    def stop(self) -> None:
        self._stop.set()


def _vm_rss(status: str) -> int:
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else 0


_LAG = re.compile(r"event=loop_lag max_ms=([0-9.]+) busy_ms=([0-9.]+) stalls=(\d+)")


@dataclass(frozen=True)
class Lag:
    wall_ms: float  # the latest wake-up
    busy_ms: float  # the longest the loop's thread ran while a wake-up was due
    stalls: int


def loop_lag(log: Path, start: int, end: int) -> Lag:
    """The worst `loop_lag` and the stalls counted in the log between two offsets."""
    with log.open("rb") as f:
        f.seek(start)
        text = f.read(end - start).decode(errors="replace")
    found = [(float(w), float(b), int(n)) for w, b, n in _LAG.findall(text)]
    if not found:
        raise BenchError(f"no loop_lag lines in {log} for a phase")
    return Lag(max(f[0] for f in found), max(f[1] for f in found), sum(f[2] for f in found))


def _env(settings: Settings, stack_env: dict[str, str], deployment: Deployment) -> dict[str, str]:
    # The latest local date of any building: the start-up close marks no past day absent.
    since = datetime.now(ZoneInfo("Asia/Jayapura")).date().isoformat()
    return {
        **os.environ,
        **stack_env,
        "OCC_SITE_FILE": str(deployment.site),
        "OCC_ROSTER_FILE": str(deployment.roster),
        "OCC_MQTT_PREFIX": settings.mqtt_prefix,
        "OCC_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "OCC_BRIDGE_CLIENT_ID": settings.bridge_client_id,
        "OCC_BOARD_PORT": str(free_port()),
        "OCC_ATTENDANCE_SINCE": since,
        "OCC_WORKER_LOOP_LAG_S": str(LOOP_LAG_EVERY_S),
        "OCC_ALERT_MIN_DWELL_S": "0",
        "OCC_ALERT_HYSTERESIS": "0",
    }


@dataclass(frozen=True)
class Bench:
    tag: str
    settings: Settings
    deployment: Deployment
    env: dict[str, str]
    logs: Path
    idle_s: float
    load_s: float
    rate: float

    def run(self, figures: Figures) -> None:
        asyncio.run(ensure_topics(self.settings))
        log = self.logs / "worker.log"
        bridge = Process("bridge", self.env, self.logs / "bridge.log")
        worker: Process | None = None
        sampler: RssSampler | None = None
        try:
            bridge.wait_for("event=mqtt_connected", BRIDGE_READY_TIMEOUT_S)
            progress.print("starting the worker")
            env = self.env | {"OCC_WORKER_DATA_DIR": str(self.logs / "data")}
            started = time.perf_counter()
            worker = Process("worker", env, log)
            worker.wait_for("[^Worker]: Ready", READY_TIMEOUT_S)
            figures.ready_s = time.perf_counter() - started
            sampler = RssSampler(worker.popen.pid)
            sampler.start()
            progress.print(f"ready after {figures.ready_s:.1f} s; idle for {self.idle_s:.0f} s")
            start = log.stat().st_size
            time.sleep(self.idle_s)
            idle = loop_lag(log, start, log.stat().st_size)
            figures.stall_idle_ms, figures.stalls_idle = idle.busy_ms, idle.stalls
            figures.late_idle_ms = idle.wall_ms
            figures.rss_idle_mb = sampler.take_peak()
            progress.print(f"{self.rate:g} door events/s for {self.load_s:.0f} s")
            start = log.stat().st_size
            self._load(figures)
            loaded = loop_lag(log, start, log.stat().st_size)
            figures.stall_load_ms, figures.stalls_load = loaded.busy_ms, loaded.stalls
            figures.late_load_ms = loaded.wall_ms
            figures.rss_load_mb = sampler.take_peak()
        finally:
            if sampler is not None:
                sampler.stop()
            if worker is not None:
                figures.exit_after_start = worker.stop()
            text = log.read_text(errors="replace") if log.exists() else ""
            figures.crash_lines = text.count("Crashed")
            figures.faust_late_timers = text.count("woke up too late")
            # While the roster loads, and while Faust starts (recovering the tables).
            early = [self._stop_during_start(4.0, "a")]
            if figures.ready_s is not None:
                early.append(self._stop_during_start(max(5.0, figures.ready_s - 4.0), "b"))
            figures.exit_during_start = next((c for c in early if c != 0), 0)
            bridge.stop()
            with contextlib.suppress(Exception):
                delete_session(self.settings, self.settings.bridge_client_id)
            with contextlib.suppress(Exception):
                clear_retained(self.settings)

    def _stop_during_start(self, after_s: float, name: str) -> int | None:
        """SIGTERM to a worker `after_s` into its start; -1 for an exit with a crash line."""
        log = self.logs / f"worker-early-{name}.log"
        env = self.env | {"OCC_WORKER_DATA_DIR": str(self.logs / f"data-early-{name}")}
        worker = Process("worker", env, log)
        time.sleep(after_s)
        code = worker.stop()
        if "Crashed" in log.read_text(errors="replace"):
            return -1
        return code

    def _load(self, figures: Figures) -> None:
        site = load_site(self.deployment.site)
        rooms = [(room_id(r), sensor_id(r)) for r in CROSSING_ROOMS]
        limits = []
        for room, _ in rooms:
            found = site.room(CROSSING_BUILDING, room)
            assert found is not None, "the generator's rooms"
            limits.append(site.limit(found))
        watcher = Watcher(self.settings, self.tag, [r for r, _ in rooms], CROSSING_BUILDING)
        publisher = mqtt_client(self.settings, f"bench-cross-{self.tag}")
        mqtt_connect(publisher, self.settings)
        topics = _background_topics(
            self.settings, site, {r for r, _ in rooms}, building=CROSSING_BUILDING
        )
        load = Background(self.settings, self.tag, topics, self.rate)
        try:
            cycles = [
                RoomCycle(
                    self.settings,
                    self.tag,
                    publisher,
                    watcher.queues[room],
                    room=room,
                    sensor=sensor,
                    limit=limit,
                    building=CROSSING_BUILDING,
                )
                for (room, sensor), limit in zip(rooms, limits, strict=True)
            ]
            load.start()
            acked, started = load.acked, time.perf_counter()
            tickets = Tickets(1_000_000, time.monotonic() + self.load_s)
            threads = [
                threading.Thread(target=c.run, args=(tickets, 1), daemon=True) for c in cycles
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            figures.events_per_s = (load.acked - acked) / (time.perf_counter() - started)
            if load.error is not None:
                raise BenchError(f"the background load failed: {load.error}")
            for c in cycles:
                if c.error is not None:
                    raise BenchError(f"{c.room}: {c.error!r}")
            latencies = sorted(
                r.latency_s * 1000
                for c in cycles
                for r in c.results
                if not r.warm_up and r.latency_s is not None
            )
            figures.crossings = len(latencies)
            if latencies:
                p50, _, p99 = _percentiles(latencies)
                figures.alert_p50_ms, figures.alert_p99_ms = p50, p99
        finally:
            load.stop()
            mqtt_close(publisher)
            watcher.close()


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:,.1f}"
    return str(value)


def verdicts(figures: Figures) -> dict[str, bool]:
    out = {
        name: (value := getattr(figures, name)) is not None and value <= bound
        for name, bound in BOUNDS.items()
    }
    out["sigterm"] = figures.exit_after_start == 0 and figures.exit_during_start == 0
    return out


def table(figures: Figures) -> Table:
    ok = verdicts(figures)
    rows = [
        ("site check (s)", "site_check_s", f"wall; {_fmt(figures.site_check_cpu_s)} s CPU"),
        ("roster check (s)", "roster_check_s", f"wall; {_fmt(figures.roster_check_cpu_s)} s CPU"),
        ("worker ready (s)", "ready_s", ""),
        ("RSS idle (MB)", "rss_idle_mb", "peak"),
        ("RSS under load (MB)", "rss_load_mb", "peak"),
        (
            "longest stall idle (ms)",
            "stall_idle_ms",
            f"{_fmt(figures.stalls_idle)} over 50 ms; woke {_fmt(figures.late_idle_ms)} late",
        ),
        (
            "longest stall at load (ms)",
            "stall_load_ms",
            f"{_fmt(figures.stalls_load)} over 50 ms; woke {_fmt(figures.late_load_ms)} late",
        ),
        ("alert p99 (ms)", "alert_p99_ms", f"p50 {_fmt(figures.alert_p50_ms)}"),
    ]
    out = Table(title="A ministry: 200 buildings, 10,000 rooms, 100,000 employees")
    for column in ("measure", "before", "after", "bound", "ok", "note"):
        out.add_column(column)
    for label, name, note in rows:
        out.add_row(
            label,
            _fmt(BEFORE.get(name)),
            _fmt(getattr(figures, name)),
            _fmt(BOUNDS.get(name)),
            "yes" if ok.get(name, True) else "NO",
            note,
        )
    out.add_row(
        "SIGTERM exit (after / during start)",
        str(BEFORE["sigterm_exit"]),
        f"{_fmt(figures.exit_after_start)} / {_fmt(figures.exit_during_start)}",
        "0 / 0",
        "yes" if ok["sigterm"] else "NO",
        f"{_fmt(figures.crash_lines)} crash lines, {_fmt(figures.faust_late_timers)} late "
        "Faust timers",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-minutes", type=float, default=5.0)
    parser.add_argument("--load-minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=500.0, help="door events per second")
    parser.add_argument("--employees", type=int, default=MINISTRY.employees)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, raise_on_sigterm)

    tag = secrets.token_hex(4)
    logs = Path(tempfile.mkdtemp(prefix=f"bench-scale-{tag}-"))
    scale = Scale(employees=args.employees)
    deployment = generate(logs / "deployment", scale)
    figures = Figures()
    try:
        cli_env = {**os.environ, "OCC_SITE_FILE": str(deployment.site)}
        progress.print("occupancy site check / roster check")
        figures.site_check_s, figures.site_check_cpu_s = timed_cli(
            ["site", "check", str(deployment.site)], cli_env
        )
        figures.roster_check_s, figures.roster_check_cpu_s = timed_cli(
            ["roster", "check", str(deployment.roster)], cli_env
        )
        stack = default_stack()
        with stack.as_found(progress.print):
            stack_env = stack.env() | metrics_env(stack.env(), tag)
            settings = bench_settings(
                stack_env, tag, site_file=deployment.site, roster_file=deployment.roster
            )
            bench = Bench(
                tag,
                settings,
                deployment,
                _env(settings, stack_env, deployment),
                logs,
                args.idle_minutes * 60,
                args.load_minutes * 60,
                args.rate,
            )
            try:
                bench.run(figures)
            finally:
                drop_metrics(stack_env, tag)
                with contextlib.suppress(Exception):
                    asyncio.run(delete_run_topics(settings))
    except (BenchError, OccupancyError) as exc:
        progress.print(f"[bold red]bench failed:[/bold red] {exc}; logs in {logs}")
        print(json.dumps({k: v for k, v in vars(figures).items() if k != "extra"}))
        return 2
    output = Console(width=None if sys.stdout.isatty() else 140)
    output.print(table(figures))
    ok = verdicts(figures)
    if args.keep_logs or not all(ok.values()):
        progress.print(f"logs kept in {logs}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    print(json.dumps({**{k: v for k, v in vars(figures).items() if k != "extra"}, "ok": ok}))
    return 0 if all(ok.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
