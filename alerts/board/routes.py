"""The board's HTTP surface: pages, JSON, server-sent events, logins and the console's actions.

Pages are static files that fetch the JSON and follow an event stream; every event carries
the whole building (a few kilobytes), serialised once per change whoever follows it. Door
signage is public and read-only, on a stream of its room alone; everything else needs a
login (`accounts.py`), and each action a role: acknowledge and resolve `security`, limits
and levels `operator`, the audit trail `admin`. A POST passes, in this order: the Host and
Origin allowlist (403), a session (401, before anything says whether its target exists),
the session's CSRF token (403), the role (403).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp_session import get_session, new_session
from aiohttp_session import setup as setup_sessions
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography.fernet import Fernet

from alerts.board.accounts import Account, Accounts, BoardRole, LockedError, may
from alerts.board.attendance import AttendanceBoard
from alerts.board.state import BoardState, safe_json
from ingest.audit import Action, AuditRecord, Role
from ingest.models import Alert, AlertAck
from ingest.settings import Settings


class Console(Protocol):
    """What the board's actions do in the pipeline (the worker's `Board` implements it)."""

    def acknowledge(self, alert: Alert, by: str) -> AlertAck:
        """Send an acknowledgement of an active alert, by an account; return what was sent."""
        ...

    async def resolve(self, alert: Alert, by: str, reason: str) -> None:
        """Resolve an active alert by hand, by an account, for a reason."""
        ...

    async def set_limit(self, building: str, room: str, limit: int | None, by: str) -> None:
        """Override a room's limit (None: back to the site file's) for every worker."""
        ...

    async def set_level(self, building: str, level: str, by: str) -> None:
        """Set a building's policy level for every worker."""
        ...

    def audit(self, record: AuditRecord) -> None:
        """Append a record to the audit trail."""
        ...

    def recent_audit(self) -> list[AuditRecord]:
        """The latest records of the audit trail, oldest first."""
        ...


@dataclass(frozen=True)
class Guard:
    """Who may log in, and how sessions and requests are checked."""

    accounts: Accounts
    session_key: Fernet
    hosts: frozenset[str]
    secure_cookie: bool = False
    max_age_s: int = 12 * 3600
    max_streams: int = 200
    login_delay_s: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        key = settings.board_session_key
        return cls(
            accounts=Accounts(
                settings.users_file,
                settings.pipeline_clock,
                max_failures=settings.board_login_max_failures,
                lockout=timedelta(seconds=settings.board_lockout_s),
            ),
            session_key=Fernet(key.get_secret_value() if key else Fernet.generate_key()),
            hosts=settings.board_hosts,
            secure_cookie=settings.board_secure_cookie,
            max_age_s=int(settings.board_session_max_age_s),
            max_streams=settings.board_max_streams,
            login_delay_s=settings.board_login_delay_s,
        )


STATE = web.AppKey("state", BoardState)
CONSOLE: web.AppKey[Console] = web.AppKey("console")
GUARD = web.AppKey("guard", Guard)
CLOCK: web.AppKey[Callable[[], datetime]] = web.AppKey("clock")
CLOSING = web.AppKey("closing", asyncio.Event)
STATIC = web.AppKey("static", dict[str, bytes])
STREAMS = web.AppKey("streams", list[int])
ATTENDANCE: web.AppKey[AttendanceBoard | None] = web.AppKey("attendance")

SESSION_COOKIE = "occ_session"
CSRF_HEADER = "X-CSRF-Token"
KEEPALIVE_S = 15.0
"""A comment line this often keeps proxies from closing a quiet stream and finds dead ones."""
MIN_EVENT_INTERVAL_S = 0.2
"""At most this many events a second per stream: a burst of door events is one redraw."""
MAX_REASON = 500

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
AccountHandler = Callable[[web.Request, Account], Awaitable[web.StreamResponse]]


def make_app(
    state: BoardState,
    console: Console,
    guard: Guard,
    now: Callable[[], datetime],
    attendance: AttendanceBoard | None = None,
) -> web.Application:
    """The board as an aiohttp application over `state` (and `attendance`, with a roster);
    `now` is the pipeline clock's."""
    app = web.Application(middlewares=[_security_headers, _allowed_origin])
    setup_sessions(
        app,
        EncryptedCookieStorage(
            guard.session_key,
            cookie_name=SESSION_COOKIE,
            max_age=guard.max_age_s,
            secure=guard.secure_cookie,
            httponly=True,
            samesite="Strict",
        ),
    )
    app[STATE] = state
    app[CONSOLE] = console
    app[GUARD] = guard
    app[CLOCK] = now
    app[ATTENDANCE] = attendance
    app[CLOSING] = asyncio.Event()
    app[STATIC] = _static_files()
    app[STREAMS] = [0]
    app.on_shutdown.append(_close_streams)
    app.router.add_get("/", _page("index.html"))
    app.router.add_get("/login", _page("login.html"))
    app.router.add_get("/building/{building}", _page("building.html", building=True))
    app.router.add_get("/signage/{building}/{room}", _page("signage.html", room=True))
    app.router.add_get("/static/{name}", _static)
    app.router.add_get("/api/session", _session_info)
    app.router.add_post("/api/login", _login)
    app.router.add_post("/api/logout", _requires("viewer", _logout))
    app.router.add_get("/api/buildings", _requires("viewer", _buildings))
    app.router.add_get("/api/buildings/{building}", _requires("viewer", _building))
    app.router.add_get("/api/buildings/{building}/rooms/{room}", _requires("viewer", _room))
    app.router.add_get("/api/events", _requires("viewer", _listing_events))
    app.router.add_get("/api/buildings/{building}/events", _requires("viewer", _building_events))
    app.router.add_get("/api/signage/{building}/{room}", _signage)
    app.router.add_get("/api/signage/{building}/{room}/events", _signage_events)
    app.router.add_post(
        "/api/buildings/{building}/alerts/{alert_id}/ack", _requires("security", _ack)
    )
    app.router.add_post(
        "/api/buildings/{building}/alerts/{alert_id}/resolve", _requires("security", _resolve)
    )
    app.router.add_post(
        "/api/buildings/{building}/rooms/{room}/limit", _requires("operator", _limit)
    )
    app.router.add_post("/api/buildings/{building}/policy", _requires("operator", _policy))
    app.router.add_get("/api/audit", _requires("admin", _audit))
    # Attendance names people (by pseudonym unless OCC_BOARD_SHOW_NAMES): a login is needed.
    app.router.add_get("/attendance/{building}", _page("attendance.html", building=True))
    app.router.add_get("/muster/{building}", _page("muster.html", building=True))
    app.router.add_get("/api/attendance/{building}", _requires("viewer", _attendance))
    app.router.add_get("/api/attendance/{building}/events", _requires("viewer", _attendance_events))
    app.router.add_get("/api/muster/{building}", _requires("viewer", _muster))
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
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # The router's own 404 and 405 too: plain text that repeats nothing of the request.
        response = web.Response(status=exc.status, text=exc.reason, content_type="text/plain")
    if not response.prepared:
        response.headers.update(_HEADERS)
    return response


def _host_of(value: str) -> str:
    try:
        return (urlsplit(f"//{value}").hostname or "").lower()
    except ValueError:
        return ""


@web.middleware
async def _allowed_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
    # DNS rebinding: a name of the attacker's that resolves here carries its own Host.
    hosts = request.app[GUARD].hosts
    if _host_of(request.headers.get("Host", "")) not in hosts:
        return _error(403, "this board does not answer to that host name")
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        origin = request.headers.get("Origin")
        # Browsers send Origin with every POST; a request without one is no page's.
        if origin is not None and (
            origin == "null" or _host_of(urlsplit(origin).netloc) not in hosts
        ):
            return _error(403, "requests from another site are refused")
    return await handler(request)


def _file(request: web.Request, name: str) -> web.Response:
    body = request.app[STATIC].get(name)
    if body is None:
        raise web.HTTPNotFound(text="no such file")
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
            raise web.HTTPNotFound(text="no such building in the site file")
        if room and state.room(building_id, request.match_info["room"]) is None:
            raise web.HTTPNotFound(text="no such room in the site file")
        return _file(request, name)

    return handler


async def _static(request: web.Request) -> web.StreamResponse:
    return _file(request, request.match_info["name"])


def _json(body: str | bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=safe_json(body.encode() if isinstance(body, str) else body),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _error(status: int, message: str) -> web.Response:
    # Messages never repeat what the request said: nothing of it can come back as markup.
    return _json(json.dumps({"error": message}), status)


def _record(
    request: web.Request, actor: str, role: Role, action: Action, target: str, *, detail: str = ""
) -> None:
    request.app[CONSOLE].audit(
        AuditRecord(
            ts=request.app[CLOCK](),
            actor=_text(actor, 256),
            role=role,
            action=action,
            target=_text(target, 256),
            detail=_text(detail, 1024, empty=""),
        )
    )


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (`"\\ud800"` in the JSON)
        return False
    return True


def _text(value: str, most: int, empty: str = "-") -> str:
    """What a request said, as a record can hold it: valid UTF-8, bounded, never empty."""
    return value.encode("utf-8", "replace").decode()[:most] or empty


async def _account(request: web.Request) -> Account | None:
    """The account of the request's session, as the users file has it now."""
    session = await get_session(request)
    name = session.get("user")
    if not isinstance(name, str):
        return None
    account = request.app[GUARD].accounts.get(name)
    # A removed account, or a new password, ends its sessions.
    if account is None or session.get("hash") != account.hash[-16:]:
        session.invalidate()
        return None
    return account


def _requires(role: BoardRole, action: AccountHandler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        account = await _account(request)
        if account is None:
            return _error(401, "log in first")
        if request.method == "POST":
            session = await get_session(request)
            token = request.headers.get(CSRF_HEADER, "")
            expected = session.get("csrf")
            if not isinstance(expected, str) or not hmac.compare_digest(
                token.encode(), expected.encode()
            ):
                return _error(403, f"the {CSRF_HEADER} header of this session is missing")
        if not may(account.role, role):
            return _error(403, f"this needs the role {role} or above")
        return await action(request, account)

    return handler


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    # A JSON body only: a cross-site form cannot send one without the browser asking first.
    if request.content_type != "application/json":
        return _error(415, "send a JSON object (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    return body


async def _session_info(request: web.Request) -> web.StreamResponse:
    account = await _account(request)
    if account is None:
        return _error(401, "log in first")
    session = await get_session(request)
    return _json(json.dumps({"user": account.name, "role": account.role, "csrf": session["csrf"]}))


async def _login(request: web.Request) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    name, password = body.get("name"), body.get("password")
    if not isinstance(name, str) or not isinstance(password, str) or not _utf8(name + password):
        return _error(400, 'the body must be {"name": ..., "password": ...} in UTF-8')
    guard = request.app[GUARD]
    try:
        account = await guard.accounts.verify(name, password)
    except LockedError as locked:
        await asyncio.sleep(guard.login_delay_s)
        _record(
            request,
            name,
            "system",
            "account_locked",
            name,
            detail=f"until {locked.until.isoformat()}",
        )
        return _error(423, "this account is locked after too many failed logins; try later")
    if account is None:
        # Slowed: a guesser gets one try a `login_delay_s` per connection.
        await asyncio.sleep(guard.login_delay_s)
        _record(request, name, "system", "login_failed", name)
        return _error(401, "wrong name or password")
    old = await get_session(request)
    old.invalidate()
    session = await new_session(request)  # a fresh one: no session fixation
    session["user"] = account.name
    session["hash"] = account.hash[-16:]
    session["csrf"] = secrets.token_urlsafe(32)
    _record(request, account.name, account.role, "login", account.name)
    return _json(json.dumps({"user": account.name, "role": account.role, "csrf": session["csrf"]}))


async def _logout(request: web.Request, account: Account) -> web.StreamResponse:
    (await get_session(request)).invalidate()
    _record(request, account.name, account.role, "logout", account.name)
    return _json(json.dumps({"user": None}))


async def _buildings(request: web.Request, account: Account) -> web.StreamResponse:
    return _json(request.app[STATE].listing_json())


def _personal(account: Account) -> bool:
    return may(account.role, "security")


async def _building(request: web.Request, account: Account) -> web.StreamResponse:
    body = request.app[STATE].building_json(
        request.match_info["building"], personal=_personal(account)
    )
    if body is None:
        return _error(404, "no such building in the site file")
    return _json(body)


async def _room(request: web.Request, account: Account) -> web.StreamResponse:
    body = request.app[STATE].room_json(request.match_info["building"], request.match_info["room"])
    if body is None:
        return _error(404, "no such room in the site file")
    return _json(body)


async def _signage(request: web.Request) -> web.StreamResponse:
    body = request.app[STATE].room_json(request.match_info["building"], request.match_info["room"])
    if body is None:
        return _error(404, "no such room in the site file")
    return _json(body)


async def _listing_events(request: web.Request, account: Account) -> web.StreamResponse:
    state = request.app[STATE]
    return await _stream(request, "buildings", state.listing_json, lambda: state.changed(None))


async def _building_events(request: web.Request, account: Account) -> web.StreamResponse:
    state = request.app[STATE]
    building = request.match_info["building"]
    if state.site.building(building) is None:
        return _error(404, "no such building in the site file")
    personal = _personal(account)

    def snapshot() -> bytes:
        body = state.building_json(building, personal=personal)
        assert body is not None, "buildings come from the site file, which does not change"
        return body

    return await _stream(request, "building", snapshot, lambda: state.changed(building))


async def _signage_events(request: web.Request) -> web.StreamResponse:
    """A door's stream: its room's state and nothing else, and only when that changes."""
    state = request.app[STATE]
    building, room = request.match_info["building"], request.match_info["room"]
    if state.room(building, room) is None:
        return _error(404, "no such room in the site file")

    def snapshot() -> bytes:
        body = state.room_json(building, room)
        assert body is not None, "rooms of the site file stay"
        return body

    return await _stream(request, "room", snapshot, lambda: state.changed(building))


def _attendance_board(request: web.Request) -> AttendanceBoard | web.Response:
    """The attendance of the request's building, or the 404 that says why there is none."""
    board = request.app[ATTENDANCE]
    if board is None:
        return _error(404, "attendance is off: the worker has no roster (OCC_ROSTER_FILE)")
    if request.app[STATE].site.building(request.match_info["building"]) is None:
        return _error(404, "no such building in the site file")
    return board


async def _attendance(request: web.Request, account: Account) -> web.StreamResponse:
    board = _attendance_board(request)
    if isinstance(board, web.Response):
        return board
    view = board.view(request.match_info["building"])
    assert view is not None, "the building is in the site"
    return _json(view.model_dump_json())


async def _attendance_events(request: web.Request, account: Account) -> web.StreamResponse:
    board = _attendance_board(request)
    if isinstance(board, web.Response):
        return board
    building = request.match_info["building"]
    attendance = board

    def snapshot() -> bytes:
        view = attendance.view(building)
        assert view is not None, "the building is in the site"
        return view.model_dump_json().encode()

    return await _stream(request, "attendance", snapshot, attendance.changed)


async def _muster(request: web.Request, account: Account) -> web.StreamResponse:
    board = _attendance_board(request)
    if isinstance(board, web.Response):
        return board
    view = board.muster(request.match_info["building"])
    assert view is not None, "the building is in the site"
    return _json(view.model_dump_json())


async def _stream(
    request: web.Request,
    name: str,
    snapshot: Callable[[], bytes],
    changed: Callable[[], asyncio.Event],
) -> web.StreamResponse:
    """Server-sent events: `name` with the snapshot now, and again after every change of it."""
    streams = request.app[STREAMS]
    if streams[0] >= request.app[GUARD].max_streams:
        return _error(503, "too many live pages on this board; try again shortly")
    streams[0] += 1
    try:
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
        sent: bytes | None = None
        try:
            await response.write(b"retry: 2000\n\n")
            while not closing.is_set():
                change = changed()
                body = snapshot()
                if body != sent:
                    await response.write(b"event: " + name.encode() + b"\ndata: " + body + b"\n\n")
                    sent = body
                await asyncio.sleep(MIN_EVENT_INTERVAL_S)
                while not await _first(change, closing, KEEPALIVE_S):
                    await response.write(b": keepalive\n\n")
        except ConnectionResetError:
            pass  # the page went away
        return response
    finally:
        streams[0] -= 1


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


async def _ack(request: web.Request, account: Account) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    state = request.app[STATE]
    building, alert_id = request.match_info["building"], request.match_info["alert_id"]
    alert = state.alert(building, alert_id)
    if alert is None or (alert.kind == "health_screening" and not _personal(account)):
        return _error(404, "no such active alert in this building")
    if alert.ack is not None:
        return _error(409, f"this alert is already acknowledged by {alert.ack.by!r}")
    sent = request.app[CONSOLE].acknowledge(alert, account.name)
    _record(request, account.name, account.role, "ack", f"{building}/{alert_id}", detail=alert.kind)
    return _json(json.dumps({"alert_id": alert_id, "ack": sent.model_dump(mode="json")}), 202)


async def _resolve(request: web.Request, account: Account) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    state = request.app[STATE]
    building, alert_id = request.match_info["building"], request.match_info["alert_id"]
    alert = state.alert(building, alert_id)
    if alert is None or (alert.kind == "health_screening" and not _personal(account)):
        return _error(404, "no such active alert in this building")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or not _utf8(reason):
        return _error(400, '"reason" says why the alert is resolved by hand')
    reason = reason.strip()[:MAX_REASON]
    await request.app[CONSOLE].resolve(alert, account.name, reason)
    _record(request, account.name, account.role, "resolve", f"{building}/{alert_id}", detail=reason)
    return _json(json.dumps({"alert_id": alert_id, "resolved_by": account.name}), 202)


async def _limit(request: web.Request, account: Account) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    building, room = request.match_info["building"], request.match_info["room"]
    if request.app[STATE].site.room(building, room) is None:
        return _error(404, "no such room in the site file")
    limit = body.get("limit", -1)
    if limit is not None and (
        not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 100_000
    ):
        return _error(400, '"limit" is a whole number of people from 0 to 100000, or null')
    await request.app[CONSOLE].set_limit(building, room, limit, account.name)
    _record(
        request,
        account.name,
        account.role,
        "limit_cleared" if limit is None else "limit_set",
        f"{building}/{room}",
        detail="" if limit is None else f"limit {limit}",
    )
    return _json(json.dumps({"building": building, "room": room, "limit": limit}), 202)


async def _policy(request: web.Request, account: Account) -> web.StreamResponse:
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    building = request.match_info["building"]
    site = request.app[STATE].site
    if site.building(building) is None:
        return _error(404, "no such building in the site file")
    level = body.get("level")
    if not isinstance(level, str) or level not in site.policy.levels:
        return _error(400, f'"level" is one of {", ".join(sorted(site.policy.levels))}')
    await request.app[CONSOLE].set_level(building, level, account.name)
    _record(request, account.name, account.role, "policy_set", building, detail=f"level {level}")
    return _json(json.dumps({"building": building, "level": level}), 202)


async def _audit(request: web.Request, account: Account) -> web.StreamResponse:
    records = request.app[CONSOLE].recent_audit()
    return _json("[" + ",".join(r.model_dump_json() for r in reversed(records)) + "]")
