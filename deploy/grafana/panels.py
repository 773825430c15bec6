"""Grafana panel, variable and dashboard builders: plain dicts in the shape Grafana's JSON
model takes, so the generated dashboards read like the code that made them."""

from __future__ import annotations

from typing import Any

Json = dict[str, Any]

DATASOURCE_UID = "occupancy-influxdb"
DATASOURCE: Json = {"type": "influxdb", "uid": DATASOURCE_UID}
TAG = "occupancy"
# Time zones of Indonesia for day boundaries (site files give each building its IANA zone;
# InfluxDB does not know them, so the Attendance dashboard asks).
TIME_ZONES = (("WIB", "Asia/Jakarta"), ("WITA", "Asia/Makassar"), ("WIT", "Asia/Jayapura"))
# The status a room's `level` field encodes, with the colour every panel gives it.
STATUS_COLOURS = (("open", "green"), ("warning", "yellow"), ("full", "orange"), ("over", "red"))
# The template variables' filters, for queries that follow the dashboard's picks.
BUILDING = '"building" =~ /^$building$/'
ROOM = '"room" =~ /^$room$/'


def dashboard(
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


def building_variable(*, hide: bool = False) -> Json:
    return query_variable(
        "building",
        "Building",
        'SHOW TAG VALUES FROM "room_occupancy" WITH KEY = "building"',
        hide=hide,
    )


def room_variable(*, hide: bool = False) -> Json:
    # Depends on $building: Grafana refreshes it whenever the building changes.
    return query_variable(
        "room",
        "Room",
        f'SHOW TAG VALUES FROM "room_occupancy" WITH KEY = "room" WHERE {BUILDING}',
        hide=hide,
    )


def query_variable(name: str, label: str, query: str, *, hide: bool) -> Json:
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


def tz_variable() -> Json:
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


def annotation(name: str, query: str, *, title: str, text: str, tags: str) -> Json:
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


def target(query: str, *, ref: str = "A", fmt: str = "time_series", alias: str = "") -> Json:
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


def panel(
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


def threshold_steps(steps: list[tuple[str, float | None]]) -> Json:
    return {"mode": "absolute", "steps": [{"color": c, "value": v} for c, v in steps]}


def stat(
    title: str,
    targets: list[Json],
    *,
    description: str = "",
    thresholds: list[tuple[str, float | None]] | None = None,
    unit: str = "none",
    overrides: list[Json] | None = None,
) -> Json:
    return panel(
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
            "thresholds": threshold_steps(thresholds or [("blue", None)]),
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


def bar_gauge(title: str, targets: list[Json], *, description: str) -> Json:
    return panel(
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
            "thresholds": threshold_steps(
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


def status_mappings() -> list[Json]:
    return [
        {
            "type": "value",
            "options": {
                status: {"text": status, "color": colour, "index": i}
                for i, (status, colour) in enumerate(STATUS_COLOURS)
            },
        }
    ]


def coloured(field: str, mappings: list[Json]) -> Json:
    return {
        "matcher": {"id": "byName", "options": field},
        "properties": [
            {"id": "mappings", "value": mappings},
            {"id": "custom.cellOptions", "value": {"type": "color-background"}},
        ],
    }


def hide_time() -> list[Json]:
    return [{"id": "organize", "options": {"excludeByName": {"Time": True}}}]


def rooms_table(title: str, targets: list[Json]) -> Json:
    return panel(
        "table",
        title,
        targets,
        description="Each room's latest count, limit, capacity and status.",
        overrides=[coloured("status", status_mappings())],
        options={"showHeader": True, "sortBy": [{"displayName": "room", "desc": False}]},
        transformations=hide_time(),
    )


def alerts_table(title: str, targets: list[Json], *, description: str) -> Json:
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
    return panel(
        "table",
        title,
        targets,
        description=description,
        defaults={"custom": {"filterable": True}},
        overrides=[
            coloured("active", yes_no),
            coloured("acked", acked),
            coloured("severity", severity),
            unit_override("ack_s", "s"),
        ],
        options={"showHeader": True, "sortBy": [{"displayName": "Time", "desc": True}]},
    )


def timeseries(
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
    return panel(
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


def heatmap(title: str, targets: list[Json], *, description: str) -> Json:
    return panel(
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


def bar_chart(
    title: str, targets: list[Json], *, x_field: str, description: str = "", unit: str = "none"
) -> Json:
    return panel(
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
        transformations=hide_time(),
    )


def property_override(field: str, properties: list[Json]) -> Json:
    return {"matcher": {"id": "byName", "options": field}, "properties": properties}


def dashed_red(field: str) -> Json:
    return property_override(
        field,
        [
            {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
            {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
            {"id": "custom.fillOpacity", "value": 0},
        ],
    )


def negative_y(field: str) -> Json:
    return property_override(field, [{"id": "custom.transform", "value": "negative-Y"}])


def right_axis(field: str) -> Json:
    return property_override(
        field,
        [
            {"id": "custom.axisPlacement", "value": "right"},
            {"id": "custom.drawStyle", "value": "line"},
        ],
    )


def unit_override(field: str, unit: str) -> Json:
    return property_override(field, [{"id": "unit", "value": unit}])


def layout(rows: list[list[tuple[Json, int, int]]]) -> list[Json]:
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
