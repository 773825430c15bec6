"""Every InfluxQL query of the dashboards, and Grafana's substitutions made the way Grafana
makes them, so the tests can run each query on a real InfluxDB.

- `queries(boards)` lists every panel query, annotation query and template-variable query of
  the dashboards as a `Query` (dashboard, panel title, kind, refId, text, minimum interval,
  the panel's own time range);
- `render(text, variables, start, end, interval)` turns a query into plain InfluxQL:
  `$timeFilter`, `$__interval`, `$__interval_ms` and the template variables (`$name`,
  `${name}`, `[[name]]`) substituted; inside a regex literal (`=~ /^$room$/`) a value is
  regex-escaped. `Query.render` does the same and raises the interval to the panel's
  minimum; `auto_interval(start, end)` approximates the `$__interval` Grafana picks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from deploy.grafana.panels import Json

QueryKind = Literal["panel", "annotation", "variable"]


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


def queries(source: Iterable[Json]) -> list[Query]:
    """Every panel, annotation and variable query of the dashboards `source`."""
    found: list[Query] = []
    for board in source:
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
