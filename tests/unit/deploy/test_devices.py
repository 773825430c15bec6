"""`occupancy devices add|remove`: the password and ACL files it writes, and its refusals.

What Mosquitto makes of these files is tests/system/deploy/test_mqtt_security.py's part; here the
hash is checked against Mosquitto's own `mosquitto_passwd`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from deploy.cli import main
from deploy.devices import hash_password
from tests.conftest import SAMPLE_SITE

REPO = Path(__file__).resolve().parents[3]
KIOSK_USER = "hq-jakarta/kiosk/kiosk-main"
SENSOR_USER = "hq-jakarta/f1-lobby/door/door-f1-lobby-main"

Devices = Callable[..., Result]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    return {
        "OCC_SITE_FILE": str(SAMPLE_SITE),
        "OCC_MQTT_PREFIX": "occupancy",
        "OCC_MQTT_PASSWORD_FILE": str(tmp_path / "passwd"),
        "OCC_MQTT_ACL_FILE": str(tmp_path / "acl"),
    }


@pytest.fixture
def devices(files: dict[str, str]) -> Devices:
    """`occupancy devices ARGS` with the files above (and `env` on top)."""

    def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
        return CliRunner().invoke(main, ["devices", *args], env={**files, **(env or {})})

    return run


def logins(files: dict[str, str]) -> dict[str, str]:
    text = Path(files["OCC_MQTT_PASSWORD_FILE"]).read_text()
    return dict(line.split(":", 1) for line in text.splitlines())


def shown_password(result: Result) -> str:
    assert result.exit_code == 0, result.output
    found = re.findall(r"^password \(shown only now\): (\S+)$", result.stdout, re.MULTILINE)
    assert len(found) == 1, result.stdout
    password: str = found[0]
    return password


def verifies(password: str, entry: str) -> bool:
    salt = base64.b64decode(entry.split("$")[3])
    return hash_password(password, salt) == entry


def test_add_writes_one_login_and_re_adding_replaces_it(
    devices: Devices, files: dict[str, str]
) -> None:
    first = shown_password(devices("add", "kiosk", "kiosk-main", "--building", "hq-jakarta"))
    assert verifies(first, logins(files)[KIOSK_USER])
    second = shown_password(devices("add", "kiosk", "kiosk-main", "--building", "hq-jakarta"))
    assert second != first
    assert list(logins(files)) == [KIOSK_USER]
    assert verifies(second, logins(files)[KIOSK_USER])
    assert not verifies(first, logins(files)[KIOSK_USER])
    for name in ("OCC_MQTT_PASSWORD_FILE", "OCC_MQTT_ACL_FILE"):
        text = Path(files[name]).read_text()
        assert second not in text
        assert Path(files[name]).stat().st_mode & 0o777 == 0o600  # new files: owner only
    # Devices need no ACL lines of their own: the one pattern covers every device.
    assert "pattern write occupancy/%u\n" in Path(files["OCC_MQTT_ACL_FILE"]).read_text()
    assert "\nuser " not in Path(files["OCC_MQTT_ACL_FILE"]).read_text()


def test_a_password_from_a_file_is_used_and_never_shown(
    devices: Devices, files: dict[str, str], tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    secret.write_text("correct-horse-battery-staple\n")
    result = devices("add", "bridge", "occupancy-bridge", "--password-file", str(secret))
    assert result.exit_code == 0, result.output
    assert "correct-horse-battery-staple" not in result.output
    assert not re.search("^password", result.stdout, re.MULTILINE)
    assert verifies("correct-horse-battery-staple", logins(files)["occupancy-bridge"])

    secret.write_text("too-short\n")
    short = devices("add", "bridge", "occupancy-bridge", "--password-file", str(secret))
    assert short.exit_code == 2
    assert "shorter than 16 characters" in short.stderr
    assert verifies("correct-horse-battery-staple", logins(files)["occupancy-bridge"])


def test_a_sensor_moved_to_another_room_keeps_one_login(
    devices: Devices, files: dict[str, str], tmp_path: Path
) -> None:
    shown_password(devices("add", "sensor", "door-f1-lobby-main", "--building", "hq-jakarta"))
    assert list(logins(files)) == [SENSOR_USER]
    moved = tmp_path / "site.yaml"
    moved.write_text(
        SAMPLE_SITE.read_text().replace(
            "{id: door-f1-lobby-main, room: f1-lobby}", "{id: door-f1-lobby-main, room: f1-canteen}"
        )
    )
    result = devices(
        "add", "sensor", "door-f1-lobby-main", "--building", "hq-jakarta",
        env={"OCC_SITE_FILE": str(moved)},
    )  # fmt: skip
    shown_password(result)
    assert list(logins(files)) == ["hq-jakarta/f1-canteen/door/door-f1-lobby-main"]


def test_roles_get_a_user_block_and_hand_written_rules_stay(
    devices: Devices, files: dict[str, str]
) -> None:
    acl = Path(files["OCC_MQTT_ACL_FILE"])
    acl.write_text(
        "# an old header\n"
        "pattern read occupancy/%u/config\n"
        "\n"
        "user auditor\n"
        "topic read occupancy/#\n"
        "\n"
        "# rules with a gap: still the auditor's, as Mosquitto reads them\n"
        "topic read $SYS/#\n"
    )
    shown_password(devices("add", "console", "sec-desk", "--building", "hq-jakarta"))
    shown_password(devices("add", "bridge", "occupancy-bridge"))
    shown_password(devices("add", "console", "sec-desk"))  # now for every building
    text = acl.read_text()
    assert "# an old header" not in text
    assert "pattern read occupancy/%u/config\n" in text
    auditor = "user auditor\ntopic read occupancy/#\n"
    assert auditor + "# rules with a gap: still the auditor's, as Mosquitto reads them\n" in text
    assert text.count("user sec-desk\n") == 1
    assert "# console sec-desk: every building\nuser sec-desk\ntopic read occupancy/+/alerts\n" in (
        text
    )
    assert "occupancy/hq-jakarta/" not in text
    assert "user occupancy-bridge\ntopic read occupancy/+/+/door/+\n" in text
    # The auditor's lines stay above the next user line, so they stay the auditor's.
    assert text.index("topic read $SYS/#") < text.index("user sec-desk")

    removed = devices("remove", "console", "sec-desk")
    assert removed.exit_code == 0, removed.output
    assert "sec-desk" not in acl.read_text()
    assert list(logins(files)) == ["occupancy-bridge"]


def test_remove_works_for_a_device_gone_from_the_site_file(
    devices: Devices, files: dict[str, str]
) -> None:
    shown_password(devices("add", "kiosk", "kiosk-main", "--building", "hq-jakarta"))
    shown_password(devices("add", "sensor", "door-f1-lobby-main", "--building", "hq-jakarta"))
    for args in (("kiosk", "kiosk-main"), ("sensor", "door-f1-lobby-main")):
        result = devices("remove", *args, "--building", "hq-jakarta", env={"OCC_SITE_FILE": None})
        assert result.exit_code == 0, result.output
    assert logins(files) == {}


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ("kiosk", "kiosk-nowhere", "--building", "hq-jakarta"),
            {},
            "Kiosk 'kiosk-nowhere' is not in building 'hq-jakarta' of the site file.",
        ),
        (
            ("sensor", "door-f1-lobby-main", "--building", "hq-jakarta", "--room", "f1-canteen"),
            {},
            "counts room 'f1-lobby' in the site file, not 'f1-canteen'.",
        ),
        (("kiosk", "kiosk-main"), {}, "A kiosk belongs to one building: give --building."),
        (
            ("console", "sec-desk", "--building", "hq-bandung"),
            {},
            "Building 'hq-bandung' is not in the site file (OCC_SITE_FILE).",
        ),
        (("bridge", "occupancy-bridge", "--building", "hq-jakarta"), {}, "serves every building"),
        (("worker", "worker-1", "--room", "f1-lobby"), {}, "serves every building"),
        (("console", "sec/desk"), {}, "is not an identifier"),
        (("worker", "worker-1"), {"OCC_MQTT_ACL_FILE": None}, "OCC_MQTT_ACL_FILE is not set"),
        (
            ("kiosk", "kiosk-main", "--building", "hq-jakarta"),
            {"OCC_SITE_FILE": None},
            "OCC_SITE_FILE is not set",
        ),
        (
            ("bridge", "occupancy-bridge"),
            {"OCC_MQTT_PASSWORD_FILE": "/nonexistent/passwd"},
            "names /nonexistent/passwd, whose folder does not exist",
        ),
    ],
)
def test_refusals_are_one_sentence_and_write_nothing(
    devices: Devices,
    files: dict[str, str],
    args: tuple[str, ...],
    env: dict[str, str | None],
    message: str,
) -> None:
    result = devices("add", *args, env=env)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    assert not Path(files["OCC_MQTT_PASSWORD_FILE"]).exists()
    assert not Path(files["OCC_MQTT_ACL_FILE"]).exists()


def test_the_acl_example_is_what_the_command_writes(
    devices: Devices, files: dict[str, str]
) -> None:
    for args in (
        ("kiosk", "kiosk-main", "--building", "hq-jakarta"),
        ("sensor", "door-f1-lobby-main", "--building", "hq-jakarta"),
        ("console", "sec-desk", "--building", "hq-jakarta"),
        ("console", "control-room"),
        ("bridge", "occupancy-bridge"),
        ("worker", "worker-1"),
    ):
        shown_password(devices("add", *args))
    example = REPO / "deploy" / "mosquitto" / "acl.example"
    assert Path(files["OCC_MQTT_ACL_FILE"]).read_text() == example.read_text()
