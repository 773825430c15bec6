"""`occupancy roster plan`: plan a week's office days within every room's limit, or check
the roster as it stands against a level (`--check`)."""

from __future__ import annotations

import json
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from deploy.plan import (
    Plan,
    RoomDay,
    check_roster,
    dump_roster,
    plan_roster,
    planned_roster,
    week_days,
)
from ingest.errors import ConfigError
from ingest.roster import load_roster
from ingest.settings import load_settings
from ingest.site import load_site

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


def plan_dates(week: str | None, start: date | None, end: date | None) -> list[date]:
    """The dates of an ISO week (`2026-W49`, Monday to Sunday) or of `start` to `end`."""
    if week is not None:
        if start is not None or end is not None:
            raise ConfigError("Give --week or --start/--end, not both.")
        match = _WEEK.match(week.strip())
        if match is None:
            raise ConfigError(f"--week {week!r} is not an ISO week such as 2026-W49.")
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise ConfigError(f"--week {week!r}: the year has no such week.") from None
        return week_days(monday, date.fromordinal(monday.toordinal() + 6))
    if start is None:
        raise ConfigError("Give the week to plan: --week 2026-W49, or --start DATE [--end DATE].")
    return week_days(start, end or date.fromordinal(start.toordinal() + 6))


@click.command("plan")
@click.option(
    "--roster",
    "roster_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The roster to plan (default: OCC_ROSTER_FILE).",
)
@click.option(
    "--site",
    "site_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The site file with the rooms and their limits (default: OCC_SITE_FILE).",
)
@click.option("--week", help="The ISO week to plan, e.g. 2026-W49 (Monday to Sunday).")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First date to plan.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last date (default: start + 6).")
@click.option("--level", help="The policy level whose limits hold (default: the active one).")
@click.option(
    "--min-office-days",
    type=click.IntRange(0, 31),
    default=2,
    show_default=True,
    help="Office days per employee in the dates (all their work days if they have fewer).",
)
@click.option(
    "--headroom",
    type=click.IntRange(0, 10_000),
    default=0,
    show_default=True,
    help="Places to keep free below every room's limit.",
)
@click.option(
    "--below-warning",
    is_flag=True,
    help="Keep every room under the count at which its capacity alert warns.",
)
@click.option(
    "--fixed",
    multiple=True,
    help="A group kept as it is (repeat; default: the groups in on every work day).",
)
@click.option("--check", is_flag=True, help="Only report the rooms the roster as it is puts over.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the planned roster (YAML) here.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(1, 3600),
    default=30.0,
    show_default=True,
    help="Seconds the solver may take for the plan (and again for each change it tries).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the plan (or the check) as JSON.")
def plan(  # noqa: PLR0917 - click passes every option
    roster_file: Path | None,
    site_file: Path | None,
    week: str | None,
    start: Any,
    end: Any,
    level: str | None,
    min_office_days: int,
    headroom: int,
    below_warning: bool,
    fixed: tuple[str, ...],
    check: bool,
    out: Path | None,
    time_limit: float,
    as_json: bool,
) -> None:
    """Choose who is in the office on which day so that every room stays within its limit.

    Exits 1 when no plan fits (or, with --check, when a room is over), saying which rooms
    and days are over, by how much, and the smallest change that would fit.
    """
    if roster_file is None or site_file is None:
        settings = load_settings()
        roster_file = roster_file or settings.roster_file
        site_file = site_file or settings.site_file
    if site_file is None:
        raise ConfigError("A plan needs the site's rooms: pass --site FILE or set OCC_SITE_FILE.")
    if roster_file is None:
        raise ConfigError("A plan needs a roster: pass --roster FILE or set OCC_ROSTER_FILE.")
    days = plan_dates(week, start.date() if start else None, end.date() if end else None)
    site = load_site(site_file)
    roster = load_roster(roster_file, site)
    level = level or site.policy.active
    if check:
        rooms = check_roster(site, roster, days, level)
        over = [r for r in rooms if r.over]
        if as_json:
            click.echo(json.dumps({"level": level, "rooms": [_over(r) for r in rooms]}, indent=2))
        else:
            _print_check(level, rooms, over)
        sys.exit(1 if over else 0)
    made = plan_roster(
        site,
        roster,
        days,
        level,
        min_office_days=min_office_days,
        headroom=headroom,
        below_warning=below_warning,
        fixed=list(fixed) if fixed else None,
        time_limit_s=time_limit,
    )
    if out is not None and made.feasible:
        out.write_text(dump_roster(planned_roster(roster_file, roster, made)), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(made.as_json(), indent=2))
    else:
        _print_plan(made, out)
    sys.exit(0 if made.feasible else 1)


def over_text(over: list[RoomDay]) -> str:
    """Rooms over their limit, each once: by how many at most, on which days."""
    by_room: dict[str, list[RoomDay]] = {}
    for r in over:
        by_room.setdefault(f"{r.building}/{r.room}", []).append(r)
    return "; ".join(
        f"{room} by up to {max(r.over for r in days)} on "
        + " ".join(f"{r.date:%a %d}" for r in sorted(days, key=lambda r: r.date))
        for room, days in by_room.items()
    )


def _margin(made: Plan) -> str:
    margins = [f"less {made.headroom}"] if made.headroom else []
    if made.below_warning:
        margins.append("below its warning")
    return f" ({', '.join(margins)})" if margins else ""


def _over(r: RoomDay) -> dict[str, Any]:
    return {**r.as_json(), "over": r.over}


def _table(title: str, rooms: list[RoomDay]) -> Table:
    days = sorted({r.date for r in rooms})
    table = Table(title=title)
    table.add_column("room", no_wrap=True)
    table.add_column("limit", justify="right")
    for d in days:
        table.add_column(f"{d:%a %d}", justify="right")
    by_room: dict[tuple[str, str], dict[date, RoomDay]] = {}
    for r in rooms:
        by_room.setdefault((r.building, r.room), {})[r.date] = r
    for (building, room), cells in by_room.items():
        first = next(iter(cells.values()))
        limit = str(first.limit)
        if first.target is not None and first.target != first.limit:
            limit += f" (plan ≤ {first.target})"
        row = []
        for d in days:
            cell = cells.get(d)
            text = "" if cell is None else str(cell.planned)
            row.append(f"[bold red]{text} (+{cell.over})[/]" if cell and cell.over else text)
        table.add_row(f"{building}/{room}", limit, *row)
    return table


def _print_check(level: str, rooms: list[RoomDay], over: list[RoomDay]) -> None:
    console = Console()
    console.print(_table(f"The roster as it is, at level {level}: people in vs limit", rooms))
    if not over:
        console.print(f"No room is over its limit at level {level}.")
        return
    console.print(f"{len(over)} room-days over at level {level}: {over_text(over)}.")


def _print_plan(made: Plan, out: Path | None) -> None:
    console = Console()
    console.print(_table(f"Planned at level {made.level}: people in vs limit", made.rooms))
    planned = [a for a in made.assignments if not a.fixed]
    spread = sorted({len(a.days) for a in planned})
    days = " or ".join(str(n) for n in spread) or "no"
    days += " office day" if spread == [1] else " office days"
    if made.feasible:
        console.print(
            f"Every room within its limit{_margin(made)} at "
            f"level {made.level}: {len(planned)} employees planned with {days}, "
            f"{len(made.assignments) - len(planned)} kept as they are "
            f"({made.seconds:.1f} s{'' if made.optimal else ', best found in the time limit'})."
        )
        if out is not None:
            console.print(f"Planned roster written to {out}.")
        return
    console.print(
        f"No plan keeps every room within its limit at level {made.level} with "
        f"{made.min_office_days} office days each; the closest is over on "
        f"{len(made.over)} room-days: {over_text(made.over)}."
    )
    if made.suggestions:
        console.print("Why, and the smallest changes that would fit:")
    for suggestion in made.suggestions:
        console.print(f"  - {suggestion}")
    if out is not None:
        console.print(f"Nothing written to {out}.")
