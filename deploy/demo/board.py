"""The demo's terminal board: every room's count against its limit, each building's
headcount, and the last alerts, from the pipeline's own MQTT output (retained room states,
presence, alerts), as any operator's console would read it.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import ValidationError
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ingest.clock import Clock
from ingest.models import Alert, RoomState
from ingest.settings import MqttAddress
from ingest.site import Site

COLOURS = {"open": "green", "warning": "yellow", "full": "dark_orange", "over": "red"}
BAR = 24


class TerminalBoard:
    """Keeps what the pipeline publishes; `render()` draws it. Thread-safe (paho's thread
    writes, the display reads)."""

    def __init__(self, site: Site, prefix: str, last_alerts: int = 8) -> None:
        self._site = site
        self._prefix = prefix
        self._lock = threading.Lock()
        self.rooms: dict[tuple[str, str], RoomState] = {}
        self.presence: dict[str, tuple[int, int]] = {}  # (checked in, planned) per building
        self.checked_in_peak: dict[str, int] = {}
        self.clock: Clock | None = None  # the pipeline's, shown above the rooms
        self.alerts: deque[Alert] = deque(maxlen=last_alerts)
        self.alerts_seen = 0
        # The most rooms with people at once: by the end of a simulated day they have left.
        self.peak_rooms_with_people = 0
        self._client: mqtt.Client | None = None

    # --- feeding ---------------------------------------------------------------------

    def connect(self, url: str, ca_certs: str | None = None) -> None:
        address = MqttAddress.from_url(url)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            client.tls_set(ca_certs=ca_certs)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        client.connect_async(address.host, address.port)
        client.loop_start()
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        p = self._prefix
        client.subscribe([(f"{p}/+/+/state", 1), (f"{p}/+/alerts", 1), (f"{p}/+/presence", 1)])

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.take(message.topic, bytes(message.payload))

    def take(self, topic: str, payload: bytes) -> None:
        """One message of the pipeline's output (others are ignored)."""
        parts = topic.removeprefix(self._prefix + "/").split("/")
        try:
            if len(parts) == 3 and parts[2] == "state" and payload:
                state = RoomState.model_validate_json(payload)
                with self._lock:
                    self.rooms[(state.building, state.room)] = state
                    occupied = sum(1 for s in self.rooms.values() if s.count > 0)
                    self.peak_rooms_with_people = max(self.peak_rooms_with_people, occupied)
            elif parts[-1] == "alerts":
                alert = Alert.model_validate_json(payload)
                with self._lock:
                    self.alerts.appendleft(alert)
                    self.alerts_seen += 1
            elif parts[-1] == "presence" and payload:
                body = json.loads(payload)
                count, planned = body.get("count"), body.get("planned_wfo", 0)
                if isinstance(count, int) and isinstance(planned, int):
                    with self._lock:
                        self.presence[parts[0]] = (count, planned)
                        peak = max(self.checked_in_peak.get(parts[0], 0), count)
                        self.checked_in_peak[parts[0]] = peak
        except (ValidationError, ValueError):
            return

    # --- drawing ---------------------------------------------------------------------

    def render(self) -> RenderableType:
        with self._lock:
            rooms = dict(self.rooms)
            presence = dict(self.presence)
            alerts = list(self.alerts)
        panels: list[RenderableType] = []
        if self.clock is not None:
            first = self._site.buildings[0]
            at = self.clock.now().astimezone(first.zone)
            panels.append(Text(f"{at:%A %Y-%m-%d %H:%M} in {first.name}", style="bold"))
        for building in self._site.buildings:
            table = Table(expand=True, box=None, pad_edge=False)
            table.add_column("room")
            table.add_column("people", justify="right")
            table.add_column("of limit", justify="left")
            table.add_column("limit", justify="right")
            table.add_column("status")
            people = 0
            for room in building.rooms:
                state = rooms.get((building.id, room.id))
                if state is None:
                    table.add_row(room.name, "·", "", "", Text("waiting", style="dim"))
                    continue
                people += state.count
                colour = COLOURS[state.status]
                table.add_row(
                    room.name,
                    str(state.count),
                    _bar(state.count, state.limit, colour),
                    str(state.limit),
                    Text(state.status, style=colour),
                )
            title = f"{building.name} — {people} people in rooms"
            if building.id in presence:
                checked_in, planned = presence[building.id]
                title += f", {checked_in} checked in ({planned} planned in the office)"
            panels.append(Panel(table, title=title, title_align="left"))
        panels.append(
            Panel(_alerts_table(alerts, self._site), title="last alerts", title_align="left")
        )
        return Group(*panels)


def _bar(count: int, limit: int, colour: str) -> Text:
    filled = BAR if limit <= 0 and count else min(BAR, round(BAR * count / max(limit, 1)))
    return Text("█" * filled, style=colour) + Text("░" * (BAR - filled), style="dim")


def _alerts_table(alerts: list[Alert], site: Site) -> RenderableType:
    """The last alerts, each at its building's local time (the rooms' own clock)."""
    if not alerts:
        return Text("none yet", style="dim")
    table = Table(expand=True, box=None, pad_edge=False)
    for column in ("time", "kind", "where", "severity", "state"):
        table.add_column(column)
    for alert in alerts:
        style = {"critical": "red", "warning": "yellow"}.get(alert.severity, "")
        state = alert.state + (f", acknowledged by {alert.ack.by}" if alert.ack else "")
        building = site.building(alert.building)
        at = alert.ts.astimezone(building.zone) if building is not None else alert.ts
        table.add_row(
            at.strftime("%H:%M:%S %Z"),
            alert.kind,
            f"{alert.building}/{alert.room}" if alert.room else alert.building,
            Text(alert.severity, style=style),
            state,
        )
    return table
