"""`occupancy report plan`: a planned week against what happened, each room's planned people
against its measured peak (room states) and each employee's planned office days against
their attendance."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import click
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

from deploy.plan import check_roster
from deploy.plan_command import plan_dates
from ingest.errors import ConfigError
from ingest.kafka import broadcast_consumer
from ingest.models import RoomState
from ingest.roster import Roster, load_roster
from ingest.settings import Settings, load_settings
from ingest.site import Site, load_site
from processors.attendance_rules import DailyRecord
from processors.follow import backlog_of

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class RoomRow:
    building: str
    room: str
    date: date
    planned: int
    peak: int | None
    """The highest count the room states show that day; None: no state of that day."""
    limit: int


@dataclass(frozen=True, slots=True)
class EmployeeRow:
    employee: str
    unit: str
    planned: tuple[date, ...]
    attended: tuple[date, ...]

    @property
    def missed(self) -> tuple[date, ...]:
        return tuple(d for d in self.planned if d not in self.attended)

    @property
    def unplanned(self) -> tuple[date, ...]:
        return tuple(d for d in self.attended if d not in self.planned)


def compare(
    site: Site,
    roster: Roster,
    days: list[date],
    level: str,
    *,
    states: Iterable[RoomState],
    records: Iterable[DailyRecord],
) -> tuple[list[RoomRow], list[EmployeeRow]]:
    """Rooms: planned (the roster's office days, people in their home rooms) vs measured
    peak, per day; employees: planned office days vs days they came."""
    peaks: dict[tuple[str, str, date], int] = {}
    for state in states:
        building = site.building(state.building)
        if building is None:
            continue
        key = (state.building, state.room, state.ts.astimezone(building.zone).date())
        peaks[key] = max(peaks.get(key, 0), state.count)
    rooms = [
        RoomRow(
            r.building,
            r.room,
            r.date,
            r.planned,
            peaks.get((r.building, r.room, r.date)),
            r.limit,
        )
        for r in check_roster(site, roster, days, level)
    ]
    came: dict[str, set[date]] = defaultdict(set)
    for record in records:
        if record.date in days and record.present:
            came[record.employee].add(record.date)
    employees = [
        EmployeeRow(
            e.id,
            e.unit,
            tuple(d for d in days if roster.scheduled(e, d) == "wfo"),
            tuple(sorted(came.get(e.id, set()))),
        )
        for e in roster.employees
    ]
    return rooms, employees


async def read_all(settings: Settings, topic: str, model: type[Model]) -> list[Model]:
    """Every value the topic still holds (a compacted topic keeps at least the latest)."""
    consumer = broadcast_consumer(settings, topic)
    await consumer.start()
    out: list[Model] = []
    try:
        backlog = await backlog_of(consumer)
        while backlog:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for tp, records in batch.items():
                out.extend(model.model_validate_json(r.value) for r in records if r.value)
                if records and records[-1].offset + 1 >= backlog.get(tp, 0):
                    backlog.pop(tp, None)
        return out
    finally:
        await consumer.stop()


@click.command("plan")
@click.option("--week", help="The ISO week that was planned, e.g. 2026-W49.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First date planned.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last date (default: start + 6).")
@click.option("--level", help="The level the plan was made for (default: the active one).")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def report_plan(week: str | None, start: Any, end: Any, level: str | None, as_json: bool) -> None:
    """A planned week against what happened: rooms' planned vs measured peaks, employees'
    planned office days vs attendance (the roster in OCC_ROSTER_FILE is the plan)."""
    settings = load_settings()
    if settings.site_file is None or settings.roster_file is None:
        raise ConfigError("Set OCC_SITE_FILE and OCC_ROSTER_FILE (the planned roster).")
    days = plan_dates(week, start.date() if start else None, end.date() if end else None)
    site = load_site(settings.site_file)
    roster = load_roster(settings.roster_file, site)
    states = asyncio.run(read_all(settings, "room-state", RoomState))
    records = asyncio.run(read_all(settings, "attendance", DailyRecord))
    rooms, employees = compare(
        site, roster, days, level or site.policy.active, states=states, records=records
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rooms": [
                        {
                            "building": r.building,
                            "room": r.room,
                            "date": r.date.isoformat(),
                            "planned": r.planned,
                            "peak": r.peak,
                            "limit": r.limit,
                        }
                        for r in rooms
                    ],
                    "employees": [
                        {
                            "employee": e.employee,
                            "unit": e.unit,
                            "planned": [d.isoformat() for d in e.planned],
                            "attended": [d.isoformat() for d in e.attended],
                        }
                        for e in employees
                    ],
                },
                indent=2,
            )
        )
        return
    console = Console()
    table = Table(title="Rooms: planned / measured peak (limit)")
    for column in ("room", "date", "planned", "peak", "limit"):
        table.add_column(column, justify="left" if column in {"room", "date"} else "right")
    for r in rooms:
        peak = "—" if r.peak is None else str(r.peak)
        if r.peak is not None and r.peak > r.limit:
            peak = f"[bold red]{peak}[/]"
        table.add_row(f"{r.building}/{r.room}", str(r.date), str(r.planned), peak, str(r.limit))
    console.print(table)
    planned_days = sum(len(e.planned) for e in employees)
    kept = sum(len(e.planned) - len(e.missed) for e in employees)
    unplanned = sum(len(e.unplanned) for e in employees)
    console.print(
        f"Employees: {kept} of {planned_days} planned office days attended; "
        f"{unplanned} days in the office that were not planned; "
        f"{sum(1 for e in employees if e.missed)} employees missed a planned day."
    )
