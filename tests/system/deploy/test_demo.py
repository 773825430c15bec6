"""`occupancy demo`, headless, as a newcomer would run it: nothing configured, so it starts
its embedded brokers (amqtt, Tansu), the bridge, a worker and the simulator, all on the replay
clock of the latest office day, whatever today's hour and weekday; alerts fire, the web
board's JSON shows people in rooms and checked in, most of the roster's office staff check
in, the day closes at midnight with its absentees, and when it ends no process is left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.roster import load_roster
from ingest.site import load_site
from processors.attendance_rules import day_end

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "deploy" / "sample"


def _clean_env() -> dict[str, str]:
    """The environment of a fresh shell: no OCC_* setting at all."""
    return {k: v for k, v in os.environ.items() if not k.startswith("OCC_")}


def _alive(pid: int) -> bool:
    try:
        with Path(f"/proc/{pid}/stat").open() as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment mention `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in seen and _alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def test_the_demo_runs_alone_and_leaves_nothing_behind(tmp_path: Path) -> None:
    out = tmp_path / "demo.out"
    err = tmp_path / "demo.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deploy.cli",
                "demo",
                "--headless",
                # 05:00 to midnight in about 57 s after the clock's 40 s of lead.
                "--speed",
                "1200",
                "--duration",
                "115",
            ],
            cwd=tmp_path,  # a fresh directory: its .run/ is the demo's own
            env=_clean_env(),
            stdout=stdout,
            stderr=stderr,
        )
    board: dict[str, Any] = {}

    def poll_board() -> None:
        # The web board is up once the worker is; its JSON must show people in rooms.
        deadline = time.monotonic() + 240
        while demo.poll() is None and time.monotonic() < deadline:
            text = err.read_text(errors="replace")
            url = next((w for w in text.split() if w.startswith("http://")), None)
            login = re.search(r"board login\s+demo / (\S+)", text)
            if url is not None and login is not None:
                api = url.replace("/building/", "/api/buildings/")
                base = url.split("/building/")[0]
                try:
                    session = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
                    session.open(
                        urllib.request.Request(
                            f"{base}/api/login",
                            data=json.dumps({"name": "demo", "password": login[1]}).encode(),
                            headers={"Content-Type": "application/json"},
                        ),
                        timeout=5,
                    )
                    with session.open(api, timeout=5) as answer:
                        data = json.loads(answer.read())
                    people = any(r.get("count", 0) > 0 for r in data.get("rooms", []))
                    if people and (data.get("checked_in") or 0) > 0:
                        board.update(data)
                        return
                except OSError:
                    pass
            time.sleep(1)

    watcher = threading.Thread(target=poll_board, daemon=True)
    watcher.start()
    try:
        demo.wait(timeout=400)
    finally:
        if demo.poll() is None:
            demo.kill()
    watcher.join(timeout=5)
    log = err.read_text(errors="replace")
    assert demo.returncode == 0, log[-3000:]
    result = json.loads(out.read_text().strip().splitlines()[-1])
    assert result["embedded"] == ["mqtt", "kafka"]
    assert result["exit_codes"] == {"simulator": 0, "worker": 0, "bridge": 0} or (
        result["exit_codes"]["worker"] == 0 and result["exit_codes"]["bridge"] == 0
    ), result
    assert result["alerts"] > 0, log[-3000:]
    assert result["peak_rooms_with_people"] > 0
    assert board, f"the web board never showed people in rooms and checked in ({result})"
    # Most of the office staff the roster plans that day checked in (a few are sick).
    site = load_site(SAMPLE / "site.yaml")
    roster = load_roster(SAMPLE / "roster.yaml", site)
    day = date.fromisoformat(result["date"])
    planned = {b.id: roster.planned_wfo(b.id, day) for b in site.buildings}
    assert sum(planned.values()) > 0, f"{day} is no office day"
    for building, n in planned.items():
        assert result["checked_in_peak"].get(building, 0) >= 0.8 * n, (building, n, result)
    # The simulated day ended: absentees are marked, and those who never tapped out closed.
    assert datetime.fromisoformat(result["simulated_until"]) >= max(
        day_end(day, b.zone) for b in site.buildings
    ), result
    assert result["attendance"].get("absent", 0) > 0, result
    assert result["attendance"].get("auto_closed", 0) > 0, result
    time.sleep(1)
    assert [p for p in result["pids"] if _alive(p)] == []
    assert _processes_mentioning(result["run_dir"]) == []


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def _started(tmp_path: Path) -> subprocess.Popen[bytes]:
    """`occupancy demo --headless`, once its worker is ready (it prints the board login)."""
    err = tmp_path / "demo.err"
    with err.open("wb") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli", "demo", "--headless"],
            cwd=tmp_path,
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    deadline = time.monotonic() + 240
    while "board login" not in err.read_text(errors="replace"):
        if demo.poll() is not None or time.monotonic() > deadline:
            demo.kill()
            pytest.fail(f"the demo did not start:\n{err.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)
    return demo


def test_a_hang_up_while_it_stops_still_stops_everything(tmp_path: Path) -> None:
    """Ctrl-C, then the terminal closed at once (SIGINT, then SIGHUP while the demo stops its
    children, each in a session of its own): the demo finishes stopping them all. Seen from
    a newcomer's terminal: the bridge and the embedded Kafka were left running."""
    demo = _started(tmp_path)
    try:
        demo.send_signal(signal.SIGINT)
        time.sleep(1)  # it is reading the day's attendance, then stopping its children
        demo.send_signal(signal.SIGHUP)
        out, _ = demo.communicate(timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    log = (tmp_path / "demo.err").read_text(errors="replace")
    assert demo.returncode == 0, log[-3000:]
    result = json.loads(out.decode().strip().splitlines()[-1])
    assert set(result["exit_codes"]) == {"simulator", "worker", "bridge"}
    time.sleep(1)
    assert [p for p in result["pids"] if _alive(p)] == []
    assert _processes_mentioning(result["run_dir"]) == []


def test_a_killed_demo_takes_its_processes_with_it(tmp_path: Path) -> None:
    """SIGKILL (the OOM killer, `kill -9`, a harness that gives up waiting): the demo cannot
    stop anything, so the kernel sends each child SIGTERM as the demo dies."""
    demo = _started(tmp_path)
    children = _children_of(demo.pid)
    # Tansu, the bridge, the worker and the simulator.
    assert len(children) == 4, children
    demo.kill()
    demo.wait(timeout=10)
    deadline = time.monotonic() + 60  # the bridge drains, the worker leaves its group
    while [p for p in children if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert [p for p in children if _alive(p)] == []
