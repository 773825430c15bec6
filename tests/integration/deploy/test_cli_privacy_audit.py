"""Pseudonym reveals on the real Kafka: each is written to the audit trail first, or nothing
is revealed."""

from __future__ import annotations

import socket

import pytest

from ingest.audit import operating_system_user
from ingest.pseudonym import Pseudonyms
from tests.conftest import SAMPLE_SITE
from tests.support.cli import occupancy
from tests.unit.deploy.test_cli_privacy import ENV, GROUP_A, KEY, SAMPLE_ROSTER, audit_trail, kafka


@pytest.mark.integration
def test_reveal_finds_the_employee_and_writes_who_asked_to_the_audit_trail(
    stack_env: dict[str, str],
) -> None:
    pseudonym = Pseudonyms(KEY.encode())(GROUP_A)
    env = {**ENV, **kafka(stack_env)}
    result = occupancy("roster", "reveal", pseudonym, "--by", "guard-1", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{GROUP_A}\tRahmat Saputra\tsetjen\tA\thq-jakarta\n"
    [record] = audit_trail(env)
    assert (record.actor, record.role, record.action, record.target) == (
        operating_system_user(),
        "cli",
        "pseudonym_revealed",
        pseudonym,
    )
    assert record.detail == "on behalf of guard-1"
    assert GROUP_A not in record.model_dump_json() and "Rahmat" not in record.model_dump_json()
    assert GROUP_A not in result.stderr and "Rahmat" not in result.stderr


@pytest.mark.integration
def test_reveal_takes_the_files_as_options(stack_env: dict[str, str]) -> None:
    pseudonym = Pseudonyms(KEY.encode())(GROUP_A)
    args = ["--roster", str(SAMPLE_ROSTER), "--site", str(SAMPLE_SITE)]
    env = {"OCC_PSEUDONYM_KEY": KEY, **kafka(stack_env)}
    result = occupancy("roster", "reveal", pseudonym, *args, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(GROUP_A + "\t")
    assert [r.detail for r in audit_trail(env)] == [""]


def test_without_the_audit_trail_nothing_is_revealed() -> None:
    pseudonym = Pseudonyms(KEY.encode())(GROUP_A)
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{sock.getsockname()[1]}"
    result = occupancy("roster", "reveal", pseudonym, env={**ENV, "OCC_KAFKA_BOOTSTRAP": nowhere})
    assert result.returncode == 2
    assert "could not be written to the audit trail" in result.stderr
    assert "nothing is revealed" in result.stderr
    assert GROUP_A not in result.stdout + result.stderr
