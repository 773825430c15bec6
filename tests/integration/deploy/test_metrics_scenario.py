"""A scripted scenario through the real pipeline into the real InfluxDB, then read back.

Bridge and worker (with the sample roster) run on the stack and write metrics into a
database of this test's own. The script decides every figure checked here: room counts and
limits, duplicates, sequence gaps and rejects, the capacity alert and its acknowledgement,
who checked in and out. Then every employee id and name of the roster is searched for in
every tag and field stored: none may be there.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deploy.grafana.dashboards import queries
from deploy.grafana.influxql import interval_ms
from ingest.models import Alert
from ingest.roster import load_roster
from ingest.settings import Settings
from ingest.site import Site
from processors.attendance import read_latest
from processors.attendance_rules import DailyRecord
from tests.support.influx import InfluxDb
from tests.support.mqtt import Collector, publish
from tests.support.pipeline import Pipeline, replay_clock

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
BUILDING = "hq-jakarta"
# The pipeline's clock: its points are stamped with it, so queries ask for its last minute,
# not InfluxDB's own now().
CLOCK = replay_clock()
OVER = "f2-meeting-a"  # pushed over its limit: a critical capacity alert, acknowledged
QUALITY = "f2-meeting-b"  # a QoS-1 duplicate and a sequence gap
QUIET = "f3-meeting-c"
CHECKED_IN, CHECKED_OUT = 12, 4  # employees of the building who tap in; of them, who leave


@dataclass
class Scenario:
    """What the script implies, worked out from the script alone."""

    counts: dict[str, int]
    limits: dict[str, int]
    employees: list[str]
    names: list[str]
    door_messages: int
    duplicates: int
    gaps: int
    rejected: dict[str, int]
    # Known once played: from the alerts the pipeline sent over MQTT, and from the day
    # records in Kafka (the rules' own output, not the metrics' path).
    active_alerts: int = 0
    unacknowledged: int = 0
    planned_wfo: int = 0
    late: int = 0
    absent: int = 0


def _door(prefix: str, room: str, seq: int, entered: int, exited: int) -> tuple[str, bytes]:
    body = {"seq": seq, "ts": CLOCK.now().isoformat(), "entered": entered, "exited": exited}
    return f"{prefix}/{BUILDING}/{room}/door/door-{room}", json.dumps(body).encode()


def _tap(
    prefix: str, employee: str, action: str, event: str, at: datetime, **extra: Any
) -> tuple[str, bytes]:
    body = {
        "event_id": event,
        "ts": at.isoformat(),
        "employee_id": employee,
        "action": action,
        "method": "badge",
        **extra,
    }
    return f"{prefix}/{BUILDING}/kiosk/kiosk-main", json.dumps(body).encode()


def _building_employees() -> list[tuple[str, str]]:
    with (SAMPLE / "employees.csv").open(newline="") as rows:
        return [(r["id"], r["name"]) for r in csv.DictReader(rows) if r["building"] == BUILDING]


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.25)


def _last_minute() -> str:
    """`time > …`: the pipeline clock's last minute, in InfluxQL."""
    since = (CLOCK.now() - timedelta(minutes=1)).astimezone(UTC)
    return f"time > '{since.isoformat().replace('+00:00', 'Z')}'"


def _last_by(db: InfluxDb, q: str, key: str) -> dict[str, Any]:
    return {row[key]: row["last"] for row in db.rows(q)}


@pytest.fixture(scope="module")
def played(
    stack_env: dict[str, str], sample_site: Site, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[InfluxDb, Scenario, Pipeline]]:
    """The scenario, played once for every test of this module."""
    db = InfluxDb(stack_env["OCC_INFLUX_URL"])
    pipeline = Pipeline(
        stack_env,
        tmp_path_factory.mktemp("scenario"),
        CLOCK,
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_INFLUX_BUCKET=db.bucket,
        OCC_INFLUX_FLUSH_INTERVAL_MS="100",
        OCC_METRICS_HEARTBEAT_S="1",
        OCC_METRICS_PIPELINE_S="1",
        OCC_ALERT_TICK_S="1",
    )
    prefix = pipeline.prefix
    collector = Collector(pipeline.mqtt_url, [f"{prefix}/+/alerts"], f"watch-{pipeline.tag}")
    limits = {
        room: sample_site.limit(r)
        for room in (OVER, QUALITY, QUIET)
        if (r := sample_site.room(BUILDING, room)) is not None
    }
    over_by = limits[OVER] + 2
    doors = [
        _door(prefix, OVER, 1, over_by, 0),
        _door(prefix, QUALITY, 1, 3, 0),
        _door(prefix, QUALITY, 1, 3, 0),  # a QoS-1 redelivery: a duplicate, counted once
        _door(prefix, QUALITY, 4, 1, 0),  # seqs 2 and 3 never come: a gap
        _door(prefix, QUIET, 1, 2, 0),
        _door(prefix, QUIET, 2, 0, 1),
    ]
    bad = [
        (f"{prefix}/{BUILDING}/{QUIET}/door/door-{QUIET}", b"{not json"),
        (f"{prefix}/{BUILDING}/{QUIET}/door/door-{QUIET}", b"{not json either"),
        (f"{prefix}/{BUILDING}/no-such-room/door/door-x", _door(prefix, QUIET, 9, 1, 0)[1]),
    ]
    staff = _building_employees()[:CHECKED_IN]
    now = CLOCK.now()
    taps = [_tap(prefix, e, "check_in", f"in-{e}", now) for e, _ in staff]
    later = now + timedelta(seconds=5)
    taps += [_tap(prefix, e, "check_out", f"out-{e}", later) for e, _ in staff[:CHECKED_OUT]]
    # A fever at the kiosk (its alert names the employee, the metrics never do), and an
    # employee the roster does not know (dead-lettered by the worker).
    fever = _building_employees()[CHECKED_IN][0]
    taps.append(_tap(prefix, fever, "check_in", "fever", now, temperature_c=38.6))
    taps.append(_tap(prefix, "999999999999999999", "check_in", "stranger", now))
    roster = load_roster(SAMPLE / "roster.yaml", sample_site)
    scenario = Scenario(
        counts={OVER: over_by, QUALITY: 4, QUIET: 1},
        limits=limits,
        employees=[e.id for e in roster.employees],
        names=[e.name for e in roster.employees if e.name],
        door_messages=len(doors),
        duplicates=1,
        gaps=1,
        rejected={"bad_json": 2, "unknown_room": 1},
    )
    try:
        pipeline.bridge()
        pipeline.worker()
        time.sleep(2.5)  # heartbeats first: entries and check-ins count up from a zero
        publish(pipeline.mqtt_url, doors + bad + taps, f"pub-{pipeline.tag}")

        def capacity() -> list[Alert]:
            sent = [Alert.model_validate_json(p) for _, p, _ in collector.messages()]
            return [a for a in sent if a.kind == "capacity" and a.room == OVER]

        _until(lambda: any(a.severity == "critical" for a in capacity()), 60, "capacity alert")
        alert_id = capacity()[-1].alert_id
        ack = f"{prefix}/{BUILDING}/alerts/{alert_id}/ack"
        publish(pipeline.mqtt_url, [(ack, json.dumps({"by": "guard-1"}).encode())], "ack")
        _until(lambda: any(a.ack is not None for a in capacity()), 60, "acknowledged alert")

        def settled() -> bool:
            counts = _last_by(db, 'SELECT LAST("count") FROM room_occupancy GROUP BY room', "room")
            inside = db.rows(
                "SELECT SUM(c) FROM (SELECT LAST(checked_in) AS c FROM attendance "
                f"WHERE {_last_minute()} GROUP BY unit)"
            )
            acked = db.rows("SELECT LAST(acked) FROM alerts WHERE kind = 'capacity'")
            return (
                all(counts.get(room) == n for room, n in scenario.counts.items())
                and bool(inside)
                and inside[0]["sum"] == CHECKED_IN - CHECKED_OUT + 1
                and bool(acked)
                and acked[0]["last"] == 1
            )

        _until(settled, 90, "the scenario's figures in InfluxDB")
        time.sleep(2.5)  # one more pipeline interval: every counter written
        latest: dict[tuple[str, str], Alert] = {}
        for _, payload, _ in collector.messages():
            alert = Alert.model_validate_json(payload)
            if alert.building == BUILDING:
                latest[(alert.room or "", alert.kind)] = alert
        active = [a for a in latest.values() if a.state == "active"]
        scenario.active_alerts = len(active)
        scenario.unacknowledged = sum(1 for a in active if a.ack is None)
        building = sample_site.building(BUILDING)
        assert building is not None
        today = CLOCK.now().astimezone(building.zone).date()
        scenario.planned_wfo = roster.planned_wfo(BUILDING, today)
        settings = Settings(kafka_bootstrap=pipeline.bootstrap, kafka_topic_prefix=pipeline.topics)
        days = asyncio.run(read_latest(settings, "attendance", DailyRecord)).values()
        scenario.late = sum(1 for d in days if d.date == today and d.late_minutes > 0)
        # Who left after five seconds on an office day is absent by hours, if their group
        # has that threshold (on other days they came unscheduled): from the roster alone.
        for employee_id, _ in _building_employees()[:CHECKED_OUT]:
            employee = roster.employee(employee_id)
            assert employee is not None
            if roster.scheduled(employee, today) == "wfo":
                scenario.absent += roster.group_of(employee).absent_below_hours is not None
        yield db, scenario, pipeline
    finally:
        collector.close()
        pipeline.stop_all()
        db.drop()


def test_rooms_carry_their_counts_limits_and_every_room_a_heartbeat(
    played: tuple[InfluxDb, Scenario, Pipeline], sample_site: Site
) -> None:
    db, scenario, _ = played
    counts = _last_by(db, 'SELECT LAST("count") FROM room_occupancy GROUP BY room', "room")
    limits = _last_by(db, 'SELECT LAST("limit") FROM room_occupancy GROUP BY room', "room")
    for room, n in scenario.counts.items():
        assert counts[room] == n
        assert limits[room] == scenario.limits[room]
    rooms = db.rows('SELECT LAST("count") FROM room_occupancy GROUP BY building, room')
    assert len(rooms) == sum(len(b.rooms) for b in sample_site.buildings)
    over = db.rows(
        f"SELECT LAST(level), LAST(status), LAST(utilization) FROM room_occupancy "
        f"WHERE room = '{OVER}'"
    )
    assert (over[0]["last"], over[0]["last_1"]) == (3, "over")
    assert over[0]["last_2"] == pytest.approx(scenario.counts[OVER] / scenario.limits[OVER], 1e-3)
    entered = _last_by(db, "SELECT LAST(entered) FROM room_occupancy GROUP BY room", "room")
    assert entered[QUALITY] == 4  # 3 + 1: the duplicate counted once


def test_the_capacity_alert_its_ack_and_the_fever_are_points(
    played: tuple[InfluxDb, Scenario, Pipeline],
) -> None:
    db, _, _ = played
    rows = db.rows(
        "SELECT alert_id, active, acked, ack_s, value FROM alerts WHERE kind = 'capacity' "
        f"AND room = '{OVER}'"
    )
    assert len({r["alert_id"] for r in rows}) == 1
    assert [r["acked"] for r in rows][-1] == 1
    assert [r["ack_s"] for r in rows if r["ack_s"] is not None] != []
    assert all(r["active"] == 1 for r in rows)
    kinds = {r["kind"] for r in db.rows("SELECT COUNT(alert_id) FROM alerts GROUP BY kind")}
    assert {"capacity", "health_screening", "sequence_gap"} <= kinds


def test_pipeline_counters_add_up_to_the_script(
    played: tuple[InfluxDb, Scenario, Pipeline],
) -> None:
    db, scenario, _ = played
    sums = {
        r["component"]: r
        for r in db.rows(
            "SELECT SUM(events) AS events, SUM(invalid) AS invalid, SUM(duplicates) AS dups, "
            "SUM(gaps) AS gaps FROM pipeline GROUP BY component"
        )
    }
    taps = CHECKED_IN + CHECKED_OUT + 2
    assert sums["bridge"]["events"] == scenario.door_messages + taps + 1  # + the ack
    assert sums["bridge"]["invalid"] == sum(scenario.rejected.values())
    assert sums["occupancy"]["events"] == scenario.door_messages
    assert sums["occupancy"]["dups"] == scenario.duplicates
    assert sums["occupancy"]["gaps"] == scenario.gaps
    assert sums["attendance"]["events"] == taps
    assert sums["attendance"]["invalid"] == 1  # the unknown employee
    reasons = {
        r["reason"]: r["sum"]
        for r in db.rows(
            "SELECT SUM(rejected) FROM pipeline WHERE component = 'bridge' GROUP BY reason"
        )
    }
    assert reasons == scenario.rejected


def test_attendance_counts_who_is_in_and_who_left(
    played: tuple[InfluxDb, Scenario, Pipeline],
) -> None:
    db, _, _ = played
    latest = db.rows(
        "SELECT SUM(i) AS inside, SUM(o) AS left, SUM(p) AS present FROM (SELECT LAST(checked_in) "
        f"AS i, LAST(checked_out) AS o, LAST(present) AS p FROM attendance WHERE {_last_minute()} "
        "GROUP BY unit)"
    )
    assert latest[0]["inside"] == CHECKED_IN - CHECKED_OUT + 1  # + the one with a fever
    assert latest[0]["left"] == CHECKED_OUT
    assert latest[0]["present"] == CHECKED_IN + 1


def test_no_employee_identifier_or_name_is_stored(
    played: tuple[InfluxDb, Scenario, Pipeline],
) -> None:
    db, scenario, _ = played
    stored: list[str] = []
    for series in db.query("SHOW MEASUREMENTS"):
        for (measurement,) in series["values"]:
            for keys in db.query(f'SHOW TAG KEYS FROM "{measurement}"'):
                for (key,) in keys["values"]:
                    for values in db.query(
                        f'SHOW TAG VALUES FROM "{measurement}" WITH KEY = "{key}"'
                    ):
                        stored += [str(v) for _, v in values["values"]]
            stored += [
                str(v) for row in db.rows(f'SELECT * FROM "{measurement}"') for v in row.values()
            ]
    assert len(stored) > 1000  # the scan saw the data
    text = "\n".join(stored)
    found = [e for e in scenario.employees if e in text] + [n for n in scenario.names if n in text]
    assert found == []


# --- every query of every dashboard, on what the scenario wrote ----------------------------


def _panels(db: InfluxDb) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Every panel, annotation and variable query rendered as Grafana would for the last
    hour (or the panel's own range), building hq-jakarta and room OVER, and its rows."""
    end = CLOCK.now() + timedelta(minutes=1)
    variables = {"building": BUILDING, "room": OVER, "tz": "Asia/Jakarta"}
    answers = {}
    for q in queries():
        start = end - timedelta(hours=1)
        if q.time_override is not None:
            start = end - timedelta(milliseconds=interval_ms(q.time_override))
        answers[(q.dashboard, q.panel, q.ref_id)] = db.rows(q.render(variables, start, end))
    return answers


def _one(rows: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(rows) == 1, rows
    return rows[0]


def _total(rows: list[dict[str, Any]], column: str, **tags: str) -> float:
    picked = [r for r in rows if all(r.get(k) == v for k, v in tags.items())]
    return sum(r[column] or 0 for r in picked)


def test_every_dashboard_query_returns_what_the_scenario_implies(
    played: tuple[InfluxDb, Scenario, Pipeline],
) -> None:
    db, sc, _ = played
    panels = _panels(db)
    empty = [key for key, rows in panels.items() if not rows]
    assert empty == []  # every panel, annotation and variable has something to show
    inside = CHECKED_IN - CHECKED_OUT + 1
    came = CHECKED_IN + 1

    overview = "Building overview"
    people = _one(panels[(overview, "People in the building", "A")])
    assert (people["in the building"], people["planned WFO"]) == (inside, sc.planned_wfo)
    assert _one(panels[(overview, "People in rooms", "A")])["in rooms"] == sum(sc.counts.values())
    assert _one(panels[(overview, "Rooms over limit", "A")])["rooms over limit"] == 1
    assert _one(panels[(overview, "Active alerts", "A")])["active"] == sc.active_alerts
    gauge = {
        r["room"]: r["utilization"] for r in panels[(overview, "Occupancy against limit", "A")]
    }
    assert gauge[OVER] == pytest.approx(sc.counts[OVER] / sc.limits[OVER], 1e-3)
    rooms_now = {r["room"]: r for r in panels[(overview, "Rooms now", "A")]}
    assert {room: rooms_now[room]["count"] for room in sc.counts} == sc.counts
    assert rooms_now[OVER]["status"] == "over"

    room = "Room detail"
    now = _one(panels[(room, "Now", "A")])
    assert (now["count"], now["limit"], now["free"]) == (sc.counts[OVER], sc.limits[OVER], 0)
    flows = panels[(room, "Entries and exits", "A")]
    assert (_total(flows, "entries"), _total(flows, "exits")) == (sc.counts[OVER], 0)
    assert (
        max(r["count"] or 0 for r in panels[(room, "Count against limit", "A")]) == sc.counts[OVER]
    )
    marks = panels[(room, "Alerts", "")]
    assert {m["kind"] for m in marks} == {"capacity"}

    attendance = "Attendance"
    today = _one(panels[(attendance, "Today", "A")])
    assert today["in the building"] == inside
    assert today["present"] == came
    assert today["planned WFO"] == sc.planned_wfo
    assert (today["late"], today["absent"]) == (sc.late, sc.absent)
    per_unit = panels[(attendance, "Present against planned WFO per unit", "A")]
    assert (_total(per_unit, "present"), _total(per_unit, "planned WFO")) == (came, sc.planned_wfo)
    days = panels[(attendance, "Late and absent per day", "A")]
    assert (days[-1]["late"], days[-1]["absent"]) == (sc.late, sc.absent)
    assert _total(panels[(attendance, "Check-ins per quarter hour", "A")], "check-ins") == came

    alerts = "Alerts"
    assert _one(panels[(alerts, "Active", "A")])["active"] == sc.active_alerts
    unacked = panels[(alerts, "Active", "B")]
    assert (_one(unacked)["unacknowledged"] if unacked else 0) == sc.unacknowledged
    ack = _one(panels[(alerts, "Time to acknowledge", "A")])
    assert ack["acknowledged"] == 1 and ack["mean"] > 0
    kinds = {r["kind"] for r in panels[(alerts, "Alerts now", "A")]}
    assert {"capacity", "sequence_gap", "health_screening"} <= kinds

    health = "Pipeline health"
    flow = panels[(health, "Throughput", "A")]
    assert _total(flow, "events/s", component="occupancy") * 10 == pytest.approx(sc.door_messages)
    assert _one(panels[(health, "In the time range", "A")])["rejected messages"] == sum(
        sc.rejected.values()
    )
    writes = _one(panels[(health, "In the time range", "B")])
    assert (writes["metric points dropped"], writes["failed writes"]) == (0, 0)
    reasons = panels[(health, "Rejects by reason", "A")]
    assert {r: _total(reasons, "rejected", reason=r) for r in sc.rejected} == sc.rejected
    assert _total(panels[(health, "Rejects by reason", "B")], "unknown employee") == 1
    quality = panels[(health, "Duplicates and gaps", "A")]
    assert (_total(quality, "duplicates"), _total(quality, "sequence gaps")) == (
        sc.duplicates,
        sc.gaps,
    )
    lag = panels[(health, "Lag", "A")]
    assert {r["component"] for r in lag} == {"bridge", "occupancy", "attendance"}

    buildings = {r["value"] for r in panels[(overview, "building", "")]}
    assert buildings == {"hq-jakarta", "ro-makassar"}
    assert OVER in {r["value"] for r in panels[(overview, "room", "")]}
