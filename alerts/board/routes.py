"""The board's HTTP surface: pages, JSON, server-sent events, and the acknowledge button.

Pages are static files that fetch the JSON and follow the event stream of their building;
every event carries the whole building (a few kilobytes), so a page that missed one is
whole again with the next.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib.resources import files

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from alerts.board.attendance import AttendanceBoard
from alerts.board.state import BoardState, BuildingListing
from ingest.models import Alert, AlertAck

Acknowledge = Callable[[Alert, str], AlertAck]
"""Sends a console's acknowledgement of an active alert, by whom; returns what it sent."""

STATE = web.AppKey("state", BoardState)
ACKNOWLEDGE: web.AppKey[Acknowledge] = web.AppKey("acknowledge")
CLOSING = web.AppKey("closing", asyncio.Event)
STATIC = web.AppKey("static", dict[str, bytes])
ATTENDANCE: web.AppKey[AttendanceBoard | None] = web.AppKey("attendance")

KEEPALIVE_S = 15.0
"""A comment line this often keeps proxies from closing a quiet stream and finds dead ones."""
MIN_EVENT_INTERVAL_S = 0.2
"""At most this many events a second per stream: a burst of door events is one redraw."""

_LISTING = TypeAdapter(list[BuildingListing])
_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # No inline script or style anywhere: a room or alert text can never run as code.
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(
    state: BoardState, acknowledge: Acknowledge, attendance: AttendanceBoard | None = None
) -> web.Application:
    """The board as an aiohttp application over `state` (and `attendance`, with a roster)."""
    app = web.Application(middlewares=[_security_headers])
    app[STATE] = state
    app[ACKNOWLEDGE] = acknowledge
    app[ATTENDANCE] = attendance
    app[CLOSING] = asyncio.Event()
    app[STATIC] = _static_files()
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/building/{building}", _page("building.html", building=True))
    app.router.add_get("/signage/{building}/{room}", _page("signage.html", room=True))
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/api/buildings", _buildings)
    app.router.add_get("/api/buildings/{building}", _building)
    app.router.add_get("/api/buildings/{building}/rooms/{room}", _room)
    app.router.add_get("/api/events", _listing_events)
    app.router.add_get("/api/buildings/{building}/events", _building_events)
    app.router.add_post("/api/buildings/{building}/alerts/{alert_id}/ack", _ack)
    # Attendance names people: once the board has logins (issue 17), these routes are for the
    # role `viewer` or above.
    app.router.add_get("/attendance/{building}", _page("attendance.html", building=True))
    app.router.add_get("/muster/{building}", _page("muster.html", building=True))
    app.router.add_get("/api/attendance/{building}", _attendance)
    app.router.add_get("/api/attendance/{building}/events", _attendance_events)
    app.router.add_get("/api/muster/{building}", _muster)
    return app


def _static_files() -> dict[str, bytes]:
    """The package's static files, read once (they ship as package data, zipped or not)."""
    folder = files("alerts.board").joinpath("static")
    return {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and any(entry.name.endswith(s) for s in _TYPES)
    }


@web.middleware
async def _security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        response.headers.update(_HEADERS)
    return response


def _file(request: web.Request, name: str) -> web.Response:
    body = request.app[STATIC].get(name)
    if body is None:
        raise web.HTTPNotFound(text=f"no such file: {name}")
    suffix = name[name.rfind(".") :]
    return web.Response(
        body=body,
        content_type=_TYPES[suffix],
        charset="utf-8",
        headers={"Cache-Control": "no-cache"},
    )


def _page(name: str, *, building: bool = False, room: bool = False) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        building_id = request.match_info.get("building", "")
        if building and state.site.building(building_id) is None:
            raise web.HTTPNotFound(text=f"no building {building_id!r} in the site file")
        if room and state.room(building_id, request.match_info["room"]) is None:
            raise web.HTTPNotFound(text=f"no such room in the site file: {request.path}")
        return _file(request, name)

    return handler


async def _static(request: web.Request) -> web.StreamResponse:
    return _file(request, request.match_info["name"])


def _json(body: str | bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body.encode() if isinstance(body, str) else body,
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _error(status: int, message: str) -> web.Response:
    return _json(json.dumps({"error": message}), status)


async def _buildings(request: web.Request) -> web.StreamResponse:
    return _json(_LISTING.dump_json(request.app[STATE].buildings()))


async def _building(request: web.Request) -> web.StreamResponse:
    building = request.match_info["building"]
    view = request.app[STATE].building(building)
    if view is None:
        return _error(404, f"no building {building!r} in the site file")
    return _json(view.model_dump_json())


async def _room(request: web.Request) -> web.StreamResponse:
    view = request.app[STATE].room(request.match_info["building"], request.match_info["room"])
    if view is None:
        return _error(404, f"no such room in the site file: {request.path}")
    return _json(view.model_dump_json())


async def _listing_events(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    return await _stream(
        request,
        "buildings",
        lambda: _LISTING.dump_json(state.buildings()).decode(),
        lambda: state.changed(None),
    )


async def _building_events(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    building = request.match_info["building"]
    if state.site.building(building) is None:
        return _error(404, f"no building {building!r} in the site file")

    def snapshot() -> str:
        view = state.building(building)
        assert view is not None, "buildings come from the site file, which does not change"
        return view.model_dump_json()

    return await _stream(request, "building", snapshot, lambda: state.changed(building))


def _attendance_board(request: web.Request) -> AttendanceBoard:
    board = request.app[ATTENDANCE]
    if board is None:
        raise web.HTTPNotFound(text="attendance is off: the worker has no roster (OCC_ROSTER_FILE)")
    building = request.match_info["building"]
    if request.app[STATE].site.building(building) is None:
        raise web.HTTPNotFound(text=f"no building {building!r} in the site file")
    return board


async def _attendance(request: web.Request) -> web.StreamResponse:
    view = _attendance_board(request).view(request.match_info["building"])
    assert view is not None, "the building is in the site"
    return _json(view.model_dump_json())


async def _attendance_events(request: web.Request) -> web.StreamResponse:
    board = _attendance_board(request)
    building = request.match_info["building"]

    def snapshot() -> str:
        view = board.view(building)
        assert view is not None, "the building is in the site"
        return view.model_dump_json()

    return await _stream(request, "attendance", snapshot, board.changed)


async def _muster(request: web.Request) -> web.StreamResponse:
    view = _attendance_board(request).muster(request.match_info["building"])
    assert view is not None, "the building is in the site"
    return _json(view.model_dump_json())


async def _stream(
    request: web.Request,
    name: str,
    snapshot: Callable[[], str],
    changed: Callable[[], asyncio.Event],
) -> web.StreamResponse:
    """Server-sent events: `name` with the snapshot now, and again after every change."""
    response = web.StreamResponse(
        headers={
            **_HEADERS,
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx in front must not hold events back
        }
    )
    await response.prepare(request)
    closing = request.app[CLOSING]
    try:
        await response.write(b"retry: 2000\n\n")
        while not closing.is_set():
            change = changed()
            await response.write(f"event: {name}\ndata: {snapshot()}\n\n".encode())
            await asyncio.sleep(MIN_EVENT_INTERVAL_S)
            while not await _first(change, closing, KEEPALIVE_S):
                await response.write(b": keepalive\n\n")
    except ConnectionResetError:
        pass  # the page went away
    return response


async def _first(change: asyncio.Event, closing: asyncio.Event, within: float) -> bool:
    """Wait for `change` or `closing`; False when neither came `within` seconds."""
    waits = {asyncio.ensure_future(change.wait()), asyncio.ensure_future(closing.wait())}
    try:
        done, _ = await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return bool(done)


async def _close_streams(app: web.Application) -> None:
    app[CLOSING].set()


async def _ack(request: web.Request) -> web.StreamResponse:
    # A JSON body only: a cross-site form cannot send one without the browser asking first.
    if request.content_type != "application/json":
        return _error(415, 'send the acknowledgement as application/json: {"by": name}')
    state = request.app[STATE]
    building, alert_id = request.match_info["building"], request.match_info["alert_id"]
    alert = state.alert(building, alert_id)
    if alert is None:
        return _error(404, f"no active alert {alert_id!r} in {building!r}")
    if alert.ack is not None:
        return _error(409, f"alert {alert_id!r} is already acknowledged by {alert.ack.by!r}")
    try:
        body = await request.json()
    except ValueError:
        body = None
    by = body.get("by") if isinstance(body, dict) else None
    if not isinstance(by, str):
        return _error(400, 'the body must be a JSON object {"by": name}')
    try:
        by = AlertAck(by=by.strip()).by
    except ValidationError:
        return _error(400, "`by` must be 1 to 128 characters")
    sent = request.app[ACKNOWLEDGE](alert, by)
    return _json(json.dumps({"alert_id": alert_id, "ack": sent.model_dump(mode="json")}), 202)
