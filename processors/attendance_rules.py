"""The attendance rules: how kiosk taps build one employee's day, and how the day is closed.

Pure functions over frozen models, with no I/O and no wall clock, like the occupancy rules:
a `DailyRecord` per employee and local date keeps the taps it was given and derives
everything else from them, so replaying `occupancy.checkin` rebuilds the same records, in
whatever order the taps come (up to `MAX_TAPS` a day).

A tap's time is the kiosk's `ts`, unless the kiosk's clock is more than
`TapRules.max_clock_skew` off, judged by `sent_at` (the kiosk's clock when it sent the tap;
kiosks that keep taps while offline send it) against the bridge's `received_at`; without
`sent_at`, by `ts` itself against `received_at`. A clock that far off flags the tap
`clock_skew`, and the tap counts at its `ts` moved by the offset `sent_at` shows (at
`received_at` when there is no `sent_at`). So a tap kept for hours by an offline kiosk that
says when it sent it counts at the hour it was made; one without `sent_at` arriving hours
late counts at its arrival. Its date is the local date of that time in the zone of the
tap's building (the employee's home building when the site does not know it): a 07:30 WIT
check-in is that day's, not the UTC day before.

Taps in time order (ties by identity), each compared with the previous tap that counted:

- the same action within `repeat_window` of it: `repeated_tap`, counted once;
- a check-in while in: `double_check_in`; the person stays in since the earlier one;
- a check-out while not in: `check_out_without_check_in`; it becomes `last_check_out`
  but adds no time;
- otherwise a check-in opens a stay and a check-out closes it.

`time_present` is the sum of the closed stays, counted from the group's start window
opening (flexible hours: coming at 06:30 for a 07:00-09:00 window counts from 07:00). A
stay still open when the day is closed (`close_day`, at the building's day end: the next
local midnight) is dropped: no time, no check-out, status `auto_closed`.

`late_minutes` (office days only): whole minutes, rounded up, by which the first check-in
is after the start window's end plus the grace period; 0 when not after it.

`status`, the first that holds:

1. no taps: `absent` when scheduled in the office, `holiday` on a holiday (a work day off
   in the calendar of the employee's building), else `wfh`;
2. closed while still in: `auto_closed`;
3. came on a day not scheduled in the office (WFH, off or a holiday): `unscheduled`;
4. in now (the day is not over): `late` if `late_minutes`, else `on_time`;
5. hours present below the group's `absent_below_hours`: `absent`; below
   `half_day_below_hours`: `half_day`; below `required_hours`: `early_leave`;
6. `late` if `late_minutes`, else `on_time`.

Before the day is closed the status is provisional (someone out for lunch may read
`half_day` until they check in again).

`flags` (sorted, each at most once) are the anomalies seen: `repeated_tap`,
`double_check_in`, `check_out_without_check_in`, `clock_skew`, `before_check_in_window`
(the first check-in of an office day earlier than the group's check-in window before the
start), `other_building` (a tap at another building than the day's first),
`unknown_building`, `after_close` (a tap applied after the day was closed; the status was
recomputed) and `too_many_taps` (taps past `MAX_TAPS` are ignored).

A tap for a day already closed (a kiosk that was offline for hours, a redelivery after an
outage) amends it: the status is recomputed (`absent` → `on_time`, `auto_closed` → a real
check-out) and `amended_at` says when the latest such tap arrived.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ingest.models import Action, CheckinRecord
from ingest.roster import Employee, Group, Roster, Scheduled
from ingest.site import Site

__all__ = [
    "MAX_TAPS",
    "AttendanceStatus",
    "DailyRecord",
    "Finding",
    "FindingKind",
    "Flag",
    "Tap",
    "TapRules",
    "apply_tap",
    "close_day",
    "day_end",
    "record_key",
    "retained_from",
    "tap_date",
    "tap_time",
    "too_old",
]

# A day has a handful of taps; a kiosk stuck in a loop must not grow a table row forever.
MAX_TAPS = 64

AttendanceStatus = Literal[
    "on_time",
    "late",
    "early_leave",
    "half_day",
    "absent",
    "wfh",
    "unscheduled",
    "auto_closed",
    "holiday",
]
Flag = Literal[
    "repeated_tap",
    "double_check_in",
    "check_out_without_check_in",
    "clock_skew",
    "before_check_in_window",
    "other_building",
    "unknown_building",
    "after_close",
    "too_many_taps",
]
FindingKind = Flag | Literal["duplicate", "auto_closed", "past_lookback", "past_retention"]


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TapRules(_State):
    """The technical tolerances of the kiosks (the roster holds the people's rules)."""

    repeat_window: timedelta = Field(default=timedelta(minutes=1), ge=timedelta(0))
    max_clock_skew: timedelta = Field(default=timedelta(minutes=15), gt=timedelta(0))


class Tap(_State):
    """One kiosk tap as a day keeps it: `at` is the time that counts (see `tap_time`)."""

    identity: str
    action: Action
    at: AwareDatetime
    ts: AwareDatetime
    building: str
    clock_skew: bool = False
    after_close: bool = False


class DailyRecord(_State):
    """One employee's day in the local date of the building, kept per `key` in a table.

    `building` is where the day's first tap was (the home building before any);
    `in_building` is where the employee is now, while `open`. `scheduled` is what the
    roster planned for the day. `closed` turns true at the day end; `amended_at` is when a
    tap last arrived for the day after it was closed.
    """

    employee: str
    date: date
    building: str
    scheduled: Scheduled
    status: AttendanceStatus
    first_check_in: AwareDatetime | None = None
    last_check_out: AwareDatetime | None = None
    time_present: timedelta = timedelta(0)
    late_minutes: int = 0
    open: bool = False
    in_building: str | None = None
    closed: bool = False
    amended_at: AwareDatetime | None = None
    flags: list[Flag] = []
    taps: list[Tap] = []

    @property
    def key(self) -> str:
        return record_key(self.employee, self.date)

    @property
    def present(self) -> bool:
        """Came to the office at all that day (any tap)."""
        return bool(self.taps)


class Finding(_State):
    """Something a tap or the day's close caused; every anomaly is an event for logs/metrics.

    `at` is the tap's time, or the day end for `auto_closed`.
    """

    kind: FindingKind
    employee: str
    date: date
    at: AwareDatetime
    detail: str


def record_key(employee: str, day: date) -> str:
    return f"{employee}/{day.isoformat()}"


def tap_time(tap: CheckinRecord, rules: TapRules) -> tuple[datetime, bool]:
    """The time a tap counts at, and whether the kiosk's clock was off (module docstring)."""
    if tap.sent_at is not None:
        offset = tap.received_at - tap.sent_at
        if abs(offset) > rules.max_clock_skew:
            return (tap.ts + offset).astimezone(UTC), True
        return tap.ts.astimezone(UTC), False
    if abs(tap.ts - tap.received_at) > rules.max_clock_skew:
        return tap.received_at.astimezone(UTC), True
    return tap.ts.astimezone(UTC), False


def tap_date(tap: CheckinRecord, employee: Employee, site: Site, rules: TapRules) -> date:
    """The local date a tap belongs to, in the zone of the building it was made in."""
    at, _ = tap_time(tap, rules)
    return at.astimezone(_zone(site, tap.building, employee)).date()


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """When a local day is over (the next local midnight), in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def retained_from(now: datetime, zone: ZoneInfo, retention: int) -> date:
    """The oldest local date whose records are kept: `retention` days before today in `zone`
    (retention 90 on 2026-12-02 keeps 2026-09-03 and later)."""
    return now.astimezone(zone).date() - timedelta(days=retention)


def too_old(
    day: date, today: date, *, lookback: int, retention: int
) -> tuple[FindingKind, str] | None:
    """Why a tap for `day` is not applied when it is `today` in the employee's home building,
    or None when it is: a day past the retention is deleted, and a day past the lookback
    (the days the day-end close still visits) has a final record."""
    if day < today - timedelta(days=retention):
        return "past_retention", f"the day is older than the retention of {retention} days"
    if day < today - timedelta(days=lookback):
        return (
            "past_lookback",
            f"the day is older than the lookback of {lookback} days and its record is final",
        )
    return None


def apply_tap(
    record: DailyRecord | None,
    tap: CheckinRecord,
    *,
    employee: Employee,
    roster: Roster,
    site: Site,
    rules: TapRules,
) -> tuple[DailyRecord, list[Finding]]:
    """The day after one more tap (`record` None: the employee's first tap that day).

    Never raises for what a kiosk may send; applying a tap already applied (same identity)
    returns the record unchanged with a `duplicate` finding.
    """
    day = tap_date(tap, employee, site, rules)
    if tap.employee_id != employee.id:
        raise ValueError(f"tap of {tap.employee_id} applied for {employee.id}")
    if record is not None and (record.employee, record.date) != (employee.id, day):
        raise ValueError(f"tap of {employee.id} on {day} applied to {record.key}")
    at, skewed = tap_time(tap, rules)
    taps = record.taps if record is not None else []
    closed = record is not None and record.closed
    sticky = set(record.flags) & {"too_many_taps"} if record is not None else set()

    def finding(kind: FindingKind, detail: str) -> Finding:
        return Finding(kind=kind, employee=employee.id, date=day, at=at, detail=detail)

    if record is not None and any(t.identity == tap.identity for t in taps):
        return record, [finding("duplicate", f"tap {tap.identity} already applied")]
    if len(taps) >= MAX_TAPS:
        detail = f"{tap.action} {tap.identity} ignored: {MAX_TAPS} taps already that day"
        evaluated = _evaluate(employee, day, taps, closed, {"too_many_taps"}, roster, site, rules)
        kept = record.amended_at if record is not None else None
        return evaluated.model_copy(update={"amended_at": kept}), [finding("too_many_taps", detail)]

    new = Tap(
        identity=tap.identity,
        action=tap.action,
        at=at,
        ts=tap.ts,
        building=tap.building,
        clock_skew=skewed,
        after_close=closed,
    )
    updated = _evaluate(employee, day, [*taps, new], closed, sticky, roster, site, rules)
    amended = tap.received_at if closed else (record.amended_at if record is not None else None)
    updated = updated.model_copy(update={"amended_at": amended})
    findings = [finding(kind, detail) for kind, detail in _tap_notes(updated, new, site, rules)]
    return updated, findings


def close_day(
    record: DailyRecord | None,
    *,
    employee: Employee,
    day: date,
    roster: Roster,
    site: Site,
    rules: TapRules,
) -> tuple[DailyRecord | None, list[Finding]]:
    """The day at its end: a stay still open is dropped (`auto_closed`); an employee with no
    tap is `absent` on an office day, `wfh` on a WFH day and `holiday` on a holiday, and has
    no record on a day off.

    Closing a closed day changes nothing.
    """
    if record is not None and (record.employee, record.date) != (employee.id, day):
        raise ValueError(f"closing {employee.id} on {day} with the record {record.key}")
    if record is None and roster.scheduled(employee, day) == "off":
        return None, []
    taps = record.taps if record is not None else []
    sticky = set(record.flags) & {"too_many_taps"} if record is not None else set()
    closed = _evaluate(employee, day, taps, True, sticky, roster, site, rules)
    if record is not None and record.amended_at is not None:
        closed = closed.model_copy(update={"amended_at": record.amended_at})
    findings: list[Finding] = []
    if record is not None and record.open and not record.closed:
        zone = _zone(site, record.building, employee)
        end = day_end(day, zone)
        since = record.in_building or record.building
        findings.append(
            Finding(
                kind="auto_closed",
                employee=employee.id,
                date=day,
                at=end,
                detail=f"still in {since} at the day end; the open stay is not counted",
            )
        )
    return closed, findings


class _Replay(NamedTuple):
    first_check_in: datetime | None
    last_check_out: datetime | None
    stays: list[tuple[datetime, datetime]]
    open_since: Tap | None
    verdicts: dict[str, list[Flag]]


def _replay(taps: Iterable[Tap], rules: TapRules) -> _Replay:
    first_in: datetime | None = None
    last_out: datetime | None = None
    stays: list[tuple[datetime, datetime]] = []
    inside: Tap | None = None
    previous: Tap | None = None
    verdicts: dict[str, list[Flag]] = {}
    for tap in taps:
        kinds: list[Flag] = verdicts.setdefault(tap.identity, [])
        if (
            previous is not None
            and previous.action == tap.action
            and tap.at - previous.at <= rules.repeat_window
        ):
            kinds.append("repeated_tap")
            continue
        previous = tap
        if tap.action == "check_in":
            if inside is not None:
                kinds.append("double_check_in")
            else:
                inside = tap
                first_in = first_in or tap.at
        else:
            if inside is not None:
                stays.append((inside.at, tap.at))
                inside = None
            else:
                kinds.append("check_out_without_check_in")
            last_out = tap.at
    return _Replay(first_in, last_out, stays, inside, verdicts)


def _evaluate(  # noqa: PLR0917 - private, called with the same eight things throughout
    employee: Employee,
    day: date,
    taps: list[Tap],
    closed: bool,
    sticky: set[Flag],
    roster: Roster,
    site: Site,
    rules: TapRules,
) -> DailyRecord:
    group = roster.group_of(employee)
    scheduled = roster.scheduled(employee, day)
    ordered = sorted(taps, key=lambda t: (t.at, t.identity))
    building = ordered[0].building if ordered else employee.building
    zone = _zone(site, building, employee)
    replay = _replay(ordered, rules)
    window_start = datetime.combine(day, group.window_start, tzinfo=zone)
    present = sum(
        (max(timedelta(0), end - max(start, window_start)) for start, end in replay.stays),
        timedelta(0),
    )
    late = 0
    if scheduled == "wfo" and replay.first_check_in is not None:
        due = datetime.combine(day, group.window_end, tzinfo=zone) + group.grace
        late = max(0, math.ceil((replay.first_check_in - due) / timedelta(minutes=1)))

    flags: set[Flag] = set(sticky)
    for tap in ordered:
        flags.update(replay.verdicts[tap.identity])
        if tap.clock_skew:
            flags.add("clock_skew")
        if tap.after_close:
            flags.add("after_close")
        if tap.building != building:
            flags.add("other_building")
        if site.building(tap.building) is None:
            flags.add("unknown_building")
    if _before_window(group, scheduled, replay.first_check_in, window_start):
        flags.add("before_check_in_window")

    still_in = replay.open_since is not None
    if not ordered:
        status: AttendanceStatus = _without_taps(scheduled)
    elif still_in and closed:
        status = "auto_closed"
    elif scheduled != "wfo":
        status = "unscheduled"
    elif still_in:
        status = "late" if late else "on_time"
    else:
        status = _by_hours(group, present, late)
    return DailyRecord(
        employee=employee.id,
        date=day,
        building=building,
        scheduled=scheduled,
        status=status,
        first_check_in=replay.first_check_in,
        last_check_out=replay.last_check_out,
        time_present=present,
        late_minutes=late,
        open=still_in and not closed,
        in_building=None if replay.open_since is None or closed else replay.open_since.building,
        closed=closed,
        flags=sorted(flags),
        taps=ordered,
    )


def screening_reasons(record: CheckinRecord, threshold: float) -> list[str]:
    """Why a tap fails the health screening (empty: it passes or carried no screening)."""
    reasons = []
    if record.temperature_c is not None and record.temperature_c >= threshold:
        reasons.append(f"temperature {record.temperature_c:.1f} °C ≥ {threshold:.1f} °C")
    if record.mask is False:
        reasons.append("no mask")
    return reasons


def over_plan(count: int, planned: int, ratio: float) -> bool:
    """The in-office headcount exceeds the planned WFO share (anyone in counts when none is)."""
    return count > ratio * planned


def _without_taps(scheduled: Scheduled) -> AttendanceStatus:
    if scheduled == "wfo":
        return "absent"
    return "holiday" if scheduled == "holiday" else "wfh"


def _by_hours(group: Group, present: timedelta, late: int) -> AttendanceStatus:
    # Being short of hours says more than having come late, which late_minutes still shows.
    hours = present / timedelta(hours=1)
    if group.absent_below_hours is not None and hours < group.absent_below_hours:
        return "absent"
    if group.half_day_below_hours is not None and hours < group.half_day_below_hours:
        return "half_day"
    if present < group.required:
        return "early_leave"
    return "late" if late else "on_time"


def _before_window(
    group: Group, scheduled: Scheduled, first_in: datetime | None, window_start: datetime
) -> bool:
    opens = group.check_in_window
    return (
        scheduled == "wfo"
        and opens is not None
        and first_in is not None
        and first_in < window_start - opens
    )


def _tap_notes(
    record: DailyRecord, tap: Tap, site: Site, rules: TapRules
) -> list[tuple[FindingKind, str]]:
    notes: list[tuple[FindingKind, str]] = []
    if tap.clock_skew:
        notes.append(
            (
                "clock_skew",
                f"kiosk time {tap.ts.isoformat()} is more than {rules.max_clock_skew} "
                f"from the arrival; counted at {tap.at.isoformat()}",
            )
        )
    if tap.after_close:
        notes.append(("after_close", f"{tap.action} arrived after the day was closed"))
    if site.building(tap.building) is None:
        notes.append(("unknown_building", f"building {tap.building!r} is not in the site"))
    if tap.building != record.building:
        notes.append(
            ("other_building", f"{tap.action} at {tap.building}, day began at {record.building}")
        )
    verdicts = _replay(record.taps, rules).verdicts[tap.identity]
    notes += [(kind, f"{tap.action} {tap.identity}") for kind in verdicts]
    if (
        "before_check_in_window" in record.flags
        and tap.action == "check_in"
        and record.first_check_in == tap.at
    ):
        notes.append(("before_check_in_window", f"check-in at {tap.at.isoformat()}"))
    return notes


def _zone(site: Site, building: str, employee: Employee) -> ZoneInfo:
    known = site.building(building) or site.building(employee.building)
    if known is None:
        # A roster is loaded against the site, so the home building is always known.
        raise ValueError(f"neither {building} nor {employee.building} is in the site")
    return known.zone
