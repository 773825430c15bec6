"""`occupancy health` and the health file the bridge and workers keep fresh.

Unit tests for the command (fresh, stale, missing), the throttled writer and the worker's
rule (the stall watchdog's look at its partitions); then a real bridge on the session's
stack keeps the file fresh, lets it go stale while it is stopped with SIGSTOP, and freshens
it again after SIGCONT.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from deploy.command_group import CommandGroup
from deploy.health import DEFAULT_MAX_AGE_S, check, health
from ingest.health import HealthFile
from ingest.settings import load_settings
from processors.watchdog import HEALTH_CHECK_S, Seen, StallWatchdog, progressing


def _aged(path: Path, seconds: float) -> Path:
    path.touch()
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def _occupancy() -> click.Group:
    """`health` hung from a group like `occupancy`'s, which turns ConfigError into exit 2."""

    @click.group(cls=CommandGroup)
    def group() -> None:
        pass

    group.add_command(health)
    return group


# --- the command ----------------------------------------------------------------------


def test_a_fresh_file_is_healthy(tmp_path: Path) -> None:
    path = _aged(tmp_path / "healthy", 2)
    result = CliRunner().invoke(health, ["--file", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"healthy: {path} touched 2 s ago.\n"


def test_a_stale_file_is_unhealthy_with_its_age(tmp_path: Path) -> None:
    path = _aged(tmp_path / "healthy", 95)
    result = CliRunner().invoke(health, ["--file", str(path), "--max-age", "60"])
    assert result.exit_code == 1
    assert result.output == f"unhealthy: {path} is stale since 95 s (allowed 60 s).\n"
    # The default limit.
    assert CliRunner().invoke(health, ["--file", str(path)]).exit_code == 1
    assert DEFAULT_MAX_AGE_S < 95


def test_a_missing_file_is_unhealthy(tmp_path: Path) -> None:
    path = tmp_path / "never-touched"
    result = CliRunner().invoke(health, ["--file", str(path)])
    assert result.exit_code == 1
    assert result.output == f"unhealthy: {path} is missing (not started, or no progress yet).\n"


def test_the_file_comes_from_occ_health_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _aged(tmp_path / "healthy", 0)
    monkeypatch.setenv("OCC_HEALTH_FILE", str(path))
    assert CliRunner().invoke(_occupancy(), ["health"]).exit_code == 0
    _aged(path, 31)
    result = CliRunner().invoke(_occupancy(), ["health"])
    assert result.exit_code == 1
    assert "stale since 31 s" in result.output


def test_without_a_file_it_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCC_HEALTH_FILE", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    result = CliRunner().invoke(_occupancy(), ["health"])
    assert result.exit_code == 2
    assert "OCC_HEALTH_FILE is not set" in result.output
    assert "Traceback" not in result.output


def test_bad_max_age_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(health, ["--file", str(tmp_path / "x"), "--max-age", "0"])
    assert result.exit_code == 2


def test_a_file_touched_in_the_future_is_fresh(tmp_path: Path) -> None:
    path = _aged(tmp_path / "healthy", -5)  # a clock stepped back
    healthy, sentence = check(path, 1)
    assert healthy, sentence


# --- the writer -------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_touches_at_most_once_per_interval(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "healthy"
    writer = HealthFile(path, min_interval_s=1.0, clock=clock)
    writer.touch()
    assert path.exists()
    _aged(path, 50)
    clock.now += 0.5
    writer.touch()
    assert not check(path, 30)[0], "touched again within the interval"
    clock.now += 0.5
    writer.touch()
    assert check(path, 30)[0]


def test_clear_removes_an_old_runs_file(tmp_path: Path) -> None:
    path = _aged(tmp_path / "healthy", 0)
    writer = HealthFile(path)
    writer.clear()
    assert not path.exists()
    writer.touch()  # the interval starts again after a clear
    assert path.exists()


def test_no_path_is_no_work(tmp_path: Path) -> None:
    writer = HealthFile(None)
    writer.clear()
    writer.touch()
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_file_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    writer = HealthFile(tmp_path / "no-such-dir" / "healthy", clock=clock)
    for _ in range(3):
        writer.touch()
        clock.now += 2
    assert [r.message for r in caplog.records].count(
        f"event=health_file_unwritable path={tmp_path}/no-such-dir/healthy error=FileNotFoundError"
    ) == 1


# --- the worker: the stall watchdog's look at its partitions ---------------------------


def test_progress_is_nothing_waiting_or_one_waiting_partition_moved() -> None:
    assert progressing({}, now=10.0)
    assert progressing({"door:0": Seen(5, 10.0), "door:1": Seen(7, 3.0)}, now=10.0)
    assert not progressing({"door:0": Seen(5, 9.0), "door:1": Seen(7, 3.0)}, now=10.0)


class _TP:
    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition


class _Consumer:
    def __init__(self) -> None:
        self.positions: dict[int, int] = {0: 5, 1: 9}
        self.ends: dict[int, int] = {0: 5, 1: 9}
        self.fail = False

    def assignment(self) -> list[_TP]:
        if self.fail:
            raise RuntimeError("rebalancing")
        return [_TP("door", p) for p in self.positions] + [_TP("other", 0)]

    async def position(self, tp: _TP) -> int:
        return self.positions.get(tp.partition, 0) if tp.topic == "door" else 0

    def highwater(self, tp: _TP) -> int:
        return self.ends.get(tp.partition, 0) if tp.topic == "door" else 100


class _App:
    def __init__(self) -> None:
        self.consumer = _Consumer()
        self.intervals: list[float] = []

    def timer(self, interval: float) -> Callable[[Callable[[], Coroutine[Any, Any, None]]], None]:
        self.intervals.append(interval)
        return lambda _check: None


def _watchdog(
    tmp_path: Path, stall_s: float, health_file: bool = True
) -> tuple[StallWatchdog, _App, Clock, list[str]]:
    app = _App()
    clock = Clock()
    stops: list[str] = []
    settings = load_settings(
        worker_stall_s=stall_s, health_file=tmp_path / "healthy" if health_file else None
    )
    watchdog = StallWatchdog(
        app,  # type: ignore[arg-type]
        settings,
        ["door"],
        stop=lambda: stops.append("stop"),
        clock=clock,
    )
    return watchdog, app, clock, stops


def test_the_worker_touches_while_caught_up_or_moving_and_not_while_stuck(
    tmp_path: Path,
) -> None:
    path = tmp_path / "healthy"
    _aged(path, 100)  # an earlier run's file
    watchdog, app, clock, stops = _watchdog(tmp_path, stall_s=120)
    assert not path.exists(), "an earlier run's file is removed at start"
    assert app.intervals == [HEALTH_CHECK_S]  # sooner than 120 / 4
    consumer = app.consumer

    def look(after_s: float) -> bool:
        clock.now += after_s
        _aged(path, 100)
        asyncio.run(watchdog.check())
        return check(path, 30)[0]

    assert look(5), "caught up: nothing waiting"
    consumer.ends[1] = 20
    assert look(5), "records begin to wait"
    consumer.positions[1] = 12
    assert look(5), "moved"
    assert not look(5), "waiting, not moved"
    consumer.positions[0], consumer.ends[0] = 6, 8
    assert look(5), "another partition moved"
    consumer.fail = True
    assert not look(5), "the consumer does not answer"
    consumer.fail = False
    assert stops == []


def test_without_the_stall_limit_the_health_file_is_still_kept(tmp_path: Path) -> None:
    watchdog, app, clock, stops = _watchdog(tmp_path, stall_s=0)
    assert app.intervals == [HEALTH_CHECK_S]
    app.consumer.ends[1] = 20
    for _ in range(100):
        clock.now += 5
        asyncio.run(watchdog.check())
    assert stops == [], "no stall limit: never stopped"


def test_without_a_health_file_the_watchdog_runs_as_before(tmp_path: Path) -> None:
    _, app, _, _ = _watchdog(tmp_path, stall_s=120, health_file=False)
    assert app.intervals == [30.0]
    _, app, _, _ = _watchdog(tmp_path, stall_s=0, health_file=False)
    assert app.intervals == []


# --- a real bridge ---------------------------------------------------------------------


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, what
        time.sleep(0.2)
    return time.monotonic() - start
