"""The simulator's day through the real pipeline (Mosquitto → bridge → Kafka → worker), twice
with the same seed into two isolated pipelines: the same alerts and the same attendance.

Alerts follow the event order, not the wall clock, when nothing in them waits on time: no
dwell before a resolve (`OCC_ALERT_MIN_DWELL_S=0`), no reminders, no forecasts (their
trends are fitted on arrival times). Then each pipeline's alerts are what the day's
messages imply, worked out here from the messages with the alert machines' own rules, and
its attendance is what the day model planned. Kiosk taps keep their simulated time only
when the skew allowed is wider than the distance to the simulated day.
"""

from __future__ import annotations

import asyncio
import json
import time as clock
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from functools import partial
from pathlib import Path

import pytest

from alerts.machine import AlertPolicy, MachineState, capacity_step, new_alert_id
from deploy.simulator import Day, Fault, Faults, Options, Window, plan_day, room_outlook
from ingest.models import Alert
from ingest.roster import Roster, load_roster
from ingest.settings import Settings
from ingest.site import Site, load_site
from processors.attendance import read_latest
from processors.attendance_report import attendance_rows, unit_totals
from processors.attendance_rules import DailyRecord
from tests.support.mqtt import Collector
from tests.support.pipeline import Pipeline
from tests.support.processes import Command

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sample"
SEED = 11
FAULTS: tuple[Fault, ...] = ("gaps", "underflow")
# Arrivals, the morning's meetings and the public: 5.5 h from Makassar's 07:00 WITA to
# Jakarta's 11:30 WIB, in 25 s.
START, END, SPEED = time(7), time(11, 30), 800
SETTINGS = {
    "OCC_ROSTER_FILE": str(SAMPLE / "roster.yaml"),
    "OCC_ALERT_MIN_DWELL_S": "0",
    "OCC_ALERT_REMINDER_S": "3600",
    "OCC_ALERT_FORECAST_HORIZON_S": "0",
    "OCC_ALERT_TICK_S": "1",
    "OCC_ATTENDANCE_MAX_CLOCK_SKEW_S": str(30 * 24 * 3600),
    "OCC_BOARD_PORT": "0",
}

Alerts = dict[tuple[str, str | None, str], list[tuple[str, str]]]
Totals = dict[str, tuple[int, int, int, int, int, int]]


def a_past_office_day(site: Site, roster: Roster) -> date:
    """The latest day before today with a full office: over (no message from the future) and
    within the days the worker closes (its absentees get their record)."""
    today = datetime.now(site.buildings[0].zone).date()
    for back in range(1, 8):
        day = today - timedelta(days=back)
        if roster.planned_wfo("hq-jakarta", day) >= 100:
            return day
    raise AssertionError("no office day in the last week")


def predicted_alerts(day: Day, site: Site) -> Alerts:
    """The alerts the day's door messages imply, by the machines' own rules."""
    policy = AlertPolicy(
        warn_ratio=site.policy.warn_ratio,
        min_dwell=timedelta(0),
        hysteresis=1,
        # The worker times reminders by arrival (wall clock; OCC_ALERT_REMINDER_S is an hour),
        # and the compressed day takes seconds: none are due, however long a room stays over.
        reminder_every=timedelta(days=1),
    )
    machines: dict[tuple[str, str], MachineState] = defaultdict(MachineState)
    count: Counter[tuple[str, str]] = Counter()
    last_seq: dict[str, int] = {}
    out: Alerts = defaultdict(list)
    for message in day.messages:
        if message.kind not in {"door", "heartbeat"}:
            continue
        _, building, room, _, _ = message.topic.split("/")
        key = (building, room)
        body = json.loads(message.payload)
        seq, previous = body["seq"], last_seq.get(message.topic)
        last_seq[message.topic] = seq
        if previous is not None and seq > previous + 1 and not out[(*key, "sequence_gap")]:
            out[(*key, "sequence_gap")].append(("warning", "active"))
        raw = count[key] + body["entered"] - body["exited"]
        if raw < 0 and not out[(*key, "count_underflow")]:
            out[(*key, "count_underflow")].append(("warning", "active"))
        if max(0, raw) == count[key]:
            continue
        count[key] = max(0, raw)
        room_limit = site.limit(site.room(building, room))  # type: ignore[arg-type]
        machines[key], sent = capacity_step(
            machines[key],
            building=building,
            room=room,
            count=count[key],
            limit=room_limit,
            now=message.at,
            policy=policy,
            alert_id_factory=new_alert_id,
        )
        out[(*key, "capacity")].extend((a.severity, a.state) for a in sent)
    return {k: v for k, v in out.items() if v}


def expected_totals(day: Day, roster: Roster) -> Totals:
    """Per unit, for a closed day: planned WFO, present, late, absent, WFH, holiday."""
    came = {a.employee for a in day.attendees if a.comes}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for employee in roster.employees:
        scheduled = roster.scheduled(employee, day.window.date)
        figures = totals[employee.unit]
        figures[0] += scheduled == "wfo"
        figures[1] += employee.id in came
        figures[3] += scheduled == "wfo" and employee.id not in came
        figures[4] += scheduled == "wfh"
        figures[5] += scheduled == "holiday"
    return {unit: (f[0], f[1], f[2], f[3], f[4], f[5]) for unit, f in totals.items()}


def settings_of(pipeline: Pipeline) -> Settings:
    return Settings(kafka_bootstrap=pipeline.bootstrap, kafka_topic_prefix=pipeline.topics)


def records_of(pipeline: Pipeline, day: date) -> list[DailyRecord]:
    latest = asyncio.run(read_latest(settings_of(pipeline), "attendance", DailyRecord))
    return [r for r in latest.values() if r.date == day]


def totals_of(pipeline: Pipeline, roster: Roster, site: Site, day: date) -> Totals:
    rows = attendance_rows(roster, site, records_of(pipeline, day), day)
    return {t.unit: t.figures() for t in unit_totals(rows)}


def alerts_of(collector: Collector) -> Alerts:
    out: Alerts = defaultdict(list)
    for topic, payload, _ in collector.messages():
        if topic.endswith("/alerts"):
            alert = Alert.model_validate_json(payload)
            out[(alert.building, alert.room, alert.kind)].append((alert.severity, alert.state))
    return dict(out)


def wait_until(
    check: Callable[[], bool], what: str, timeout: float, running: list[Command]
) -> None:
    deadline = clock.monotonic() + timeout
    while not check():
        for command in running:
            assert command.process.poll() is None, f"exited:\n{command.output()[-3000:]}"
        if clock.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        clock.sleep(0.5)


def clear_of_daily_reset(site: Site, window_s: float) -> None:
    """Sleep past a building's daily reset due within `window_s`: a reset mid-run would
    rightly zero the counts the prediction expects."""
    for building in site.buildings:
        now = datetime.now(building.zone)
        boundary = datetime.combine(now.date(), building.reset_at, tzinfo=building.zone)
        if boundary <= now:
            boundary += timedelta(days=1)
        if (boundary - now).total_seconds() < window_s:
            clock.sleep((boundary - now).total_seconds() + 1)


def test_the_same_seed_replayed_gives_the_same_alerts_and_attendance(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    began = clock.monotonic()
    site = load_site(Path(stack_env["OCC_SITE_FILE"]))
    roster = load_roster(SAMPLE / "roster.yaml", site)
    day = a_past_office_day(site, roster)
    planned = plan_day(
        site,
        roster,
        Window(day, START, END),
        Options(seed=SEED, faults=Faults(enabled=frozenset(FAULTS))),
    )
    predicted = predicted_alerts(planned, site)
    assert {k for k, v in predicted.items() if ("critical", "active") in v}, "a day without alerts"
    assert {"capacity", "sequence_gap"} <= {kind for _, _, kind in predicted}
    totals = expected_totals(planned, roster)
    ends = {(o.building, o.room): o.final for o in room_outlook(planned, site, "occupancy")}

    clear_of_daily_reset(site, window_s=180)
    pipelines = [Pipeline(stack_env, tmp_path / name, **SETTINGS) for name in ("a", "b")]
    for pipeline in pipelines:
        pipeline.tmp_path.mkdir()
    collectors = [
        Collector(p.mqtt_url, [f"{p.prefix}/+/alerts"], f"watch-{p.tag}") for p in pipelines
    ]
    try:
        running = [p.bridge() for p in pipelines]
        with ThreadPoolExecutor(max_workers=2) as pool:
            running += list(pool.map(lambda p: p.worker(), pipelines))
        ready = clock.monotonic() - began

        # The worker closes the simulated (past) day first: everyone absent, or WFH. Taps
        # racing that close could be overwritten by it, so the day is sent only after.
        closing = sum(roster.scheduled(e, day) != "off" for e in roster.employees)

        def closed(p: Pipeline) -> bool:
            return sum(r.closed for r in records_of(p, day)) == closing

        for pipeline in pipelines:
            wait_until(partial(closed, pipeline), "closing the simulated day", 60, running)

        sent_at = clock.monotonic()
        args = ["simulate", "--date", day.isoformat(), "--start", f"{START:%H:%M}"]
        args += ["--end", f"{END:%H:%M}", "--speed", str(SPEED), "--seed", str(SEED)]
        for fault in FAULTS:
            args += ["--fault", fault]
        simulators = [Command(args, p.env, p.tmp_path / "simulate.log") for p in pipelines]
        for simulator in simulators:
            assert simulator.process.wait(120) == 0, simulator.output()[-3000:]
        published = clock.monotonic() - sent_at

        def counted_out(p: Pipeline) -> bool:
            return {(s.building, s.room): s.count for s in p.room_states().values()} == ends

        def attended(p: Pipeline) -> bool:
            return totals_of(p, roster, site, day) == totals

        for pipeline in pipelines:
            wait_until(partial(counted_out, pipeline), "the final counts", 60, running)
            wait_until(partial(attended, pipeline), "the attendance totals", 60, running)
        clock.sleep(2)  # an alert nobody predicted has time to show up
        seen = [alerts_of(c) for c in collectors]
        counted = [totals_of(p, roster, site, day) for p in pipelines]
    finally:
        for collector in collectors:
            collector.close()
        statuses = [p.stop_all() for p in pipelines]
    took = clock.monotonic() - began
    assert seen[0] == seen[1]
    assert seen[0] == predicted
    assert counted[0] == counted[1] == totals
    assert all(code == 0 for s in statuses for code in s.values()), statuses
    print(f"ready {ready:.0f} s, published {published:.0f} s, whole test {took:.0f} s")
