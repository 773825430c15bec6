"""The Grafana dashboards: committed JSON as generated, variables and datasource everywhere,
and every panel, annotation and variable query run on the real InfluxDB of the local stack.

Grafana itself cannot be installed here, so the queries are rendered the way Grafana renders
them (`deploy.grafana.dashboards.render`) and sent to InfluxDB's `/query` directly: an
unknown function, a syntax error or a misspelt field or tag fails the test.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.grafana import dashboards as dash
from deploy.grafana import influxql
from deploy.local.stack import Stack
from tests.support.influx import InfluxDb

BUILDING, OTHER_BUILDING = "hq-jakarta", "kanwil-makassar"
OVER, QUIET = "f2-meeting-a", "f3-meeting-c"
VARIABLES = {"building": BUILDING, "room": OVER, "tz": "Asia/Jakarta"}
UNITS = {"keuangan": 3, "program": 2}  # unit → people in the building now


def test_committed_json_is_what_the_module_generates() -> None:
    committed = {p.name: p.read_text(encoding="utf-8") for p in dash.DASHBOARD_DIR.glob("*.json")}
    generated = dash.generated()
    assert sorted(committed) == sorted(generated), "run: python -m deploy.grafana.dashboards"
    for name, text in generated.items():
        assert committed[name] == text, f"{name} is stale: run python -m deploy.grafana.dashboards"


def test_there_is_one_dashboard_per_view_with_unique_uids() -> None:
    boards = dash.dashboards()
    assert [b["title"] for b in boards] == [
        "Building overview",
        "Room detail",
        "Attendance",
        "Alerts",
        "Pipeline health",
    ]
    assert len({b["uid"] for b in boards}) == len(boards)
    assert all(len(b["uid"]) <= 40 for b in boards)  # Grafana's limit


def test_every_dashboard_has_building_and_room_and_room_follows_building() -> None:
    for board in dash.dashboards():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert {"building", "room"} <= set(variables), board["title"]
        building, room = variables["building"], variables["room"]
        assert building["query"].startswith("SHOW TAG VALUES")
        assert room["query"].startswith("SHOW TAG VALUES")
        assert "$building" in room["query"]
        # Variables come before what depends on them.
        names = list(variables)
        assert names.index("building") < names.index("room")
    room_detail = next(b for b in dash.dashboards() if b["title"] == "Room detail")
    shown = {v["name"] for v in room_detail["templating"]["list"] if v["hide"] == 0}
    assert shown == {"building", "room"}


def test_every_panel_target_annotation_and_variable_uses_the_one_datasource() -> None:
    for board in dash.dashboards():
        for panel in board["panels"]:
            assert panel["datasource"] == dash.DATASOURCE, (board["title"], panel["title"])
            assert panel["targets"], (board["title"], panel["title"])
            for target in panel["targets"]:
                assert target["datasource"] == dash.DATASOURCE
                assert target["rawQuery"] is True
        for anno in board["annotations"]["list"]:
            assert anno["datasource"] == dash.DATASOURCE
        for variable in board["templating"]["list"]:
            if variable["type"] == "query":
                assert variable["datasource"] == dash.DATASOURCE
        # No other datasource hides anywhere in the JSON.
        assert _datasources(board) == [dash.DATASOURCE] * len(_datasources(board))


def test_panels_fit_the_grid_and_have_unique_ids() -> None:
    for board in dash.dashboards():
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids))
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]


def test_queries_lists_panels_annotations_and_variables() -> None:
    found = dash.queries()
    kinds = {(q.dashboard, q.kind) for q in found}
    assert ("Room detail", "annotation") in kinds
    assert {q.dashboard for q in found if q.kind == "variable"} == {
        b["title"] for b in dash.dashboards()
    }
    targets = sum(len(p["targets"]) for b in dash.dashboards() for p in b["panels"])
    assert len([q for q in found if q.kind == "panel"]) == targets
    # The same from the committed JSON as from the generated dicts.
    assert influxql.queries(_committed()) == found
    every = " ".join(q.text for q in found)
    for needle in ("$timeFilter", "$__interval", "tz('$tz')"):
        assert needle.lower() in every.lower(), needle


def test_render_substitutes_like_grafana() -> None:
    start = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    end = start + timedelta(hours=6)
    text = (
        'SELECT sum("events") * 1000 / $__interval_ms FROM "x" WHERE "room" =~ /^$room$/ '
        "AND \"b\" = '${building}' AND [[building]] = 1 AND $timeFilter "
        "GROUP BY time($__interval) tz('$tz')"
    )
    rendered = influxql.render(
        text, {"room": "f1.lobby", "building": "hq", "tz": "Asia/Jayapura"}, start, end, "30s"
    )
    assert rendered == (
        'SELECT sum("events") * 1000 / 30000 FROM "x" WHERE "room" =~ /^f1\\.lobby$/ '
        "AND \"b\" = 'hq' AND hq = 1 AND time >= 1772409600000ms and time <= 1772431200000ms "
        "GROUP BY time(30s) tz('Asia/Jayapura')"
    )
    with pytest.raises(KeyError, match="room"):
        influxql.render('SELECT 1 FROM "x" WHERE "room" =~ /^$room$/', {}, start, end)
    with pytest.raises(ValueError, match="timezone-aware"):
        influxql.render("SELECT 1", {}, start.replace(tzinfo=None), end)


def test_query_render_keeps_the_panels_minimum_interval() -> None:
    throughput = next(q for q in dash.queries() if q.panel == "Throughput")
    assert throughput.min_interval == dash.PIPELINE_INTERVAL
    start = datetime(2026, 3, 2, tzinfo=UTC)
    assert "time(10s)" in throughput.render({}, start, start + timedelta(minutes=5), "1s")
    assert "time(5m)" in throughput.render({}, start, start + timedelta(days=1), "5m")
    assert influxql.auto_interval(start, start + timedelta(hours=6)) == "30s"
    assert influxql.auto_interval(start, start + timedelta(days=14)) == "30m"


# --- every query on the real InfluxDB ---------------------------------------------------------


@pytest.fixture(scope="module")
def influx(stack: Stack) -> Iterator[tuple[InfluxDb, datetime]]:
    """A throwaway database on the stack's InfluxDB holding a little of every measurement."""
    db = InfluxDb(f"http://127.0.0.1:{stack.ports.influx}")
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        _write(db, _sample_points(now))
        yield db, now
    finally:
        db.drop()


def _cases() -> list[Any]:
    return [
        pytest.param(q, id=f"{q.dashboard}/{q.panel}/{q.kind}{q.ref_id}") for q in dash.queries()
    ]


# --- helpers ----------------------------------------------------------------------------------


def _rendered(query: influxql.Query, now: datetime) -> str:
    span = _span(query.time_override) if query.time_override else timedelta(hours=6)
    start = now - span
    end = now + timedelta(minutes=1)
    return query.render(VARIABLES, start, end, influxql.auto_interval(start, end))


def _span(relative: str) -> timedelta:
    return timedelta(milliseconds=influxql.interval_ms(relative))


def _figures(db: InfluxDb, now: datetime, dashboard: str) -> dict[str, dict[str, Any]]:
    """Panel title → column → the value of its one row (stat panels)."""
    figures: dict[str, dict[str, Any]] = {}
    for query in dash.queries():
        if query.dashboard == dashboard and query.kind == "panel":
            rows = db.rows(_rendered(query, now))
            if len(rows) == 1:
                values = {k: v for k, v in rows[0].items() if k != "time"}
                figures.setdefault(query.panel, {}).update(values)
    return figures


def _datasources(node: Any) -> list[Any]:
    if isinstance(node, dict):
        found = [node["datasource"]] if "datasource" in node else []
        return found + [d for v in node.values() for d in _datasources(v)]
    if isinstance(node, list):
        return [d for v in node for d in _datasources(v)]
    return []


def _committed() -> list[dict[str, Any]]:
    import json

    return [
        json.loads(dash.DASHBOARD_DIR.joinpath(name).read_text(encoding="utf-8"))
        for name in dash.generated()
    ]


def _write(db: InfluxDb, lines: list[str]) -> None:
    url = f"{db.base_url}/write?db={db.name}&precision=s"
    request = urllib.request.Request(url, data="\n".join(lines).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204


def _sample_points(now: datetime) -> list[str]:
    """A little of each measurement, as docs/contract.md's InfluxDB schema has it (precision s)."""
    lines: list[str] = []
    for i in range(36):  # every 5 minutes for the last 3 hours
        at = int((now - timedelta(minutes=5 * (35 - i))).timestamp())
        count = min(i, 12)  # the meeting room fills past its limit of 10
        level, status = (3, "over") if count > 10 else (2, "full") if count == 10 else (0, "open")
        lines.append(
            f"room_occupancy,building={BUILDING},room={OVER},room_type=meeting "
            f"count={count}i,limit=10i,capacity=20i,utilization={count / 10:.4f},"
            f'free={max(10 - count, 0)}i,level={level}i,status="{status}",'
            f"entered={2 * i}i,exited={i}i,entries={2 if i else 0}i,exits={1 if i else 0}i {at}"
        )
        lines.append(
            f"room_occupancy,building={BUILDING},room={QUIET},room_type=meeting "
            f'count=1i,limit=5i,capacity=10i,utilization=0.2,free=4i,level=0i,status="open",'
            f"entered=3i,exited=2i {at}"
        )
        lines.append(
            f"room_occupancy,building={OTHER_BUILDING},room=lobby,room_type=lobby "
            f'count=0i,limit=30i,capacity=50i,utilization=0,free=30i,level=0i,status="open",'
            f"entered=0i,exited=0i {at}"
        )
        for unit, inside in UNITS.items():
            present = min(i // 3, 10)
            checkins = present - min((i - 1) // 3, 10) if i else 0
            lines.append(
                f"attendance,building={BUILDING},unit={unit} present={present}i,"
                f"checked_in={inside}i,checked_out={present - inside if present > inside else 0}i,"
                f"late=1i,planned_wfo=10i,absent=2i,wfh=4i,checkins={checkins}i {at}"
            )
    for day in (1, 2, 3):  # earlier days for the per-day panel
        at = int((now - timedelta(days=day)).timestamp())
        for unit in UNITS:
            lines.append(
                f"attendance,building={BUILDING},unit={unit} present=8i,checked_in=0i,"
                f"checked_out=8i,late={day}i,planned_wfo=10i,absent=2i,wfh=0i {at}"
            )
    for i in range(180):  # every 10 seconds for the last 30 minutes
        at = int((now - timedelta(seconds=10 * (179 - i))).timestamp())
        lines += [
            f"pipeline,component=bridge events=40i,invalid=1i,duplicates=0i,lag=3i {at}",
            f"pipeline,component=bridge,reason=bad_json rejected=1i {at}",
            f"pipeline,component=occupancy events=30i,duplicates=1i,gaps=0i,lag=0i {at}",
            f"pipeline,component=attendance events=10i,invalid=0i,lag=1i {at}",
            f"pipeline,component=metrics buffered=5i,dropped=0i,write_errors=0i {at}",
        ]
    raised = int((now - timedelta(minutes=40)).timestamp())
    acked = raised + 95
    capacity = (
        f"alerts,building={BUILDING},room={OVER},kind=capacity,severity=critical,state=active"
    )
    headcount = f"alerts,building={BUILDING},kind=building_headcount,severity=warning,state=active"
    lines += [
        f'{capacity} value=11i,limit=10i,alert_id="a-cap",active=1i,acked=0i {raised}',
        f'{capacity} value=12i,limit=10i,alert_id="a-cap",active=1i,acked=1i,ack_s=95 {acked}',
        f'{headcount} value=30i,limit=25i,alert_id="a-head",active=1i,acked=0i {raised}',
        f"alerts,building={BUILDING},room={QUIET},kind=sensor_offline,severity=warning,"
        f'state=active value=0i,limit=5i,alert_id="a-off",active=1i,acked=0i {raised - 600}',
        f"alerts,building={BUILDING},room={QUIET},kind=sensor_offline,severity=warning,"
        f'state=resolved value=0i,limit=5i,alert_id="a-off",active=0i,acked=0i {raised - 60}',
    ]
    return lines
