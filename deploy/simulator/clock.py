"""Simulated time: which day and hours are simulated, and how they map onto real time.

A simulated day is `start`–`end` of one date, in each building's own local time (07:30 in
Makassar is an hour before 07:30 in Jakarta).

On a replay clock (`OCC_CLOCK=replay:…`, shared with the bridge and the workers) the day is
the clock's, and a message due at the simulated instant `t` goes when the pipeline's clock
reads `t`: the whole pipeline lives the simulated day. On the wall clock (a pipeline in
production, replayed a past day into), the message due at `t` leaves `(t - first) / speed`
seconds after the run began, carrying `t` as its `ts`; the pipeline rejects timestamps more
than five minutes ahead of its clock, so such a run must never get ahead of the wall clock.
That is why the default date there is the latest day with someone scheduled in the office
whose compressed run ends no later than now plus its duration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ingest.errors import ConfigError
from ingest.roster import Roster
from ingest.site import Building, Site

AHEAD_ALLOWED = timedelta(seconds=60)
"""How far a message's `ts` may be ahead of the wall clock when sent (the pipeline allows 5 min)."""
LOOK_BACK_DAYS = 14


@dataclass(frozen=True, slots=True)
class Window:
    """The simulated part of `date`: from `start` to `end`, local time in every building."""

    date: date
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ConfigError(
                f"--end {self.end:%H:%M} must be later than --start {self.start:%H:%M}."
            )

    def local(self, building: Building, seconds: float) -> datetime:
        """The instant `seconds` after the local midnight of `date` in `building`."""
        midnight = datetime.combine(self.date, time(0), tzinfo=building.zone)
        return midnight + timedelta(seconds=seconds)

    def bounds(self, building: Building) -> tuple[datetime, datetime]:
        return (
            datetime.combine(self.date, self.start, tzinfo=building.zone),
            datetime.combine(self.date, self.end, tzinfo=building.zone),
        )

    def span(self, site: Site) -> tuple[datetime, datetime]:
        """From the first building's start to the last building's end (time zones differ)."""
        bounds = [self.bounds(b) for b in site.buildings]
        return min(s for s, _ in bounds), max(e for _, e in bounds)


def real_seconds(window: Window, site: Site, speed: float) -> float:
    """How long a run of the window takes on the wall clock."""
    first, last = window.span(site)
    return (last - first).total_seconds() / speed


def lead(window: Window, site: Site, speed: float, now: datetime) -> timedelta:
    """How far the simulated clock gets ahead of the wall clock at worst, when run from `now`.

    The gap between the two clocks changes linearly, so its worst is at one of the ends.
    """
    first, last = window.span(site)
    done = now + timedelta(seconds=real_seconds(window, site, speed))
    return max(first - now, last - done)


def check_not_ahead(window: Window, site: Site, speed: float, now: datetime) -> None:
    """A ConfigError when a run from `now` would send timestamps the pipeline rejects."""
    ahead = lead(window, site, speed, now)
    if ahead <= AHEAD_ALLOWED:
        return
    minutes = ahead.total_seconds() / 60
    raise ConfigError(
        f"The simulated day {window.date} {window.start:%H:%M}-{window.end:%H:%M} would run "
        f"{minutes:.0f} min ahead of the clock at --speed {speed:g} (the pipeline rejects "
        "timestamps from the future): choose an earlier --date, an earlier --end or a "
        "lower --speed."
    )


def pick_date(
    site: Site, roster: Roster, *, start: time, end: time, speed: float, now: datetime
) -> date:
    """The latest date with someone in the office whose run from `now` stays behind the clock."""
    today = now.astimezone(site.buildings[0].zone).date()
    for back in range(LOOK_BACK_DAYS + 1):
        day = today - timedelta(days=back)
        window = Window(day, start, end)
        busy = any(roster.planned_wfo(b.id, day) > 0 for b in site.buildings)
        if busy and lead(window, site, speed, now) <= AHEAD_ALLOWED:
            return day
    raise ConfigError(
        f"No day in the last {LOOK_BACK_DAYS} has anyone of the roster scheduled in the "
        "office (or the run would get ahead of the clock): give --date."
    )


def latest_office_day(site: Site, roster: Roster, today: date) -> date:
    """The latest date up to `today` with someone of the roster scheduled in the office: what
    a replay clock shows when no date is given (a weekend's demo replays Friday)."""
    for back in range(LOOK_BACK_DAYS + 1):
        day = today - timedelta(days=back)
        if any(roster.planned_wfo(b.id, day) > 0 for b in site.buildings):
            return day
    raise ConfigError(
        f"No day in the last {LOOK_BACK_DAYS} has anyone of the roster scheduled in the "
        "office: give --date."
    )


def parse_time(value: str, option: str) -> time:
    try:
        parsed = time.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r} is not a time of day such as 07:30.") from None
    return parsed.replace(second=0, microsecond=0)
