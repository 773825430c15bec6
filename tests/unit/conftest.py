"""The unit tier: pure rules, in-memory wiring and the CLI through CliRunner, with no service.

Every test here runs with sockets refused (pytest-socket; Unix socket pairs stay, asyncio's
event loop wakes itself with one) and with subprocesses refused: a test that needs either
belongs in tests/integration or tests/system. That is what keeps the tier fast and
runnable on a machine with nothing installed but the project.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

# influxdb-client opens a socket when it is first imported (its default configuration asks
# for the host name's address); importing it here, before any test refuses sockets, keeps
# that one-off out of the tests that import the metrics writer.
import influxdb_client  # noqa: F401
import pytest
from pytest_socket import disable_socket, enable_socket


class ProcessInUnitTierError(RuntimeError):
    """A unit test started a process."""


@pytest.fixture(autouse=True)
def _no_services(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise ProcessInUnitTierError(
            "a unit test started a process: run the CLI through tests.support.cli.occupancy, "
            "or move the test to tests/integration"
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    disable_socket(allow_unix_socket=True)
    try:
        yield
    finally:
        enable_socket()
