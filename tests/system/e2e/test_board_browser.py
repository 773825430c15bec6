"""The web board in headless Chromium (Debian's `chromium`, driven by Playwright) on the real
pipeline: door events over MQTT change a room's count on the open building page without a
reload, going over the limit shows an alert, its Acknowledge button brings it back
acknowledged, and the room's door signage flips from ENTER to PLEASE WAIT.

Screenshots of every page go to artifacts/board/. The building page's becomes the README's
picture, deploy/docs/board.png, when that is missing or UPDATE_BOARD_PICTURE=1 (so a
test run does not change a committed file by its clock alone).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Response, expect, sync_playwright

from tests.integration.alerts.test_board_live import board_settings, free_port
from tests.integration.processors.test_worker import door
from tests.support.mqtt import publish
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
        if message.type == "error":
            problems.append(f"{url}: {message.text}")

    def response(answer: Response) -> None:
        if answer.status >= 400:
            problems.append(f"{answer.status} {answer.url}")

    page.on("console", console)
    page.on("response", response)
    page.on("pageerror", lambda error: problems.append(f"{url}: {error}"))
    page.goto(url)
    return page


def shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_the_building_page_and_signage_follow_the_room_live(
    stack_env: dict[str, str], tmp_path: Path, browser: Browser
) -> None:
    port = free_port()
    pipeline = Pipeline(stack_env, tmp_path, **board_settings(port))
    base = f"http://127.0.0.1:{port}"
    problems: list[str] = []
    try:
        pipeline.bridge()
        worker = pipeline.worker("a")
        worker.wait_for(f"event=board_listening url={base}/")
        publish(
            pipeline.mqtt_url,
            [door(pipeline.prefix, 1, people, 0, room) for room, people in BACKDROP],
            "backdrop",
        )

        building = open_page(browser, f"{base}/building/{HQ}", problems)
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

        index = open_page(browser, f"{base}/", problems)
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

        # Acknowledge: MQTT → bridge → Kafka → the worker holding the alert → Kafka → board.
        building.fill("#ack-by", "guard-e2e")
        alert.locator("button.ack-button").click()
        expect(alert).to_have_attribute("data-acked", "true", timeout=WAIT_MS)
        expect(alert.locator(".acked")).to_contain_text("Acknowledged by guard-e2e")
        expect(alert.locator("button.ack-button")).to_be_hidden()
        assert "event=board_ack_sent" in worker.output()
        assert "event=alert_acknowledged" in worker.output()
        assert building.evaluate("window.sameDocument") is True, "the page was reloaded"
        picture = shoot(building, "building")
        if not README_PICTURE.exists() or os.environ.get("UPDATE_BOARD_PICTURE") == "1":
            README_PICTURE.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(picture, README_PICTURE)

        assert problems == [], problems
    finally:
        statuses = pipeline.stop_all()
    assert set(statuses.values()) == {0}, statuses
