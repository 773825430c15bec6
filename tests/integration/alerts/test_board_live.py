"""The web board in real workers: door events over MQTT → bridge → Kafka → worker → the
board's JSON; an alert over the limit; the board's Acknowledge goes out over MQTT and comes
back through the bridge, Kafka and the worker holding the alert; a worker started later shows
the whole building from the topics' start."""

from __future__ import annotations

import http.cookiejar
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from cryptography.fernet import Fernet

from alerts.board.accounts import Account, hash_password, write_users
from tests.integration.processors.test_worker import door
from tests.support.mqtt import Collector, publish
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


PASSWORD = "board test password"
ACCOUNTS = {"guard": "security", "watcher": "viewer", "op": "operator", "root": "admin"}
SESSION_KEY = Fernet.generate_key().decode()


def board_settings(port: int, users: Path | None = None) -> dict[str, str]:
    """A worker whose board listens on `port` (with the accounts of `users`), and whose
    alerts resolve within seconds."""
    settings = {
        "OCC_BOARD_PORT": str(port),
        "OCC_BOARD_HOST": "127.0.0.1",
        "OCC_BOARD_SESSION_KEY": SESSION_KEY,
        "OCC_BOARD_LOGIN_DELAY_S": "0",
        "OCC_ALERT_MIN_DWELL_S": "1",
        "OCC_ALERT_TICK_S": "1",
    }
    if users is not None:
        settings["OCC_USERS_FILE"] = str(users)
    return settings


def make_users(folder: Path) -> Path:
    """A users file with one account per role (`ACCOUNTS`), all with `PASSWORD`."""
    path = folder / "users.json"
    hashed = hash_password(PASSWORD)
    write_users(path, {n: Account(n, r, hashed) for n, r in ACCOUNTS.items()})  # type: ignore[arg-type]
    return path


class Session:
    """A logged-in client of a board: its cookie, and the CSRF token for its POSTs."""

    def __init__(self, base: str, name: str) -> None:
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.csrf = ""
        status, body = self.post_json(f"{base}/api/login", {"name": name, "password": PASSWORD})
        assert status == 200, body
        self.csrf = body["csrf"]

    def open(self, url: str) -> Any:
        return self._opener.open(url, timeout=10)

    def get_json(self, url: str) -> Any:
        with self._opener.open(url, timeout=10) as answer:
            return json.loads(answer.read())

    def post_json(self, url: str, body: object) -> tuple[int, Any]:
        request = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def get_json(url: str) -> Any:
    """A public page's JSON (door signage)."""
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


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
    session: Session,
    api: str,
    holds: Callable[[dict[str, Any]], object],
    what: str,
    timeout: float = 60,
) -> dict[str, Any]:
    """The board's JSON at `api` once `holds(view)` is true."""

    def check() -> dict[str, Any] | None:
        view: dict[str, Any] = session.get_json(api)
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
    users = make_users(tmp_path)
    pipeline = Pipeline(stack_env, tmp_path, **board_settings(port, users))
    base = f"http://127.0.0.1:{port}"
    api = f"{base}/api/buildings/{HQ}"
    mqtt = pipeline.mqtt_url
    second: Command | None = None
    try:
        pipeline.bridge()
        worker = pipeline.worker("a")
        worker.wait_for(f"event=board_listening url={base}/")
        guard = Session(base, "guard")
        start = board_shows(guard, api, lambda v: v["caught_up"], "the board caught up")
        assert room_of(start, ROOM)["count"] == 0
        assert start["alerts"] == []

        publish(mqtt, [door(pipeline.prefix, 1, 4, 0), door(pipeline.prefix, 1, 3, 0, OTHER)], "p1")
        view = board_shows(guard, api, lambda v: room_of(v, ROOM)["count"] == 4, "a count of 4")
        assert room_of(view, ROOM)["status"] == "open"
        board_shows(guard, api, lambda v: room_of(v, OTHER)["count"] == 3, "the other's count")

        publish(mqtt, [door(pipeline.prefix, 2, 8, 0)], "p2")
        view = board_shows(guard, api, critical_alert, "a critical alert")
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

        # An ack of hq-jakarta's alert on ro-makassar's topic (where a console of that
        # building may write) changes nothing: the alert stays unacknowledged.
        seen = Collector(mqtt, [f"{pipeline.prefix}/+/alerts"], f"alerts-{pipeline.tag}")
        foreign = f"{pipeline.prefix}/ro-makassar/alerts/{alert['alert_id']}/ack"
        publish(mqtt, [(foreign, json.dumps({"by": "intruder"}).encode())], "foreign")
        time.sleep(3)  # an ack is applied within a tick (1 s) of reaching the worker
        assert critical_alert(guard.get_json(api))["ack"] is None  # type: ignore[index]
        assert "intruder" not in worker.output()

        status, body = guard.post_json(f"{api}/alerts/{alert['alert_id']}/ack", {"by": "x"})
        assert status == 202, body
        assert worker.output().count("event=board_ack_sent") == 1
        view = board_shows(
            guard,
            api,
            lambda v: (critical_alert(v) or {}).get("ack"),
            "the alert back acknowledged",
        )
        acked = critical_alert(view)
        assert acked is not None
        assert acked["alert_id"] == alert["alert_id"]
        assert acked["ack"]["by"] == "guard"  # the account that acknowledged, not the body
        assert "event=alert_acknowledged" in worker.output()
        # The alert on MQTT names the account too, and no ack of the intruder's.
        on_mqtt = [
            json.loads(p)
            for _, p, _ in seen.wait_for(lambda ms: any(json.loads(p).get("ack") for _, p, _ in ms))
        ]
        seen.close()
        mine = [a for a in on_mqtt if a["alert_id"] == alert["alert_id"]]
        assert {a["ack"]["by"] for a in mine if a.get("ack")} == {"guard"}
        status, body = guard.post_json(f"{api}/alerts/{alert['alert_id']}/ack", {})
        assert status == 409, body

        # Resolved by hand while the room is still over its limit: gone from the board, and
        # a new alert opens once the dwell (1 s) has passed.
        status, body = guard.post_json(
            f"{api}/alerts/{alert['alert_id']}/resolve", {"reason": "counted at the door"}
        )
        assert status == 202, body
        view = board_shows(
            guard,
            api,
            lambda v: (critical_alert(v) or alert)["alert_id"] != alert["alert_id"],
            "a new alert after the manual resolve",
        )
        assert "event=alert_resolved_by_hand" in worker.output()
        assert [a["alert_id"] for a in view["alerts"] if a["room"] == ROOM] != [alert["alert_id"]]

        # Everyone leaves: the alert resolves (after the 1 s dwell) and leaves the board.
        publish(mqtt, [door(pipeline.prefix, 3, 0, 12)], "p3")
        view = board_shows(guard, api, lambda v: not v["alerts"], "the resolved alert gone")
        assert room_of(view, ROOM)["count"] == 0

        # A worker started now reads both topics from their start: it shows what the first
        # worker counted, not only the rooms of the partitions it will hold.
        second_port = free_port()
        second = Command(
            ["worker"],
            {
                **pipeline.env,
                **board_settings(second_port, users),
                "OCC_WORKER_DATA_DIR": str(tmp_path / "worker-b"),
            },
            tmp_path / "worker-b.log",
        )
        second.wait_for(f"url=http://127.0.0.1:{second_port}/", timeout=120)
        second_api = f"http://127.0.0.1:{second_port}/api/buildings/{HQ}"
        # One session key on every worker: the login made on the first holds on the second.
        later = board_shows(
            guard, second_api, lambda v: v["caught_up"], "the second board caught up"
        )
        assert room_of(later, OTHER)["count"] == 3
        assert room_of(later, ROOM)["count"] == 0
        assert later["alerts"] == []

        # An open event stream must not hold a worker's shutdown back.
        stream = guard.open(f"{api}/events")
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
