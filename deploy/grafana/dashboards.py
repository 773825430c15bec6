"""Every Grafana dashboard of the pipeline, generated as plain dicts and written as JSON.

Run `python -m deploy.grafana.dashboards` to regenerate `deploy/grafana/dashboards/*.json`
(committed; a test fails when they differ from what this module generates). Plain dicts,
not grafana-foundation-sdk: it is not needed for six panel types and raw InfluxQL targets,
it would add a dependency and a builder layer, and dicts keep the generated JSON exactly
as readable as this code.

Every query is InfluxQL against the measurements of README "Metrics in InfluxDB", so the
dashboards run on InfluxDB 1.8+, 2.x (through a DBRP mapping) and 3.x; the tests run each
one on the InfluxDB 1.6 of the local stack. Every panel, annotation and template variable
uses the datasource uid `DATASOURCE_UID`.

For tests, these are kept stable:
- `queries()` lists every panel query, annotation query and template-variable query of
  every dashboard as a `Query` (dashboard, panel title, kind, refId, text, minimum
  interval, the panel's own time range);
- `render(text, variables, start, end, interval)` turns a query into plain InfluxQL the
  way Grafana does: `$timeFilter`, `$__interval`, `$__interval_ms` and the template
  variables (`$name`, `${name}`, `[[name]]`) substituted; inside a regex literal
  (`=~ /^$room$/`) a value is regex-escaped. `Query.render` does the same and raises the
  interval to the panel's minimum; `auto_interval(start, end)` approximates the
  `$__interval` Grafana picks for a time range.
"""

# The queries are InfluxQL text for Grafana, built from constants only: no injection to fear.
# ruff: noqa: S608

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Json = dict[str, Any]

DATASOURCE_UID = "occupancy-influxdb"
DATASOURCE: Json = {"type": "influxdb", "uid": DATASOURCE_UID}
FOLDER_UID = "occupancy"
FOLDER_TITLE = "Occupancy"
TAG = "occupancy"
DASHBOARD_DIR = Path(__file__).resolve().parent / "dashboards"

# Time zones of Indonesia for day boundaries (site files give each building its IANA zone;
# InfluxDB does not know them, so the Attendance dashboard asks).
TIME_ZONES = (("WIB", "Asia/Jakarta"), ("WITA", "Asia/Makassar"), ("WIT", "Asia/Jayapura"))
# How often the writers report (README): the smallest useful $__interval of a panel.
HEARTBEAT_INTERVAL = "1m"  # OCC_METRICS_HEARTBEAT_S default
PIPELINE_INTERVAL = "10s"  # OCC_METRICS_PIPELINE_S default
# The status a room's `level` field encodes, with the colour every panel gives it.
STATUS_COLOURS = (("open", "green"), ("warning", "yellow"), ("full", "orange"), ("over", "red"))
OVER_LIMIT_LEVEL = 3  # "over": more people than the limit; "full" (2) is at the limit, allowed

BUILDING = '"building" =~ /^$building$/'
ROOM = '"room" =~ /^$room$/'
# Active now: per room and kind (at most one open alert each), the latest point is active.
_ACTIVE_ALERTS = (
    'SELECT sum("active") AS "active" FROM (SELECT last("active") AS "active" FROM "alerts" '
    f'WHERE {BUILDING} AND $timeFilter GROUP BY "room", "kind")'
)

QueryKind = Literal["panel", "annotation", "variable"]


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
    panels = _layout(
        [
            [
                (
                    _stat(
                        "People in the building",
                        [_target(in_building)],
                        description="Checked in at a kiosk and not out yet: the sum over units "
                        "of each unit's latest `checked_in`; planned WFO for comparison.",
                    ),
                    8,
                    5,
                ),
                (
                    _stat(
                        "People in rooms",
                        [_target(in_rooms)],
                        description="Sum over rooms of each room's latest door count.",
                    ),
                    5,
                    5,
                ),
                (
                    _stat(
                        "Rooms over limit",
                        [_target(over_limit)],
                        thresholds=[("green", None), ("red", 1)],
                        description="Rooms whose latest status is `over` (level 3: more "
                        "people than the limit). A room exactly at its limit is `full`, "
                        "which is allowed, and is not counted.",
                    ),
                    5,
                    5,
                ),
                (
                    _stat(
                        "Active alerts",
                        [_target(_ACTIVE_ALERTS)],
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
                    _bar_gauge(
                        "Occupancy against limit",
                        [_target(utilization, alias="$tag_room")],
                        description="Each room's latest count ÷ limit. Colours follow the "
                        "room status: green open, yellow warning (from the default warn ratio "
                        "0.8), orange full (at the limit), red over.",
                    ),
                    12,
                    14,
                ),
                (_rooms_table("Rooms now", [_target(rooms_now, fmt="table")]), 12, 14),
            ],
        ]
    )
    return _dashboard(
        "occupancy-overview",
        "Building overview",
        "Every room against its limit, the building's headcount, rooms over limit, alerts.",
        panels,
        variables=[_building_variable(), _room_variable(hide=True)],
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
    panels = _layout(
        [
            [
                (
                    _timeseries(
                        "Count against limit",
                        [_target(count_limit)],
                        interval=HEARTBEAT_INTERVAL,
                        overrides=[_dashed_red("limit")],
                        description="Highest count and limit in each interval; alerts are "
                        "annotations.",
                    ),
                    18,
                    9,
                ),
                (
                    _stat("Now", [_target(now)], description="Latest count, limit, free."),
                    6,
                    9,
                ),
            ],
            [
                (
                    _timeseries(
                        "Entries and exits",
                        [_target(flows)],
                        interval=HEARTBEAT_INTERVAL,
                        bars=True,
                        signed=True,
                        overrides=[_negative_y("exits")],
                        description="People through the doors per interval: the sum of "
                        "`entries`/`exits`, each point's growth since the room's previous one.",
                    ),
                    12,
                    10,
                ),
                (
                    _heatmap(
                        "Utilisation by hour",
                        [_target(heat)],
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
    return _dashboard(
        "occupancy-room",
        "Room detail",
        "One room: count against limit, entries and exits, utilisation by hour, its alerts.",
        panels,
        variables=[_building_variable(), _room_variable()],
        annotations=[
            _annotation(
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
    panels = _layout(
        [
            [
                (
                    _stat(
                        "Today",
                        [_target(today)],
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
                    _bar_chart(
                        "Present against planned WFO per unit",
                        [_target(per_unit, fmt="table")],
                        x_field="unit",
                        description="Each unit's latest figures for today.",
                    ),
                    12,
                    10,
                ),
                (
                    _timeseries(
                        "Late and absent per day",
                        [_target(per_day)],
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
                    _timeseries(
                        "Check-ins per quarter hour",
                        [_target(check_ins, alias="$tag_unit")],
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
    return _dashboard(
        "occupancy-attendance",
        "Attendance",
        "Present against planned WFO per unit, late and absent per day, check-ins.",
        panels,
        variables=[_building_variable(), _room_variable(hide=True), _tz_variable()],
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
    panels = _layout(
        [
            [
                (
                    _stat(
                        "Active",
                        [_target(_ACTIVE_ALERTS), _target(unacked, ref="B")],
                        thresholds=[("green", None), ("orange", 1)],
                        description="Alerts active now (latest point per room and kind), and "
                        "those of them nobody acknowledged.",
                    ),
                    8,
                    5,
                ),
                (
                    _stat(
                        "Time to acknowledge",
                        [_target(ack_time)],
                        unit="s",
                        overrides=[_unit("acknowledged", "none")],
                        description="Seconds from an alert's start to its acknowledgement "
                        "(`ack_s`), over the alerts acknowledged in the time range.",
                    ),
                    8,
                    5,
                ),
                (
                    _bar_chart(
                        "Time to acknowledge by kind",
                        [_target(ack_by_kind, fmt="table")],
                        x_field="kind",
                        unit="s",
                    ),
                    8,
                    5,
                ),
            ],
            [
                (
                    _alerts_table(
                        "Alerts now",
                        [_target(latest, fmt="table")],
                        description="The latest point of each room and kind: its state, "
                        "severity and whether it was acknowledged.",
                    ),
                    24,
                    9,
                )
            ],
            [
                (
                    _alerts_table(
                        "Alert log",
                        [_target(log, fmt="table")],
                        description="Every point: raise, escalation, reminder, ack, resolve.",
                    ),
                    24,
                    12,
                )
            ],
        ]
    )
    return _dashboard(
        "occupancy-alerts",
        "Alerts",
        "Alerts of a building: active and unacknowledged, time to acknowledge, the log.",
        panels,
        variables=[_building_variable(), _room_variable(hide=True)],
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
    panels = _layout(
        [
            [
                (
                    _timeseries(
                        "Throughput",
                        [_target(throughput, alias="$tag_component")],
                        interval=PIPELINE_INTERVAL,
                        unit="ops",
                        description="Events per second: messages the bridge forwarded to "
                        "Kafka, door events and kiosk taps the workers took.",
                    ),
                    12,
                    8,
                ),
                (
                    _stat(
                        "In the time range",
                        [_target(rejected_total), _target(totals, ref="B")],
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
                    _timeseries(
                        "Rejects by reason",
                        [
                            _target(rejects, alias="$tag_reason"),
                            _target(unknown, ref="B"),
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
                    _timeseries(
                        "Duplicates and gaps",
                        [_target(quality), _target(redelivered, ref="B")],
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
                    _timeseries(
                        "Lag",
                        [_target(lag, alias="$tag_component")],
                        interval=PIPELINE_INTERVAL,
                        description="Records behind: the bridge's in flight to Kafka, each "
                        "worker agent's behind the end of its topic (largest of any process).",
                    ),
                    12,
                    8,
                ),
                (
                    _timeseries(
                        "InfluxDB writes",
                        [_target(writer), _target(buffered, ref="B")],
                        interval=PIPELINE_INTERVAL,
                        overrides=[_right_axis("buffered")],
                        description="Points dropped from a full buffer and failed writes per "
                        "interval; points waiting in the fullest writer's buffer (right axis).",
                    ),
                    12,
                    8,
                ),
            ],
        ]
    )
    return _dashboard(
        "occupancy-pipeline",
        "Pipeline health",
        "Throughput, rejects, duplicates and gaps, lag, and the InfluxDB writers.",
        panels,
        variables=[_building_variable(hide=True), _room_variable(hide=True)],
        time_from="now-1h",
        refresh="10s",
    )


# --- queries for tests ---------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """One InfluxQL query of a dashboard, with Grafana's macros and variables unsubstituted."""

    dashboard: str  # the dashboard's title
    dashboard_uid: str
    panel: str  # the panel's title; the annotation's or the variable's name
    kind: QueryKind
    ref_id: str  # the target's refId ("" for annotations and variables)
    text: str
    result_format: str  # "time_series" | "table" (annotations and variables: "table")
    min_interval: str | None  # the panel's minimum $__interval, when it sets one
    time_override: str | None  # the panel's own relative time ("14d": now-14d..now), if any

    @property
    def variables(self) -> set[str]:
        """The template variables the query uses (not Grafana's own macros)."""
        return {name for name in _names(self.text) if name not in _MACROS}

    def render(
        self,
        variables: Mapping[str, str],
        start: datetime,
        end: datetime,
        interval: str | None = None,
    ) -> str:
        """Plain InfluxQL; `interval` is raised to the panel's minimum, as Grafana does
        (default: the minimum, else 1m)."""
        chosen = interval or self.min_interval or "1m"
        if self.min_interval and interval_ms(self.min_interval) > interval_ms(chosen):
            chosen = self.min_interval
        return render(self.text, variables, start, end, chosen)


def queries(source: Iterable[Json] | None = None) -> list[Query]:
    """Every panel, annotation and variable query of `source` (default: `dashboards()`)."""
    found: list[Query] = []
    for board in dashboards() if source is None else source:
        title, uid = board["title"], board["uid"]
        for panel in _panels(board):
            for target in panel.get("targets", []):
                found.append(
                    Query(
                        title,
                        uid,
                        panel["title"],
                        "panel",
                        target["refId"],
                        target["query"],
                        target.get("resultFormat", "time_series"),
                        panel.get("interval"),
                        panel.get("timeFrom"),
                    )
                )
        for anno in board.get("annotations", {}).get("list", []):
            if anno.get("builtIn"):
                continue
            text = anno.get("target", {}).get("query") or anno["query"]
            found.append(
                Query(title, uid, anno["name"], "annotation", "", text, "table", None, None)
            )
        for variable in board.get("templating", {}).get("list", []):
            if variable["type"] == "query":
                text = variable["query"]
                text = text["query"] if isinstance(text, dict) else text
                found.append(
                    Query(title, uid, variable["name"], "variable", "", text, "table", None, None)
                )
    return found


def render(
    text: str,
    variables: Mapping[str, str],
    start: datetime,
    end: datetime,
    interval: str = "1m",
) -> str:
    """`text` with Grafana's substitutions made, for InfluxDB itself.

    `$timeFilter` becomes `time >= <start>ms and time <= <end>ms` (epoch milliseconds, as
    Grafana sends them); `$__interval` the given interval (`10s`, `1m`, `1h`…) and
    `$__interval_ms` it in milliseconds; `$name`, `${name}` and `[[name]]` the variable's
    value, regex-escaped inside a regex literal. A variable without a value is a KeyError.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    values = {
        "timeFilter": (
            f"time >= {int(start.timestamp() * 1000)}ms and time <= {int(end.timestamp() * 1000)}ms"
        ),
        "__interval": interval,
        "__interval_ms": str(interval_ms(interval)),
        "interval": interval,
    }
    regexes = [m.span(1) for m in _REGEX_LITERAL.finditer(text)]

    def substitute(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g is not None)
        if name in values:
            return values[name]
        if name not in variables:
            raise KeyError(f"no value for template variable {name!r} in: {text}")
        value = variables[name]
        if any(lo <= match.start() < hi for lo, hi in regexes):
            return _REGEX_SPECIAL.sub(r"\\\g<0>", value)
        return value

    return _VARIABLE.sub(substitute, text)


def auto_interval(start: datetime, end: datetime, max_points: int = 1000) -> str:
    """About what Grafana picks for `$__interval`: the range over `max_points` (a panel about
    1000 pixels wide), rounded up to a round interval."""
    wanted = (end - start).total_seconds() * 1000 / max_points
    for step in _ROUND_INTERVALS:
        if interval_ms(step) >= wanted:
            return step
    return _ROUND_INTERVALS[-1]


def interval_ms(interval: str) -> int:
    """`10s` → 10000: Grafana's interval notation (ms, s, m, h, d, w) in milliseconds."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d|w)", interval)
    if match is None:
        raise ValueError(f"not an interval: {interval!r} (like 500ms, 10s, 1m, 1h, 1d)")
    return int(match[1]) * _UNIT_MS[match[2]]


_ROUND_INTERVALS = ("1s", "5s", "10s", "30s", "1m", "5m", "10m", "30m", "1h", "3h", "12h", "1d")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_MACROS = frozenset({"timeFilter", "__interval", "__interval_ms", "interval"})
_VARIABLE = re.compile(r"\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)")
_REGEX_LITERAL = re.compile(r"[=!]~\s*/((?:\\.|[^/\\])*)/")
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")


def _names(text: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _VARIABLE.finditer(text)]


def _panels(board: Json) -> list[Json]:
    found = []
    for panel in board.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))  # panels inside a collapsed row
    return found


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


# --- building blocks -----------------------------------------------------------------------


def _dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[Json],
    *,
    variables: list[Json],
    time_from: str,
    refresh: str,
    annotations: list[Json] | None = None,
) -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": [TAG],
        "timezone": "browser",
        "editable": True,
        "graphTooltip": 1,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "schemaVersion": 39,
        "version": 1,
        "links": [
            {
                "title": "Occupancy dashboards",
                "type": "dashboards",
                "tags": [TAG],
                "asDropdown": True,
                "includeVars": True,
                "keepTime": True,
            }
        ],
        "annotations": {"list": annotations or []},
        "templating": {"list": variables},
        "panels": panels,
    }


def _building_variable(*, hide: bool = False) -> Json:
    return _query_variable(
        "building",
        "Building",
        'SHOW TAG VALUES FROM "room_occupancy" WITH KEY = "building"',
        hide=hide,
    )


def _room_variable(*, hide: bool = False) -> Json:
    # Depends on $building: Grafana refreshes it whenever the building changes.
    return _query_variable(
        "room",
        "Room",
        f'SHOW TAG VALUES FROM "room_occupancy" WITH KEY = "room" WHERE {BUILDING}',
        hide=hide,
    )


def _query_variable(name: str, label: str, query: str, *, hide: bool) -> Json:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DATASOURCE,
        "query": query,
        "definition": query,
        "refresh": 1,  # on dashboard load
        "sort": 1,
        "multi": False,
        "includeAll": False,
        "hide": 2 if hide else 0,  # kept where unused, so dashboard links carry it along
        "current": {},
        "options": [],
        "regex": "",
    }


def _tz_variable() -> Json:
    options = [
        {"text": f"{label} ({zone})", "value": zone, "selected": i == 0}
        for i, (label, zone) in enumerate(TIME_ZONES)
    ]
    return {
        "name": "tz",
        "label": "Time zone",
        "type": "custom",
        "description": "Where days begin and end: the building's zone (site file `timezone`).",
        "query": ",".join(f"{label} ({zone}) : {zone}" for label, zone in TIME_ZONES),
        "current": {"text": options[0]["text"], "value": options[0]["value"]},
        "options": options,
        "multi": False,
        "includeAll": False,
        "hide": 0,
    }


def _annotation(name: str, query: str, *, title: str, text: str, tags: str) -> Json:
    columns = {"titleColumn": title, "textColumn": text, "tagsColumn": tags}
    return {
        "name": name,
        "datasource": DATASOURCE,
        "enable": True,
        "hide": False,
        "iconColor": "red",
        # Top-level fields for Grafana before 10, `target` for the current editor.
        "query": query,
        **columns,
        "target": {
            "refId": "Anno",
            "query": query,
            "rawQuery": True,
            "fromAnnotations": True,
            "textEditor": True,
            **columns,
        },
    }


def _target(query: str, *, ref: str = "A", fmt: str = "time_series", alias: str = "") -> Json:
    target: Json = {
        "refId": ref,
        "datasource": DATASOURCE,
        "rawQuery": True,
        "query": query,
        "resultFormat": fmt,
    }
    if alias:
        target["alias"] = alias
    return target


def _panel(
    kind: str,
    title: str,
    targets: list[Json],
    *,
    description: str = "",
    defaults: Json | None = None,
    overrides: list[Json] | None = None,
    options: Json | None = None,
    interval: str | None = None,
    time_override: str | None = None,
    transformations: list[Json] | None = None,
) -> Json:
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
    }
    if interval:
        panel["interval"] = interval
    if time_override:
        panel["timeFrom"] = time_override
    panel["targets"] = targets
    panel["fieldConfig"] = {"defaults": defaults or {}, "overrides": overrides or []}
    panel["options"] = options or {}
    if transformations:
        panel["transformations"] = transformations
    return panel


def _thresholds(steps: list[tuple[str, float | None]]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def _stat(
    title: str,
    targets: list[Json],
    *,
    description: str = "",
    thresholds: list[tuple[str, float | None]] | None = None,
    unit: str = "none",
    overrides: list[Json] | None = None,
) -> Json:
    return _panel(
        "stat",
        title,
        targets,
        description=description,
        defaults={
            "unit": unit,
            "decimals": 0,
            # No row (no room over its limit, no alert) is zero, not "No data".
            "noValue": "0",
            "color": {"mode": "thresholds"},
            "thresholds": _thresholds(thresholds or [("blue", None)]),
        },
        overrides=overrides,
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value",
            "graphMode": "none",
            "textMode": "value_and_name",
            "justifyMode": "auto",
            "orientation": "auto",
        },
    )


def _bar_gauge(title: str, targets: list[Json], *, description: str) -> Json:
    return _panel(
        "bargauge",
        title,
        targets,
        description=description,
        defaults={
            "unit": "percentunit",
            "decimals": 0,
            "min": 0,
            "max": 1.2,
            "color": {"mode": "thresholds"},
            # Utilisation is rounded to 4 decimals: 1.0 is "full", above it "over".
            "thresholds": _thresholds(
                [("green", None), ("yellow", 0.8), ("orange", 1), ("red", 1.0001)]
            ),
        },
        options={
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "displayMode": "lcd",
            "orientation": "horizontal",
            "valueMode": "color",
            "namePlacement": "left",
            "showUnfilled": True,
            "sizing": "auto",
        },
    )


def _status_mappings() -> list[Json]:
    return [
        {
            "type": "value",
            "options": {
                status: {"text": status, "color": colour, "index": i}
                for i, (status, colour) in enumerate(STATUS_COLOURS)
            },
        }
    ]


def _coloured(field: str, mappings: list[Json]) -> Json:
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [
            {"id": "mappings", "value": mappings},
            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
        ],
    }


def _hide_time() -> list[Json]:
    return [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]


def _rooms_table(title: str, targets: list[Json]) -> Json:
    return _panel(
        "table",
        title,
        targets,
        description="Each room's latest count, limit, capacity and status.",
        overrides=[_coloured("status", _status_mappings())],
        options={"showHeader": True, "sortBy": [{"displayName": "room", "desc": False}]},
        transformations=_hide_time(),
    )


def _alerts_table(title: str, targets: list[Json], *, description: str) -> Json:
    yes_no = [
        {
            "type": "value",
            "options": {
                "1": {"text": "yes", "color": "red", "index": 0},
                "0": {"text": "no", "color": "green", "index": 1},
            },
        }
    ]
    acked = [
        {
            "type": "value",
            "options": {
                "1": {"text": "acknowledged", "color": "green", "index": 0},
                "0": {"text": "unacknowledged", "color": "orange", "index": 1},
            },
        }
    ]
    severity = [
        {
            "type": "value",
            "options": {
                "info": {"text": "info", "color": "blue", "index": 0},
                "warning": {"text": "warning", "color": "orange", "index": 1},
                "critical": {"text": "critical", "color": "red", "index": 2},
            },
        }
    ]
    return _panel(
        "table",
        title,
        targets,
        description=description,
        defaults={"custom": {"filterable": True}},
        overrides=[
            _coloured("active", yes_no),
            _coloured("acked", acked),
            _coloured("severity", severity),
            _unit("ack_s", "s"),
        ],
        options={"showHeader": True, "sortBy": [{"displayName": "Time", "desc": True}]},
    )


def _timeseries(
    title: str,
    targets: list[Json],
    *,
    description: str = "",
    interval: str | None = None,
    unit: str = "none",
    bars: bool = False,
    stacked: bool = False,
    signed: bool = False,
    overrides: list[Json] | None = None,
    time_override: str | None = None,
) -> Json:
    """`signed`: a series is drawn below the axis (exits), so the axis does not start at 0."""
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineInterpolation": "stepAfter",
        "lineWidth": 1,
        "fillOpacity": 80 if bars else 10,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"mode": "normal" if stacked else "none", "group": "A"},
    }
    return _panel(
        "timeseries",
        title,
        targets,
        description=description,
        defaults={"unit": unit, "custom": custom} | ({} if signed else {"min": 0}),
        overrides=overrides,
        options={
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        interval=interval,
        time_override=time_override,
    )


def _heatmap(title: str, targets: list[Json], *, description: str) -> Json:
    return _panel(
        "heatmap",
        title,
        targets,
        description=description,
        time_override="7d",
        options={
            "calculate": True,
            "calculation": {
                "xBuckets": {"mode": "size", "value": "1h"},
                "yBuckets": {"mode": "size", "value": "0.1", "scale": {"type": "linear"}},
            },
            "color": {
                "mode": "scheme",
                "scheme": "Oranges",
                "scale": "exponential",
                "exponent": 0.5,
                "steps": 64,
                "reverse": False,
            },
            "yAxis": {"axisPlacement": "left", "unit": "percentunit", "min": 0},
            "cellGap": 1,
            "legend": {"show": True},
            "tooltip": {"mode": "single", "yHistogram": False},
            "rowsFrame": {"layout": "auto"},
        },
    )


def _bar_chart(
    title: str, targets: list[Json], *, x_field: str, description: str = "", unit: str = "none"
) -> Json:
    return _panel(
        "barchart",
        title,
        targets,
        description=description,
        defaults={"unit": unit, "min": 0},
        options={
            "xField": x_field,
            "orientation": "auto",
            "showValue": "auto",
            "stacking": "none",
            "groupWidth": 0.7,
            "barWidth": 0.9,
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        transformations=_hide_time(),
    )


def _property_override(field: str, properties: list[Json]) -> Json:
    return {"matcher": {"id": "byName", "options": field}, "properties": properties}


def _dashed_red(field: str) -> Json:
    return _property_override(
        field,
        [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.fillOpacity", "value": 0},
        ],
    )


def _negative_y(field: str) -> Json:
    return _property_override(field, [{"id": "custom.transform", "value": "negative-Y"}])


def _right_axis(field: str) -> Json:
    return _property_override(
        field,
        [
            {"id": "custom.axisPlacement", "value": "right"},
            {"id": "custom.drawStyle", "value": "line"},
        ],
    )


def _unit(field: str, unit: str) -> Json:
    return _property_override(field, [{"id": "unit", "value": unit}])


def _layout(rows: list[list[tuple[Json, int, int]]]) -> list[Json]:
    """Panels with ids and grid positions: each row left to right, rows top to bottom."""
    placed: list[Json] = []
    y = 0
    for row in rows:
        x = 0
        for panel, width, height in row:
            placed.append(
                {"id": len(placed) + 1, "gridPos": {"x": x, "y": y, "w": width, "h": height}}
                | panel
            )
            x += width
        y += max(height for _, _, height in row)
    return placed


def main() -> int:
    for path in write_all():
        sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
