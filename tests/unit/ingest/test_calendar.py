"""The holiday calendar: national days and cuti bersama from the real `holidays` library,
the roster's and a building's own days, days worked, and one computation per year."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from holidays.version import __version__ as library_version
from hypothesis import given
from hypothesis import strategies as st

from ingest.calendar import BuildingDays, Calendar, CalendarSpec, Holiday, NamedDay
from ingest.errors import ConfigError
from ingest.roster import load_roster
from ingest.site import Site
from tests.unit.ingest.test_roster import SMALL, write

NATIONAL_2026 = {
    date(2026, 1, 1),
    date(2026, 1, 16),
    date(2026, 2, 17),
    date(2026, 3, 19),
    date(2026, 3, 21),
    date(2026, 3, 22),
    date(2026, 4, 3),
    date(2026, 4, 5),
    date(2026, 5, 1),
    date(2026, 5, 14),
    date(2026, 5, 27),
    date(2026, 5, 31),
    date(2026, 6, 1),
    date(2026, 6, 16),
    date(2026, 8, 17),
    date(2026, 8, 25),
    date(2026, 12, 25),
}
CUTI_BERSAMA_2026 = {
    date(2026, 2, 16),
    date(2026, 3, 18),
    date(2026, 3, 20),
    date(2026, 3, 23),
    date(2026, 3, 24),
    date(2026, 5, 15),
    date(2026, 5, 28),
    date(2026, 12, 24),
}
CHRISTMAS, CHRISTMAS_EVE = date(2026, 12, 25), date(2026, 12, 24)
AGENCY_DAY = date(2026, 10, 1)  # a Thursday, no national holiday


def sources(calendar: Calendar, building: str, year: int = 2026) -> dict[date, str]:
    return {h.date: h.source for h in calendar.listing(building, year) if not h.removed}


def test_the_default_is_indonesia_with_cuti_bersama() -> None:
    calendar = Calendar(CalendarSpec())
    found = sources(calendar, "hq")
    assert {d for d, s in found.items() if s == "national"} == NATIONAL_2026
    assert {d for d, s in found.items() if s == "cuti_bersama"} == CUTI_BERSAMA_2026
    assert calendar.dates("hq", 2026) == NATIONAL_2026 | CUTI_BERSAMA_2026
    # Names in the country's own language, whatever the machine's locale.
    assert calendar.holiday("hq", CHRISTMAS) == Holiday(CHRISTMAS, "Hari Raya Natal", "national")
    eve = calendar.holiday("hq", CHRISTMAS_EVE)
    assert eve is not None and eve.name == "Cuti Bersama Hari Raya Natal"
    assert calendar.holiday("hq", date(2026, 12, 23)) is None


def test_names_in_another_language() -> None:
    calendar = Calendar(CalendarSpec(language="en_US"))
    assert calendar.holiday("hq", CHRISTMAS) == Holiday(CHRISTMAS, "Christmas Day", "national")
    eve = calendar.holiday("hq", CHRISTMAS_EVE)
    assert eve is not None and eve.name == "Christmas Joint Holiday"


def test_cuti_bersama_can_be_switched_off() -> None:
    calendar = Calendar(CalendarSpec(cuti_bersama=False))
    assert calendar.dates("hq", 2026) == NATIONAL_2026
    assert not calendar.is_holiday("hq", CHRISTMAS_EVE)


def test_without_a_country_only_the_roster_days_are_off() -> None:
    calendar = Calendar(CalendarSpec(country=None), [NamedDay(date=AGENCY_DAY, name="HUT")])
    assert calendar.dates("hq", 2026) == {AGENCY_DAY}
    assert calendar.listing("hq", 2026) == [Holiday(AGENCY_DAY, "HUT", "roster")]
    assert not calendar.cuti_bersama_missing(2026)


def test_cuti_bersama_belong_to_indonesia() -> None:
    malaysia = Calendar(CalendarSpec(country="MY"))
    assert {h.source for h in malaysia.listing("hq", 2026)} == {"national"}
    assert not malaysia.spec.with_cuti_bersama


def test_roster_and_building_days_are_added_with_their_source() -> None:
    spec = CalendarSpec(
        buildings={"mks": BuildingDays(holidays=[NamedDay(date=date(2026, 11, 9), name="HJK")])}
    )
    calendar = Calendar(spec, [NamedDay(date=AGENCY_DAY), NamedDay(date=CHRISTMAS, name="Natal")])
    jakarta, makassar = sources(calendar, "jkt"), sources(calendar, "mks")
    assert jakarta[AGENCY_DAY] == makassar[AGENCY_DAY] == "roster"
    assert date(2026, 11, 9) not in jakarta
    assert makassar[date(2026, 11, 9)] == "building"
    assert calendar.holiday("mks", date(2026, 11, 9)) == Holiday(
        date(2026, 11, 9), "HJK", "building"
    )
    # A roster day the nation has off anyway keeps the national name and source.
    assert calendar.holiday("jkt", CHRISTMAS) == Holiday(CHRISTMAS, "Hari Raya Natal", "national")
    assert calendar.holiday("jkt", AGENCY_DAY) == Holiday(AGENCY_DAY, None, "roster")


def test_days_worked_are_removed_and_still_listed() -> None:
    spec = CalendarSpec(
        not_holidays=[CHRISTMAS_EVE],
        buildings={"mks": BuildingDays(not_holidays=[date(2026, 5, 15), AGENCY_DAY])},
    )
    calendar = Calendar(spec, [NamedDay(date=AGENCY_DAY)])
    assert not calendar.is_holiday("jkt", CHRISTMAS_EVE)
    assert not calendar.is_holiday("mks", CHRISTMAS_EVE)
    assert calendar.is_holiday("jkt", date(2026, 5, 15))
    assert not calendar.is_holiday("mks", date(2026, 5, 15))
    # A building may work a day off of the roster's own, too.
    assert calendar.is_holiday("jkt", AGENCY_DAY)
    assert not calendar.is_holiday("mks", AGENCY_DAY)
    removed = {h.date: h.source for h in calendar.listing("mks", 2026) if h.removed}
    assert removed == {
        CHRISTMAS_EVE: "cuti_bersama",
        date(2026, 5, 15): "cuti_bersama",
        AGENCY_DAY: "roster",
    }
    assert [h.date for h in calendar.listing("jkt", 2026) if h.removed] == [CHRISTMAS_EVE]
    listed = calendar.listing("mks", 2026)
    assert [h.date for h in listed] == sorted(h.date for h in listed)


def test_each_year_is_computed_once_per_building() -> None:
    spec = CalendarSpec(buildings={"mks": BuildingDays(not_holidays=[CHRISTMAS_EVE])})
    calendar = Calendar(spec)
    first = calendar.dates("jkt", 2026)
    assert calendar.dates("jkt", 2026) is first
    # Buildings without a block of their own share the roster-wide year.
    assert calendar.dates("bdg", 2026) is first
    makassar = calendar.dates("mks", 2026)
    assert makassar is not first and makassar == first - {CHRISTMAS_EVE}
    later = calendar.dates("jkt", 2027)
    assert date(2027, 1, 1) in later and CHRISTMAS not in later
    assert calendar.dates("jkt", 2026) is first and calendar.dates("mks", 2026) is makassar


def test_a_calendar_equals_one_written_alike_whatever_it_computed() -> None:
    spec = CalendarSpec(not_holidays=[CHRISTMAS_EVE])
    used, fresh = Calendar(spec), Calendar(spec)
    used.dates("jkt", 2026)
    assert used == fresh
    assert used != Calendar(CalendarSpec())


def test_years_the_library_knows() -> None:
    calendar = Calendar(CalendarSpec())
    assert 2026 in calendar.years() and 1945 not in calendar.years()
    calendar.check_year(2027)
    with pytest.raises(ConfigError) as caught:
        calendar.check_year(1900)
    assert str(caught.value) == (
        "Year 1900 is outside the years the holidays library knows for ID (1946 to 2100)."
    )
    with pytest.raises(ConfigError, match="Year 0 is outside the years a calendar has"):
        Calendar(CalendarSpec(country=None)).check_year(0)
    # Past the library's years there is nothing national, not an error in the pipeline.
    assert Calendar(CalendarSpec(), [NamedDay(date=date(2101, 1, 3))]).dates("jkt", 2101) == {
        date(2101, 1, 3)
    }


def test_cuti_bersama_not_yet_decreed_are_missing() -> None:
    calendar = Calendar(CalendarSpec())
    assert not calendar.cuti_bersama_missing(2026)
    # The government decrees them year by year; the library knows none this far ahead.
    assert calendar.cuti_bersama_missing(2040)
    assert not Calendar(CalendarSpec(cuti_bersama=False)).cuti_bersama_missing(2040)


# --- properties ------------------------------------------------------------------------

YEAR_2026 = st.integers(min_value=0, max_value=364).map(lambda n: date(2026, 1, 1) + timedelta(n))
OFF_2026 = sorted(NATIONAL_2026 | CUTI_BERSAMA_2026)


@given(
    worked=st.sets(st.sampled_from(OFF_2026)),
    added=st.sets(YEAR_2026, max_size=10),
    extra=st.sets(YEAR_2026, max_size=5),
    day=YEAR_2026,
)
def test_in_force_is_the_library_less_worked_plus_added(
    worked: set[date], added: set[date], extra: set[date], day: date
) -> None:
    added -= worked  # a day both worked and added is refused when the roster loads
    spec = CalendarSpec(
        not_holidays=sorted(worked),
        buildings={"mks": BuildingDays(holidays=[NamedDay(date=d) for d in sorted(extra)])},
    )
    calendar = Calendar(spec, [NamedDay(date=d) for d in sorted(added)])
    wide = (set(OFF_2026) - worked) | added
    assert calendar.dates("jkt", 2026) == wide
    assert calendar.dates("mks", 2026) == wide | extra
    assert calendar.is_holiday("jkt", day) == (day in wide)
    assert (calendar.holiday("mks", day) is not None) == (day in wide | extra)
    listed = calendar.listing("jkt", 2026)
    assert {h.date for h in listed if h.removed} == worked
    assert {h.date for h in listed if not h.removed} == wide
    assert all(h.date.year == 2026 for h in listed)


# --- the roster's calendar block -------------------------------------------------------

CALENDAR = """\
holidays: [2026-10-02]
calendar:
  country: ID
  not_holidays: [2026-12-24]
  buildings:
    ro-makassar:
      holidays: [2026-11-10]
      not_holidays: [2026-05-28]
"""
WITH_CALENDAR = SMALL.replace("holidays: [2026-12-25]\n", CALENDAR)


def test_a_calendar_block_loads(tmp_path: Path, sample_site: Site) -> None:
    text = WITH_CALENDAR.replace(
        "holidays: [2026-10-02]", "holidays: [{date: 2026-10-02, name: HUT Badan}, 2026-10-05]"
    ).replace("country: ID", "country: id  # any case")
    roster = load_roster(write(tmp_path, text), sample_site)
    calendar = roster.holiday_calendar
    assert calendar.holiday("hq-jakarta", date(2026, 10, 2)) == Holiday(
        date(2026, 10, 2), "HUT Badan", "roster"
    )
    assert calendar.holiday("hq-jakarta", date(2026, 10, 5)) == Holiday(
        date(2026, 10, 5), None, "roster"
    )
    assert calendar.is_holiday("ro-makassar", date(2026, 11, 10))
    assert not calendar.is_holiday("hq-jakarta", date(2026, 11, 10))
    assert calendar.is_holiday("hq-jakarta", date(2026, 5, 28))
    assert not calendar.is_holiday("ro-makassar", date(2026, 5, 28))
    assert not calendar.is_holiday("hq-jakarta", CHRISTMAS_EVE)
    resolved = roster.resolved()
    assert resolved["holidays"] == ["2026-10-02", "2026-10-05"]
    assert resolved["calendar"] == {
        "country": "ID",
        "cuti_bersama": True,
        "language": "id",
        "not_holidays": ["2026-12-24"],
        "buildings": {
            "ro-makassar": {
                "holidays": [{"date": "2026-11-10", "name": None}],
                "not_holidays": ["2026-05-28"],
            }
        },
    }


@pytest.mark.parametrize("none", ["none", "None", "null", "~"])
def test_country_none_turns_the_national_days_off(
    tmp_path: Path, sample_site: Site, none: str
) -> None:
    text = SMALL.replace("holidays: [2026-12-25]\n", f"calendar: {{country: {none}}}\n")
    roster = load_roster(write(tmp_path, text), sample_site)
    assert roster.holiday_calendar.dates("hq-jakarta", 2026) == frozenset()
    e1 = roster.employee("e1")
    assert e1 is not None and roster.scheduled(e1, CHRISTMAS) == "wfo"


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        pytest.param(
            "country: ID",
            "country: XX",
            "line 20 (calendar.country)",
            "unknown country code 'XX': give an ISO 3166 code the holidays library knows, "
            "such as ID, or none for no national holidays",
            id="unknown-country",
        ),
        pytest.param(
            "country: ID",
            "country: NO",
            "line 20 (calendar.country)",
            'write the country code in quotes, e.g. "NO" (YAML read False)',
            id="norway-unquoted",
        ),
        pytest.param(
            "    ro-makassar:",
            "    ro-bandung:",
            "line 23 (calendar.buildings.ro-bandung)",
            "unknown building 'ro-bandung' (the site has hq-jakarta, ro-makassar)",
            id="unknown-building",
        ),
        pytest.param(
            "not_holidays: [2026-12-24]",
            "not_holidays: [2026-12-24, 2026-12-24]",
            "line 21 (calendar.not_holidays[1])",
            "2026-12-24 is listed twice",
            id="worked-twice",
        ),
        pytest.param(
            "holidays: [2026-11-10]",
            "holidays: [2026-11-10, 2026-11-10]",
            "line 24 (calendar.buildings.ro-makassar.holidays[1])",
            "2026-11-10 is listed twice",
            id="building-day-twice",
        ),
        pytest.param(
            "holidays: [2026-11-10]",
            "holidays: [2026-10-02]",
            "line 24 (calendar.buildings.ro-makassar.holidays[0])",
            "2026-10-02 is listed twice (also a holiday of the whole roster, holidays[0], line 18)",
            id="building-day-roster-wide-too",
        ),
        pytest.param(
            "not_holidays: [2026-12-24]",
            "not_holidays: [2026-12-23]",
            "line 21 (calendar.not_holidays[0])",
            f"2026-12-23 is no national holiday or cuti bersama day of ID "
            f"(holidays {library_version}), so there is none to work",
            id="worked-no-holiday",
        ),
        pytest.param(
            "not_holidays: [2026-12-24]",
            "not_holidays: [2026-10-02]",
            "line 21 (calendar.not_holidays[0])",
            "2026-10-02 is also a holiday of the roster (holidays[0], line 18)",
            id="worked-and-off",
        ),
        pytest.param(
            "country: ID",
            "country: none",
            "line 21 (calendar.not_holidays[0])",
            "2026-12-24 is no national holiday (country is none), so there is none to work",
            id="worked-without-country",
        ),
        pytest.param(
            "not_holidays: [2026-05-28]",
            "not_holidays: [2026-05-29]",
            "line 25 (calendar.buildings.ro-makassar.not_holidays[0])",
            "2026-05-29 is no holiday of the roster-wide calendar, so there is none to work",
            id="building-worked-no-holiday",
        ),
        pytest.param(
            "not_holidays: [2026-05-28]",
            "not_holidays: [2026-12-24]",
            "line 25 (calendar.buildings.ro-makassar.not_holidays[0])",
            "2026-12-24 is listed twice (also in calendar.not_holidays)",
            id="building-worked-roster-wide-too",
        ),
        pytest.param(
            "not_holidays: [2026-05-28]",
            "not_holidays: [2026-11-10]",
            "line 25 (calendar.buildings.ro-makassar.not_holidays[0])",
            "2026-11-10 is also one of the building's holidays",
            id="building-worked-and-off",
        ),
        pytest.param(
            "country: ID",
            "country: MY\n  cuti_bersama: true",
            "line 21 (calendar.cuti_bersama)",
            "cuti bersama are Indonesia's collective leave days; they need country ID "
            "(the country is MY)",
            id="cuti-bersama-elsewhere",
        ),
        pytest.param(
            "country: ID",
            "country: ID\n  language: fr",
            "line 21 (calendar.language)",
            "the holidays library has no names in 'fr' for ID (it has en_US, id, th, uk)",
            id="language",
        ),
        pytest.param(
            "country: ID",
            "country: ID\n  cuti_bersama: sometimes",
            "line 21 (calendar.cuti_bersama)",
            "input should be a valid boolean (got 'sometimes')",
            id="cuti-bersama-not-a-bool",
        ),
        pytest.param(
            "country: ID",
            "country: ID\n  regions: {}",
            "line 21 (calendar.regions)",
            "extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            "holidays: [2026-10-02]",
            "holidays: [{date: 2026-10-02, nama: HUT}]",
            "line 18 (holidays[0].nama)",
            "extra inputs are not permitted (got 'HUT')",
            id="named-day-unknown-key",
        ),
        pytest.param(
            "holidays: [2026-11-10]",
            'holidays: ["2026-11-31"]',
            "line 24 (calendar.buildings.ro-makassar.holidays[0])",
            "'2026-11-31' is not a date (YYYY-MM-DD)",
            id="no-such-date",
        ),
    ],
)
def test_broken_calendar_names_file_line_key_and_problem(
    tmp_path: Path, sample_site: Site, old: str, new: str, where: str, problem: str
) -> None:
    assert old in WITH_CALENDAR
    path = write(tmp_path, WITH_CALENDAR.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load_roster(path, sample_site)
    assert str(caught.value) == f"{path} {where}: {problem}."
