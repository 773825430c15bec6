"""Each building's holiday calendar: national holidays and cuti bersama (the `holidays`
library), plus the roster's own days, minus the days the agency works anyway.

In force in a building: the country's holidays and cuti bersama, less `calendar.not_holidays`,
plus the roster's `holidays`; then less the building's `not_holidays`, plus its `holidays`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal, NamedTuple, NoReturn

import holidays as holiday_data
from holidays.version import __version__ as library_version
from pydantic import BaseModel, BeforeValidator, ConfigDict, StringConstraints, field_validator

from ingest.errors import ConfigError
from ingest.models import IDENTIFIER_PATTERN
from ingest.site import Site
from ingest.yamlfile import Location, YamlDocument

__all__ = [
    "DEFAULT_COUNTRY",
    "BuildingDays",
    "Calendar",
    "CalendarSpec",
    "Holiday",
    "NamedDay",
    "Source",
    "check_calendar",
]

Source = Literal["national", "cuti_bersama", "roster", "building"]
"""Where a day off comes from: the country's public holidays, Indonesia's cuti bersama, the
roster's `holidays`, or a building's own `holidays`."""
DEFAULT_COUNTRY = "ID"
_CUTI_BERSAMA_COUNTRY = "ID"
# The library files Indonesia's cuti bersama ("Joint Holiday") under this category.
_CUTI_BERSAMA_CATEGORY = "government"

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _a_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"{value.isoformat()} is a time; give a date (YYYY-MM-DD)")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def _named_day(value: Any) -> Any:
    # A bare date is the short form; its errors then name the entry, not a `date` inside it.
    if isinstance(value, dict | NamedDay):
        return value
    return {"date": _a_date(value)}


CalendarDate = Annotated[date, BeforeValidator(_a_date)]


class _CalendarModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class NamedDay(_CalendarModel):
    """A day off the roster adds: `2026-12-31` or `{date: 2026-12-31, name: ...}`."""

    date: CalendarDate
    name: Name | None = None


DayOff = Annotated[NamedDay, BeforeValidator(_named_day)]


class BuildingDays(_CalendarModel):
    """A building's own days off, and the days off of the whole roster that it works."""

    holidays: list[DayOff] = []
    not_holidays: list[CalendarDate] = []


class CalendarSpec(_CalendarModel):
    """The roster's `calendar` block as written: `country` (default ID, none for none),
    `cuti_bersama` (default true), `language` of the names (default the country's own),
    `not_holidays` (days the agency works) and `buildings` (each one's own days)."""

    country: str | None = DEFAULT_COUNTRY
    cuti_bersama: bool = True
    language: str | None = None
    not_holidays: list[CalendarDate] = []
    buildings: dict[Identifier, BuildingDays] = {}

    @field_validator("country", mode="before")
    @classmethod
    def _country(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            # YAML 1.1 reads an unquoted NO (Norway) as false.
            raise ValueError(f'write the country code in quotes, e.g. "NO" (YAML read {value})')
        if not isinstance(value, str):
            return value
        code = value.strip().upper()
        if code == "NONE":
            return None
        if code not in holiday_data.list_supported_countries():
            raise ValueError(
                f"unknown country code {value!r}: give an ISO 3166 code the holidays library "
                f"knows, such as {DEFAULT_COUNTRY}, or none for no national holidays"
            )
        return code

    @property
    def with_cuti_bersama(self) -> bool:
        """Whether cuti bersama count: they are Indonesia's, so only with country ID."""
        return self.cuti_bersama and self.country == _CUTI_BERSAMA_COUNTRY

    def resolved(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "cuti_bersama": self.with_cuti_bersama,
            "language": self.language_in_use,
            "not_holidays": [d.isoformat() for d in self.not_holidays],
            "buildings": {
                b: {
                    "holidays": [_day_json(d) for d in days.holidays],
                    "not_holidays": [d.isoformat() for d in days.not_holidays],
                }
                for b, days in self.buildings.items()
            },
        }

    @property
    def language_in_use(self) -> str | None:
        """The language of the national days' names: the one given, or the country's own
        (never the machine's locale, which the library would otherwise follow)."""
        if self.country is None:
            return None
        return self.language or _country_facts(self.country).default_language


@dataclass(frozen=True, slots=True)
class Holiday:
    """One day off of a calendar; `removed`: the agency works it (listed in `not_holidays`)."""

    date: date
    name: str | None
    source: Source
    removed: bool = False


class _Year(NamedTuple):
    days: dict[date, Holiday]
    removed: tuple[Holiday, ...]
    dates: frozenset[date]


class _CountryFacts(NamedTuple):
    default_language: str | None
    languages: tuple[str, ...]
    first_year: int
    last_year: int


@cache
def _country_facts(country: str) -> _CountryFacts:
    found = holiday_data.country_holidays(country)
    return _CountryFacts(
        found.default_language,
        tuple(found.supported_languages),
        found.start_year,
        found.end_year,
    )


class Calendar:
    """The days off in force per building, computed once per (building, year) and kept.

    A building without a block of its own shares the roster-wide calendar.
    """

    def __init__(self, spec: CalendarSpec, roster_days: Iterable[NamedDay] = ()) -> None:
        self.spec = spec
        self.roster_days = tuple(roster_days)
        self._library: dict[int, dict[date, Holiday]] = {}
        self._years: dict[tuple[str | None, int], _Year] = {}

    def __eq__(self, other: object) -> bool:
        # Two rosters written alike are equal, whatever each has computed so far.
        if not isinstance(other, Calendar):
            return NotImplemented
        return (self.spec, self.roster_days) == (other.spec, other.roster_days)

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside: not a dict key

    def dates(self, building: str, year: int) -> frozenset[date]:
        """The dates off in `building` in `year` (O(1) after the first call of the year)."""
        return self._year(building, year).dates

    def is_holiday(self, building: str, day: date) -> bool:
        return day in self._year(building, day.year).dates

    def holiday(self, building: str, day: date) -> Holiday | None:
        """The day off `day` is in `building`, with its name and source, if it is one."""
        return self._year(building, day.year).days.get(day)

    def listing(self, building: str, year: int) -> list[Holiday]:
        """Every day off of `year` in `building`, and the removed days it works, by date."""
        found = self._year(building, year)
        return sorted(
            [*found.days.values(), *found.removed], key=lambda h: (h.date, h.removed, h.source)
        )

    def years(self) -> range:
        """The years the national calendar is known for (any year without one)."""
        if self.spec.country is None:
            return range(date.min.year, date.max.year + 1)
        facts = _country_facts(self.spec.country)
        return range(facts.first_year, facts.last_year + 1)

    def check_year(self, year: int) -> None:
        """A ConfigError of one sentence when `year` is outside `years()`."""
        known = self.years()
        if year in known:
            return
        whose = (
            f"the holidays library knows for {self.spec.country}"
            if self.spec.country is not None
            else "a calendar has"
        )
        raise ConfigError(
            f"Year {year} is outside the years {whose} ({known.start} to {known.stop - 1})."
        )

    def cuti_bersama_missing(self, year: int) -> bool:
        """Cuti bersama are on, but the library knows none for `year` (they are decreed each
        year, and a version of the library knows only those decreed before it)."""
        return self.spec.with_cuti_bersama and not any(
            h.source == "cuti_bersama" for h in self._from_library(year).values()
        )

    def _year(self, building: str, year: int) -> _Year:
        return self._cached(building if building in self.spec.buildings else None, year)

    def _cached(self, building: str | None, year: int) -> _Year:
        """The year of a building with a block of its own, or (None) the roster-wide one."""
        found = self._years.get((building, year))
        if found is None:
            found = self._years[(building, year)] = self._compute(building, year)
        return found

    def _compute(self, building: str | None, year: int) -> _Year:
        if building is None:
            days = dict(self._from_library(year))
            removed = _remove(days, self.spec.not_holidays, year)
            _add(days, self.roster_days, "roster", year)
            return _Year(days, removed, frozenset(days))
        wide = self._cached(None, year)
        block = self.spec.buildings[building]
        days = dict(wide.days)
        removed = wide.removed + _remove(days, block.not_holidays, year)
        _add(days, block.holidays, "building", year)
        return _Year(days, removed, frozenset(days))

    def _from_library(self, year: int) -> dict[date, Holiday]:
        found = self._library.get(year)
        if found is not None:
            return found
        found = {}
        country = self.spec.country
        if country is not None and year in self.years():
            language = self.spec.language_in_use
            for day, name in holiday_data.country_holidays(
                country, years=year, language=language
            ).items():
                found[day] = Holiday(day, name, "national")
            if self.spec.with_cuti_bersama:
                for day, name in holiday_data.country_holidays(
                    country, years=year, language=language, categories=(_CUTI_BERSAMA_CATEGORY,)
                ).items():
                    found.setdefault(day, Holiday(day, name, "cuti_bersama"))
        self._library[year] = found
        return found


def _remove(days: dict[date, Holiday], worked: Sequence[date], year: int) -> tuple[Holiday, ...]:
    removed = [days.pop(d) for d in worked if d.year == year and d in days]
    return tuple(replace(h, removed=True) for h in removed)


def _add(days: dict[date, Holiday], added: Sequence[NamedDay], source: Source, year: int) -> None:
    # A day the calendar already has off keeps its name and source there.
    for entry in added:
        if entry.date.year == year:
            days.setdefault(entry.date, Holiday(entry.date, entry.name, source))


def _day_json(day: NamedDay) -> dict[str, Any]:
    return {"date": day.date.isoformat(), "name": day.name}


Fail = Callable[[Location, str], NoReturn]


def check_calendar(
    doc: YamlDocument, spec: CalendarSpec, roster_days: Sequence[NamedDay], site: Site
) -> None:
    """Check the calendar block against the site and the calendar itself: a ConfigError of
    one sentence naming the file, line and key of the first problem."""

    def fail(location: Location, problem: str) -> NoReturn:
        raise ConfigError(f"{doc.where(location)}: {problem}.")

    def roster_day(day: date) -> str | None:
        """Where `day` is in the roster's `holidays`: `holidays[2], line 70`."""
        for j, entry in enumerate(roster_days):
            if entry.date == day:
                line = doc.line_of(("holidays", j))
                return f"holidays[{j}]" + (f", line {line}" if line is not None else "")
        return None

    _check_spec(fail, spec)
    calendar = Calendar(spec, roster_days)
    _unique(fail, [d.date for d in roster_days], ("holidays",))
    _unique(fail, spec.not_holidays, ("calendar", "not_holidays"))
    for j, day in enumerate(spec.not_holidays):
        where: Location = ("calendar", "not_holidays", j)
        if (listed := roster_day(day)) is not None:
            fail(where, f"{day} is also a holiday of the roster ({listed})")
        if day not in calendar._from_library(day.year):
            fail(where, f"{day} is no {_national(spec)}, so there is none to work")
    for building, block in spec.buildings.items():
        here: Location = ("calendar", "buildings", building)
        if site.building(building) is None:
            known = ", ".join(b.id for b in site.buildings)
            fail(here, f"unknown building {building!r} (the site has {known})")
        _unique(fail, [d.date for d in block.holidays], (*here, "holidays"))
        _unique(fail, block.not_holidays, (*here, "not_holidays"))
        for j, entry in enumerate(block.holidays):
            if (listed := roster_day(entry.date)) is not None:
                fail(
                    (*here, "holidays", j),
                    f"{entry.date} is listed twice (also a holiday of the whole roster, {listed})",
                )
        _check_worked(fail, calendar, block, here)


def _check_spec(fail: Fail, spec: CalendarSpec) -> None:
    if "cuti_bersama" in spec.model_fields_set and spec.cuti_bersama and not spec.with_cuti_bersama:
        fail(
            ("calendar", "cuti_bersama"),
            "cuti bersama are Indonesia's collective leave days; they need country "
            f"{_CUTI_BERSAMA_COUNTRY} (the country is {spec.country or 'none'})",
        )
    if spec.language is None:
        return
    if spec.country is None:
        fail(("calendar", "language"), "names the national holidays, and country is none")
    languages = _country_facts(spec.country).languages
    if spec.language not in languages:
        fail(
            ("calendar", "language"),
            f"the holidays library has no names in {spec.language!r} for {spec.country} "
            f"(it has {', '.join(languages)})",
        )


def _check_worked(fail: Fail, calendar: Calendar, block: BuildingDays, here: Location) -> None:
    own = {d.date for d in block.holidays}
    for j, day in enumerate(block.not_holidays):
        where: Location = (*here, "not_holidays", j)
        if day in calendar.spec.not_holidays:
            fail(where, f"{day} is listed twice (also in calendar.not_holidays)")
        if day in own:
            fail(where, f"{day} is also one of the building's holidays")
        if day not in calendar._cached(None, day.year).days:
            fail(
                where, f"{day} is no holiday of the roster-wide calendar, so there is none to work"
            )


def _unique(fail: Fail, days: Sequence[date], at: Location) -> None:
    for j, day in enumerate(days):
        if day in days[:j]:
            fail((*at, j), f"{day} is listed twice")


def _national(spec: CalendarSpec) -> str:
    if spec.country is None:
        return "national holiday (country is none)"
    kinds = "national holiday or cuti bersama day" if spec.with_cuti_bersama else "national holiday"
    return f"{kinds} of {spec.country} (holidays {library_version})"
