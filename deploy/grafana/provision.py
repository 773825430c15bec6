"""`occupancy grafana provision`: the datasource, the folder and every dashboard, by Grafana's API.

Idempotent: the datasource is found by uid (else by name) and updated, else created; the
folder is found by uid (else by title), else created; every dashboard is saved with
`overwrite` into the folder. A second run creates nothing. Failures are one sentence
naming the setting at fault (`GrafanaError`); secrets are never printed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaServerError,
    GrafanaTimeoutError,
)
from rich.console import Console
from rich.table import Table

from deploy.grafana.dashboards import (
    DATASOURCE_UID,
    FOLDER_TITLE,
    FOLDER_UID,
    PIPELINE_INTERVAL,
    Json,
    dashboards,
)
from ingest.errors import ConfigError
from ingest.settings import Settings

DATASOURCE_NAME = "Occupancy InfluxDB"
TIMEOUT_S = 10.0
_UNAUTHORIZED, _FORBIDDEN, _NOT_FOUND = 401, 403, 404

Action = Literal["created", "updated", "unchanged"]


class GrafanaError(ConfigError):
    """Grafana could not be reached or refused a request: one sentence naming the setting."""


@dataclass(frozen=True)
class Change:
    """One thing `provision` made sure of in Grafana."""

    what: str  # "datasource" | "folder" | "dashboard"
    title: str
    uid: str
    action: Action


@dataclass(frozen=True)
class Summary:
    url: str
    version: str | None
    changes: list[Change]


def datasource_body(settings: Settings) -> Json:
    """The InfluxQL datasource for `settings` (the same as provisioning/datasources)."""
    if not settings.influx_url:
        raise ConfigError(
            "Setting OCC_INFLUX_URL is not set: the Grafana datasource needs InfluxDB's address."
        )
    database = settings.influx_bucket.partition("/")[0]
    body: Json = {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": "influxdb",
        "access": "proxy",
        "url": settings.influx_url,
        "basicAuth": False,
        "isDefault": False,  # an existing Grafana keeps its default datasource
        "jsonData": {
            "version": "InfluxQL",
            "dbName": database,
            "httpMode": "GET",
            "timeInterval": PIPELINE_INTERVAL,
        },
        "secureJsonData": {},
    }
    token = settings.influx_token.get_secret_value()
    if token:
        # InfluxDB 2.x and 3.x, and 1.8+ with auth, take the token in this header.
        body["jsonData"]["httpHeaderName1"] = "Authorization"
        body["secureJsonData"]["httpHeaderValue1"] = f"Token {token}"
    return body


def provision(settings: Settings) -> Summary:
    """Create or update the datasource, the folder and every dashboard."""
    token = settings.grafana_token.get_secret_value()
    if not token:
        raise ConfigError(
            "Setting OCC_GRAFANA_TOKEN is not set: create a service account token with the "
            "Admin role in Grafana and set it."
        )
    body = datasource_body(settings)
    api = GrafanaApi.from_url(url=settings.grafana_url, credential=token, timeout=TIMEOUT_S)
    shown = _without_password(settings.grafana_url)
    session = _Session(api, shown)
    version = session.version()
    changes = [session.datasource(body)]
    folder = session.folder()
    changes.append(folder)
    changes += [session.dashboard(board, folder.uid) for board in dashboards()]
    return Summary(shown, version, changes)


def print_summary(summary: Summary, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Grafana {summary.version or ''} at {summary.url}".replace("  ", " "))
    for column in ("what", "title", "uid", "result"):
        table.add_column(column)
    for change in summary.changes:
        table.add_row(change.what, change.title, change.uid, change.action)
    console.print(table)
    counts = {a: sum(c.action == a for c in summary.changes) for a in ("created", "updated")}
    console.print(f"{counts['created']} created, {counts['updated']} updated.")


class _Session:
    """The API calls of one run, each turning Grafana's failures into one GrafanaError."""

    def __init__(self, api: GrafanaApi, url: str) -> None:
        self._api = api
        self._url = url

    def version(self) -> str | None:
        info = self._call("answer", self._api.health.check)
        if not isinstance(info, dict):
            raise GrafanaError(
                f"{self._url} (OCC_GRAFANA_URL) does not answer like Grafana: "
                "its /api/frontend/settings has no build information."
            )
        version = info.get("version")
        return str(version) if version is not None else None

    def datasource(self, body: Json) -> Change:
        ds = self._api.datasource
        found = self._find("read the datasource", ds.get_datasource_by_uid, DATASOURCE_UID)
        if found is not None:
            self._call("update the datasource", ds.update_datasource_by_uid, DATASOURCE_UID, body)
            return Change("datasource", DATASOURCE_NAME, DATASOURCE_UID, "updated")
        named = self._find("read the datasource", ds.get_datasource_by_name, DATASOURCE_NAME)
        if named is not None:
            # Same name, another uid (made by hand): take it over, with our uid.
            self._call("update the datasource", ds.update_datasource, named["id"], body)
            return Change("datasource", DATASOURCE_NAME, DATASOURCE_UID, "updated")
        self._call("create the datasource", ds.create_datasource, body)
        return Change("datasource", DATASOURCE_NAME, DATASOURCE_UID, "created")

    def folder(self) -> Change:
        api = self._api.folder
        found = self._find("read the folder", api.get_folder, FOLDER_UID)
        if found is not None:
            return Change("folder", found.get("title", FOLDER_TITLE), FOLDER_UID, "unchanged")
        folders = self._call("list the folders", api.get_all_folders)
        for other in folders if isinstance(folders, list) else []:
            if other.get("title") == FOLDER_TITLE:
                return Change("folder", FOLDER_TITLE, str(other["uid"]), "unchanged")
        self._call("create the folder", api.create_folder, FOLDER_TITLE, FOLDER_UID)
        return Change("folder", FOLDER_TITLE, FOLDER_UID, "created")

    def dashboard(self, board: Json, folder_uid: str) -> Change:
        api = self._api.dashboard
        title, uid = board["title"], board["uid"]
        existed = self._find(f"read dashboard {title!r}", api.get_dashboard, uid) is not None
        payload = {
            "dashboard": {**board, "id": None},
            "folderUid": folder_uid,
            "overwrite": True,
            "message": "occupancy grafana provision",
        }
        self._call(f"save dashboard {title!r}", api.update_dashboard, payload)
        return Change("dashboard", title, uid, "updated" if existed else "created")

    def _find(self, action: str, call: Callable[..., Any], *args: Any) -> Json | None:
        """The object, or None when Grafana answers 404."""
        try:
            found = self._call(action, call, *args, missing_ok=True)
        except _Missing:
            return None
        return found if isinstance(found, dict) else None

    def _call(
        self, action: str, call: Callable[..., Any], *args: Any, missing_ok: bool = False
    ) -> Any:
        url = self._url
        try:
            return call(*args)
        except GrafanaTimeoutError:
            raise GrafanaError(
                f"Grafana at {url} (OCC_GRAFANA_URL) did not answer within {TIMEOUT_S:g} s."
            ) from None
        except GrafanaClientError as exc:
            status = exc.status_code
            if status == _NOT_FOUND and missing_ok:
                raise _Missing from None
            if status == _UNAUTHORIZED:
                raise GrafanaError(
                    f"Grafana at {url} rejected the token in OCC_GRAFANA_TOKEN (401 "
                    "Unauthorized): set it to a valid service account token."
                ) from None
            if status == _FORBIDDEN:
                raise GrafanaError(
                    f"The token in OCC_GRAFANA_TOKEN may not {action} in Grafana at {url} "
                    f"(403 Forbidden{_said(exc)}): give its service account the Admin role."
                ) from None
            raise GrafanaError(
                f"Grafana at {url} (OCC_GRAFANA_URL) could not {action} ({status}{_said(exc)})."
            ) from None
        except GrafanaServerError as exc:
            raise GrafanaError(
                f"Grafana at {url} (OCC_GRAFANA_URL) failed to {action} "
                f"({exc.status_code}{_said(exc)})."
            ) from None
        except GrafanaException as exc:  # status 0: the HTTP exchange itself failed
            raise GrafanaError(
                f"Grafana does not answer at {url} (OCC_GRAFANA_URL): {_reason(exc)}."
            ) from None
        except OSError as exc:  # connection refused, unknown host, TLS: the client's own
            raise GrafanaError(
                f"Grafana does not answer at {url} (OCC_GRAFANA_URL): {_reason(exc)}."
            ) from None
        except ValueError:  # a body that is not JSON: something else listens there
            raise GrafanaError(
                f"{url} (OCC_GRAFANA_URL) does not answer like Grafana: its replies are not JSON."
            ) from None


class _Missing(Exception):  # noqa: N818 - a signal between two methods, not an error
    """Grafana answered 404."""


def _without_password(url: str) -> str:
    """The URL as it may be printed: a password in it becomes ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _said(exc: GrafanaException) -> str:
    """`: <Grafana's message>` on one line, short."""
    response = exc.response
    message = response.get("message") if isinstance(response, dict) else response
    text = " ".join(str(message or "").split())[:200]
    return f': "{text}"' if text else ""


def _reason(exc: Exception) -> str:
    """The useful end of a connection error: "Connection refused", "Name or service not known"."""
    text = str(exc)
    if "NameResolutionError" in text or "Failed to resolve" in text:
        return "its host name does not resolve"
    errno = re.search(r"\[Errno -?\d+\] ([^)'\"]+)", text)
    if errno:
        return errno[1].strip().rstrip(".")
    return type(exc).__name__
