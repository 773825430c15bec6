"""Plan the week: who is in the office on which day so that every room stays within its
limit under a policy level, solved as a CP-SAT model (OR-Tools).

Employees of the same building, unit, group, home rooms and work days are one cohort: the
model chooses how many of a cohort sit in each of its rooms and how many come each day,
and the days are then dealt to its people in turn, so each gets the same number of days.
"""

from __future__ import annotations

import time as clock
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from ortools.sat.python import cp_model

from deploy.simulator.day import seat_people
from ingest.errors import ConfigError
from ingest.limits import warn_level
from ingest.roster import SEAT_TYPES, Employee, Roster
from ingest.site import Site

__all__ = [
    "Assignment",
    "Plan",
    "RoomDay",
    "check_roster",
    "fixed_groups",
    "plan_roster",
    "planned_roster",
    "week_days",
]

ROOM_WEIGHT = 100
UNIT_DAY_WEIGHT = 10
"""Of plans within every limit: a cohort split over rooms costs most, then a unit's people
in on more days than needed (units kept together), last each room's busiest day (days
spread evenly)."""
WORKERS = 2
WORK = ("wfo", "wfh")
GAP = 0.02
REFINE_S = 5.0
"""The refinement stops within 2 % of the best it can prove, or after 5 s with the best it
found: keeping units together is hard to prove optimal and gains little after."""


@dataclass(frozen=True, slots=True)
class RoomDay:
    building: str
    room: str
    date: date
    planned: int
    limit: int
    target: int | None = None
    """The most the plan allows: `limit` less the headroom, or under the warning level."""

    @property
    def over(self) -> int:
        return max(0, self.planned - (self.limit if self.target is None else self.target))

    def as_json(self) -> dict[str, Any]:
        return {
            "building": self.building,
            "room": self.room,
            "date": self.date.isoformat(),
            "planned": self.planned,
            "limit": self.limit,
        }


@dataclass(frozen=True, slots=True)
class Assignment:
    employee: str
    building: str
    room: str
    days: tuple[date, ...]
    fixed: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "employee": self.employee,
            "building": self.building,
            "room": self.room,
            "days": [d.isoformat() for d in self.days],
        }


@dataclass
class Plan:
    level: str
    headroom: int
    below_warning: bool
    min_office_days: int
    days: list[date]
    assignments: list[Assignment]
    rooms: list[RoomDay]
    seconds: float = 0.0
    optimal: bool = True
    suggestions: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.over

    @property
    def over(self) -> list[RoomDay]:
        return [r for r in self.rooms if r.over]

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "headroom": self.headroom,
            "below_warning": self.below_warning,
            "min_office_days": self.min_office_days,
            "feasible": self.feasible,
            "assignments": [a.as_json() for a in self.assignments],
            "rooms": [r.as_json() for r in self.rooms],
            "over": [{**r.as_json(), "over": r.over} for r in self.over],
            "suggestions": self.suggestions,
            "seconds": round(self.seconds, 3),
        }


def week_days(start: date, end: date) -> list[date]:
    """The dates from `start` to `end`, both included."""
    if end < start:
        raise ConfigError(f"The plan ends ({end}) before it starts ({start}).")
    if (end - start).days > 62:
        raise ConfigError("A plan covers at most 63 days; plan a week or a month at a time.")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def fixed_groups(roster: Roster) -> list[str]:
    """Groups in the office on every one of their work days (leaders, a service desk): kept as
    they are unless named otherwise."""
    return [
        g.id
        for g in roster.groups
        if g.office_weeks == "all" and set(g.work_days) <= set(g.office_days)
    ]


def _seats(site: Site, building: str) -> list[str]:
    b = site.building(building)
    return [r.id for r in b.rooms if r.type in SEAT_TYPES] if b else []


def _limits(
    site: Site, level: str, headroom: int, below_warning: bool = False
) -> dict[tuple[str, str], int]:
    """Each seat room's limit under `level` less `headroom`; with `below_warning`, under the
    count at which its capacity alert warns."""
    if level not in site.policy.levels:
        raise ConfigError(
            f"Level {level!r} is not one of the site's levels "
            f"({', '.join(sorted(site.policy.levels))})."
        )
    limits = {}
    for b in site.buildings:
        for r in b.rooms:
            if r.type not in SEAT_TYPES:
                continue
            limit = site.limit(r, level)
            cap = limit - headroom
            if below_warning:
                cap = min(cap, warn_level(limit, site.policy.warn_ratio) - 1)
            limits[(b.id, r.id)] = max(0, cap)
    return limits


def check_roster(site: Site, roster: Roster, days: list[date], level: str) -> list[RoomDay]:
    """Each seat room's occupancy on each day as the roster stands (people in their home
    rooms, seated as the simulator seats them), against its limit under `level`."""
    limits = _limits(site, level, 0)
    out: list[RoomDay] = []
    for b in site.buildings:
        rooms = _seats(site, b.id)
        people = roster.employees_in(b.id)
        for day in days:
            present = [e for e in people if roster.scheduled(e, day) == "wfo"]
            load = Counter(seat_people(site, b, roster, present).values())
            out.extend(RoomDay(b.id, r, day, load[r], limits[(b.id, r)]) for r in rooms if load[r])
    return out


@dataclass
class _Cohort:
    building: str
    unit: str
    rooms: tuple[str, ...]
    available: tuple[date, ...]
    forced: tuple[date, ...]
    days: int
    people: list[Employee] = field(default_factory=list)


def plan_roster(
    site: Site,
    roster: Roster,
    days: list[date],
    level: str,
    *,
    min_office_days: int = 2,
    headroom: int = 0,
    below_warning: bool = False,
    fixed: list[str] | None = None,
    time_limit_s: float = 30.0,
    explain: bool = True,
) -> Plan:
    """The plan that keeps every seat room within its limit under `level` (less `headroom`)
    with each employee of a group not in `fixed` in the office `min_office_days` of the
    dates (all of their work days when they have fewer); when none exists, the one over by
    the fewest people, with `suggestions` of the smallest change that would fit."""
    began = clock.perf_counter()
    limits = _limits(site, level, headroom, below_warning)
    keep = set(fixed_groups(roster) if fixed is None else fixed)
    for group in keep:
        if roster.group(group) is None:
            raise ConfigError(f"Fixed group {group!r} is not a group of the roster.")
    fixed_load, assignments, cohorts = _split(site, roster, days, keep, min_office_days)
    solved = _solve(cohorts, fixed_load, limits, days, time_limit_s, refine=explain)
    if solved is None:
        raise ConfigError("The solver found no plan within the time limit; give it more time.")
    planned = cohorts
    assignments.extend(_deal(planned, solved))
    load: Counter[tuple[str, str, date]] = Counter(fixed_load)
    for (i, room, d), n in solved.counts.items():
        load[(planned[i].building, room, d)] += n
    real = _limits(site, level, 0)
    table = [
        RoomDay(b, r, d, load[(b, r, d)], real[(b, r)], target)
        for (b, r), target in limits.items()
        for d in days
        if load[(b, r, d)] or fixed_load[(b, r, d)]
    ]
    plan = Plan(
        level,
        headroom,
        below_warning,
        min_office_days,
        days,
        sorted(assignments, key=lambda a: a.employee),
        table,
        optimal=solved.optimal,
    )
    if plan.over and explain:
        plan.suggestions = _suggest(site, roster, plan, keep, time_limit_s, fixed_load, limits)
    plan.seconds = clock.perf_counter() - began
    return plan


def _split(
    site: Site, roster: Roster, days: list[date], keep: set[str], min_office_days: int
) -> tuple[Counter[tuple[str, str, date]], list[Assignment], list[_Cohort]]:
    """The load of the groups kept as they are (and where they sit), and the cohorts to plan."""
    fixed_load: Counter[tuple[str, str, date]] = Counter()
    assignments: list[Assignment] = []
    cohorts: dict[tuple[Any, ...], _Cohort] = {}
    for b in site.buildings:
        rooms = tuple(_seats(site, b.id))
        people = roster.employees_in(b.id)
        kept = [e for e in people if e.group in keep]
        seats = seat_people(site, b, roster, kept)
        for e in kept:
            room = seats.get(e.id)
            if room is None:
                continue
            present = tuple(d for d in days if roster.scheduled(e, d) == "wfo")
            for d in present:
                fixed_load[(b.id, room, d)] += 1
            assignments.append(Assignment(e.id, b.id, room, present, fixed=True))
        for e in people:
            home = tuple(roster.home_rooms(e)) or rooms
            if e.group in keep or not home:  # no desks in the building: nobody to seat
                continue
            available = tuple(d for d in days if roster.scheduled(e, d) in WORK)
            forced = tuple(d for d in available if d in roster.group_of(e).on_duty_days)
            need = max(len(forced), min(min_office_days, len(available)))
            key = (b.id, e.unit, e.group, home, available, forced)
            if key not in cohorts:
                cohorts[key] = _Cohort(b.id, e.unit, home, available, forced, need)
            cohorts[key].people.append(e)
    return fixed_load, assignments, list(cohorts.values())


@dataclass(frozen=True, slots=True)
class _Solution:
    counts: dict[tuple[int, str, date], int]
    """People of cohort i in room r on day d."""
    places: dict[tuple[int, str], int]
    """People of cohort i who sit in room r."""
    optimal: bool


def _solve(
    cohorts: list[_Cohort],
    fixed_load: Counter[tuple[str, str, date]],
    limits: dict[tuple[str, str], int],
    days: list[date],
    time_limit_s: float,
    *,
    refine: bool = True,
) -> _Solution | None:
    """First the fewest people over any limit; then (`refine`), as many over, the rooms kept
    whole, units together (when nobody is over) and days evenly loaded."""
    rotation = _Rotation(cohorts, fixed_load, limits, days)
    solver = _solver(time_limit_s)
    rotation.model.minimize(sum(rotation.overs))
    status = solver.solve(rotation.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    optimal = status == cp_model.OPTIMAL
    if refine:
        first, solver = solver, _solver(min(time_limit_s, REFINE_S))
        solver.parameters.relative_gap_limit = GAP
        rotation.refine(first)
        status = solver.solve(rotation.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver = first  # the refinement found nothing in time: keep the first plan
        optimal = optimal and status == cp_model.OPTIMAL
    return _Solution(
        {key: int(solver.value(k)) for key, k in rotation.counts.items()},
        {key: int(solver.value(a)) for key, a in rotation.places.items()},
        optimal,
    )


def _solver(seconds: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = WORKERS
    return solver


class _Rotation:
    """The CP-SAT model: per cohort, how many sit in each of its rooms (`places`) and how
    many of those come each day (`counts`); per room and day, how many over its limit."""

    def __init__(
        self,
        cohorts: list[_Cohort],
        fixed_load: Counter[tuple[str, str, date]],
        limits: dict[tuple[str, str], int],
        days: list[date],
    ) -> None:
        self.model = cp_model.CpModel()
        self.counts: dict[tuple[int, str, date], cp_model.IntVar] = {}
        self.places: dict[tuple[int, str], cp_model.IntVar] = {}
        self.costs: list[Any] = []
        self.overs: list[cp_model.IntVar] = []
        self.occupancy: dict[tuple[str, str, date], list[cp_model.IntVar]] = defaultdict(list)
        self.unit_days: dict[tuple[str, str, date], list[cp_model.IntVar]] = defaultdict(list)
        for i, c in enumerate(cohorts):
            self._cohort(i, c)
        for (building, room), limit in limits.items():
            self._room(building, room, limit, fixed_load, days)

    def _cohort(self, i: int, c: _Cohort) -> None:
        model, size = self.model, len(c.people)
        sitting = []
        for room in c.rooms:
            a = model.new_int_var(0, size, f"a{i}_{room}")
            sitting.append(a)
            self.places[(i, room)] = a
            if len(c.rooms) > 1:
                used = model.new_bool_var(f"u{i}_{room}")
                model.add(a == 0).only_enforce_if(~used)
                self.costs.append(ROOM_WEIGHT * used)
            daily = []
            for d in c.available:
                k = model.new_int_var(0, size, f"k{i}_{room}_{d}")
                model.add(k <= a)
                if d in c.forced:
                    model.add(k == a)
                self.counts[(i, room, d)] = k
                daily.append(k)
                self.occupancy[(c.building, room, d)].append(k)
                self.unit_days[(c.building, c.unit, d)].append(k)
            model.add(sum(daily) == c.days * a)
        model.add(sum(sitting) == size)

    def _room(
        self,
        building: str,
        room: str,
        limit: int,
        fixed_load: Counter[tuple[str, str, date]],
        days: list[date],
    ) -> None:
        model = self.model
        peak = model.new_int_var(0, 100_000, f"peak_{building}_{room}")
        for d in days:
            ks = self.occupancy.get((building, room, d), [])
            if not ks:
                continue
            base = fixed_load[(building, room, d)]
            over = model.new_int_var(0, 100_000, f"o_{building}_{room}_{d}")
            self.overs.append(over)
            model.add(base + sum(ks) <= limit + over)
            model.add(peak >= base + sum(ks))
        self.costs.append(peak)

    def refine(self, first: cp_model.CpSolver) -> None:
        """Keep the first solve's excess; weigh rooms, units and days (hinted by it)."""
        model = self.model
        best = round(first.objective_value)
        if best == 0:
            for (building, unit, d), ks in self.unit_days.items():
                present = model.new_bool_var(f"p_{building}_{unit}_{d}")
                for k in ks:
                    model.add(k == 0).only_enforce_if(~present)
                self.costs.append(UNIT_DAY_WEIGHT * present)
        model.add(sum(self.overs) == best)
        for var in (*self.counts.values(), *self.places.values()):
            model.add_hint(var, first.value(var))
        model.minimize(sum(self.costs))


def _deal(cohorts: list[_Cohort], solved: _Solution) -> list[Assignment]:
    """Each cohort's people, in id order, take its rooms' places; each room's days go round
    its people in turn, so everyone gets the cohort's number of days."""
    out: list[Assignment] = []
    for i, c in enumerate(cohorts):
        people = sorted(c.people, key=lambda e: e.id)
        start = 0
        for room in c.rooms:
            per_day = [(d, solved.counts[(i, room, d)]) for d in c.available]
            sitting = solved.places[(i, room)]
            members = people[start : start + sitting]
            start += sitting
            chosen: list[list[date]] = [[] for _ in members]
            turn = 0
            for d, n in per_day:
                for j in range(n):
                    chosen[(turn + j) % len(members)].append(d)
                turn = (turn + n) % max(1, len(members))
            out.extend(
                Assignment(e.id, c.building, room, tuple(ds))
                for e, ds in zip(members, chosen, strict=True)
            )
    return out


def _suggest(  # noqa: PLR0917 - private, the plan and what it was made of
    site: Site,
    roster: Roster,
    plan: Plan,
    keep: set[str],
    time_limit_s: float,
    fixed_load: Counter[tuple[str, str, date]],
    limits: dict[tuple[str, str], int],
) -> list[str]:
    """The smallest changes that would make a plan: the fixed groups' own excess, fewer
    office days, no headroom, another level, else the places each room lacks."""
    days, level = plan.days, plan.level
    out: list[str] = []
    for building in site.buildings:
        if not any(r.building == building.id for r in plan.over):
            continue
        rows = [r for r in plan.rooms if r.building == building.id]
        working = {r.date for r in rows}
        room_limits = [limits[(building.id, room)] for room in {r.room for r in rows}]
        out.append(
            f"{building.id} needs {sum(r.planned for r in rows)} office places on "
            f"{len(working)} days; its rooms hold {sum(room_limits) * len(working)} at "
            f"level {level} (the rooms its people sit in)"
        )
    alone = [
        (b, r, d, n - limits[(b, r)])
        for (b, r, d), n in sorted(fixed_load.items())
        if n > limits[(b, r)]
    ]
    if alone:
        worst = max(x for *_, x in alone)
        rooms = sorted({f"{b}/{r}" for b, r, _, _ in alone})
        out.append(
            f"the groups kept as they are ({', '.join(sorted(keep))}) already exceed "
            f"{', '.join(rooms)} by up to {worst} on {len({d for *_, d, _ in alone})} days: "
            "plan them too (--fixed names the ones to keep) or give them other rooms"
        )

    def fits(**changes: Any) -> bool:
        options: dict[str, Any] = {
            "min_office_days": plan.min_office_days,
            "headroom": plan.headroom,
            "below_warning": plan.below_warning,
            "fixed": sorted(keep),
            "time_limit_s": time_limit_s,
            "explain": False,
        }
        options.update(changes)
        lvl = options.pop("level", level)
        return plan_roster(site, roster, days, lvl, **options).feasible

    for fewer in range(plan.min_office_days - 1, 0, -1):
        if fits(min_office_days=fewer):
            out.append(f"--min-office-days {fewer} fits at level {level}")
            break
    if plan.headroom and fits(headroom=0):
        out.append(f"--headroom 0 fits at level {level}")
    if plan.below_warning and fits(below_warning=False):
        out.append(f"without --below-warning a plan fits at level {level}")
    for other in sorted(site.policy.levels):
        if other != level and fits(level=other):
            out.append(f"--level {other} fits with {plan.min_office_days} office days")
    short = sum(r.over for r in plan.over)
    out.append(
        f"or raise the limits of the rooms listed over by their excess "
        f"({short} places over {len(plan.over)} room-days in all)"
    )
    return out


def planned_roster(roster_file: Path, roster: Roster, plan: Plan) -> dict[str, Any]:
    """The roster file that carries the plan: the file as written, with every employee
    inline, in the room the plan gave them and, planned, with their own `office_days` (the
    planned dates) and `wfh_days` (their other work days in the dates); their group is
    unchanged and rules them outside the dates."""
    raw = yaml.safe_load(roster_file.read_text(encoding="utf-8"))
    by_employee = {a.employee: a for a in plan.assignments}
    employees: list[dict[str, Any]] = []
    for e in roster.employees:
        entry: dict[str, Any] = {"id": e.id}
        if e.name is not None:
            entry["name"] = e.name
        entry.update({"unit": e.unit, "group": e.group, "building": e.building})
        a = by_employee.get(e.id)
        if a is not None:
            entry["rooms"] = [a.room]
        elif e.rooms:
            entry["rooms"] = list(e.rooms)
        # The plan's dates replace whatever the employee had of them; other dates stay.
        office = [d for d in e.office_days if d not in plan.days]
        wfh = [d for d in e.wfh_days if d not in plan.days]
        if a is not None and not a.fixed:
            office += a.days
            wfh += [d for d in plan.days if d not in a.days and roster.scheduled(e, d) in WORK]
        if office:
            entry["office_days"] = sorted(office)
        if wfh:
            entry["wfh_days"] = sorted(wfh)
        employees.append(entry)
    out = {k: v for k, v in raw.items() if k not in ("employees", "employees_csv")}
    out["employees"] = employees
    return out


def dump_roster(data: dict[str, Any]) -> str:
    header = (
        "# Planned by `occupancy roster plan`: every employee with the room they sit in and,\n"
        "# where planned, their own office and WFH dates.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
