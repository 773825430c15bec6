"""occupancy simulate against the real broker: a whole day, load mode, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.models import DoorEvent
from tests.unit.deploy.test_simulator_cli import FILES, PAST_MONDAY, _collector, occupancy


def test_a_day_reaches_the_broker_whole_in_order_at_its_pace(stack_env: dict[str, str]) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}/occupancy"
    env = {"OCC_MQTT_URL": stack_env["OCC_MQTT_URL"], "OCC_MQTT_PREFIX": prefix}
    # 07:00 WITA to 08:30 WIB: two and a half simulated hours, five real seconds at 1800.
    args = ("--date", PAST_MONDAY, "--start", "07:00", "--end", "08:30", "--seed", "5")
    expected = occupancy("simulate", "--json", *args, env=env)
    assert expected.returncode == 0, expected.stderr
    planned = [json.loads(line) for line in expected.stdout.splitlines()]
    collector = _collector(stack_env, prefix)
    try:
        started = time.monotonic()
        result = occupancy("simulate", "--speed", "1800", *args, env=env)
        took = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        got = collector.wait_for(lambda m: len(m) >= len(planned), timeout=30)
    finally:
        collector.close()
    assert 5.0 <= took < 30, took
    assert "event=simulate_done" in result.stderr and f"acked={len(planned)}" in result.stderr
    received = [(topic, json.loads(payload)) for topic, payload, _ in got]
    assert received == [(p["topic"], p["payload"]) for p in planned]


def test_load_mode_keeps_the_rate_with_valid_numbering(stack_env: dict[str, str]) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}/occupancy"
    env = {"OCC_MQTT_URL": stack_env["OCC_MQTT_URL"], "OCC_MQTT_PREFIX": prefix}
    collector = _collector(stack_env, prefix)
    try:
        before = datetime.now(UTC)
        started = time.monotonic()
        result = occupancy("simulate", "--rate", "1000", "--duration", "3", env=env)
        took = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        got = collector.wait_for(lambda m: len(m) >= 3000, timeout=30)
    finally:
        collector.close()
    after = datetime.now(UTC)
    assert len(got) == 3000
    assert 3.0 <= took < 15, took
    seqs: dict[str, list[int]] = defaultdict(list)
    inside: dict[str, int] = defaultdict(int)
    for topic, payload, _ in got:
        event = DoorEvent.model_validate_json(payload)
        assert before - timedelta(seconds=1) <= event.ts <= after
        seqs[topic].append(event.seq)
        room = topic.rsplit("/door/", 1)[0]
        inside[room] += event.entered - event.exited
        assert inside[room] >= 0
    assert len(seqs) == 21  # every sensor of the sample site, in turn
    assert all(s == list(range(len(s))) for s in seqs.values())
    assert max(len(s) for s in seqs.values()) - min(len(s) for s in seqs.values()) <= 1


def test_sigterm_stops_publishing_and_exits_cleanly(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}/occupancy"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCC_")}
    log = tmp_path / "simulate.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.cli",
                "simulate",
                "--date",
                PAST_MONDAY,
                "--speed",
                "60",
            ],
            env={
                **clean,
                **FILES,
                "OCC_MQTT_URL": stack_env["OCC_MQTT_URL"],
                "OCC_MQTT_PREFIX": prefix,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "event=mqtt_connected" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(15) == 0
    finally:
        if process.poll() is None:
            process.kill()
    text = log.read_text()
    assert "event=simulate_done" in text and "stopped=True" in text, text


def test_an_unreachable_broker_is_one_sentence_and_exit_status_2() -> None:
    env = {"OCC_MQTT_URL": "mqtt://127.0.0.1:1", **FILES}  # port 1: nothing listens there
    result = occupancy("simulate", "--date", PAST_MONDAY, env=env)
    assert result.returncode == 2, result.stderr
    assert "Cannot reach" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
