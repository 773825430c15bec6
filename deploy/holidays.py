"""`occupancy holidays list`: the holiday calendar in force per building, for HR to check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ingest.calendar import Calendar, Holiday, Source
from ingest.errors import ConfigError
from ingest.roster import WEEKDAYS, load_roster
from ingest.settings import load_settings
from ingest.site import Building, load_site

SOURCE_LABELS: dict[Source, str] = {
    "national": "national",
    "cuti_bersama": "cuti bersama",
    "roster": "roster",
    "building": "building",
}


@click.group()
def holidays() -> None:
    """The holiday calendar: national holidays, cuti bersama and the roster's own days."""


@holidays.command("list")
@click.option("--year", type=int, required=True, help="The year to list, e.g. 2027.")
@click.option("--building", help="Only this building (default: every building of the site).")
@click.option(
    "--site",
    "site_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The site file (default: OCC_SITE_FILE).",
)
@click.option(
    "--roster",
    "roster_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The roster file whose calendar is listed (default: OCC_ROSTER_FILE).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the days as JSON.")
def holidays_list(
    year: int,
    building: str | None,
    site_file: Path | None,
    roster_file: Path | None,
    as_json: bool,
) -> None:
    """The days off in force in YEAR per building (date, weekday, name, source), with the
    national and cuti bersama days the agency works shown as removed."""
    if site_file is None or roster_file is None:
        settings = load_settings()
        site_file = site_file or settings.site_file
        roster_file = roster_file or settings.roster_file
    if site_file is None:
        raise ConfigError("The calendar needs a site file: pass --site FILE or set OCC_SITE_FILE.")
    if roster_file is None:
        raise ConfigError(
            "The calendar is the roster's: pass --roster FILE or set OCC_ROSTER_FILE."
        )
    site = load_site(site_file)
    calendar = load_roster(roster_file, site).holiday_calendar
    calendar.check_year(year)
    buildings = site.buildings
    if building is not None:
        found = site.building(building)
        if found is None:
            raise ConfigError(f"Building {building!r} is not in the site file {site_file}.")
        buildings = [found]
    notes = _notes(calendar, year)
    if as_json:
        listed = {b.id: [_json(h) for h in calendar.listing(b.id, year)] for b in buildings}
        document = {
            "year": year,
            "calendar": calendar.spec.resolved(),
            "buildings": listed,
            "notes": notes,
        }
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    console = Console()
    for b in buildings:
        console.print(_table(b, year, calendar.listing(b.id, year)))
    for note in notes:
        console.print(f"Note: {note}")


def _table(building: Building, year: int, days: list[Holiday]) -> Table:
    off = sum(1 for h in days if not h.removed)
    table = Table(
        title=f"{building.name} ({building.id}): {off} days off in {year}",
        caption="removed: the agency works that day" if off < len(days) else None,
    )
    for column in ("date", "weekday", "name", "source"):
        table.add_column(column)
    for h in days:
        source = SOURCE_LABELS[h.source] + (", removed" if h.removed else "")
        table.add_row(
            h.date.isoformat(),
            WEEKDAYS[h.date.weekday()].capitalize(),
            Text(h.name or "—"),  # a roster's name is text, not rich markup
            source,
            style="strike dim" if h.removed else None,
        )
    return table


def _json(day: Holiday) -> dict[str, Any]:
    return {
        "date": day.date.isoformat(),
        "weekday": WEEKDAYS[day.date.weekday()],
        "name": day.name,
        "source": day.source,
        "removed": day.removed,
    }


def _notes(calendar: Calendar, year: int) -> list[str]:
    notes: list[str] = []
    if calendar.cuti_bersama_missing(year):
        notes.append(
            f"the holidays library knows no cuti bersama for {year} yet (they are decreed "
            "year by year): list them in the roster's holidays until a newer version has them."
        )
    return notes
