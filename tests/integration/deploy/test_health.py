"""Health files kept by a running bridge and worker on the real stack, and let go stale while
they are stopped with SIGSTOP."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from click.testing import CliRunner

from deploy.health import health
from processors.watchdog import HEALTH_CHECK_S
from tests.support.pipeline import Pipeline
from tests.unit.deploy.test_health import _aged, _wait_until


def test_a_running_bridge_keeps_its_health_file_fresh_and_a_stopped_one_does_not(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "bridge-healthy"
    _aged(path, 3600)  # left by an earlier run: must not count
    pipeline = Pipeline(stack_env, tmp_path, OCC_HEALTH_FILE=str(path))
    runner = CliRunner()

    def healthy(max_age: float = 3) -> bool:
        result = runner.invoke(health, ["--file", str(path), "--max-age", str(max_age)])
        return result.exit_code == 0

    bridge = pipeline.bridge()
    try:
        _wait_until(healthy, 10, "the bridge never touched its health file")
        # Fresh for a while, not just once.
        for _ in range(4):
            time.sleep(1.5)
            assert healthy(), runner.invoke(health, ["--file", str(path)]).output

        os.killpg(bridge.process.pid, signal.SIGSTOP)
        try:
            _wait_until(lambda: not healthy(), 10, "a stopped bridge stays healthy")
            result = runner.invoke(health, ["--file", str(path), "--max-age", "3"])
            assert result.exit_code == 1
            assert "is stale since" in result.output
        finally:
            os.killpg(bridge.process.pid, signal.SIGCONT)
        _wait_until(healthy, 10, "the bridge did not freshen the file after SIGCONT")
    finally:
        statuses = pipeline.stop_all()
    assert statuses == {bridge.log.name: 0}


def test_a_running_worker_keeps_its_health_file_fresh_and_a_stopped_one_does_not(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "worker-healthy"
    pipeline = Pipeline(stack_env, tmp_path, OCC_HEALTH_FILE=str(path))
    runner = CliRunner()
    max_age = HEALTH_CHECK_S * 2

    def healthy() -> bool:
        result = runner.invoke(health, ["--file", str(path), "--max-age", str(max_age)])
        return result.exit_code == 0

    worker = pipeline.worker()
    try:
        _wait_until(healthy, 30, "the worker never touched its health file")
        os.killpg(worker.process.pid, signal.SIGSTOP)
        try:
            _wait_until(lambda: not healthy(), max_age + 10, "a stopped worker stays healthy")
        finally:
            os.killpg(worker.process.pid, signal.SIGCONT)
        _wait_until(healthy, 30, "the worker did not freshen the file after SIGCONT")
    finally:
        statuses = pipeline.stop_all()
    assert statuses == {worker.log.name: 0}
