"""The `occupancy` command line as operators and vendors use it: output, exit codes, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.models import DoorEvent, KioskEvent
from ingest.schema import SCHEMAS
from tests.support.cli import occupancy

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample" / "site.yaml"


def test_schema_writes_one_json_schema_per_payload(tmp_path: Path) -> None:
    result = occupancy("schema", str(tmp_path / "schemas"))
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "schemas").glob("*.schema.json"))
    assert {f.name.removesuffix(".schema.json") for f in files} == set(SCHEMAS)
    door = json.loads((tmp_path / "schemas" / "door-event.schema.json").read_text())
    assert door["additionalProperties"] is False
    assert set(door["required"]) == {"seq", "ts", "entered", "exited"}
    assert door["properties"]["seq"]["minimum"] == 0
    assert door["x-mqtt-topic"] == "occupancy/{building}/{room}/door/{sensor}"
    # The examples vendors copy from are themselves valid.
    for example in door["examples"]:
        DoorEvent.model_validate_json(json.dumps(example))
    kiosk = json.loads((tmp_path / "schemas" / "kiosk-event.schema.json").read_text())
    for example in kiosk["examples"]:
        KioskEvent.model_validate_json(json.dumps(example))
    assert kiosk["properties"]["employee_id"]["pattern"] == "^[A-Za-z0-9_.-]{1,64}$"


def test_site_check_prints_a_summary() -> None:
    result = occupancy("site", "check", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout and "transition" in result.stdout
    assert "f2-meeting-a" in result.stdout and "Ruang Rapat A" in result.stdout
    assert "kiosk-main" in result.stdout


def test_site_check_json_resolves_limits_for_tools() -> None:
    result = occupancy("site", "check", "--json", str(SAMPLE))
    assert result.returncode == 0, result.stderr
    site = json.loads(result.stdout)
    assert site["policy"]["active"] == "transition"
    hq = site["buildings"][0]
    assert hq["timezone"] == "Asia/Jakarta"
    rooms = {r["id"]: r for r in hq["rooms"]}
    # transition: meeting 0.5, service 0.6; the server room has an explicit limit of 2.
    assert (rooms["f2-meeting-a"]["capacity"], rooms["f2-meeting-a"]["limit"]) == (20, 10)
    assert (rooms["f1-service-hall"]["capacity"], rooms["f1-service-hall"]["limit"]) == (60, 36)
    assert rooms["f3-server"]["limit"] == 2
    assert {"id": "door-f2-meeting-a", "room": "f2-meeting-a"} in hq["sensors"]
    assert {k["id"] for k in hq["kiosks"]} == {"kiosk-main", "kiosk-east", "kiosk-parking"}

    strict = json.loads(
        occupancy("site", "check", "--json", "--level", "strict", str(SAMPLE)).stdout
    )
    strict_rooms = {r["id"]: r["limit"] for r in strict["buildings"][0]["rooms"]}
    assert strict_rooms["f2-meeting-a"] == 4  # floor(20 × 0.2)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["site", "check", "{broken}"], {}, "line 10 (policy.levels.normal): input should be"),
        (["site", "check", "{missing}"], {}, "the file does not exist"),
        (["site", "check", "--level", "panic", str(SAMPLE)], {}, "'panic' is not one of"),
        (["bridge"], {}, "OCC_SITE_FILE is not set"),
        (["bridge"], {"OCC_KAFKA_PARTITIONS": "many"}, "OCC_KAFKA_PARTITIONS is invalid"),
        (["bridge"], {"OCC_MQTT_URL": "http://u:pw@host"}, "OCC_MQTT_URL is invalid"),
        (["bridge"], {"OCC_SITE_FILE": "{broken}"}, "line 10 (policy.levels.normal)"),
        (["policy", "set", "panic"], {"OCC_SITE_FILE": str(SAMPLE)}, "'panic' is not in"),
        (["worker"], {"OCC_WORKER_STORE": "redis"}, "OCC_WORKER_STORE is invalid"),
    ],
)
def test_errors_are_one_sentence_and_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], needle: str
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text().replace("normal: 1.0", "normal: lots", 1))
    fill = {"{broken}": str(broken), "{missing}": str(tmp_path / "nope.yaml")}
    args = [fill.get(a, a) for a in args]
    env = {k: fill.get(v, v) for k, v in env.items()}
    result = occupancy(*args, env=env)
    assert result.returncode == 2
    message = result.stderr.strip()
    assert needle in message
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("occupancy: ") and message.endswith(".")


def test_a_password_in_a_bad_url_is_never_echoed() -> None:
    result = occupancy("bridge", env={"OCC_MQTT_URL": "http://kiosk:s3cret@host:1883"})
    assert result.returncode == 2
    assert "s3cret" not in result.stderr and "***" in result.stderr
