"""The pipeline clock: parsing `OCC_CLOCK`, the replay clock's arithmetic, and one guard that
nothing in the pipeline reads the wall clock behind its back."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.clock import MAX_SPEED, ReplayClock, WallClock, parse_clock
from ingest.errors import ConfigError
from ingest.settings import Settings, load_settings

WIB = timezone(timedelta(hours=7))
REPO = Path(__file__).resolve().parents[3]


class Wall:
    """A wall clock a test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_wall_is_the_default_and_tells_the_system_time() -> None:
    clock = Settings().pipeline_clock
    assert isinstance(clock, WallClock) and clock.spec == "wall"
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)


def test_a_replay_clock_is_held_until_its_anchor_then_runs_at_its_speed() -> None:
    wall = Wall(datetime(2026, 12, 6, 4, 0, tzinfo=UTC))  # a Sunday
    start = datetime(2026, 12, 4, 6, 0, tzinfo=WIB)  # the Friday before
    clock = parse_clock(
        "replay:2026-12-04T06:00:00+07:00@60", anchor=wall.at + timedelta(seconds=30), wall=wall
    )
    assert isinstance(clock, ReplayClock)
    assert clock.now() == start  # held: the processes of a run start before their day does
    assert clock.seconds_until(start + timedelta(minutes=1)) == 31.0
    wall.at += timedelta(seconds=90)  # 60 s past the anchor: an hour simulated
    assert clock.now() == start + timedelta(hours=1)
    assert clock.now().tzinfo == UTC
    assert clock.seconds_until(start) == -60.0
    assert clock.spec == "replay:2026-12-04T06:00:00+07:00@60"


@given(
    speed=st.floats(min_value=0.01, max_value=MAX_SPEED),
    steps=st.lists(st.floats(min_value=0, max_value=3600), min_size=1, max_size=20),
)
def test_replay_time_never_goes_back_and_moves_speed_times_real_time(
    speed: float, steps: list[float]
) -> None:
    anchor = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)
    wall = Wall(anchor - timedelta(seconds=10))
    clock = ReplayClock(datetime(2026, 12, 4, tzinfo=WIB), speed, anchor, wall=wall)
    previous = clock.now()
    for step in steps:
        wall.at += timedelta(seconds=step)
        now = clock.now()
        assert now >= previous
        running = max(0.0, (wall.at - anchor).total_seconds())
        expected = clock.start + timedelta(seconds=running * speed)
        assert abs((now - expected).total_seconds()) <= 2e-6  # microseconds, rounded
        if running > 0:
            assert abs(clock.seconds_until(now)) <= 1e-3
        else:  # held: its start is due at the anchor
            assert clock.seconds_until(now) == (anchor - wall.at).total_seconds()
        previous = now


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("sometimes", "must be 'wall' or 'replay:<start>@<speed>'"),
        ("replay:2026-12-04T06:00:00+07:00", "must be 'wall' or 'replay:<start>@<speed>'"),
        ("replay:yesterday@60", "'yesterday' is not an ISO 8601 time"),
        ("replay:2026-12-04T06:00:00@60", "needs a UTC offset"),
        ("replay:2026-12-04T06:00:00+07:00@0", "speed must be above 0"),
        ("replay:2026-12-04T06:00:00+07:00@1000000", "speed must be above 0 and at most"),
    ],
)
def test_a_bad_clock_setting_stops_with_one_sentence(
    value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCC_CLOCK", value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith("Setting OCC_CLOCK is invalid: ") and problem in message
    assert value in message  # shown whole: a clock holds no secret, and its @ is no password
    assert message.count(".") >= 1 and "\n" not in message


def test_processes_of_one_run_agree_through_the_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCC_CLOCK", "replay:2026-12-04T06:00:00+07:00@60")
    monkeypatch.setenv("OCC_CLOCK_ANCHOR", "2026-12-06T04:00:00+00:00")
    one, other = load_settings().pipeline_clock, load_settings().pipeline_clock
    assert isinstance(one, ReplayClock) and one == other
    assert one.anchor == datetime(2026, 12, 6, 4, 0, tzinfo=UTC)


def test_an_unanchored_replay_clock_is_anchored_once_per_settings() -> None:
    settings = Settings(clock="replay:2026-12-04T06:00:00+07:00@60")
    clock = settings.pipeline_clock
    assert settings.pipeline_clock is clock
    assert settings.model_copy().pipeline_clock is clock


# Every "now" of the pipeline comes from its clock. These are the only places that may read
# the system's time of day, and why.
WALL_READERS = {
    "ingest/clock.py": "the wall clock itself",
    "deploy/health.py": "compares a file's modification time, which the file system stamps",
}
WALL_CALLS = re.compile(
    r"datetime\.now\(|datetime\.utcnow\(|date\.today\(|time\.time\(|time\.time_ns\("
    r"|\butcnow\("
)


def test_nothing_in_the_pipeline_reads_the_wall_clock_but_the_clock() -> None:
    offenders = []
    for package in ("ingest", "processors", "alerts", "deploy"):
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO).as_posix()
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if WALL_CALLS.search(line) and relative not in WALL_READERS:
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == [], "ask the pipeline clock (settings.pipeline_clock):\n" + "\n".join(
        offenders
    )
