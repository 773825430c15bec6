"""Occupancy-agent throughput (door events/s, Kafka in → room state out) beside a baseline.

Run: `python bench/processor.py [--n 50000] [--repeat 1] [--workers 1] [--profile FILE]
[--no-metrics] [--no-board]`; last line JSON; exit 1 when a room's final count differs from
the baseline's, 2 on error.

The worker runs as in production: metrics to InfluxDB, the web board, attendance (the sample
roster), alerts to MQTT and Kafka. `--no-metrics` and `--no-board` switch those off for
comparison rows; `--workers 2` drains the backlog with two workers of one group.

Each run gets its own random tag `bench-<tag>`: Kafka topic prefix, Faust app id
(`bench-<tag>-workers`, which is also the worker's consumer group) and MQTT prefix
(`bench-<tag>/occupancy`), so nothing it writes reaches anything else on the stack.

Method, per run:

1. Pre-load: `n` valid `DoorRecord` values go into `<prefix>.door` (6 partitions) with a plain
   aiokafka producer, keyed `building/room` over every sensor of the sample site; each
   sensor's `seq` increases by one, entered and exited are 0-2, `received_at` is now.
2. Baseline: a plain aiokafka consumer (no group) reads the topic from the beginning with
   `getmany`, decodes each value with `DoorRecord.model_validate_json` and keeps a dict of
   counts per room (`count = max(0, count + entered - exited)`): the floor any processor on
   this Python and this broker pays. Timed from the first batch to the n-th record.
3. Floor: `bench/faust_floor.py`, a bare Faust agent (own group, in-memory store) that does
   only the baseline's work (decode with the worker's codec, a dict of counts), from the
   first to the n-th event: what any Faust agent costs on this Python and this broker
   before it keeps a table or sends anything. Its ratio bounds what the worker can reach.
4. Processor: the real worker (`python -m deploy.cli worker`, or `--workers` of them in one
   group) starts only now, so it drains a backlog. It sends a RoomState to
   `<prefix>.room-state` only when a room's state changes, so outputs cannot be counted 1:1
   against inputs. Completion is instead read
   from Kafka's committed offsets of the worker's group on the door partitions, polled
   every 0.25 s until they sum to `n`. Faust commits every few seconds, so that moment is
   late (shown as "commit-based"); the rate reported is
   `n / (last room-state CreateTime - first room-state CreateTime)`, i.e. from the first
   event's output to the last output once every event is known to be processed. Faust's
   start-up (group join, table recovery) is outside that window; "wall s" shows it. If the
   last few events changed no room, the window is slightly short (optimistic by at most
   those events).
5. Check: the last room-state per room (read back from Kafka) must equal the baseline's
   dict; then the worker gets SIGTERM (killed after 30 s) and its exit code is reported.

Cleanup: the run's topics (`bench-<tag>.*`, the app's changelogs) are deleted and its
retained MQTT messages cleared; the consumer group's offsets expire with Kafka's retention.
The local stack is started when not up and then stopped again; a running stack stays up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    CoordinatorLoadInProgressError,
    GroupCoordinatorNotAvailableError,
    KafkaError,
)
from benchkit import (
    BenchError,
    bench_settings,
    clear_retained,
    delete_run_topics,
    drop_metrics,
    end_offsets,
    flag,
    kafka_consumer,
    metrics_env,
    raise_on_sigterm,
    stop,
    topic_partitions,
)
from rich.console import Console
from rich.table import Table

from deploy.demo.embedded import free_port
from deploy.local.stack import default_stack
from ingest.clock import wall_now
from ingest.errors import OccupancyError
from ingest.kafka import ensure_topics
from ingest.models import DoorRecord, RoomState
from ingest.settings import Settings
from ingest.site import load_site

REPO_ROOT = Path(__file__).resolve().parents[1]
PARTITIONS = 6
PRELOAD_TIMEOUT_S = 120.0
BASELINE_TIMEOUT_S = 120.0
WORKER_STOP_TIMEOUT_S = 30.0
POLL_INTERVAL_S = 0.25
SETTLE_S = 1.0  # room-state end offsets unchanged this long: the worker's output is all in
SETTLE_TIMEOUT_S = 30.0
READ_TIMEOUT_S = 120.0
PROFILER_STOP_TIMEOUT_S = 60.0

progress = Console(stderr=True)


@dataclass(frozen=True)
class Baseline:
    events: int
    seconds: float
    per_s: float
    counts: dict[str, int]


@dataclass(frozen=True)
class ProcessorRun:
    events: int
    seconds: float  # first → last room-state CreateTime
    per_s: float
    commit_per_s: float  # n / (first room-state → committed offsets seen at n): pessimistic
    states: int  # room-state records the worker produced
    wall_s: float  # worker process start → last room-state record
    counts: dict[str, int]
    exit_code: int | None


@dataclass(frozen=True)
class Run:
    tag: str
    baseline: Baseline
    processor: ProcessorRun
    floor_per_s: float  # a bare Faust agent doing the baseline's work

    @property
    def floor_ratio(self) -> float:
        return self.floor_per_s / self.baseline.per_s

    @property
    def ratio(self) -> float:
        return self.processor.per_s / self.baseline.per_s

    @property
    def vs_floor(self) -> float:
        return self.processor.per_s / self.floor_per_s

    @property
    def mismatched(self) -> list[str]:
        rooms = sorted(set(self.baseline.counts) | set(self.processor.counts))
        return [r for r in rooms if self.baseline.counts.get(r) != self.processor.counts.get(r)]


# --- events ----------------------------------------------------------------------------------


def door_records(settings: Settings, n: int, seed: str) -> list[tuple[bytes, bytes]]:
    """`n` (key, value) door records over every sensor of the site, seq counted per sensor."""
    if settings.site_file is None:
        raise BenchError("no site file: the stack's env must set OCC_SITE_FILE")
    site = load_site(settings.site_file)
    sensors = [(b.id, s.room, s.id) for b in site.buildings for s in b.sensors]
    if not sensors:
        raise BenchError(f"{settings.site_file} has no door sensors")
    rng = random.Random(seed)  # traffic, not secrets
    seq = [0] * len(sensors)
    now = wall_now()
    records: list[tuple[bytes, bytes]] = []
    for _ in range(n):
        k = rng.randrange(len(sensors))
        building, room, sensor = sensors[k]
        seq[k] += 1
        record = DoorRecord(
            building=building,
            room=room,
            sensor=sensor,
            seq=seq[k],
            ts=now,
            entered=rng.randint(0, 2),
            exited=rng.randint(0, 2),
            received_at=now,
        )
        records.append((record.key.encode(), record.model_dump_json().encode()))
    return records


# --- Kafka -----------------------------------------------------------------------------------


async def preload(settings: Settings, records: list[tuple[bytes, bytes]]) -> None:
    """Every record into the door topic, acknowledged (acks=all), or BenchError."""
    topic = settings.kafka_topic("door")
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.wait_for(asyncio.gather(*futures), PRELOAD_TIMEOUT_S)
    except TimeoutError as exc:
        raise BenchError(f"pre-loading {len(records)} records took over the timeout") from exc
    finally:
        await producer.stop()
    written = sum((await end_offsets(settings, await topic_partitions(settings, [topic]))).values())
    if written != len(records):
        raise BenchError(f"{topic} holds {written} records, not the {len(records)} sent")


async def baseline(settings: Settings, n: int) -> Baseline:
    """Decode and count the door topic with a plain `getmany` loop, from the beginning."""
    partitions = await topic_partitions(settings, [settings.kafka_topic("door")])
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        counts: dict[str, int] = {}
        seen = 0
        first = 0.0
        deadline = time.monotonic() + BASELINE_TIMEOUT_S
        while seen < n:
            if time.monotonic() > deadline:
                raise BenchError(f"the baseline read only {seen} of {n} records in time")
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            if batches and not seen:
                first = time.perf_counter()
            for messages in batches.values():
                for message in messages:
                    record = DoorRecord.model_validate_json(message.value)
                    key = record.key
                    counts[key] = max(0, counts.get(key, 0) + record.entered - record.exited)
                    seen += 1
        seconds = max(time.perf_counter() - first, 1e-9)
    finally:
        await consumer.stop()
    return Baseline(seen, seconds, seen / seconds, counts)


async def await_committed(
    settings: Settings, n: int, worker: subprocess.Popen[bytes], timeout_s: float
) -> float:
    """Poll the worker group's committed door offsets until they sum to `n`; when (epoch s)."""
    partitions = await topic_partitions(settings, [settings.kafka_topic("door")])
    group = f"{settings.kafka_topic_prefix}-workers"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        committed = 0
        last_report = time.monotonic()
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                raise BenchError(f"the worker exited with {worker.returncode} before the end")
            try:
                offsets: dict[TopicPartition, Any] = await admin.list_consumer_group_offsets(
                    group, partitions=partitions
                )
            except (GroupCoordinatorNotAvailableError, CoordinatorLoadInProgressError):
                offsets = {}  # a fresh broker creates __consumer_offsets on first use
            committed = sum(max(0, int(o.offset)) for o in offsets.values())
            if committed >= n:
                return time.time()
            if time.monotonic() - last_report > 10:
                progress.print(f"  worker: {committed} of {n} committed")
                last_report = time.monotonic()
            await asyncio.sleep(POLL_INTERVAL_S)
    finally:
        await admin.close()
    raise BenchError(f"the worker committed {committed} of {n} in {timeout_s:.0f} s")


@dataclass(frozen=True)
class States:
    counts: dict[str, int]  # the last state per room
    records: int
    first_ms: int
    last_ms: int


async def read_states(settings: Settings) -> States:
    """The room-state topic once its end offsets stop moving: last count per room, times."""
    partitions = await topic_partitions(settings, [settings.kafka_topic("room-state")])
    consumer = kafka_consumer(settings)
    await consumer.start()
    try:
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        stable_since = time.monotonic()
        deadline = stable_since + SETTLE_TIMEOUT_S
        while time.monotonic() - stable_since < SETTLE_S:
            if time.monotonic() > deadline:
                raise BenchError("the worker's room-state output did not settle")
            await asyncio.sleep(POLL_INTERVAL_S)
            now: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
            if now != end:
                end, stable_since = now, time.monotonic()
        wanted = {tp for tp in partitions if end[tp] > 0}
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning(*wanted)
        counts: dict[str, int] = {}
        stamps: list[int] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while wanted:
            if time.monotonic() > deadline:
                raise BenchError(f"reading the room states back took over {READ_TIMEOUT_S} s")
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset >= end[tp]:
                        continue
                    state = RoomState.model_validate_json(message.value)
                    counts[f"{state.building}/{state.room}"] = state.count  # offset order
                    stamps.append(message.timestamp)
                if await consumer.position(tp) >= end[tp]:
                    wanted.discard(tp)
    finally:
        await consumer.stop()
    if not stamps:
        raise BenchError("the worker produced no room state")
    return States(counts, len(stamps), min(stamps), max(stamps))


# --- the worker ------------------------------------------------------------------------------


def _worker_env(
    settings: Settings, stack_env: dict[str, str], board: bool, k: int
) -> dict[str, str]:
    env = {
        **os.environ,
        **stack_env,
        "OCC_KAFKA_TOPIC_PREFIX": settings.kafka_topic_prefix,
        "OCC_KAFKA_PARTITIONS": str(settings.kafka_partitions),
        "OCC_WORKER_DATA_DIR": str(settings.worker_data_dir / f"worker-{k}"),
        "OCC_MQTT_PREFIX": settings.mqtt_prefix,
        "OCC_ROSTER_FILE": str(REPO_ROOT / "deploy" / "sample" / "roster.yaml"),
        "OCC_BOARD_PORT": str(free_port()) if board else "0",
    }
    if "OCC_INFLUX_URL" not in stack_env:  # --no-metrics
        env.pop("OCC_INFLUX_URL", None)
    return env


def _profiler(pid: int, out: Path, log: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        raise BenchError("--profile needs py-spy (pip install py-spy)")
    with log.open("ab") as sink:
        # --nonblocking: sampling does not pause the worker, so the rate stays comparable.
        return subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "-f",
                "raw",
                "-o",
                str(out),
                "--nonblocking",
                *extra,
            ],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


@dataclass(frozen=True)
class Options:
    """What the worker runs with (every feature on by default)."""

    board: bool = True
    workers: int = 1
    profile: Path | None = None
    profile_threads: bool = False  # idle samples too, each stack under its thread


def measure_processor(
    settings: Settings,
    stack_env: dict[str, str],
    n: int,
    log_file: Path,
    options: Options,
) -> ProcessorRun:
    timeout_s = 120.0 + n / 200  # start-up, then far below the rate Faust manages here
    workers: list[subprocess.Popen[bytes]] = []
    with log_file.open("ab") as out:
        started = time.time()
        for k in range(options.workers):
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "deploy.cli", "worker"],
                    cwd=REPO_ROOT,
                    env=_worker_env(settings, stack_env, options.board, k),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )
    worker = workers[0]
    profiler: subprocess.Popen[bytes] | None = None
    try:
        if options.profile is not None:
            where = log_file.with_suffix(".py-spy.log")
            extra = ["--idle", "--threads"] if options.profile_threads else []
            profiler = _profiler(worker.pid, options.profile, where, extra)
        committed_at = asyncio.run(await_committed(settings, n, worker, timeout_s))
        if profiler is not None:  # SIGINT: py-spy writes its file and exits
            stop(profiler, signal.SIGINT, PROFILER_STOP_TIMEOUT_S)
        states = asyncio.run(read_states(settings))
        codes = [stop(w, signal.SIGTERM, WORKER_STOP_TIMEOUT_S) for w in workers]
        exit_code = next((c for c in codes if c != 0), 0)
    finally:
        if profiler is not None:
            stop(profiler, signal.SIGINT, PROFILER_STOP_TIMEOUT_S)
        for w in workers:  # a no-op unless something failed
            stop(w, signal.SIGTERM, WORKER_STOP_TIMEOUT_S)
    first_s, last_s = states.first_ms / 1000, states.last_ms / 1000
    seconds = max(last_s - first_s, 0.001)  # CreateTime has millisecond resolution
    return ProcessorRun(
        events=n,
        seconds=seconds,
        per_s=n / seconds,
        commit_per_s=n / max(committed_at - first_s, 0.001),
        states=states.records,
        wall_s=last_s - started,
        counts=states.counts,
        exit_code=exit_code,
    )


# --- runs ------------------------------------------------------------------------------------


def measure_floor(settings: Settings, n: int, log_file: Path) -> float:
    """Events/s of bench/faust_floor.py: a Faust agent that only decodes and counts."""
    env = {
        **os.environ,
        "FLOOR_APP": f"{settings.kafka_topic_prefix}-floor",
        "FLOOR_BOOTSTRAP": settings.kafka_bootstrap,
        "FLOOR_TOPIC": settings.kafka_topic("door"),
        "FLOOR_N": str(n),
    }
    with log_file.open("ab") as out:
        done = subprocess.run(
            [sys.executable, str(REPO_ROOT / "bench" / "faust_floor.py"), "worker", "-l", "warn"],
            cwd=settings.worker_data_dir,  # Faust makes its `{app}-data` dir in the cwd
            env={**env, "PYTHONPATH": str(REPO_ROOT)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=out,
            timeout=120 + n / 500,
            check=False,
        )
    for line in done.stdout.decode(errors="replace").splitlines():
        if line.startswith("FLOOR "):
            return float(line.split()[1])
    raise BenchError(f"the bare Faust agent printed no result (exit {done.returncode}); {log_file}")


def run_once(stack_env: dict[str, str], logs: Path, k: int, n: int, options: Options) -> Run:
    tag = secrets.token_hex(4)  # per run: a fresh topic prefix, app id and consumer group
    data_dir = Path(tempfile.mkdtemp(prefix=f"bench-worker-{tag}-"))
    try:
        settings = bench_settings(
            stack_env, tag, kafka_partitions=PARTITIONS, worker_data_dir=data_dir
        )
    except OccupancyError:
        shutil.rmtree(data_dir, ignore_errors=True)
        raise
    try:
        asyncio.run(ensure_topics(settings))
        progress.print(f"run {k} (bench-{tag}): pre-loading {n} door records")
        asyncio.run(preload(settings, door_records(settings, n, tag)))
        progress.print("  baseline: plain aiokafka getmany loop")
        base = asyncio.run(baseline(settings, n))
        progress.print("  floor: a bare Faust agent doing the baseline's work")
        floor = measure_floor(settings, n, logs / f"floor-{k}-{tag}.log")
        progress.print("  processor: the worker drains the backlog")
        processor = measure_processor(
            settings, stack_env, n, logs / f"worker-{k}-{tag}.log", options
        )
        return Run(tag, base, processor, floor)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
        try:
            asyncio.run(delete_run_topics(settings))
        except Exception as exc:  # best effort: a leftover bench-* topic is harmless
            progress.print(f"[yellow]could not delete the bench-{tag} topics: {exc}")
        try:
            cleared = clear_retained(settings)
            progress.print(f"  cleared {cleared} retained messages under bench-{tag}/")
        except Exception as exc:
            progress.print(f"[yellow]could not clear the retained bench-{tag}/# messages: {exc}")


def _tables(runs: list[Run], n: int) -> tuple[Table, Table]:
    throughput = Table(title=f"Draining {n} door records: occupancy worker vs. bare Faust")
    for column in ("run", "path", "events", "seconds", "events/s", "ratio", "vs floor"):
        throughput.add_column(column, justify="left" if column in {"run", "path"} else "right")
    for k, run in enumerate(runs, 1):
        b, p = run.baseline, run.processor
        throughput.add_row(
            str(k), "aiokafka getmany", str(b.events), f"{b.seconds:.2f}", f"{b.per_s:,.0f}", "", ""
        )
        throughput.add_row(
            str(k),
            "bare Faust agent, same work",
            str(b.events),
            "",
            f"{run.floor_per_s:,.0f}",
            f"{run.floor_ratio:.3f}",
            "1",
        )
        throughput.add_row(
            str(k),
            "worker",
            str(p.events),
            f"{p.seconds:.2f}",
            f"{p.per_s:,.0f}",
            f"{run.ratio:.3f}",
            f"{run.vs_floor:.3f}",
            end_section=True,
        )
    if len(runs) > 1:
        base = statistics.median(r.baseline.per_s for r in runs)
        proc = statistics.median(r.processor.per_s for r in runs)
        ratio = statistics.median(r.ratio for r in runs)
        floor = statistics.median(r.floor_per_s for r in runs)
        throughput.add_row("median", "aiokafka getmany", "", "", f"{base:,.0f}", "", "")
        throughput.add_row(
            "median",
            "bare Faust agent, same work",
            "",
            "",
            f"{floor:,.0f}",
            f"{statistics.median(r.floor_ratio for r in runs):.3f}",
            "1",
        )
        vs_floor = statistics.median(r.vs_floor for r in runs)
        throughput.add_row(
            "median", "worker", "", "", f"{proc:,.0f}", f"{ratio:.3f}", f"{vs_floor:.3f}"
        )

    checks = Table(title="Worker checks")
    for column in ("run", "tag", "counts", "states", "commit-based/s", "wall s", "exit"):
        checks.add_column(column, justify="left" if column in {"run", "tag"} else "right")
    for k, run in enumerate(runs, 1):
        p = run.processor
        rooms = len(set(run.baseline.counts) | set(p.counts))
        bad = run.mismatched
        checks.add_row(
            str(k),
            f"bench-{run.tag}",
            flag(f"{rooms - len(bad)}/{rooms} match", not bad),
            str(p.states),
            f"{p.commit_per_s:,.0f}",
            f"{p.wall_s:.2f}",
            flag("killed" if p.exit_code is None else p.exit_code, p.exit_code == 0),
        )
    checks.caption = (
        "counts: last room state per room = baseline dict; commit-based: until committed "
        "offsets reached n (Faust commits every few s); wall: worker start → last state"
    )
    return throughput, checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=50_000, help="door records per run")
    parser.add_argument("--repeat", type=int, default=1, help="runs; the JSON holds medians")
    parser.add_argument(
        "--profile",
        type=Path,
        help="py-spy raw (collapsed) profile of the worker, written here (last run's)",
    )
    parser.add_argument(
        "--profile-threads",
        action="store_true",
        help="with --profile: idle samples too, each stack under its thread's name",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="workers of one group draining the backlog"
    )
    parser.add_argument(
        "--no-board", action="store_true", help="run the worker without its web board"
    )
    parser.add_argument(
        "--no-metrics",
        action="store_true",
        help="run the worker without InfluxDB metrics (by default they go to a database of "
        "the bench's own, dropped afterwards)",
    )
    args = parser.parse_args(argv)
    if args.n < 2 or args.repeat < 1 or args.workers < 1:
        parser.error("--n must be at least 2, --repeat and --workers at least 1")
    options = Options(
        board=not args.no_board,
        workers=args.workers,
        profile=args.profile,
        profile_threads=args.profile_threads,
    )
    signal.signal(signal.SIGTERM, raise_on_sigterm)

    stack = default_stack()
    logs = Path(tempfile.mkdtemp(prefix="bench-processor-"))
    clean = False
    try:
        try:
            with stack.as_found(progress.print):
                stack_env = stack.env()
                tag = secrets.token_hex(4)
                if args.no_metrics:
                    del stack_env["OCC_INFLUX_URL"]
                else:
                    stack_env |= metrics_env(stack_env, tag)
                try:
                    runs = [
                        run_once(stack_env, logs, k, args.n, options)
                        for k in range(1, args.repeat + 1)
                    ]
                finally:
                    if not args.no_metrics:
                        drop_metrics(stack_env, tag)
        except (BenchError, OccupancyError, KafkaError) as exc:
            progress.print(f"[bold red]bench failed:[/bold red] {exc}")
            return 2

        output = Console(width=None if sys.stdout.isatty() else 130)
        for table in _tables(runs, args.n):
            output.print(table)
        for run in runs:
            for room in run.mismatched:
                progress.print(
                    f"[bold red]run bench-{run.tag}: {room} baseline "
                    f"{run.baseline.counts.get(room)} != worker {run.processor.counts.get(room)}"
                )
        matched = not any(run.mismatched for run in runs)
        clean = matched and all(r.processor.exit_code == 0 for r in runs)
        summary = {
            "baseline_per_s": round(statistics.median(r.baseline.per_s for r in runs), 1),
            "processor_per_s": round(statistics.median(r.processor.per_s for r in runs), 1),
            "ratio": round(statistics.median(r.ratio for r in runs), 4),
            "n": args.n,
            "faust_floor_per_s": round(statistics.median(r.floor_per_s for r in runs), 1),
            "faust_floor_ratio": round(statistics.median(r.floor_ratio for r in runs), 4),
            "worker_vs_floor": round(statistics.median(r.vs_floor for r in runs), 4),
            "metrics": not args.no_metrics,
            "board": options.board,
            "attendance": True,
            "workers": options.workers,
        }
        print(json.dumps(summary))
        return 0 if matched else 1
    finally:
        # The worker logs explain a failure: kept then, dropped after a clean run.
        if clean or not any(logs.iterdir()):
            shutil.rmtree(logs, ignore_errors=True)
        else:
            progress.print(f"worker logs kept in {logs}")


if __name__ == "__main__":
    sys.exit(main())
