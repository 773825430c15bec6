"""`occupancy roster check`: the summary, the resolved roster for tools, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_SITE
from tests.support.cli import occupancy

SAMPLE_ROSTER = SAMPLE_SITE.parent / "roster.yaml"


def test_roster_check_prints_a_summary() -> None:
    result = occupancy("roster", "check", "--site", str(SAMPLE_SITE), str(SAMPLE_ROSTER))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "valid — 293 employees in 7 units and 5 groups" in out
    assert "mon wed fri" in out and "07:00-09:00" in out and "7.5 h" in out
    assert "keuangan — Biro Keuangan" in out
    assert "hq-jakarta" in out and "Asia/Makassar" in out
    assert "calendar: ID national holidays and cuti bersama" in out


def test_roster_check_takes_the_site_from_the_settings() -> None:
    result = occupancy(
        "roster", "check", str(SAMPLE_ROSTER), env={"OCC_SITE_FILE": str(SAMPLE_SITE)}
    )
    assert result.returncode == 0, result.stderr
    assert "293 employees" in result.stdout


def test_roster_check_json_resolves_the_roster_for_tools() -> None:
    result = occupancy("roster", "check", "--json", "--site", str(SAMPLE_SITE), str(SAMPLE_ROSTER))
    assert result.returncode == 0, result.stderr
    roster = json.loads(result.stdout)
    employees = {e["id"]: e for e in roster["employees"]}
    assert len(employees) == 293
    assert employees["196705121990031001"] == {
        "id": "196705121990031001",
        "name": "Kepala Badan",
        "unit": "setjen",
        "group": "pimpinan",
        "building": "hq-jakarta",
        "rooms": ["f4-leadership"],
        "office_days": [],
        "wfh_days": [],
    }
    assert {e["building"] for e in employees.values()} == {"hq-jakarta", "ro-makassar"}
    groups = {g["id"]: g for g in roster["groups"]}
    assert groups["A"]["office_days"] == ["mon", "wed", "fri"]
    assert groups["B"]["office_days"] == ["tue", "thu"]
    assert groups["A"]["start_window"] == {"from": "07:00", "to": "09:00"}
    assert (groups["A"]["required_hours"], groups["A"]["grace_minutes"]) == (7.5, 15)
    assert groups["layanan"]["on_duty_days"] == ["2026-11-28"]
    assert groups["makassar"]["start_window"] == {"from": "07:30", "to": "08:30"}
    assert roster["holidays"] == []
    assert roster["calendar"] == {
        "country": "ID",
        "cuti_bersama": True,
        "language": "id",
        "not_holidays": [],
        "buildings": {},
    }
    assert {u["id"] for u in roster["units"]} >= {"setjen", "keuangan", "wil-makassar"}


@pytest.mark.parametrize(
    ("csv_edit", "yaml_edit", "args", "needle"),
    [
        (
            ("pelayanan,layanan,", "pelayanan,C,"),
            None,
            [],
            "employees.csv row 243 (group): unknown group 'C'.",
        ),
        (
            None,
            ("grace_minutes: 15 ", "grace_minutes: soon "),
            [],
            "roster.yaml line 31 (groups[0].grace_minutes): "
            "input should be a valid integer (got 'soon').",
        ),
        (None, None, ["--site", "{missing}"], "nope.yaml: the file does not exist."),
        (None, None, ["--no-site"], "pass --site FILE or set OCC_SITE_FILE."),
    ],
    ids=["csv-row", "yaml-line", "missing-site", "no-site"],
)
def test_roster_errors_are_one_sentence_and_exit_2(
    tmp_path: Path,
    csv_edit: tuple[str, str] | None,
    yaml_edit: tuple[str, str] | None,
    args: list[str],
    needle: str,
) -> None:
    roster = tmp_path / "roster.yaml"
    text = SAMPLE_ROSTER.read_text(encoding="utf-8")
    csv_text = (SAMPLE_SITE.parent / "employees.csv").read_text(encoding="utf-8")
    if yaml_edit is not None:
        assert yaml_edit[0] in text
        text = text.replace(*yaml_edit, 1)
    if csv_edit is not None:
        assert csv_edit[0] in csv_text
        csv_text = csv_text.replace(*csv_edit, 1)
    roster.write_text(text, encoding="utf-8")
    (tmp_path / "employees.csv").write_text(csv_text, encoding="utf-8")
    site = [] if args else ["--site", str(SAMPLE_SITE)]
    args = [a.replace("{missing}", str(tmp_path / "nope.yaml")) for a in args if a != "--no-site"]
    result = occupancy("roster", "check", *site, *args, str(roster))
    assert result.returncode == 2, result.stdout
    message = result.stderr.strip()
    assert needle in message, message
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("occupancy: ") and message.endswith(".")
