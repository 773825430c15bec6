"""The fault suite's pipeline, shared by its faults, and the summary table it prints.

One pipeline (bridge, one worker, a webhook receiver, an InfluxDB database of its own) runs
for the whole module; each fault test takes it as it finds it (restarting a process that a
failed test left dead), injects its fault under load and measures its own window. Each test
records one row; the table is printed at the end of the session, in `pytest tests/faults`
and in the full suite alike, and written as JSON to `.run/fault-summary.json` and to the
session's temp dir; the processes' logs are kept in `.run/fault-logs/`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from deploy.local.stack import Stack
from ingest.site import Site
from tests.support.fault_rig import Rig
from tests.support.faults import FaultRow, table

ROWS = pytest.StashKey[list[FaultRow]]()
RUN_DIR = Path(__file__).resolve().parents[3] / ".run"
SUMMARY_FILE = RUN_DIR / "fault-summary.json"
LOG_DIR = RUN_DIR / "fault-logs"


def pytest_configure(config: pytest.Config) -> None:
    config.stash[ROWS] = []
    config.addinivalue_line("markers", "fault(name): a fault-suite test and its row's name")


def pytest_terminal_summary(terminalreporter: TerminalReporter, config: pytest.Config) -> None:
    rows = config.stash.get(ROWS, [])
    if not rows:
        return
    terminalreporter.section("fault suite")
    terminalreporter.write_line(table(rows))
    body = json.dumps([r.as_json() for r in rows], indent=2)
    targets = [SUMMARY_FILE]
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        targets.append(factory.getbasetemp() / "fault-summary.json")
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body + "\n")
    terminalreporter.write_line(f"written to {', '.join(map(str, targets))}")


@pytest.fixture(scope="session")
def fault_rows(request: pytest.FixtureRequest) -> list[FaultRow]:
    return request.config.stash[ROWS]


@pytest.fixture(scope="module")
def rig(
    stack: Stack,
    stack_env: dict[str, str],
    sample_site: Site,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Rig]:
    logs = tmp_path_factory.mktemp("faults")
    shared = Rig(stack, stack_env, sample_site, logs)
    try:
        shared.ensure_running()
        yield shared
    finally:
        shared.stop_processes()
        shared.receiver.close()
        shared.db.drop()
        # The bridge's and workers' logs outlive pytest's temp dirs, for the closing note.
        shutil.rmtree(LOG_DIR, ignore_errors=True)
        LOG_DIR.mkdir(parents=True)
        for log in logs.glob("*.log"):
            shutil.copy(log, LOG_DIR / log.name)


@pytest.fixture
def row(request: pytest.FixtureRequest, fault_rows: list[FaultRow]) -> FaultRow:
    """This test's row in the table (the test marks it passed when all its checks held)."""
    marker = request.node.get_closest_marker("fault")
    assert marker is not None, "every fault test names its fault with @pytest.mark.fault(...)"
    entry = FaultRow(str(marker.args[0]))
    fault_rows.append(entry)
    return entry
