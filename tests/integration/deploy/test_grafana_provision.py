"""`occupancy grafana provision` against a stand-in for Grafana's HTTP API: a CONTRACT test.

Grafana cannot be installed here. So a small aiohttp server answers the endpoints
grafana-client calls (health via /api/frontend/settings, datasource get/create/update, folder
get/list/create, dashboard get/save) the way Grafana documents them, rejects what Grafana
would reject, and records every request. The tests check what `provision` sends (auth
header, datasource, folder, dashboards), that a second run creates nothing, and the
one-sentence errors of the command line. It proves the requests, not Grafana's reaction
to them beyond what is modelled here.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.typedefs import Handler

from deploy.grafana import dashboards as dash
from deploy.grafana.provision import DATASOURCE_NAME, datasource_body
from ingest.settings import load_settings
from tests.support.cli import CliResult, occupancy

GRAFANA_TOKEN = "glsa_contract-test-token"
INFLUX_TOKEN = "influx-secret-token"
PROVISIONING = Path(dash.__file__).resolve().parent / "provisioning"


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None
    body: Any


@dataclass
class FakeGrafana:
    """What the stand-in holds, and every request it got."""

    token: str = GRAFANA_TOKEN
    forbid_writes: bool = False
    datasources: dict[int, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    url: str = ""

    def calls(self, method: str, prefix: str = "") -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def reset_log(self) -> None:
        self.requests.clear()

    # -- the app ------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/api/frontend/settings", self._settings)
        app.router.add_get("/api/datasources/uid/{uid}", self._ds_by_uid)
        app.router.add_get("/api/datasources/name/{name}", self._ds_by_name)
        app.router.add_post("/api/datasources", self._ds_create)
        app.router.add_put("/api/datasources/uid/{uid}", self._ds_update_uid)
        app.router.add_put("/api/datasources/{id:\\d+}", self._ds_update_id)
        app.router.add_get("/api/folders", self._folder_list)
        app.router.add_get("/api/folders/{uid}", self._folder_get)
        app.router.add_post("/api/folders", self._folder_create)
        app.router.add_get("/api/dashboards/uid/{uid}", self._dash_get)
        app.router.add_post("/api/dashboards/db", self._dash_save)
        return app

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        auth = request.headers.get("Authorization")
        self.requests.append(Request(request.method, request.path, auth, body))
        if auth != f"Bearer {self.token}":
            return web.json_response({"message": "invalid API key"}, status=401)
        if self.forbid_writes and request.method in {"POST", "PUT"}:
            return web.json_response(
                {"message": "You'll need additional permissions to perform this action."},
                status=403,
            )
        return await handler(request)  # handlers read the body again: aiohttp keeps it

    async def _settings(self, _: web.Request) -> web.Response:
        return web.json_response({"buildInfo": {"version": "11.3.0", "edition": "Open Source"}})

    def _ds(self, **match: Any) -> dict[str, Any] | None:
        return next(
            (d for d in self.datasources.values() if all(d.get(k) == v for k, v in match.items())),
            None,
        )

    async def _ds_by_uid(self, request: web.Request) -> web.Response:
        found = self._ds(uid=request.match_info["uid"])
        if found is None:
            return web.json_response({"message": "Data source not found"}, status=404)
        return web.json_response(_public(found))

    async def _ds_by_name(self, request: web.Request) -> web.Response:
        found = self._ds(name=request.match_info["name"])
        if found is None:
            return web.json_response({"message": "Data source not found"}, status=404)
        return web.json_response(_public(found))

    async def _ds_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("name") or not body.get("type"):
            return web.json_response({"message": "Required field name, type"}, status=400)
        if self._ds(name=body["name"]) or self._ds(uid=body.get("uid")):
            return web.json_response({"message": "data source already exists"}, status=409)
        ident = len(self.datasources) + 1
        self.datasources[ident] = {**body, "id": ident}
        return web.json_response({"id": ident, "message": "Datasource added", "name": body["name"]})

    async def _ds_update_uid(self, request: web.Request) -> web.Response:
        found = self._ds(uid=request.match_info["uid"])
        if found is None:
            return web.json_response({"message": "Data source not found"}, status=404)
        return self._ds_update(found["id"], await request.json())

    async def _ds_update_id(self, request: web.Request) -> web.Response:
        ident = int(request.match_info["id"])
        if ident not in self.datasources:
            return web.json_response({"message": "Data source not found"}, status=404)
        return self._ds_update(ident, await request.json())

    def _ds_update(self, ident: int, body: dict[str, Any]) -> web.Response:
        if not body.get("name") or not body.get("type"):
            return web.json_response({"message": "Required field name, type"}, status=400)
        self.datasources[ident] = {**body, "id": ident}
        return web.json_response({"id": ident, "message": "Datasource updated"})

    async def _folder_list(self, _: web.Request) -> web.Response:
        return web.json_response([{"uid": u, "title": f["title"]} for u, f in self.folders.items()])

    async def _folder_get(self, request: web.Request) -> web.Response:
        found = self.folders.get(request.match_info["uid"])
        if found is None:
            return web.json_response({"message": "folder not found"}, status=404)
        return web.json_response(found)

    async def _folder_create(self, request: web.Request) -> web.Response:
        body = await request.json()
        uid, title = body.get("uid"), body.get("title")
        if not title:
            return web.json_response({"message": "folder title cannot be empty"}, status=400)
        if uid in self.folders or any(f["title"] == title for f in self.folders.values()):
            return web.json_response(
                {"message": "a folder with that name already exists"}, status=409
            )
        self.folders[uid] = {"uid": uid, "title": title, "id": len(self.folders) + 1}
        return web.json_response(self.folders[uid])

    async def _dash_get(self, request: web.Request) -> web.Response:
        found = self.dashboards.get(request.match_info["uid"])
        if found is None:
            return web.json_response({"message": "Dashboard not found"}, status=404)
        return web.json_response(
            {"dashboard": found["dashboard"], "meta": {"folderUid": found["folderUid"]}}
        )

    async def _dash_save(self, request: web.Request) -> web.Response:
        body = await request.json()
        board = body.get("dashboard") or {}
        uid = board.get("uid")
        if not uid or not board.get("title"):
            return web.json_response({"message": "Dashboard title cannot be empty"}, status=400)
        if body.get("folderUid") not in self.folders:
            return web.json_response({"message": "folder not found"}, status=400)
        if uid in self.dashboards and not body.get("overwrite"):
            return web.json_response({"status": "name-exists", "message": "exists"}, status=412)
        version = self.dashboards.get(uid, {}).get("version", 0) + 1
        self.dashboards[uid] = {
            "dashboard": board,
            "folderUid": body["folderUid"],
            "version": version,
        }
        return web.json_response(
            {"id": 1, "uid": uid, "status": "success", "version": version, "url": f"/d/{uid}"}
        )


def _public(datasource: dict[str, Any]) -> dict[str, Any]:
    # Grafana never returns secureJsonData, only which secrets are set.
    shown = {k: v for k, v in datasource.items() if k != "secureJsonData"}
    shown["secureJsonFields"] = dict.fromkeys(datasource.get("secureJsonData", {}), True)
    return shown


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    fake = FakeGrafana()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        loop.run_until_complete(runner.cleanup())
        loop.close()


def _env(grafana_url: str, token: str = GRAFANA_TOKEN) -> dict[str, str]:
    return {
        "OCC_GRAFANA_URL": grafana_url,
        "OCC_GRAFANA_TOKEN": token,
        "OCC_INFLUX_URL": "http://influxdb:8086",
        "OCC_INFLUX_TOKEN": INFLUX_TOKEN,
        "OCC_INFLUX_BUCKET": "occupancy/autogen",
    }


def _one_sentence(result: CliResult) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("occupancy: ") and lines[0].endswith(".")
    assert GRAFANA_TOKEN not in result.stderr + result.stdout
    assert INFLUX_TOKEN not in result.stderr + result.stdout
    return lines[0]


def test_first_run_creates_the_datasource_folder_and_every_dashboard(grafana: FakeGrafana) -> None:
    result = occupancy("grafana", "provision", env=_env(grafana.url))
    assert result.returncode == 0, result.stderr
    assert GRAFANA_TOKEN not in result.stdout + result.stderr
    assert INFLUX_TOKEN not in result.stdout + result.stderr
    assert "7 created, 0 updated" in result.stdout
    assert "11.3.0" in result.stdout

    assert grafana.requests, "nothing reached the server"
    assert {r.authorization for r in grafana.requests} == {f"Bearer {GRAFANA_TOKEN}"}

    (created,) = [r.body for r in grafana.calls("POST", "/api/datasources")]
    assert created["uid"] == dash.DATASOURCE_UID
    assert created["name"] == DATASOURCE_NAME
    assert created["type"] == "influxdb"
    assert created["access"] == "proxy"
    assert created["url"] == "http://influxdb:8086"
    assert created["jsonData"]["version"] == "InfluxQL"
    assert created["jsonData"]["dbName"] == "occupancy"  # the bucket's database, no "/autogen"
    assert created["jsonData"]["httpHeaderName1"] == "Authorization"
    assert created["secureJsonData"] == {"httpHeaderValue1": f"Token {INFLUX_TOKEN}"}
    assert INFLUX_TOKEN not in json.dumps(created["jsonData"])  # only in the secure part

    (folder,) = [r.body for r in grafana.calls("POST", "/api/folders")]
    assert folder == {"title": dash.FOLDER_TITLE, "uid": dash.FOLDER_UID}

    saved = [r.body for r in grafana.calls("POST", "/api/dashboards/db")]
    expected = {b["uid"]: b for b in dash.dashboards()}
    assert [s["dashboard"]["uid"] for s in saved] == list(expected)
    for body in saved:
        assert body["folderUid"] == dash.FOLDER_UID
        assert body["overwrite"] is True
        board = body["dashboard"]
        assert board["id"] is None
        assert {k: v for k, v in board.items() if k != "id"} == expected[board["uid"]]
    assert set(grafana.dashboards) == set(expected)


def test_second_run_updates_and_creates_nothing(grafana: FakeGrafana) -> None:
    assert occupancy("grafana", "provision", env=_env(grafana.url)).returncode == 0
    state = (dict(grafana.datasources), dict(grafana.folders), set(grafana.dashboards))
    grafana.reset_log()

    again = occupancy("grafana", "provision", env=_env(grafana.url))
    assert again.returncode == 0, again.stderr
    assert "0 created, 6 updated" in again.stdout  # the datasource and 5 dashboards
    assert grafana.calls("POST", "/api/datasources") == []
    assert grafana.calls("POST", "/api/folders") == []
    (update,) = grafana.calls("PUT", "/api/datasources/")
    assert update.path == f"/api/datasources/uid/{dash.DATASOURCE_UID}"
    assert update.body["secureJsonData"] == {"httpHeaderValue1": f"Token {INFLUX_TOKEN}"}
    assert len(grafana.calls("POST", "/api/dashboards/db")) == len(dash.dashboards())
    assert (len(grafana.datasources), len(grafana.folders)) == (1, 1)
    assert (dict(grafana.folders), set(grafana.dashboards)) == state[1:]
    assert all(d["version"] == 2 for d in grafana.dashboards.values())


def test_a_datasource_of_the_same_name_is_taken_over_not_duplicated(grafana: FakeGrafana) -> None:
    grafana.datasources[7] = {
        "id": 7,
        "uid": "made-by-hand",
        "name": DATASOURCE_NAME,
        "type": "influxdb",
        "url": "http://old:8086",
    }
    grafana.folders["elsewhere"] = {"uid": "elsewhere", "title": dash.FOLDER_TITLE, "id": 3}
    result = occupancy("grafana", "provision", env=_env(grafana.url))
    assert result.returncode == 0, result.stderr
    (update,) = grafana.calls("PUT", "/api/datasources/")
    assert update.path == "/api/datasources/7"
    assert update.body["uid"] == dash.DATASOURCE_UID
    assert list(grafana.datasources) == [7]
    # The folder of that title is used as it is, whatever its uid.
    assert grafana.calls("POST", "/api/folders") == []
    assert {d["folderUid"] for d in grafana.dashboards.values()} == {"elsewhere"}


def test_the_datasource_matches_the_file_provisioning() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text())
    (ds,) = provisioned["datasources"]
    body = datasource_body(load_settings(**_settings_for_body()))
    for key in ("uid", "name", "type", "access"):
        assert ds[key] == body[key], key
    for key in ("version", "httpMode", "timeInterval", "httpHeaderName1"):
        assert ds["jsonData"][key] == body["jsonData"][key], key
    assert ds["secureJsonData"]["httpHeaderValue1"] == "Token ${INFLUX_TOKEN}"
    assert ds["url"] == "${INFLUX_URL}" and ds["jsonData"]["dbName"] == "${INFLUX_DB}"
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "occupancy.yaml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    assert (provider["folder"], provider["folderUid"]) == (dash.FOLDER_TITLE, dash.FOLDER_UID)


def _settings_for_body() -> dict[str, Any]:
    return {
        "influx_url": "http://influxdb:8086",
        "influx_token": INFLUX_TOKEN,
        "influx_bucket": "occupancy",
    }


def test_unreachable_grafana_is_one_sentence_naming_the_url_setting() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = occupancy("grafana", "provision", env=_env(f"http://admin:s3cret@127.0.0.1:{port}"))
    line = _one_sentence(result)
    assert "does not answer" in line and "OCC_GRAFANA_URL" in line
    assert "Connection refused" in line
    assert "s3cret" not in line and "admin:***@" in line


def test_a_bad_token_is_one_sentence_naming_the_token_setting(grafana: FakeGrafana) -> None:
    result = occupancy("grafana", "provision", env=_env(grafana.url, token="glsa_wrong"))
    line = _one_sentence(result)
    assert "OCC_GRAFANA_TOKEN" in line and "401" in line
    assert grafana.datasources == {} and grafana.dashboards == {}


def test_a_missing_permission_is_one_sentence_naming_the_token_setting(
    grafana: FakeGrafana,
) -> None:
    grafana.forbid_writes = True
    result = occupancy("grafana", "provision", env=_env(grafana.url))
    line = _one_sentence(result)
    assert "OCC_GRAFANA_TOKEN" in line and "403" in line
    assert "create the datasource" in line and "additional permissions" in line


def test_no_token_is_one_sentence_before_any_request(grafana: FakeGrafana) -> None:
    result = occupancy("grafana", "provision", env=_env(grafana.url, token=""))
    line = _one_sentence(result)
    assert "OCC_GRAFANA_TOKEN is not set" in line
    assert grafana.requests == []
