"""The system tier: faults, the browser, the demo and the stack's own lifecycle.

Each module brings up what it breaks: `stack` here is a stack of the module's own (on free
ports, in a temp dir), so a test that stops Kafka or kills Mosquitto never touches the
session stack that tests/integration shares.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.local.stack import Stack, StackPorts


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of this module's own, up and answering; stopped after its last test."""
    local = Stack(run_dir=tmp_path_factory.mktemp("stack"), ports=StackPorts.free())
    try:
        local.up()
        yield local
    finally:
        local.down()


@pytest.fixture(scope="module")
def stack_env(stack: Stack) -> dict[str, str]:
    """The `OCC_*` settings pointing at this module's stack."""
    return stack.env()
