"""The site file: the sample loads, limits follow the policy, broken files name the fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import ConfigError
from ingest.site import Site, load_site
from tests.conftest import SAMPLE_SITE

SMALL = """\
policy:
  active: normal
  levels:
    normal: 1.0
    odd: 0.7
    typed: {default: 0.5, meeting: 0.3}
buildings:
  - id: b1
    name: Test building
    timezone: Asia/Jayapura
    rooms:
      - {id: r1, name: Ten, type: workroom, capacity: 10}
      - {id: r2, name: Meeting, type: meeting, capacity: 10}
      - {id: r3, name: Fixed, type: meeting, capacity: 10, limit: 4}
    sensors:
      - {id: s1, room: r1}
    kiosks:
      - {id: k1}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def test_sample_site_describes_a_government_office(sample_site: Site) -> None:
    hq = sample_site.building("hq-jakarta")
    assert hq is not None and hq.timezone == "Asia/Jakarta"
    types = {room.type for room in hq.rooms}
    assert {"workroom", "meeting", "service", "lobby"} <= types
    assert len({room.floor for room in hq.rooms}) >= 3
    assert hq.kiosks and hq.sensors
    assert all(sample_site.room("hq-jakarta", s.room) for s in hq.sensors)
    every_room_has_a_door = {s.room for s in hq.sensors} == {r.id for r in hq.rooms}
    assert every_room_has_a_door


@pytest.mark.parametrize(
    ("level", "room", "limit"),
    [
        ("normal", "r1", 10),
        ("odd", "r1", 7),  # floor(10 × 0.7) is 7 exactly, not 6 from binary floating point
        ("typed", "r1", 5),  # the default of a typed level
        ("typed", "r2", 3),  # the meeting ratio
        ("typed", "r3", 4),  # an explicit limit wins over every level
        ("normal", "r3", 4),
    ],
)
def test_limit_is_explicit_or_floor_of_capacity_times_ratio(
    tmp_path: Path, level: str, room: str, limit: int
) -> None:
    site = load_site(write(tmp_path, SMALL))
    found = site.room("b1", room)
    assert found is not None
    assert site.limit(found, level) == limit
    resolved = {r["id"]: r["limit"] for r in site.resolved(level)["buildings"][0]["rooms"]}
    assert resolved[room] == limit


def test_lookups(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, SMALL))
    sensor = site.sensor("b1", "s1")
    assert sensor is not None and sensor.room == "r1"
    assert site.sensor("b1", "s9") is None
    assert site.has_kiosk("b1", "k1") and not site.has_kiosk("b1", "k2")
    building = site.building("b1")
    assert building is not None and building.reset_time == "03:00"  # the default


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "problem"),
    [
        ("capacity: 10}", "capacity: -5}", 12, "buildings[0].rooms[0].capacity", "greater than"),
        ("capacity: 10}", 'capacity: "10"}', 12, "buildings[0].rooms[0].capacity", "integer"),
        ("Asia/Jayapura", "Asia/Atlantis", 10, "buildings[0].timezone", "IANA time zone"),
        ("room: r1}", "room: r9}", 16, "buildings[0].sensors[0].room", "unknown room 'r9'"),
        ("active: normal", "active: lockdown", 2, "policy.active", "'lockdown' is not one"),
        ("id: r2,", "id: r1,", 13, "buildings[0].rooms[1].id", "given twice"),
        ("limit: 4}", "limit: 40}", 14, "buildings[0].rooms[2]", "above the capacity"),
        ("id: r2,", "id: kiosk,", 13, "buildings[0].rooms[1].id", "reserved"),
        ("type: workroom", "type: office", 12, "buildings[0].rooms[0].type", "workroom"),
        ("{id: k1}", "{id: k1, colour: red}", 18, "buildings[0].kiosks[0].colour", "extra"),
        ("odd: 0.7", "odd: 1.5", 5, "policy.levels.odd", "less than or equal to 1"),
        ("meeting: 0.3", "meeting: 3", 6, "policy.levels.typed.meeting", "less than or equal"),
        ("typed: {default: 0.5, ", "typed: {", 6, "policy.levels.typed", "room type 'workroom'"),
        ("    timezone: Asia/Jayapura\n", "", 8, "buildings[0].timezone", "required"),
        ("id: b1", "id: b 1", 8, "buildings[0].id", "pattern"),
    ],
)
def test_broken_site_names_file_line_key_and_problem(
    tmp_path: Path, old: str, new: str, line: int, key: str, problem: str
) -> None:
    assert old in SMALL
    path = write(tmp_path, SMALL.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_site(path)
    message = str(caught.value)
    assert message.startswith(f"{path} line {line} ({key}): "), message
    assert problem in message
    assert message.endswith(".") and "\n" not in message


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("policy: [\n", "not valid YAML"),
        ("policy:\n  active: a\n  active: b\n", "given twice"),
        ("- just\n- a list\n", "a site file is a mapping"),
        ("", "a site file is a mapping"),
    ],
)
def test_unreadable_site_files(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_site(write(tmp_path, text))


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.yaml: the file does not exist"):
        load_site(tmp_path / "nothere.yaml")


def test_sample_is_the_file_shipped(sample_site: Site) -> None:
    assert load_site(SAMPLE_SITE) == sample_site
