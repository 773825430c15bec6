"""The web board in headless Chromium (Debian's `chromium`, driven by Playwright) on the real
pipeline: a security guard logs in, door events over MQTT change a room's count on the open
building page without a reload, going over the limit shows an alert, the guard's Acknowledge
brings it back acknowledged in the guard's name (on MQTT too), and the room's door signage
flips from ENTER to PLEASE WAIT. A viewer sees no Acknowledge and is refused one; an
operator lowers another room's limit and its signage says PLEASE WAIT within 2 s; the
signage's stream carries its room alone; the audit topic holds every action, in order.

Screenshots of every page go to artifacts/board/. The building page's becomes the README's
picture, deploy/docs/board.png, when that is missing or UPDATE_BOARD_PICTURE=1 (so a
test run does not change a committed file by its clock alone).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

from ingest.audit import AuditRecord
from tests.integration.alerts.test_board_live import PASSWORD, board_settings, free_port, make_users
from tests.integration.processors.test_worker import door
from tests.support.kafka import read_topics
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO / "artifacts" / "board"
README_PICTURE = REPO / "deploy" / "docs" / "board.png"
CHROMIUM = Path("/usr/bin/chromium")

HQ = "hq-jakarta"
ROOM = "f2-meeting-a"  # Ruang Rapat A: capacity 20, limit 10 at the sample's "transition"
WAIT_MS = 60_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed: `bash deploy/local/setup.sh --dev` installs "
        "it when run as root (or `sudo apt-get install chromium`)",
    ),
]

# Other rooms of the building (each with one door sensor), so the picture shows every
# status colour: (room, people).
BACKDROP = [
    ("f1-prayer", 5),  # limit 15: open
    ("f1-service-hall", 31),  # limit 36: warning
    ("f1-canteen", 14),
    ("f2-work-finance", 20),  # limit 20: full
    ("f2-work-general", 9),
    ("f3-work-program", 17),
    ("f3-work-it", 10),  # limit 12: warning
    ("f4-leadership", 3),
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Browser, url: str, problems: list[str]) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def console(message: ConsoleMessage) -> None:
        # A refused request is counted below, by its answer.
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(f"{url}: {message.text}")

    def response(answer: Response) -> None:
        # Before a login the page asks who is logged in: 401 sends it to the login page.
        expected = answer.status == 401 and answer.url.endswith("/api/session")
        if answer.status >= 400 and not expected:
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: problems.append(f"{url}: {error}"))
    page.goto(url)
    return page


def log_in(browser: Browser, base: str, name: str, path: str, problems: list[str]) -> Page:
    """A page of `path` as account `name`: the board sends it to log in, then back."""
    page = open_page(browser, f"{base}{path}", problems)
    expect(page.locator("#login")).to_be_visible(timeout=WAIT_MS)
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{base}{path}", timeout=WAIT_MS)
    expect(page.locator("#who")).to_have_attribute("data-role", ROLES[name], timeout=WAIT_MS)
    return page


ROLES = {"guard": "security", "watcher": "viewer", "op": "operator", "root": "admin"}
LOWERED = "f1-prayer"  # 5 people in, limit 15; the operator lowers it to 5


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_building_page_and_signage_follow_the_room_live(
    stack_env: dict[str, str], tmp_path: Path, browser: Browser
) -> None:
    port = free_port()
    pipeline = Pipeline(stack_env, tmp_path, **board_settings(port, make_users(tmp_path)))
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    alerts = Collector(pipeline.mqtt_url, [f"{pipeline.prefix}/+/alerts"], f"a-{pipeline.tag}")
    try:
        pipeline.bridge()
        worker = pipeline.worker("a")
        worker.wait_for(f"event=board_listening url={base}/")
        publish(
            pipeline.mqtt_url,
            [door(pipeline.prefix, 1, people, 0, room) for room, people in BACKDROP],
            "backdrop",
        )

        building = log_in(browser, base, "guard", f"/building/{HQ}", problems)
        room = building.locator(f'article.room[data-room="{ROOM}"]')
        expect(building.locator("#connection")).to_have_text("live", timeout=WAIT_MS)
        expect(building.locator("#loading")).to_be_hidden(timeout=WAIT_MS)
        expect(room).to_have_attribute("data-count", "0", timeout=WAIT_MS)
        expect(building.locator('article.room[data-room="f2-work-finance"]')).to_have_attribute(
            "data-status", "full", timeout=WAIT_MS
        )
        # The backdrop's rooms near their limits raise warnings; this room has none yet.
        expect(building.locator('li.alert[data-room="f1-service-hall"]')).to_be_visible(
            timeout=WAIT_MS
        )
        expect(building.locator(f'li.alert[data-room="{ROOM}"]')).to_have_count(0)
        building.evaluate("window.sameDocument = true")

        signage = open_page(browser, f"{base}/signage/{HQ}/{ROOM}", problems)
        sign = signage.locator("#signage")
        expect(sign).to_have_attribute("data-sign", "enter", timeout=WAIT_MS)
        expect(signage.locator("#word")).to_have_text("ENTER")
        expect(signage.locator("#free")).to_have_text("10 places free")
        shoot(signage, "signage-enter")

        index = log_in(browser, base, "guard", "/", problems)
        expect(index.locator(f'li[data-building="{HQ}"]')).to_contain_text(
            "109 people in", timeout=WAIT_MS
        )
        shoot(index, "index")

        # Door events arrive: the open page shows the new count without a reload.
        publish(pipeline.mqtt_url, [door(pipeline.prefix, 1, 4, 0)], "in-1")
        expect(room).to_have_attribute("data-count", "4", timeout=WAIT_MS)
        expect(room.locator(".count")).to_have_text("4")
        expect(room).to_have_attribute("data-status", "open")
        expect(signage.locator("#free")).to_have_text("6 places free", timeout=WAIT_MS)

        # Over the limit: an alert, the room in red, and the door says PLEASE WAIT.
        publish(pipeline.mqtt_url, [door(pipeline.prefix, 2, 8, 0)], "in-2")
        expect(room).to_have_attribute("data-count", "12", timeout=WAIT_MS)
        expect(room).to_have_attribute("data-status", "over")
        alert = building.locator(f'li.alert[data-room="{ROOM}"][data-severity="critical"]')
        expect(alert).to_be_visible(timeout=WAIT_MS)
        expect(alert).to_have_attribute("data-acked", "false")
        expect(alert.locator(".what")).to_contain_text("Ruang Rapat A")
        expect(sign).to_have_attribute("data-sign", "wait", timeout=WAIT_MS)
        expect(signage.locator("#word")).to_have_text("PLEASE WAIT")
        expect(signage.locator("#free")).to_have_text("No places free")
        shoot(signage, "signage-wait")
        shoot(building, "building-alert")

        # A viewer sees the alert but no Acknowledge, and the board refuses it one.
        viewer = log_in(browser, base, "watcher", f"/building/{HQ}", problems)
        seen = viewer.locator(f'li.alert[data-room="{ROOM}"][data-severity="critical"]')
        expect(seen).to_be_visible(timeout=WAIT_MS)
        expect(seen.locator("button.ack-button")).to_have_count(0)
        alert_id = seen.get_attribute("data-alert-id")
        refused = viewer.evaluate(
            """async (url) => {
                const me = await (await fetch("/api/session")).json();
                const answer = await fetch(url, {method: "POST", body: "{}",
                    headers: {"Content-Type": "application/json", "X-CSRF-Token": me.csrf}});
                return answer.status;
            }""",
            f"/api/buildings/{HQ}/alerts/{alert_id}/ack",
        )
        assert refused == 403
        problems.remove(f"403 {base}/api/buildings/{HQ}/alerts/{alert_id}/ack")

        # Acknowledge: MQTT → bridge → Kafka → the worker holding the alert → Kafka → board.
        alert.locator("button.ack-button").click()
        expect(alert).to_have_attribute("data-acked", "true", timeout=WAIT_MS)
        expect(alert.locator(".acked")).to_contain_text("Acknowledged by guard")
        expect(alert.locator("button.ack-button")).to_be_hidden()
        assert "event=board_ack_sent" in worker.output()
        assert "event=alert_acknowledged" in worker.output()
        assert building.evaluate("window.sameDocument") is True, "the page was reloaded"
        # The alert on MQTT names the account that acknowledged it.
        on_mqtt = [
            json.loads(payload)
            for _, payload, _ in alerts.wait_for(
                lambda ms: any(
                    json.loads(p)["alert_id"] == alert_id and json.loads(p)["ack"] for _, p, _ in ms
                )
            )
        ]
        assert {a["ack"]["by"] for a in on_mqtt if a["alert_id"] == alert_id and a["ack"]} == {
            "guard"
        }

        # An operator lowers a room's limit: its door says PLEASE WAIT within 2 s.
        door_sign = open_page(browser, f"{base}/signage/{HQ}/{LOWERED}", problems)
        expect(door_sign.locator("#signage")).to_have_attribute(
            "data-sign", "enter", timeout=WAIT_MS
        )
        operator = log_in(browser, base, "op", f"/building/{HQ}", problems)
        card = operator.locator(f'article.room[data-room="{LOWERED}"]')
        expect(card).to_have_attribute("data-limit", "15", timeout=WAIT_MS)
        card.locator(".limit-input").fill("5")
        clicked = time.monotonic()
        card.locator(".limit-set").click()
        expect(door_sign.locator("#signage")).to_have_attribute("data-sign", "wait", timeout=2000)
        took = time.monotonic() - clicked
        assert took < 2.0, took
        (ARTIFACTS / "signage-after-limit-s.txt").write_text(f"{took:.3f}\n")
        expect(door_sign.locator("#inside")).to_have_text("5 inside · limit 5")
        expect(card).to_have_attribute("data-status", "full", timeout=WAIT_MS)
        shoot(door_sign, "signage-lowered")
        shoot(operator, "building-operator")

        # The signage's stream: its room's state, nothing of the building's alerts.
        with urllib.request.urlopen(f"{base}/api/signage/{HQ}/{LOWERED}/events", timeout=10) as s:
            lines = [s.readline() for _ in range(4)]
        [data] = [line for line in lines if line.startswith(b"data: ")]
        assert set(json.loads(data[6:])) == {
            "room",
            "name",
            "type",
            "floor",
            "count",
            "limit",
            "capacity",
            "free",
            "status",
            "ts",
        }
        assert b"alert" not in b"".join(lines)
        picture = shoot(building, "building")
        if not README_PICTURE.exists() or os.environ.get("UPDATE_BOARD_PICTURE") == "1":
            README_PICTURE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(picture, README_PICTURE)

        assert problems == [], problems

        # The audit trail holds every action of the test, in order, with its actor.
        topic = f"{pipeline.topics}.audit"

        def trail() -> list[tuple[str, str, str, str]]:
            # Off Playwright's thread, whose event loop is running.
            with ThreadPoolExecutor(1) as reader:
                records = reader.submit(read_topics, pipeline.bootstrap, [topic]).result()[topic]
            return [
                (r.actor, r.role, r.action, r.target)
                for r in (AuditRecord.model_validate_json(record.value) for record in records)
            ]

        deadline = time.monotonic() + 30
        while len(trail()) < 6 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert trail() == [
            ("guard", "security", "login", "guard"),
            ("guard", "security", "login", "guard"),
            ("watcher", "viewer", "login", "watcher"),
            ("guard", "security", "ack", f"{HQ}/{alert_id}"),
            ("op", "operator", "login", "op"),
            ("op", "operator", "limit_set", f"{HQ}/{LOWERED}"),
        ]
    finally:
        alerts.close()
        statuses = pipeline.stop_all()
    assert set(statuses.values()) == {0}, statuses
