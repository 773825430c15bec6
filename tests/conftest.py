"""Shared fixtures: the real local stack (Mosquitto, Kafka, InfluxDB and its v2 proxy).

It starts once per session, on free ports in a temp dir, and only when a test asks for it;
tests/system brings up a stack of its own per module instead (tests/system/conftest.py).
Each test is marked with its tier, the folder it lives in: `unit`, `integration`, `system`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.stack import Stack, StackPorts
from ingest.roster import Roster, load_roster
from ingest.site import Site, load_site

TESTS = Path(__file__).resolve().parent
SAMPLE_SITE = TESTS.parent / "deploy" / "sample" / "site.yaml"
SAMPLE_ROSTER = SAMPLE_SITE.with_name("roster.yaml")


TIERS = ("unit", "integration", "system")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = next((t for t in TIERS if t in item.path.relative_to(TESTS).parts[:1]), None)
        if tier is None:
            raise pytest.UsageError(
                f"{item.nodeid} is in no test tier: move it under tests/{{{','.join(TIERS)}}}/"
            )
        item.add_marker(getattr(pytest.mark, tier))
        # A test that needs the stack is never a unit test, whatever its folder says.
        if tier == "unit" and "stack" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(
                f"{item.nodeid} uses the stack: it belongs in tests/integration/"
            )


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
