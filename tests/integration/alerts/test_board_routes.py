"""The web board's HTTP surface against a board state: pages, JSON, events, logins, roles,
CSRF and origin checks, and the console's actions with their audit records.

Pure HTTP behaviour, served by aiohttp's test server on loopback; the actions' way through
MQTT, Kafka and the workers is tested in tests/integration/alerts/test_board_live.py and
the browser test.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from alerts.board import BoardState, make_app
from alerts.board.accounts import Account, Accounts, hash_password, write_users
from alerts.board.routes import CSRF_HEADER, SESSION_COOKIE, Guard
from ingest.audit import AuditRecord
from ingest.clock import wall_now
from ingest.models import AckInfo, Alert, AlertAck
from ingest.site import Site
from tests.support.strategies import hostile_text
from tests.unit.alerts.test_board_state import HQ, ROOM, alert, state

PASSWORD = "correct horse battery"
USERS = {"watcher": "viewer", "guard": "security", "op": "operator", "root": "admin"}
_HASH = hash_password(PASSWORD)


class Console:
    """Stands in for the worker's board: keeps what the routes asked the pipeline to do."""

    def __init__(self) -> None:
        self.acks: list[tuple[str, str]] = []
        self.resolves: list[tuple[str, str, str]] = []
        self.limits: list[tuple[str, str, int | None, str]] = []
        self.levels: list[tuple[str, str, str]] = []
        self.records: list[AuditRecord] = []

    def acknowledge(self, alert: Alert, by: str) -> AlertAck:
        self.acks.append((alert.alert_id, by))
        return AlertAck(by=by, ts=wall_now())

    async def resolve(self, alert: Alert, by: str, reason: str) -> None:
        self.resolves.append((alert.alert_id, by, reason))

    async def set_limit(self, building: str, room: str, limit: int | None, by: str) -> None:
        self.limits.append((building, room, limit, by))

    async def set_level(self, building: str, level: str, by: str) -> None:
        self.levels.append((building, level, by))

    def audit(self, record: AuditRecord) -> None:
        self.records.append(record)

    def recent_audit(self) -> list[AuditRecord]:
        return list(self.records)

    def actions(self) -> list[tuple[str, str, str]]:
        return [(r.actor, r.action, r.target) for r in self.records]


Scenario = Callable[[TestClient[Any, Any], BoardState, Console], Awaitable[None]]


def guard_for(tmp_path: Path, **changes: Any) -> Guard:
    users = tmp_path / "users.json"
    write_users(users, {n: Account(n, r, _HASH) for n, r in USERS.items()})  # type: ignore[arg-type]

    class Clock:
        def now(self) -> Any:
            return wall_now()

    accounts = Accounts(users, Clock(), max_failures=10, lockout=timedelta(minutes=15))  # type: ignore[arg-type]
    base = {
        "accounts": accounts,
        "session_key": Fernet(Fernet.generate_key()),
        "hosts": frozenset({"127.0.0.1", "localhost"}),
        "login_delay_s": 0.0,
    }
    return Guard(**{**base, **changes})


def serve(site: Site, tmp_path: Path, scenario: Scenario, **guard: Any) -> None:
    async def run() -> None:
        board = BoardState(site)
        console = Console()
        app = make_app(board, console, guard_for(tmp_path, **guard), wall_now)
        async with TestClient(TestServer(app)) as client:
            await scenario(client, board, console)

    asyncio.run(run())


async def login(client: TestClient[Any, Any], name: str, password: str = PASSWORD) -> str:
    """Log in as `name`; the session's CSRF token."""
    answer = await client.post("/api/login", json={"name": name, "password": password})
    assert answer.status == 200, await answer.text()
    token: str = (await answer.json())["csrf"]
    return token


async def post(
    client: TestClient[Any, Any], url: str, body: object, token: str | None = None, **headers: str
) -> ClientResponse:
    if token is not None:
        headers[CSRF_HEADER] = token
    return await client.post(url, json=body, headers=headers)


async def next_event(response: ClientResponse) -> tuple[str, Any]:
    """The next `event:`/`data:` block of a server-sent event stream (comments skipped)."""
    while True:
        block = (await asyncio.wait_for(response.content.readuntil(b"\n\n"), 10)).decode()
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":")
        )
        if "event" in fields:
            return fields["event"], json.loads(fields["data"])


ACK = f"/api/buildings/{HQ}/alerts/a1/ack"
LIMIT = f"/api/buildings/{HQ}/rooms/{ROOM}/limit"
POLICY = f"/api/buildings/{HQ}/policy"
RESOLVE = f"/api/buildings/{HQ}/alerts/a1/resolve"
STATE_CHANGING = [
    (ACK, {}),
    (RESOLVE, {"reason": "done"}),
    (f"/api/buildings/{HQ}/alerts/nope/resolve", {"reason": "done"}),
    (f"/api/buildings/{HQ}/alerts/no-such-alert/ack", {}),
    ("/api/buildings/nowhere/alerts/a1/ack", {}),
    (LIMIT, {"limit": 3}),
    ("/api/buildings/nowhere/rooms/nothing/limit", {"limit": 3}),
    (POLICY, {"level": "strict"}),
    ("/api/buildings/nowhere/policy", {"level": "strict"}),
    ("/api/logout", {}),
]


def test_pages_and_signage_are_public_and_everything_else_needs_a_login(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        for path, marker in [
            ("/", "index.js"),
            ("/login", "login.js"),
            (f"/building/{HQ}", "building.js"),
            (f"/signage/{HQ}/{ROOM}", "signage.js"),
        ]:
            page = await client.get(path)
            assert page.status == 200, path
            assert page.content_type == "text/html"
            assert marker in await page.text()
            assert "'self'" in page.headers["Content-Security-Policy"]
        for name in ("board.css", "board.js", "building.js", "signage.js", "login.js"):
            static = await client.get(f"/static/{name}")
            assert static.status == 200, name
            assert static.headers["X-Content-Type-Options"] == "nosniff"
        for missing in ["/building/nowhere", f"/signage/{HQ}/no-room", "/static/..%2Fstate.py"]:
            assert (await client.get(missing)).status == 404, missing
        for api in [
            "/api/buildings",
            f"/api/buildings/{HQ}",
            f"/api/buildings/{HQ}/rooms/{ROOM}",
            f"/api/buildings/{HQ}/events",
            "/api/events",
            "/api/session",
            "/api/audit",
        ]:
            assert (await client.get(api)).status == 401, api
        signage = await client.get(f"/api/signage/{HQ}/{ROOM}")
        assert signage.status == 200
        assert (await signage.json())["room"] == ROOM

    serve(sample_site, tmp_path, scenario)


def test_every_state_changing_request_needs_a_session_then_its_token_then_an_origin_of_ours(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        board.take_alert(alert("a1"))
        # 401 whatever the target: nothing says whether it exists.
        for url, body in STATE_CHANGING:
            answer = await post(client, url, body)
            assert answer.status == 401, url
            assert (await answer.json()) == {"error": "log in first"}
        token = await login(client, "root")
        for url, body in STATE_CHANGING:
            assert (await post(client, url, body)).status == 403, url
            assert (await post(client, url, body, "forged")).status == 403, url
            foreign = await post(client, url, body, token, Origin="http://evil.example")
            assert foreign.status == 403, url
            rebound = await post(client, url, body, token, Origin="null")
            assert rebound.status == 403, url
        # DNS rebinding: the attacker's name for this address is refused on every request.
        assert (await client.get("/", headers={"Host": "evil.example"})).status == 403
        assert (
            await client.get(f"/api/signage/{HQ}/{ROOM}", headers={"Host": "x.test"})
        ).status == 403
        assert console.acks == [] and console.limits == [] and console.levels == []
        assert console.resolves == []
        ours = await post(client, ACK, {}, token, Origin=str(client.make_url("")).rstrip("/"))
        assert ours.status == 202
        assert console.acks == [("a1", "root")]

    serve(sample_site, tmp_path, scenario)


def test_roles_decide_who_sees_health_alerts_who_acknowledges_and_who_sets_limits(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        board.take_alert(alert("a1"))
        board.take_alert(alert("h1", kind="health_screening", room=None, message="p-x 38.2 C"))
        token = await login(client, "watcher")
        view = await (await client.get(f"/api/buildings/{HQ}")).json()
        assert [a["alert_id"] for a in view["alerts"]] == ["a1"]
        stream = await client.get(f"/api/buildings/{HQ}/events")
        _, streamed = await next_event(stream)
        assert [a["alert_id"] for a in streamed["alerts"]] == ["a1"]
        stream.close()
        session = await (await client.get("/api/session")).json()
        assert session == {"user": "watcher", "role": "viewer", "csrf": token}
        for url, body in [(ACK, {}), (LIMIT, {"limit": 2}), (POLICY, {"level": "strict"})]:
            refused = await post(client, url, body, token)
            assert refused.status == 403, url
        assert (await client.get("/api/audit")).status == 403

        token = await login(client, "guard")
        view = await (await client.get(f"/api/buildings/{HQ}")).json()
        assert {a["alert_id"] for a in view["alerts"]} == {"a1", "h1"}
        assert (await post(client, LIMIT, {"limit": 2}, token)).status == 403
        accepted = await post(client, ACK, {"by": "someone else"}, token)
        assert accepted.status == 202
        assert (await accepted.json())["ack"]["by"] == "guard"  # the account, not the body
        board.take_alert(alert("a1", ack=AckInfo(by="guard", ts=wall_now())))
        again = await post(client, ACK, {}, token)
        assert again.status == 409
        missing = await post(client, f"/api/buildings/{HQ}/alerts/nope/ack", {}, token)
        assert missing.status == 404

        token = await login(client, "op")
        for bad in [{"limit": -1}, {"limit": "3"}, {"limit": True}, {}, {"limit": 100_001}]:
            assert (await post(client, LIMIT, bad, token)).status == 400, bad
        assert (await post(client, LIMIT, {"limit": 2}, token)).status == 202
        assert (await post(client, LIMIT, {"limit": None}, token)).status == 202
        assert (await post(client, POLICY, {"level": "no-such-level"}, token)).status == 400
        assert (await post(client, POLICY, {"level": "strict"}, token)).status == 202
        assert console.limits == [(HQ, ROOM, 2, "op"), (HQ, ROOM, None, "op")]
        assert console.levels == [(HQ, "strict", "op")]
        assert (await client.get("/api/audit")).status == 403

        await login(client, "root")
        trail = await (await client.get("/api/audit")).json()
        assert [(r["actor"], r["action"]) for r in trail][:3] == [
            ("root", "login"),
            ("op", "policy_set"),
            ("op", "limit_cleared"),
        ]
        assert console.actions() == [
            ("watcher", "login", "watcher"),
            ("guard", "login", "guard"),
            ("guard", "ack", f"{HQ}/a1"),
            ("op", "login", "op"),
            ("op", "limit_set", f"{HQ}/{ROOM}"),
            ("op", "limit_cleared", f"{HQ}/{ROOM}"),
            ("op", "policy_set", HQ),
            ("root", "login", "root"),
        ]
        assert [r.role for r in console.records][:3] == ["viewer", "security", "security"]

    serve(sample_site, tmp_path, scenario)


def test_ten_wrong_passwords_lock_the_account_and_cookies_are_locked_down(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        answer = await client.post("/api/login", json={"name": "guard", "password": PASSWORD})
        cookie = answer.headers["Set-Cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" in cookie
        assert PASSWORD not in cookie and "guard" not in cookie  # encrypted
        for _ in range(9):
            wrong = await client.post("/api/login", json={"name": "guard", "password": "guess"})
            assert wrong.status == 401
        locked = await client.post("/api/login", json={"name": "guard", "password": "guess"})
        assert locked.status == 423
        right = await client.post("/api/login", json={"name": "guard", "password": PASSWORD})
        assert right.status == 423
        unknown = await client.post("/api/login", json={"name": "nobody", "password": "x"})
        assert unknown.status == 401
        actions = [a for _, a, _ in console.actions()]
        assert actions == [
            "login",
            *["login_failed"] * 9,
            "account_locked",
            "account_locked",
            "login_failed",
        ]
        # Another account is not locked with it.
        await login(client, "op")

    serve(sample_site, tmp_path, scenario, secure_cookie=True)


def test_the_signage_stream_carries_its_room_alone(sample_site: Site, tmp_path: Path) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        board.take_alert(alert("h1", kind="health_screening", room=None, message="p-x 38.2 C"))
        stream = await client.get(f"/api/signage/{HQ}/{ROOM}/events")
        assert stream.status == 200
        name, first = await next_event(stream)
        assert name == "room" and first["room"] == ROOM and first["count"] == 0
        board.take_alert(alert("h2", kind="health_screening", room=None, message="p-y 39 C"))
        board.take_room_state(state(3, room="f1-prayer"))  # another room: nothing sent
        board.take_room_state(state(12))
        name, view = await next_event(stream)
        assert (view["count"], view["status"]) == (12, "over")
        assert set(view) == set(first)  # a room's fields, nothing of alerts
        stream.close()
        assert (await client.get(f"/api/signage/{HQ}/nope/events")).status == 404

    serve(sample_site, tmp_path, scenario)


def test_live_pages_are_capped_and_a_snapshot_is_serialised_once_per_change(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        first = board.building_json(HQ, personal=True)
        assert first is board.building_json(HQ, personal=True)
        streams = [await client.get(f"/api/signage/{HQ}/{ROOM}/events") for _ in range(2)]
        assert all(s.status == 200 for s in streams)
        assert (await client.get(f"/api/signage/{HQ}/{ROOM}/events")).status == 503
        board.take_room_state(state(4))
        assert board.building_json(HQ, personal=True) is not first
        for stream in streams:
            stream.close()

    serve(sample_site, tmp_path, scenario, max_streams=2)


def test_the_event_stream_sends_the_building_now_and_after_every_change(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        await login(client, "watcher")
        stream = await client.get(f"/api/buildings/{HQ}/events")
        assert stream.status == 200
        assert stream.content_type == "text/event-stream"
        name, first = await next_event(stream)
        assert name == "building"
        board.take_room_state(state(4))
        board.take_room_state(state(5))  # a burst: the stream may skip to the latest
        board.take_alert(alert("a1"))

        def seen(view: dict[str, Any]) -> bool:
            room = next(r for r in view["rooms"] if r["room"] == ROOM)
            return room["count"] == 5 and [a["alert_id"] for a in view["alerts"]] == ["a1"]

        view = first
        while not seen(view):
            _, view = await next_event(stream)
        listing = await client.get("/api/events")
        name, buildings = await next_event(listing)
        assert name == "buildings" and buildings[1]["headcount"] == 0
        board.take_room_state(state(7, room="f2-meeting", building="ro-makassar"))
        _, buildings = await next_event(listing)
        assert buildings[1]["headcount"] == 7
        stream.close()
        listing.close()

    serve(sample_site, tmp_path, scenario)


@hypothesis_settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(hostile_text, min_size=1, max_size=5))
def test_hostile_names_and_reasons_never_come_back_as_markup(
    sample_site: Site, tmp_path: Path, texts: list[str]
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        token = await login(client, "root")
        for text in [*texts, "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]:
            answers = [
                await client.post("/api/login", json={"name": text, "password": text}),
                await post(
                    client, f"/api/buildings/{HQ}/rooms/{_path(text)}/limit", {"limit": 1}, token
                ),
                await post(client, f"/api/buildings/{_path(text)}/policy", {"level": text}, token),
                await post(client, POLICY, {"level": text}, token),
                await client.get(f"/api/signage/{HQ}/{_path(text)}"),
            ]
            if board.room(HQ, text) is None:  # a room's own page is HTML, and names no input
                answers.append(await client.get(f"/signage/{HQ}/{_path(text)}"))
            for answer in answers:
                body = await answer.text()
                assert answer.headers["X-Content-Type-Options"] == "nosniff"
                assert answer.content_type in {"application/json", "text/plain"}, body
                assert "<" not in body, body
        trail = await (await client.get("/api/audit")).read()
        assert b"<" not in trail and b">" not in trail
        assert any("<script>" in r["actor"] for r in json.loads(trail))  # kept, escaped
        # Failed logins name what was typed only in the audit trail (JSON, drawn as text).
        assert any(r.action == "login_failed" for r in console.records)

    serve(sample_site, tmp_path, scenario)


def _path(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"


def test_security_resolves_an_alert_by_hand_with_a_reason(
    sample_site: Site, tmp_path: Path
) -> None:
    async def scenario(client: TestClient[Any, Any], board: BoardState, console: Console) -> None:
        board.take_alert(alert("a1"))
        token = await login(client, "watcher")
        assert (await post(client, RESOLVE, {"reason": "sensor removed"}, token)).status == 403
        token = await login(client, "guard")
        for bad in [{}, {"reason": ""}, {"reason": "   "}, {"reason": 3}]:
            assert (await post(client, RESOLVE, bad, token)).status == 400, bad
        answer = await post(client, RESOLVE, {"reason": " <b>sensor</b> removed "}, token)
        assert answer.status == 202
        assert console.resolves == [("a1", "guard", "<b>sensor</b> removed")]
        [record] = [r for r in console.records if r.action == "resolve"]
        assert (record.actor, record.role, record.target, record.detail) == (
            "guard",
            "security",
            f"{HQ}/a1",
            "<b>sensor</b> removed",
        )
        token = await login(client, "root")
        trail = await (await client.get("/api/audit")).read()
        assert b"<b>" not in trail and b"\\u003cb\\u003esensor" in trail

    serve(sample_site, tmp_path, scenario)
