"""The web board in real workers: door events over MQTT → bridge → Kafka → worker → the
board's JSON; an alert over the limit; the board's Acknowledge goes out over MQTT and comes
back through the bridge, Kafka and the worker holding the alert; a worker started later shows
the whole building from the topics' start."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.integration.processors.test_worker import door
from tests.support.mqtt import publish
from tests.support.pipeline import Pipeline
from tests.support.processes import Command

pytestmark = pytest.mark.slow

HQ = "hq-jakarta"
ROOM = "f2-meeting-a"  # capacity 20, limit 10 at the sample's "transition" level
OTHER = "f3-work-it"  # capacity 24, limit 12

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def board_settings(port: int) -> dict[str, str]:
    """A worker whose board listens on `port`, and whose alerts resolve within seconds."""
    return {
        "OCC_BOARD_PORT": str(port),
        "OCC_BOARD_HOST": "127.0.0.1",
        "OCC_ALERT_MIN_DWELL_S": "1",
        "OCC_ALERT_TICK_S": "1",
    }


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


def post_json(url: str, body: object) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 60) -> T:
    """Poll `check` until it returns something other than None (or False)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None and result is not False:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def board_shows(
    api: str, holds: Callable[[dict[str, Any]], object], what: str, timeout: float = 60
) -> dict[str, Any]:
    """The board's JSON at `api` once `holds(view)` is true."""

    def check() -> dict[str, Any] | None:
        view: dict[str, Any] = get_json(api)
        return view if holds(view) else None

    return wait_until(check, what, timeout)


def room_of(view: dict[str, Any], room: str) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in view["rooms"] if r["room"] == room)
    return found


def critical_alert(view: dict[str, Any], room: str = ROOM) -> dict[str, Any] | None:
    return next(
        (
            a
            for a in view["alerts"]
            if a["room"] == room and a["kind"] == "capacity" and a["severity"] == "critical"
        ),
        None,
    )


def test_the_board_follows_counts_alerts_and_acks_through_the_real_pipeline(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    pipeline = Pipeline(stack_env, tmp_path, **board_settings(port))
    api = f"http://127.0.0.1:{port}/api/buildings/{HQ}"
    mqtt = pipeline.mqtt_url
    second: Command | None = None
    try:
        pipeline.bridge()
        worker = pipeline.worker("a")
        worker.wait_for(f"event=board_listening url=http://127.0.0.1:{port}/")
        start = board_shows(api, lambda v: v["caught_up"], "the board caught up")
        assert room_of(start, ROOM)["count"] == 0
        assert start["alerts"] == []

        publish(mqtt, [door(pipeline.prefix, 1, 4, 0), door(pipeline.prefix, 1, 3, 0, OTHER)], "p1")
        view = board_shows(api, lambda v: room_of(v, ROOM)["count"] == 4, "a count of 4")
        assert room_of(view, ROOM)["status"] == "open"
        board_shows(api, lambda v: room_of(v, OTHER)["count"] == 3, "the other room's count")

        publish(mqtt, [door(pipeline.prefix, 2, 8, 0)], "p2")
        view = board_shows(api, critical_alert, "a critical alert")
        alert = critical_alert(view)
        assert alert is not None
        assert (alert["state"], alert["ack"], alert["value"], alert["limit"]) == (
            "active",
            None,
            12,
            10,
        )
        assert (room_of(view, ROOM)["count"], room_of(view, ROOM)["status"]) == (12, "over")
        assert view["summary"]["rooms_over_limit"] == [ROOM]
        assert view["summary"]["headcount"] == 15

        status, body = post_json(f"{api}/alerts/{alert['alert_id']}/ack", {"by": "guard-7"})
        assert status == 202, body
        assert worker.output().count("event=board_ack_sent") == 1
        view = board_shows(
            api, lambda v: (critical_alert(v) or {}).get("ack"), "the alert back acknowledged"
        )
        acked = critical_alert(view)
        assert acked is not None
        assert acked["alert_id"] == alert["alert_id"]
        assert acked["ack"]["by"] == "guard-7"
        assert "event=alert_acknowledged" in worker.output()
        status, body = post_json(f"{api}/alerts/{alert['alert_id']}/ack", {"by": "guard-8"})
        assert status == 409, body

        # Everyone leaves: the alert resolves (after the 1 s dwell) and leaves the board.
        publish(mqtt, [door(pipeline.prefix, 3, 0, 12)], "p3")
        view = board_shows(api, lambda v: not v["alerts"], "the resolved alert gone")
        assert room_of(view, ROOM)["count"] == 0

        # A worker started now reads both topics from their start: it shows what the first
        # worker counted, not only the rooms of the partitions it will hold.
        second_port = free_port()
        second = Command(
            ["worker"],
            {
                **pipeline.env,
                **board_settings(second_port),
                "OCC_WORKER_DATA_DIR": str(tmp_path / "worker-b"),
            },
            tmp_path / "worker-b.log",
        )
        second.wait_for(f"url=http://127.0.0.1:{second_port}/", timeout=120)
        second_api = f"http://127.0.0.1:{second_port}/api/buildings/{HQ}"
        later = board_shows(second_api, lambda v: v["caught_up"], "the second board caught up")
        assert room_of(later, OTHER)["count"] == 3
        assert room_of(later, ROOM)["count"] == 0
        assert later["alerts"] == []

        # An open event stream must not hold a worker's shutdown back.
        stream = urllib.request.urlopen(f"{api}/events", timeout=10)
        assert stream.readline().startswith(b"retry:")
        try:
            statuses = {"second": second.terminate(), **pipeline.stop_all()}
        finally:
            stream.close()
        assert set(statuses.values()) == {0}, statuses
    finally:
        if second is not None and second.process.poll() is None:
            second.terminate()
        pipeline.stop_all()
