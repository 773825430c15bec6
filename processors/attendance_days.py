"""An employee's days in the workers' table, and the rules over them: closing the days that
ended, expiring those past the retention, and where the employee is now."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ingest.errors import ConfigError
from ingest.models import Identifier
from ingest.roster import Employee, Roster
from ingest.settings import Settings
from ingest.site import Site
from processors.attendance_rules import DailyRecord, Finding, TapRules, close_day, day_end


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Presence(_Value):
    """Where an employee is now (`building` None: in no building), in `occupancy.presence`."""

    employee: Identifier
    building: Identifier | None = None
    since: AwareDatetime | None = None


class EmployeeDays(_Value):
    """One employee's recent days; every day up to `closed_through` (home time) is closed.

    `archived` are the dates of older records, dropped from `days` but still in
    `occupancy.attendance`, until the retention deletes them there. `presence` is the last
    presence sent to `occupancy.presence` (None: none, or not in a building).
    """

    days: dict[date, DailyRecord] = {}
    closed_through: date | None = None
    archived: list[date] = []
    presence: Presence | None = None

    @property
    def empty(self) -> bool:
        return not self.days and not self.archived


def presence_of(employee: str, days: EmployeeDays, now: datetime, site: Site) -> Presence:
    """Where the employee is by their days: in the building of the latest day still open, if
    that day is the building's current local day (a late tap of a past day moves nobody)."""
    for day in sorted(days.days, reverse=True):
        record = days.days[day]
        if not record.open or record.in_building is None:
            continue
        where = site.building(record.in_building) or site.building(record.building)
        if where is not None and now.astimezone(where.zone).date() != record.date:
            continue
        since = max((t.at for t in record.taps if t.action == "check_in"), default=None)
        return Presence(employee=employee, building=record.in_building, since=since)
    return Presence(employee=employee)


def close_due(  # noqa: PLR0917 - a pure function of everything a close depends on
    days: EmployeeDays,
    employee: Employee,
    now: datetime,
    roster: Roster,
    site: Site,
    rules: TapRules,
    lookback: int,
    since: date | None = None,
) -> tuple[EmployeeDays, list[DailyRecord], list[Finding]]:
    """Close every day of `employee` that has ended by `now`: those with a record still open,
    and each date of the last `lookback` days (none before `since`) not closed yet
    (absentees get their record).

    Returns the days after, the records that changed, and the close findings. Closed days
    older than the lookback (and two days more) are dropped from the value into `archived`;
    they stay in `occupancy.attendance` until `expire` deletes them.
    """
    home = site.building(employee.building)
    assert home is not None, "a roster is loaded against the site"
    today = now.astimezone(home.zone).date()
    start = today - timedelta(days=lookback)
    if since is not None:
        start = max(start, since)
    if days.closed_through is not None:
        start = max(start, days.closed_through + timedelta(days=1))
    span = [start + timedelta(days=n) for n in range((today - start).days + 1)]
    candidates = sorted({*span, *(d for d, r in days.days.items() if not r.closed)})
    updated = dict(days.days)
    changed: list[DailyRecord] = []
    findings: list[Finding] = []
    closed_through = days.closed_through
    for day in candidates:
        record = updated.get(day)
        where = site.building(record.building) if record is not None else None
        if day_end(day, (where or home).zone) > now:
            continue
        if record is None or not record.closed:
            closed, noted = close_day(
                record, employee=employee, day=day, roster=roster, site=site, rules=rules
            )
            findings.extend(noted)
            if closed is not None:
                updated[day] = closed
                changed.append(closed)
        if day in span and (closed_through is None or day > closed_through):
            closed_through = day
    oldest = today - timedelta(days=lookback + 2)
    kept = {d: r for d, r in updated.items() if d >= oldest or not r.closed}
    archived = sorted({*days.archived, *(d for d in updated if d not in kept)})
    after = EmployeeDays(days=kept, closed_through=closed_through, archived=archived)
    return after, changed, findings


def expire(days: EmployeeDays, keep_from: date) -> tuple[EmployeeDays, list[date]]:
    """The days without those before `keep_from` (closed or not), and the dates deleted,
    whose records in `occupancy.attendance` must now be tombstoned."""
    gone = sorted(
        {*(d for d in days.days if d < keep_from), *(d for d in days.archived if d < keep_from)}
    )
    if not gone:
        return days, []
    after = days.model_copy(
        update={
            "days": {d: r for d, r in days.days.items() if d >= keep_from},
            "archived": [d for d in days.archived if d >= keep_from],
        }
    )
    return after, gone


def check_retention(settings: Settings) -> None:
    """The day-end timer must not mark absentees on days the retention deletes at once."""
    lookback, retention = settings.attendance_lookback_days, settings.attendance_retention_days
    if lookback > retention:
        raise ConfigError(
            f"Setting OCC_ATTENDANCE_LOOKBACK_DAYS ({lookback}) is more than "
            f"OCC_ATTENDANCE_RETENTION_DAYS ({retention}): the day-end timer would mark days "
            "that the retention deletes."
        )
