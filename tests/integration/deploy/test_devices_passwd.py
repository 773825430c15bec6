"""The device passwords file against Mosquitto's own mosquitto_passwd."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.unit.deploy.test_devices import KIOSK_USER, verifies


def test_the_hash_is_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    assert tool is not None, "mosquitto_passwd comes with the mosquitto package (setup.sh)"
    passwd = tmp_path / "passwd"
    passwd.touch()
    subprocess.run([tool, "-b", str(passwd), KIOSK_USER, "a-long-enough-password"], check=True)
    (username, entry) = passwd.read_text().strip().split(":", 1)
    assert username == KIOSK_USER
    assert entry.startswith("$7$101$")
    assert verifies("a-long-enough-password", entry)
    assert not verifies("another-long-password", entry)
