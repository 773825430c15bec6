"""`occupancy holidays list`: the calendar in force per building, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from deploy.cli import main
from tests.conftest import SAMPLE_ROSTER, SAMPLE_SITE

FILES = ["--site", str(SAMPLE_SITE), "--roster", str(SAMPLE_ROSTER)]


def occupancy(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env={"COLUMNS": "160", **(env or {})}).invoke(main, list(args))


def listed(*args: str) -> dict[str, Any]:
    result = occupancy("holidays", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_sample_lists_christmas_and_its_cuti_bersama_in_both_buildings() -> None:
    result = occupancy("holidays", "list", "--year", "2026", *FILES)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "hq-jakarta" in out and "ro-makassar" in out
    for building in out.split("(ro-makassar)"):
        assert "│ 2026-12-24 │ Thu     │ Cuti Bersama Hari Raya Natal" in building
        assert "│ 2026-12-25 │ Fri     │ Hari Raya Natal" in building
    assert "25 days off in 2026" in out
    assert "national" in out and "cuti bersama" in out
    assert "Note:" not in out


def test_json_for_one_building() -> None:
    document = listed("--year", "2026", "--building", "ro-makassar", *FILES)
    assert document["year"] == 2026
    assert document["calendar"]["country"] == "ID" and document["calendar"]["cuti_bersama"]
    (days,) = document["buildings"].values()
    by_date = {d["date"]: d for d in days}
    assert by_date["2026-12-25"] == {
        "date": "2026-12-25",
        "weekday": "fri",
        "name": "Hari Raya Natal",
        "source": "national",
        "removed": False,
    }
    assert by_date["2026-12-24"]["source"] == "cuti_bersama"
    assert sum(d["source"] == "national" for d in days) == 17
    assert sum(d["source"] == "cuti_bersama" for d in days) == 8


def test_the_files_come_from_the_settings() -> None:
    env = {"OCC_SITE_FILE": str(SAMPLE_SITE), "OCC_ROSTER_FILE": str(SAMPLE_ROSTER)}
    result = occupancy("holidays", "list", "--year", "2027", "--json", env=env)
    assert result.exit_code == 0, result.output
    days = json.loads(result.stdout)["buildings"]["hq-jakarta"]
    assert {"2027-01-01", "2027-12-24", "2027-12-25"} <= {d["date"] for d in days}


ROSTER = """\
units: [{id: u1}]
groups:
  - {id: A, office_days: [mon], start_window: "07:00-09:00", required_hours: 8}
holidays: [{date: 2026-10-02, name: HUT Badan}]
calendar:
  not_holidays: [2026-12-24]
  buildings:
    ro-makassar:
      holidays: [{date: 2026-11-10, name: Hari Jadi}]
      not_holidays: [2026-05-28]
employees:
  - {id: e1, unit: u1, group: A, building: hq-jakarta}
"""


def test_days_worked_are_listed_as_removed(tmp_path: Path) -> None:
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER, encoding="utf-8")
    files = ["--site", str(SAMPLE_SITE), "--roster", str(roster)]
    result = occupancy("holidays", "list", "--year", "2026", "--building", "ro-makassar", *files)
    assert result.exit_code == 0, result.output
    rows = {line[2:12]: line for line in result.stdout.splitlines() if line[2:6] == "2026"}
    assert "cuti bersama, removed" in rows["2026-12-24"]
    assert "cuti bersama, removed" in rows["2026-05-28"]
    assert "Hari Jadi" in rows["2026-11-10"] and "building" in rows["2026-11-10"]
    assert "HUT Badan" in rows["2026-10-02"] and "roster" in rows["2026-10-02"]
    assert "25 days off in 2026" in result.stdout
    assert "removed: the agency works that day" in result.stdout
    days = listed("--year", "2026", *files)["buildings"]
    removed = {b: [d["date"] for d in found if d["removed"]] for b, found in days.items()}
    assert removed == {"hq-jakarta": ["2026-12-24"], "ro-makassar": ["2026-05-28", "2026-12-24"]}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (
            ["--year", "1900", *FILES],
            "occupancy: Year 1900 is outside the years the holidays library knows for ID "
            "(1946 to 2100).\n",
        ),
        (
            ["--year", "2026", "--building", "hq-bandung", *FILES],
            f"occupancy: Building 'hq-bandung' is not in the site file {SAMPLE_SITE}.\n",
        ),
    ],
    ids=["year", "building"],
)
def test_errors_are_one_sentence_and_exit_2(args: list[str], problem: str) -> None:
    result = occupancy("holidays", "list", *args)
    assert result.exit_code == 2
    assert result.output == problem


def test_a_year_that_is_no_number_is_refused_by_click() -> None:
    result = occupancy("holidays", "list", "--year", "next", *FILES)
    assert result.exit_code == 2
    assert "'next' is not a valid integer" in result.output


def test_without_a_roster_it_names_the_option_and_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("OCC_ROSTER_FILE", raising=False)
    result = occupancy("holidays", "list", "--year", "2026", "--site", str(SAMPLE_SITE))
    assert result.exit_code == 2
    assert result.output == (
        "occupancy: The calendar is the roster's: pass --roster FILE or set OCC_ROSTER_FILE.\n"
    )


def test_a_year_without_cuti_bersama_yet_says_so() -> None:
    result = occupancy("holidays", "list", "--year", "2028", "--building", "hq-jakarta", *FILES)
    assert result.exit_code == 0, result.output
    assert "Note: the holidays library knows no cuti bersama for 2028 yet" in result.stdout
    assert listed("--year", "2028", *FILES)["notes"]
