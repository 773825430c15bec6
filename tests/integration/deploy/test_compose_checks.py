"""The compose files checked with real tools: Mosquitto runs the health check, git keeps the
operator's secrets out."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

from tests.system.deploy.test_mqtt_security import CONF, Broker, broker  # noqa: F401 - a fixture
from tests.unit.deploy.test_compose import (
    DEPLOY,
    OPERATOR_FOLDERS,
    REPO,
    _mosquitto_conf,
    _operator_file,
    _services,
    compose,  # noqa: F401 - a fixture
)


def test_operator_files_live_in_folders_that_say_how_and_keep_them_out(
    compose: dict[str, Any],
) -> None:
    """Passwords, the ACL, certificates and secrets are made on the host: each folder holds
    only a README (how) and a .gitignore, and neither git nor the image build takes the rest."""
    for folder in OPERATOR_FOLDERS:
        assert (folder / "README.md").is_file(), folder
        tracked = subprocess.run(
            ["git", "ls-files", "--", str(folder)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert {PurePosixPath(t).name for t in tracked} <= {"README.md", ".gitignore"}, tracked
    files = [DEPLOY / spec["file"] for spec in compose["secrets"].values()]
    files += [DEPLOY / spec["file"] for spec in compose["configs"].values()]
    files += [f / name for f in OPERATOR_FOLDERS for name in ("passwd", "server.key", "x")]
    for file in files:
        path = file.resolve()
        assert _operator_file(path), f"{path} is not in an operator folder"
        ignored = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False)
        assert ignored.returncode == 0, f"git would take {path}"
    dockerignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    for folder in OPERATOR_FOLDERS:
        assert str(folder.relative_to(REPO)) in dockerignore, f"the image would take {folder}"
    assert ".env" in dockerignore and "**/.env" in dockerignore


def test_mosquitto_health_check_on_a_real_mosquitto(
    compose: dict[str, Any],
    broker: Broker,
    tmp_path: Path,
) -> None:
    """The check's command as compose runs it (`$$` is `$`), with the container paths
    swapped for this broker's: 0 for a console's login, not 0 for a wrong password."""
    (cafile,) = _mosquitto_conf()["cafile"]
    shell = _services(compose)["mosquitto"]["healthcheck"]["test"][1].replace("$$", "$")
    secret = tmp_path / "occ_mqtt_url"

    def run(password: str) -> subprocess.CompletedProcess[str]:
        user = broker.usernames["control-room"]
        secret.write_text(f"mqtts://{user}:{password}@localhost:{broker.port}\n")
        command = shell.replace("/run/secrets/occ_mqtt_url", str(secret))
        command = command.replace(cafile, str(broker.ca))
        return subprocess.run(
            ["sh", "-c", command], capture_output=True, text=True, timeout=30, check=False
        )

    ok = run(broker.passwords["control-room"])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = run("not-the-password-at-all")
    assert wrong.returncode != 0
    assert "not authorised" in wrong.stderr.lower()
