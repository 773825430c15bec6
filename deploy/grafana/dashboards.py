"""Every Grafana dashboard of the pipeline, generated as plain dicts and written as JSON.

Run `python -m deploy.grafana.dashboards` to regenerate `deploy/grafana/dashboards/*.json`
(committed; a test fails when they differ from what this module generates). Plain dicts,
built with `deploy/grafana/panels.py`: the JSON stays as readable as this code, and no
builder layer stands between them. grafana-foundation-sdk, Grafana's typed models, checks
them instead: tests/unit/deploy/test_grafana_sdk.py reads every dashboard with the schema
of the Grafana in docker compose and fails on a key that schema does not know.

Every query is InfluxQL against the measurements of docs/contract.md ("InfluxDB"), so the
dashboards run on InfluxDB 1.8+, 2.x (through a DBRP mapping) and 3.x; the tests run each
one on the InfluxDB 1.6 of the local stack. Every panel, annotation and template variable
uses the datasource uid `DATASOURCE_UID`.

The building blocks are in `deploy/grafana/panels.py`; `deploy/grafana/influxql.py` lists
every query of these dashboards and renders it as Grafana would, for the tests.
"""

# The queries are InfluxQL text for Grafana, built from constants only: no injection to fear.
# ruff: noqa: S608

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from deploy.grafana import influxql
from deploy.grafana import panels as ui
from deploy.grafana.influxql import Query
from deploy.grafana.panels import BUILDING, DATASOURCE, DATASOURCE_UID, ROOM, Json

__all__ = ["DATASOURCE", "DATASOURCE_UID", "Json", "Query", "dashboards", "queries"]

FOLDER_UID = "occupancy"
FOLDER_TITLE = "Occupancy"
DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

# How often the writers report (docs/configuration.md): the smallest useful $__interval of a panel.
HEARTBEAT_INTERVAL = "1m"  # OCC_METRICS_HEARTBEAT_S default
PIPELINE_INTERVAL = "10s"  # OCC_METRICS_PIPELINE_S default
OVER_LIMIT_LEVEL = 3  # "over": more people than the limit; "full" (2) is at the limit, allowed

# Active now: per room and kind (at most one open alert each), the latest point is active.
_ACTIVE_ALERTS = (
    'SELECT sum("active") AS "active" FROM (SELECT last("active") AS "active" FROM "alerts" '
    f'WHERE {BUILDING} AND $timeFilter GROUP BY "room", "kind")'
)

# --- the dashboards ------------------------------------------------------------------------


def dashboards() -> list[Json]:
    """Every dashboard, in the order they are listed in the folder."""
    return [building_overview(), room_detail(), attendance(), alerts(), pipeline_health()]


def building_overview() -> Json:
    in_building = (
        'SELECT sum("checked_in") AS "in the building", sum("planned_wfo") AS "planned WFO" '
        'FROM (SELECT last("checked_in") AS "checked_in", last("planned_wfo") AS "planned_wfo" '
        f'FROM "attendance" WHERE {BUILDING} AND $timeFilter GROUP BY "unit")'
    )
    in_rooms = (
        'SELECT sum("count") AS "in rooms" FROM (SELECT last("count") AS "count" '
        f'FROM "room_occupancy" WHERE {BUILDING} AND $timeFilter GROUP BY "room")'
    )
    over_limit = (
        'SELECT count("level") AS "rooms over limit" FROM (SELECT last("level") AS "level" '
        f'FROM "room_occupancy" WHERE {BUILDING} AND $timeFilter GROUP BY "room") '
        f'WHERE "level" >= {OVER_LIMIT_LEVEL}'
    )
    utilization = (
        'SELECT last("utilization") AS "utilization" FROM "room_occupancy" '
        f'WHERE {BUILDING} AND $timeFilter GROUP BY "room"'
    )
    rooms_now = (
        'SELECT last("count") AS "count", last("limit") AS "limit", '
        'last("capacity") AS "capacity", last("status") AS "status" FROM "room_occupancy" '
        f'WHERE {BUILDING} AND $timeFilter GROUP BY "room"'
    )
    panels = ui.layout(
        [
            [
                (
                    ui.stat(
                        "People in the building",
                        [ui.target(in_building)],
                        description="Checked in at a kiosk and not out yet: the sum over units "
                        "of each unit's latest `checked_in`; planned WFO for comparison.",
                    ),
                    8,
                    5,
                ),
                (
                    ui.stat(
                        "People in rooms",
                        [ui.target(in_rooms)],
                        description="Sum over rooms of each room's latest door count.",
                    ),
                    5,
                    5,
                ),
                (
                    ui.stat(
                        "Rooms over limit",
                        [ui.target(over_limit)],
                        thresholds=[("green", None), ("red", 1)],
                        description="Rooms whose latest status is `over` (level 3: more "
                        "people than the limit). A room exactly at its limit is `full`, "
                        "which is allowed, and is not counted.",
                    ),
                    5,
                    5,
                ),
                (
                    ui.stat(
                        "Active alerts",
                        [ui.target(_ACTIVE_ALERTS)],
                        thresholds=[("green", None), ("orange", 1)],
                        description="Alerts whose latest point, per room and kind, is active. "
                        "Only alerts with a point in the time range count (critical ones "
                        "remind every OCC_ALERT_REMINDER_S).",
                    ),
                    6,
                    5,
                ),
            ],
            [
                (
                    ui.bar_gauge(
                        "Occupancy against limit",
                        [ui.target(utilization, alias="$tag_room")],
                        description="Each room's latest count ÷ limit. Colours follow the "
                        "room status: green open, yellow warning (from the default warn ratio "
                        "0.8), orange full (at the limit), red over.",
                    ),
                    12,
                    14,
                ),
                (ui.rooms_table("Rooms now", [ui.target(rooms_now, fmt="table")]), 12, 14),
            ],
        ]
    )
    return ui.dashboard(
        "occupancy-overview",
        "Building overview",
        "Every room against its limit, the building's headcount, rooms over limit, alerts.",
        panels,
        variables=[ui.building_variable(), ui.room_variable(hide=True)],
        time_from="now-6h",
        refresh="30s",
    )


def room_detail() -> Json:
    where = f"WHERE {BUILDING} AND {ROOM} AND $timeFilter"
    count_limit = (
        'SELECT max("count") AS "count", max("limit") AS "limit" '
        f'FROM "room_occupancy" {where} GROUP BY time($__interval) fill(previous)'
    )
    now = (
        'SELECT last("count") AS "count", last("limit") AS "limit", last("free") AS "free" '
        f'FROM "room_occupancy" {where}'
    )
    flows = (
        'SELECT sum("entries") AS "entries", sum("exits") AS "exits" '
        f'FROM "room_occupancy" {where} GROUP BY time($__interval) fill(0)'
    )
    heat = (
        'SELECT mean("utilization") AS "utilization" '
        f'FROM "room_occupancy" {where} GROUP BY time(10m) fill(none)'
    )
    annotation = (
        'SELECT "state", "severity", "kind", "alert_id", "value", "limit" '
        f'FROM "alerts" WHERE {BUILDING} AND {ROOM} AND $timeFilter'
    )
    panels = ui.layout(
        [
            [
                (
                    ui.timeseries(
                        "Count against limit",
                        [ui.target(count_limit)],
                        interval=HEARTBEAT_INTERVAL,
                        overrides=[ui.dashed_red("limit")],
                        description="Highest count and limit in each interval; alerts are "
                        "annotations.",
                    ),
                    18,
                    9,
                ),
                (
                    ui.stat("Now", [ui.target(now)], description="Latest count, limit, free."),
                    6,
                    9,
                ),
            ],
            [
                (
                    ui.timeseries(
                        "Entries and exits",
                        [ui.target(flows)],
                        interval=HEARTBEAT_INTERVAL,
                        bars=True,
                        signed=True,
                        overrides=[ui.negative_y("exits")],
                        description="People through the doors per interval: the sum of "
                        "`entries`/`exits`, each point's growth since the room's previous one.",
                    ),
                    12,
                    10,
                ),
                (
                    ui.heatmap(
                        "Utilisation by hour",
                        [ui.target(heat)],
                        description="Each column is one hour of the last 7 days; each cell "
                        "counts the 10-minute slots of that hour whose mean utilisation fell "
                        "in the band (10 % bands). InfluxQL has no hour-of-day function, so "
                        "the daily pattern shows as repeating columns.",
                    ),
                    12,
                    10,
                ),
            ],
        ]
    )
    return ui.dashboard(
        "occupancy-room",
        "Room detail",
        "One room: count against limit, entries and exits, utilisation by hour, its alerts.",
        panels,
        variables=[ui.building_variable(), ui.room_variable()],
        annotations=[
            ui.annotation(
                "Alerts",
                annotation,
                title="kind",
                text="state",
                tags="severity,kind",
            )
        ],
        time_from="now-24h",
        refresh="30s",
    )


def attendance() -> Json:
    today = (
        'SELECT sum("checked_in") AS "in the building", sum("present") AS "present", '
        'sum("planned_wfo") AS "planned WFO", sum("late") AS "late", sum("absent") AS "absent" '
        'FROM (SELECT last("checked_in") AS "checked_in", last("present") AS "present", '
        'last("planned_wfo") AS "planned_wfo", last("late") AS "late", '
        f'last("absent") AS "absent" FROM "attendance" WHERE {BUILDING} AND $timeFilter '
        'GROUP BY "unit")'
    )
    per_unit = (
        'SELECT last("planned_wfo") AS "planned WFO", last("present") AS "present" '
        f'FROM "attendance" WHERE {BUILDING} AND $timeFilter GROUP BY "unit"'
    )
    per_day = (
        'SELECT sum("late") AS "late", sum("absent") AS "absent" '
        'FROM (SELECT last("late") AS "late", last("absent") AS "absent" FROM "attendance" '
        f"WHERE {BUILDING} AND $timeFilter GROUP BY time(1d), \"unit\" tz('$tz')) "
        "WHERE $timeFilter GROUP BY time(1d) fill(0) tz('$tz')"
    )
    check_ins = (
        'SELECT sum("checkins") AS "check-ins" FROM "attendance" '
        f'WHERE {BUILDING} AND $timeFilter GROUP BY time(15m), "unit" fill(0)'
    )
    panels = ui.layout(
        [
            [
                (
                    ui.stat(
                        "Today",
                        [ui.target(today)],
                        description="Unit totals of the building's local date (as "
                        "`occupancy report attendance`): in the building now, present, "
                        "planned WFO, late, absent.",
                    ),
                    24,
                    5,
                )
            ],
            [
                (
                    ui.bar_chart(
                        "Present against planned WFO per unit",
                        [ui.target(per_unit, fmt="table")],
                        x_field="unit",
                        description="Each unit's latest figures for today.",
                    ),
                    12,
                    10,
                ),
                (
                    ui.timeseries(
                        "Late and absent per day",
                        [ui.target(per_day)],
                        bars=True,
                        time_override="14d",
                        description="Each day's final figures, summed over units; days run "
                        "midnight to midnight in the zone chosen above (set it to the "
                        "building's zone from the site file).",
                    ),
                    12,
                    10,
                ),
            ],
            [
                (
                    ui.timeseries(
                        "Check-ins per quarter hour",
                        [ui.target(check_ins, alias="$tag_unit")],
                        bars=True,
                        stacked=True,
                        description="Employees coming in for the first time that day, per "
                        "unit, in each 15 minutes (the `checkins` counted between points).",
                    ),
                    24,
                    9,
                )
            ],
        ]
    )
    return ui.dashboard(
        "occupancy-attendance",
        "Attendance",
        "Present against planned WFO per unit, late and absent per day, check-ins.",
        panels,
        variables=[ui.building_variable(), ui.room_variable(hide=True), ui.tz_variable()],
        time_from="now-24h",
        refresh="1m",
    )


def alerts() -> Json:
    unacked = (
        'SELECT count("active") AS "unacknowledged" FROM (SELECT last("active") AS "active", '
        f'"acked" FROM "alerts" WHERE {BUILDING} AND $timeFilter GROUP BY "room", "kind") '
        'WHERE "active" = 1 AND "acked" = 0'
    )
    ack_time = (
        'SELECT mean("ack_s") AS "mean", max("ack_s") AS "longest", '
        f'count("ack_s") AS "acknowledged" FROM "alerts" WHERE {BUILDING} AND $timeFilter'
    )
    ack_by_kind = (
        'SELECT mean("ack_s") AS "mean", max("ack_s") AS "longest" FROM "alerts" '
        f'WHERE {BUILDING} AND $timeFilter GROUP BY "kind"'
    )
    latest = (
        'SELECT last("active") AS "active", "acked", "severity", "state", "alert_id", '
        f'"value", "limit" FROM "alerts" WHERE {BUILDING} AND $timeFilter '
        'GROUP BY "room", "kind"'
    )
    log = (
        'SELECT "alert_id", "room", "kind", "severity", "state", "active", "acked", "ack_s", '
        f'"value", "limit" FROM "alerts" WHERE {BUILDING} AND $timeFilter '
        "ORDER BY time DESC LIMIT 1000"
    )
    panels = ui.layout(
        [
            [
                (
                    ui.stat(
                        "Active",
                        [ui.target(_ACTIVE_ALERTS), ui.target(unacked, ref="B")],
                        thresholds=[("green", None), ("orange", 1)],
                        description="Alerts active now (latest point per room and kind), and "
                        "those of them nobody acknowledged.",
                    ),
                    8,
                    5,
                ),
                (
                    ui.stat(
                        "Time to acknowledge",
                        [ui.target(ack_time)],
                        unit="s",
                        overrides=[ui.unit_override("acknowledged", "none")],
                        description="Seconds from an alert's start to its acknowledgement "
                        "(`ack_s`), over the alerts acknowledged in the time range.",
                    ),
                    8,
                    5,
                ),
                (
                    ui.bar_chart(
                        "Time to acknowledge by kind",
                        [ui.target(ack_by_kind, fmt="table")],
                        x_field="kind",
                        unit="s",
                    ),
                    8,
                    5,
                ),
            ],
            [
                (
                    ui.alerts_table(
                        "Alerts now",
                        [ui.target(latest, fmt="table")],
                        description="The latest point of each room and kind: its state, "
                        "severity and whether it was acknowledged.",
                    ),
                    24,
                    9,
                )
            ],
            [
                (
                    ui.alerts_table(
                        "Alert log",
                        [ui.target(log, fmt="table")],
                        description="Every point: raise, escalation, reminder, ack, resolve.",
                    ),
                    24,
                    12,
                )
            ],
        ]
    )
    return ui.dashboard(
        "occupancy-alerts",
        "Alerts",
        "Alerts of a building: active and unacknowledged, time to acknowledge, the log.",
        panels,
        variables=[ui.building_variable(), ui.room_variable(hide=True)],
        time_from="now-24h",
        refresh="30s",
    )


def pipeline_health() -> Json:
    components = '"component" =~ /^(bridge|occupancy|attendance)$/'
    throughput = (
        'SELECT sum("events") * 1000 / $__interval_ms AS "events/s" FROM "pipeline" '
        f'WHERE {components} AND $timeFilter GROUP BY time($__interval), "component" fill(0)'
    )
    rejects = (
        'SELECT sum("rejected") AS "rejected" FROM "pipeline" WHERE "component" = \'bridge\' '
        'AND $timeFilter GROUP BY time($__interval), "reason" fill(0)'
    )
    unknown = (
        'SELECT sum("invalid") AS "unknown employee" FROM "pipeline" '
        "WHERE \"component\" = 'attendance' AND $timeFilter GROUP BY time($__interval) fill(0)"
    )
    quality = (
        'SELECT sum("duplicates") AS "duplicates", sum("gaps") AS "sequence gaps" '
        'FROM "pipeline" WHERE "component" = \'occupancy\' AND $timeFilter '
        "GROUP BY time($__interval) fill(0)"
    )
    redelivered = (
        'SELECT sum("duplicates") AS "MQTT redeliveries" FROM "pipeline" '
        "WHERE \"component\" = 'bridge' AND $timeFilter GROUP BY time($__interval) fill(0)"
    )
    lag = (
        'SELECT max("lag") AS "lag" FROM "pipeline" '
        f'WHERE {components} AND $timeFilter GROUP BY time($__interval), "component" fill(none)'
    )
    writer = (
        'SELECT sum("dropped") AS "dropped", sum("write_errors") AS "write errors" '
        'FROM "pipeline" WHERE "component" = \'metrics\' AND $timeFilter '
        "GROUP BY time($__interval) fill(0)"
    )
    buffered = (
        'SELECT max("buffered") AS "buffered" FROM "pipeline" '
        "WHERE \"component\" = 'metrics' AND $timeFilter GROUP BY time($__interval) fill(none)"
    )
    totals = (
        'SELECT sum("dropped") AS "metric points dropped", '
        'sum("write_errors") AS "failed writes" FROM "pipeline" '
        "WHERE \"component\" = 'metrics' AND $timeFilter"
    )
    rejected_total = (
        'SELECT sum("invalid") AS "rejected messages" FROM "pipeline" '
        "WHERE \"component\" = 'bridge' AND $timeFilter"
    )
    panels = ui.layout(
        [
            [
                (
                    ui.timeseries(
                        "Throughput",
                        [ui.target(throughput, alias="$tag_component")],
                        interval=PIPELINE_INTERVAL,
                        unit="ops",
                        description="Events per second: messages the bridge forwarded to "
                        "Kafka, door events and kiosk taps the workers took.",
                    ),
                    12,
                    8,
                ),
                (
                    ui.stat(
                        "In the time range",
                        [ui.target(rejected_total), ui.target(totals, ref="B")],
                        thresholds=[("green", None), ("orange", 1)],
                        description="Dead-lettered messages; metric points the writers "
                        "dropped from a full buffer; failed writes to InfluxDB.",
                    ),
                    12,
                    8,
                ),
            ],
            [
                (
                    ui.timeseries(
                        "Rejects by reason",
                        [
                            ui.target(rejects, alias="$tag_reason"),
                            ui.target(unknown, ref="B"),
                        ],
                        interval=PIPELINE_INTERVAL,
                        bars=True,
                        stacked=True,
                        description="Messages the bridge dead-lettered, by reason; kiosk taps "
                        "of employees the roster does not know (dead-lettered by a worker).",
                    ),
                    12,
                    8,
                ),
                (
                    ui.timeseries(
                        "Duplicates and gaps",
                        [ui.target(quality), ui.target(redelivered, ref="B")],
                        interval=PIPELINE_INTERVAL,
                        bars=True,
                        description="Door messages dropped as duplicates (by `seq`), sequence "
                        "gaps found, and QoS-1 messages the broker redelivered to the bridge.",
                    ),
                    12,
                    8,
                ),
            ],
            [
                (
                    ui.timeseries(
                        "Lag",
                        [ui.target(lag, alias="$tag_component")],
                        interval=PIPELINE_INTERVAL,
                        description="Records behind: the bridge's in flight to Kafka, each "
                        "worker agent's behind the end of its topic (largest of any process).",
                    ),
                    12,
                    8,
                ),
                (
                    ui.timeseries(
                        "InfluxDB writes",
                        [ui.target(writer), ui.target(buffered, ref="B")],
                        interval=PIPELINE_INTERVAL,
                        overrides=[ui.right_axis("buffered")],
                        description="Points dropped from a full buffer and failed writes per "
                        "interval; points waiting in the fullest writer's buffer (right axis).",
                    ),
                    12,
                    8,
                ),
            ],
        ]
    )
    return ui.dashboard(
        "occupancy-pipeline",
        "Pipeline health",
        "Throughput, rejects, duplicates and gaps, lag, and the InfluxDB writers.",
        panels,
        variables=[ui.building_variable(hide=True), ui.room_variable(hide=True)],
        time_from="now-1h",
        refresh="10s",
    )


def queries() -> list[Query]:
    """Every panel, annotation and variable query of every dashboard."""
    return influxql.queries(dashboards())


# --- writing -------------------------------------------------------------------------------


def file_name(board: Json) -> str:
    """The file of a dashboard, from its title: "Building overview" → building-overview.json."""
    return re.sub(r"[^a-z0-9]+", "-", board["title"].lower()).strip("-") + ".json"


def to_json(board: Json) -> str:
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


def generated() -> dict[str, str]:
    """File name → JSON text of every dashboard."""
    return {file_name(board): to_json(board) for board in dashboards()}


def write_all(directory: Path = DASHBOARD_DIR) -> list[Path]:
    """Write every dashboard into `directory`, removing JSON files that no longer belong."""
    directory.mkdir(parents=True, exist_ok=True)
    files = generated()
    for stale in directory.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> int:
    for path in write_all():
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
