"""`occupancy simulate` as an operator runs it: the summary, the JSON lines, the errors, and
the day and the load published on the real Mosquitto at the pace asked for."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from ingest.models import DoorEvent
from tests.support.cli import CliResult
from tests.support.cli import occupancy as run_cli
from tests.support.mqtt import Collector

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
PAST_MONDAY = "2026-11-23"  # a day published must be over: no message may be from the future
FILES = {
    "OCC_SITE_FILE": str(SAMPLE / "site.yaml"),
    "OCC_ROSTER_FILE": str(SAMPLE / "roster.yaml"),
}


def occupancy(*args: str, env: dict[str, str] | None = None) -> CliResult:
    return run_cli(*args, env={**FILES, **(env or {})})


def test_dry_run_says_who_comes_what_is_sent_and_which_rooms_go_over() -> None:
    result = occupancy("simulate", "--dry-run", "--date", "2026-11-30", "--fault", "gaps")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Simulated day 2026-11-30 (Monday)" in out
    assert "at speed 60 it takes 14.0 min" in out  # 06:00 WITA to 19:00 WIB
    for heading in ("Scheduled in the office", "Messages", "Rooms: expected peak"):
        assert heading in out
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines() if "│" in line]
    assert ["hq-jakarta", "A", "121", "114", "7", "07:06", "16:48"] in rows  # group A's Monday
    assert ["hq-jakarta", "f2-meeting-a", "10", "11", "13:02", "0", "over"] in rows
    assert "lost (never published)" in out
    assert "fault gaps: hq-jakarta loses" in out


def test_json_lines_are_the_same_bytes_for_the_same_seed() -> None:
    args = ("simulate", "--json", "--date", "2026-11-30", "--start", "07:00", "--end", "09:00")
    first = occupancy(*args, "--seed", "7")
    again = occupancy(*args, "--seed", "7")
    other = occupancy(*args, "--seed", "8")
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout
    assert first.stdout != other.stdout
    lines = [json.loads(line) for line in first.stdout.splitlines()]
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    kinds = {line["kind"] for line in lines}
    assert {"door", "heartbeat", "check_in"} <= kinds
    doors = [line for line in lines if "/door/" in line["topic"]]
    for line in doors:
        DoorEvent.model_validate_json(json.dumps(line["payload"]))


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ((), {"OCC_ROSTER_FILE": ""}, "OCC_ROSTER_FILE is not set"),
        (("--date", "2099-01-05"), {}, "ahead of the clock"),
        (("--start", "9am"), {}, "--start '9am' is not a time of day"),
        (("--rate", "10"), {}, "both --rate and --duration"),
    ],
)
def test_mistakes_are_one_sentence_and_exit_status_2(
    args: tuple[str, ...], env: dict[str, str], says: str
) -> None:
    environment = {k: v for k, v in {**FILES, **env}.items() if v}
    result = run_cli("simulate", *args, env=environment)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def _collector(stack_env: dict[str, str], prefix: str) -> Collector:
    return Collector(stack_env["OCC_MQTT_URL"], [f"{prefix}/#"], f"watch-{uuid.uuid4().hex[:8]}")
