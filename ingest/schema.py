"""JSON Schemas of the MQTT payloads, for sensor, kiosk and console vendors."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from ingest.models import Alert, AlertAck, DoorEvent, KioskEvent, RoomState

SCHEMA_VERSION = "1"
SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "door-event": (DoorEvent, "occupancy/{building}/{room}/door/{sensor}"),
    "kiosk-event": (KioskEvent, "occupancy/{building}/kiosk/{kiosk}"),
    "room-state": (RoomState, "occupancy/{building}/{room}/state"),
    "alert": (Alert, "occupancy/{building}/alerts"),
    "alert-ack": (AlertAck, "occupancy/{building}/alerts/{alert_id}/ack"),
}


def json_schema(name: str) -> dict[str, object]:
    model, topic = SCHEMAS[name]
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:occupancy:schema:{name}:v{SCHEMA_VERSION}",
        "x-mqtt-topic": topic,
        "x-max-bytes": 4096,
        **schema,
    }


def write_schemas(folder: Path) -> list[Path]:
    """Write one `<name>.schema.json` per payload into `folder`; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = folder / f"{name}.schema.json"
        path.write_text(json.dumps(json_schema(name), indent=2, sort_keys=False) + "\n")
        written.append(path)
    return written
