"""The web board's HTTP surface against a board state: pages, JSON, events, acknowledgements.

Pure HTTP behaviour, served by aiohttp's test server on loopback; the acknowledgement's way
through MQTT, the bridge, Kafka and the worker is tested in
tests/integration/alerts/test_board_live.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from alerts.board import BoardState, make_app
from ingest.clock import wall_now
from ingest.models import AckInfo, Alert, AlertAck
from ingest.site import Site
from tests.unit.alerts.test_board_state import HQ, ROOM, alert, state


class Acks:
    """Stands in for the MQTT publisher: keeps what the board asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, alert: Alert, by: str) -> AlertAck:
        self.sent.append((alert.alert_id, by))
        return AlertAck(by=by, ts=wall_now())


Scenario = Callable[[TestClient[Any, Any], BoardState, Acks], Awaitable[None]]


def serve(site: Site, scenario: Scenario) -> None:
    async def run() -> None:
        board = BoardState(site)
        acks = Acks()
        async with TestClient(TestServer(make_app(board, acks))) as client:
            await scenario(client, board, acks)

    asyncio.run(run())


async def next_event(response: ClientResponse) -> tuple[str, Any]:
    """The next `event:`/`data:` block of a server-sent event stream (comments skipped)."""
    while True:
        block = (await asyncio.wait_for(response.content.readuntil(b"\n\n"), 10)).decode()
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            return fields["event"], json.loads(fields["data"])


def test_pages_and_static_files_are_served_with_safe_headers(sample_site: Site) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, acks: Acks) -> None:
        for path, marker in [
            ("/", "index.js"),
            (f"/building/{HQ}", "building.js"),
            (f"/signage/{HQ}/{ROOM}", "signage.js"),
        ]:
            page = await client.get(path)
            assert page.status == 200, path
            assert page.content_type == "text/html"
            assert marker in await page.text()
            assert "'self'" in page.headers["Content-Security-Policy"]
        for name, kind in [
            ("board.css", "text/css"),
            ("board.js", "text/javascript"),
            ("building.js", "text/javascript"),
            ("signage.js", "text/javascript"),
            ("index.js", "text/javascript"),
            ("favicon.svg", "image/svg+xml"),
        ]:
            static = await client.get(f"/static/{name}")
            assert (static.status, static.content_type) == (200, kind), name
            assert static.headers["X-Content-Type-Options"] == "nosniff"
        for missing in [
            "/building/nowhere",
            f"/signage/{HQ}/no-room",
            "/signage/nowhere/f1-lobby",
            "/static/secret.py",
            "/static/..%2Fstate.py",
        ]:
            assert (await client.get(missing)).status == 404, missing

    serve(sample_site, scenario)


def test_the_building_json_has_every_room_and_the_active_alerts(sample_site: Site) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, acks: Acks) -> None:
        board.take_room_state(state(12))
        board.take_alert(alert("a1"))
        board.take_alert(alert("gone"))
        board.take_alert(alert("gone", state="resolved"))
        answer = await client.get(f"/api/buildings/{HQ}")
        assert answer.status == 200
        body = await answer.json()
        assert body["building"] == HQ
        assert body["caught_up"] is False
        assert body["summary"] == {"building": HQ, "rooms_over_limit": [ROOM], "headcount": 12}
        room = next(r for r in body["rooms"] if r["room"] == ROOM)
        assert {k: room[k] for k in ("count", "limit", "free", "status")} == {
            "count": 12,
            "limit": 10,
            "free": 0,
            "status": "over",
        }
        assert len(body["rooms"]) == 15
        assert [(a["alert_id"], a["state"], a["ack"]) for a in body["alerts"]] == [
            ("a1", "active", None)
        ]
        one = await client.get(f"/api/buildings/{HQ}/rooms/{ROOM}")
        assert (await one.json())["count"] == 12
        listing = await (await client.get("/api/buildings")).json()
        assert [(b["building"], b["headcount"], b["active_alerts"]) for b in listing] == [
            (HQ, 12, 1),
            ("ro-makassar", 0, 0),
        ]
        missing = await client.get("/api/buildings/nowhere")
        assert missing.status == 404
        assert "nowhere" in (await missing.json())["error"]
        assert (await client.get(f"/api/buildings/{HQ}/rooms/nope")).status == 404

    serve(sample_site, scenario)


def test_acknowledging_sends_the_ack_of_an_active_unacknowledged_alert(sample_site: Site) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, acks: Acks) -> None:
        board.take_alert(alert("a1"))
        url = f"/api/buildings/{HQ}/alerts/a1/ack"
        # Only a JSON body: a cross-site form post is refused before anything is sent.
        form = await client.post(url, data={"by": "evil"})
        assert form.status == 415
        for body in ['{"by": ""}', '{"by": 3}', "[]", "not json", json.dumps({"by": "x" * 129})]:
            bad = await client.post(url, data=body, headers={"Content-Type": "application/json"})
            assert bad.status == 400, body
        unknown = await client.post(f"/api/buildings/{HQ}/alerts/nope/ack", json={"by": "g"})
        assert unknown.status == 404
        other = await client.post("/api/buildings/ro-makassar/alerts/a1/ack", json={"by": "g"})
        assert other.status == 404
        assert acks.sent == []

        accepted = await client.post(url, json={"by": "  guard-1 "})
        assert accepted.status == 202
        body = await accepted.json()
        assert body["alert_id"] == "a1" and body["ack"]["by"] == "guard-1"
        assert acks.sent == [("a1", "guard-1")]

        # Once the alert comes back acknowledged, a second ack is refused, naming who acked.
        board.take_alert(alert("a1", ack=AckInfo(by="guard-1", ts=wall_now())))
        again = await client.post(url, json={"by": "guard-2"})
        assert again.status == 409
        assert "guard-1" in (await again.json())["error"]
        board.take_alert(alert("a1", state="resolved"))
        assert (await client.post(url, json={"by": "guard-2"})).status == 404
        assert acks.sent == [("a1", "guard-1")]

    serve(sample_site, scenario)


def test_the_event_stream_sends_the_building_now_and_after_every_change(
    sample_site: Site,
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, acks: Acks) -> None:
        stream = await client.get(f"/api/buildings/{HQ}/events")
        assert stream.status == 200
        assert stream.content_type == "text/event-stream"
        name, first = await next_event(stream)
        assert name == "building"
        assert next(r for r in first["rooms"] if r["room"] == ROOM)["count"] == 0

        board.take_room_state(state(4))
        board.take_room_state(state(5))  # a burst: the stream may skip to the latest
        board.take_alert(alert("a1"))

        def seen(view: dict[str, Any]) -> bool:
            room = next(r for r in view["rooms"] if r["room"] == ROOM)
            return room["count"] == 5 and [a["alert_id"] for a in view["alerts"]] == ["a1"]

        view = first
        while not seen(view):
            _, view = await next_event(stream)

        # Changes to another building do not wake this stream; the list of buildings does.
        listing = await client.get("/api/events")
        name, buildings = await next_event(listing)
        assert name == "buildings" and buildings[1]["headcount"] == 0
        board.take_room_state(state(7, room="f2-meeting", building="ro-makassar"))
        _, buildings = await next_event(listing)
        assert buildings[1]["headcount"] == 7
        board.take_room_state(state(6))
        _, view = await next_event(stream)
        assert next(r for r in view["rooms"] if r["room"] == ROOM)["count"] == 6
        assert (await client.get("/api/buildings/nowhere/events")).status == 404
        stream.close()
        listing.close()

    serve(sample_site, scenario)


def test_open_event_streams_end_when_the_server_shuts_down(sample_site: Site) -> None:
    async def run() -> None:
        board = BoardState(sample_site)
        server = TestServer(make_app(board, Acks()))
        client: TestClient[Any, Any] = TestClient(server)
        await client.start_server()
        try:
            stream = await client.get(f"/api/buildings/{HQ}/events")
            await next_event(stream)
            # The server's shutdown must not wait for the page to go away.
            await asyncio.wait_for(server.close(), 10)
            assert await asyncio.wait_for(stream.content.read(), 10) == b""
        finally:
            await client.close()

    asyncio.run(run())
