"""Shared fixtures: the real local stack (Mosquitto, Kafka, InfluxDB and its v2 proxy).

It starts once per session, on free ports in a temp dir, and only when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.stack import Stack, StackPorts
from ingest.roster import Roster, load_roster
from ingest.site import Site, load_site

SAMPLE_SITE = Path(__file__).resolve().parents[1] / "deploy" / "sample" / "site.yaml"
SAMPLE_ROSTER = SAMPLE_SITE.with_name("roster.yaml")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A test that needs the stack is an integration test, so `-m "not integration"` skips it.
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The local stack, up and answering; stopped at the end of the session."""
    local = Stack(run_dir=tmp_path_factory.mktemp("stack"), ports=StackPorts.free())
    try:
        local.up()
        yield local
    finally:
        local.down()


@pytest.fixture(scope="session")
def stack_env(stack: Stack) -> dict[str, str]:
    """The `OCC_*` settings pointing at the session's stack."""
    return stack.env()


@pytest.fixture(scope="session")
def sample_site() -> Site:
    """The sample site shipped in deploy/sample/site.yaml."""
    return load_site(SAMPLE_SITE)


@pytest.fixture(scope="session")
def sample_roster(sample_site: Site) -> Roster:
    """The sample roster shipped in deploy/sample/roster.yaml."""
    return load_roster(SAMPLE_ROSTER, sample_site)
