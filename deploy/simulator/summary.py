"""What a simulated day will do, worked out without a broker: `occupancy simulate --dry-run`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.table import Table

from deploy.simulator.clock import real_seconds
from deploy.simulator.day import Day
from deploy.simulator.messages import MESSAGE_KINDS
from ingest.site import Site


@dataclass(frozen=True, slots=True)
class RoomOutlook:
    """A room's count as the pipeline will keep it: duplicates dropped, clamped at zero."""

    building: str
    room: str
    limit: int
    peak: int
    peak_at: datetime | None
    final: int
    underflows: int

    @property
    def over(self) -> bool:
        return self.peak > self.limit


def room_outlook(day: Day, site: Site, prefix: str) -> list[RoomOutlook]:
    """Every room of the site, in site order, replaying the day's door messages."""
    count: Counter[tuple[str, str]] = Counter()
    peak: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    underflows: Counter[tuple[str, str]] = Counter()
    head = len(prefix.split("/"))
    for message in day.messages:
        if message.kind not in {"door", "heartbeat"}:
            continue
        parts = message.topic.split("/")
        key = (parts[head], parts[head + 1])
        body = json.loads(message.payload)
        raw = count[key] + body["entered"] - body["exited"]
        underflows[key] += raw < 0
        count[key] = max(0, raw)
        if count[key] > peak.get(key, (0, None))[0]:
            peak[key] = (count[key], message.at)
    out = []
    for building in site.buildings:
        for room in building.rooms:
            key = (building.id, room.id)
            top, at = peak.get(key, (0, None))
            out.append(
                RoomOutlook(
                    building.id, room.id, site.limit(room), top, at, count[key], underflows[key]
                )
            )
    return out


def kinds(day: Day) -> dict[str, int]:
    counted = Counter(m.kind for m in day.messages)
    return {kind: counted[kind] for kind in MESSAGE_KINDS}


def print_summary(day: Day, site: Site, speed: float, console: Console) -> None:
    window = day.window
    options = day.options
    faults = ", ".join(sorted(options.faults.enabled)) or "none"
    minutes = real_seconds(window, site, speed) / 60
    console.print(
        f"[bold]Simulated day {window.date} ({window.date:%A})[/bold], "
        f"{window.start:%H:%M}-{window.end:%H:%M} local time in each building; "
        f"seed {options.seed}; at speed {speed:g} it takes {minutes:.1f} min; faults: {faults}"
    )
    _people(day, site, console)
    _messages(day, console)
    _rooms(day, site, console)
    for note in day.notes:
        console.print(f"  fault {note}")


def _people(day: Day, site: Site, console: Console) -> None:
    table = Table(title="Scheduled in the office")
    for column in ("building", "group", "scheduled", "coming", "absent", "first in", "last out"):
        table.add_column(column, justify="left" if column in {"building", "group"} else "right")
    for building in site.buildings:
        mine = [a for a in day.attendees if a.building == building.id]
        for group in dict.fromkeys(a.group for a in mine):
            members = [a for a in mine if a.group == group]
            came = [a for a in members if a.comes]
            ins = [a.check_in for a in came if a.check_in is not None]
            outs = [a.check_out for a in came if a.check_out is not None]
            table.add_row(
                building.id,
                group,
                str(len(members)),
                str(len(came)),
                str(len(members) - len(came)),
                min(ins).astimezone(building.zone).strftime("%H:%M") if ins else "",
                max(outs).astimezone(building.zone).strftime("%H:%M") if outs else "",
            )
        visitors = day.visitors.get(building.id, 0)
        meetings = sum(1 for m in day.meetings if m.building == building.id)
        table.add_row(building.id, f"public visitors: {visitors}; meetings: {meetings}", "", "")
    console.print(table)


def _messages(day: Day, console: Console) -> None:
    table = Table(title="Messages")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, count in kinds(day).items():
        table.add_row(kind, str(count))
    if day.lost:
        table.add_row("lost (never published)", str(len(day.lost)))
    table.add_row("[bold]published[/bold]", f"[bold]{len(day.messages)}[/bold]")
    console.print(table)


def _rooms(day: Day, site: Site, console: Console) -> None:
    table = Table(title="Rooms: expected peak against the limit")
    for column in ("building", "room", "limit", "peak", "at", "at the end", "over"):
        table.add_column(column, justify="left" if column in {"building", "room"} else "right")
    zones = {b.id: b.zone for b in site.buildings}
    for outlook in room_outlook(day, site, day.options.prefix):
        at = outlook.peak_at
        over = "[red]over[/red]" if outlook.over else ""
        if outlook.underflows:
            over += f" {outlook.underflows}× below 0"
        table.add_row(
            outlook.building,
            outlook.room,
            str(outlook.limit),
            str(outlook.peak),
            at.astimezone(zones[outlook.building]).strftime("%H:%M") if at else "",
            str(outlook.final),
            over,
        )
    console.print(table)
