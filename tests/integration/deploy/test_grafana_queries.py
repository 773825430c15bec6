"""Every dashboard query run on the real InfluxDB of the stack, over points written as the
pipeline writes them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from deploy.grafana import dashboards as dash
from deploy.grafana import influxql
from tests.support.influx import InfluxDb
from tests.unit.deploy.test_grafana_dashboards import (
    BUILDING,
    OTHER_BUILDING,
    OVER,
    QUIET,
    UNITS,
    VARIABLES,
    _cases,
    _figures,
    _rendered,
    influx,  # noqa: F401 - a fixture
)


@pytest.mark.parametrize("query", _cases())
def test_the_query_runs_on_influxdb_and_returns_data(
    influx: tuple[InfluxDb, datetime], query: influxql.Query
) -> None:
    db, now = influx
    series = db.query(_rendered(query, now))  # raises on any InfluxQL error
    assert series, f"no rows: {query.text}"
    for one in series:
        columns = one["columns"]
        for index, column in enumerate(columns):
            values = [row[index] for row in one["values"]]
            assert any(v is not None for v in values), f"column {column!r} is empty: {query.text}"


def test_the_overview_figures_are_what_the_points_say(influx: tuple[InfluxDb, datetime]) -> None:
    db, now = influx
    figures = _figures(db, now, "Building overview")
    assert figures["People in the building"] == {
        "in the building": sum(UNITS.values()),
        "planned WFO": 20,
    }
    assert figures["People in rooms"] == {"in rooms": 12 + 1}
    assert figures["Rooms over limit"] == {"rooms over limit": 1}
    assert figures["Active alerts"] == {"active": 2}  # the acked capacity alert, the headcount


def test_the_alert_figures_are_what_the_points_say(influx: tuple[InfluxDb, datetime]) -> None:
    db, now = influx
    figures = _figures(db, now, "Alerts")
    assert figures["Active"] == {"active": 2, "unacknowledged": 1}
    assert figures["Time to acknowledge"] == {"mean": 95, "longest": 95, "acknowledged": 1}


def test_the_room_variable_follows_the_building(influx: tuple[InfluxDb, datetime]) -> None:
    db, now = influx
    room = next(q for q in dash.queries() if q.kind == "variable" and q.panel == "room")
    rooms = db.rows(room.render({"building": BUILDING}, now, now))
    assert {r["value"] for r in rooms} == {OVER, QUIET}
    rooms = db.rows(room.render({"building": OTHER_BUILDING}, now, now))
    assert {r["value"] for r in rooms} == {"lobby"}


def test_entries_and_checkins_add_up_per_interval(
    influx: tuple[InfluxDb, datetime],
) -> None:
    db, now = influx
    flows = next(q for q in dash.queries() if q.panel == "Entries and exits")
    rows = db.rows(flows.render(VARIABLES, now - timedelta(hours=3), now, "5m"))
    assert sum(r["entries"] or 0 for r in rows) == 2 * 35  # +2 every 5 min, 36 points
    assert sum(r["exits"] or 0 for r in rows) == 35
    checkins = next(q for q in dash.queries() if q.panel == "Check-ins per quarter hour")
    rows = db.rows(checkins.render(VARIABLES, now - timedelta(hours=3), now))
    assert sum(r["check-ins"] or 0 for r in rows) > 0
    assert all((r["check-ins"] or 0) >= 0 for r in rows)
