"""Time to plan a week (`occupancy roster plan`): the sample roster (293 employees) at each
level, and a generated roster (10,000 employees in 100 workrooms by default).

Run: `python bench/plan.py [--employees 10000] [--rooms 100]`; a table, then one JSON line;
exit 1 when a plan takes longer than its budget (10 s for the sample, 60 s generated).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from deploy.plan import plan_roster, week_days
from ingest.roster import Employee, Group, Roster, Unit, load_roster
from ingest.site import Site, load_site

SAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "sample"
WEEK = week_days(date(2026, 11, 30), date(2026, 12, 6))
SAMPLE_BUDGET_S, GENERATED_BUDGET_S = 10.0, 60.0


@dataclass(frozen=True)
class Case:
    name: str
    employees: int
    rooms: int
    level: str
    min_office_days: int
    below_warning: bool
    budget_s: float


def generated(employees: int, rooms: int, buildings: int) -> tuple[Site, Roster]:
    """`rooms` workrooms of 100 places over `buildings` buildings, one unit of people per
    room (a tenth of the units share two rooms), in two alternating groups and a daily one."""
    per_building = max(1, rooms // buildings)
    site = Site.model_validate(
        {
            "policy": {
                "active": "transition",
                "levels": {"normal": 1.0, "transition": 0.5, "strict": 0.25},
            },
            "buildings": [
                {
                    "id": f"b{b}",
                    "name": f"Building {b}",
                    "timezone": "Asia/Jakarta",
                    "rooms": [
                        {"id": f"w{r}", "name": f"Room {r}", "type": "workroom", "capacity": 100}
                        for r in range(per_building)
                    ],
                }
                for b in range(buildings)
            ],
        }
    )
    places = [(f"b{b}", f"w{r}") for b in range(buildings) for r in range(per_building)]
    units = []
    for i, (b, r) in enumerate(places):
        home = [f"{b}/{r}"]
        if i % 10 == 9:  # some units spill into the next room of their building
            home.append(f"{b}/w{(int(r[1:]) + 1) % per_building}")
        units.append(Unit(id=f"u{i}", rooms=home))
    window = {"start_window": "07:00-09:00", "required_hours": 7.5}
    groups = [
        Group(id="A", office_days=["mon", "wed", "fri"], **window),  # type: ignore[arg-type]
        Group(id="B", office_days=["tue", "thu"], **window),  # type: ignore[arg-type]
        Group(id="daily", office_days=["mon", "tue", "wed", "thu", "fri"], **window),  # type: ignore[arg-type]
    ]
    people = []
    for n in range(employees):
        i = n % len(places)
        group = "daily" if n // len(places) % 25 == 0 else "AB"[n // len(places) % 2]
        people.append(Employee(id=f"e{n:06d}", unit=f"u{i}", group=group, building=places[i][0]))
    roster = Roster(units=units, groups=groups, employees=people)
    return site, roster


def run(case: Case, site: Site, roster: Roster, time_limit_s: float) -> dict[str, Any]:
    began = time.perf_counter()
    made = plan_roster(
        site,
        roster,
        WEEK,
        case.level,
        min_office_days=case.min_office_days,
        below_warning=case.below_warning,
        time_limit_s=time_limit_s,
    )
    seconds = time.perf_counter() - began
    return {
        "case": case.name,
        "employees": case.employees,
        "rooms": case.rooms,
        "level": case.level,
        "min_office_days": case.min_office_days,
        "below_warning": case.below_warning,
        "feasible": made.feasible,
        "optimal": made.optimal,
        "over_places": sum(r.over for r in made.over),
        "suggestions": len(made.suggestions),
        "seconds": round(seconds, 2),
        "budget_s": case.budget_s,
        "within_budget": seconds <= case.budget_s,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--buildings", type=int, default=5)
    parser.add_argument("--time-limit", type=float, default=30.0, help="The solver's, per solve.")
    args = parser.parse_args()

    site = load_site(SAMPLE / "site.yaml")
    roster = load_roster(SAMPLE / "roster.yaml", site)
    seats = sum(1 for b in site.buildings for r in b.rooms if r.type in ("workroom", "service"))
    n = len(roster.employees)
    results = []
    for level, days, below in (("strict", 2, False), ("transition", 1, True), ("normal", 2, False)):
        case = Case("sample", n, seats, level, days, below, SAMPLE_BUDGET_S)
        results.append(run(case, site, roster, args.time_limit))
    big_site, big_roster = generated(args.employees, args.rooms, args.buildings)
    rooms = sum(len(b.rooms) for b in big_site.buildings)
    for level in ("transition", "strict"):
        case = Case("generated", args.employees, rooms, level, 2, False, GENERATED_BUDGET_S)
        results.append(run(case, big_site, big_roster, args.time_limit))

    table = Table(title="Time to plan a week")
    columns = ("case", "employees", "rooms", "level", "min_office_days", "feasible")
    for column in (*columns, "over_places", "seconds", "budget_s"):
        table.add_column(column, justify="left" if column in {"case", "level"} else "right")
    for r in results:
        table.add_row(*(str(r[c]) for c in (*columns, "over_places", "seconds", "budget_s")))
    Console().print(table)
    print(json.dumps({"bench": "plan", "results": results}))
    return 0 if all(r["within_budget"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
