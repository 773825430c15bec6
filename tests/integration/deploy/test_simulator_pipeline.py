"""The simulator's day through the real pipeline (Mosquitto → bridge → Kafka → worker), on a
replay clock of a fixed day, so nothing here depends on the real date, hour or weekday.

Twice with the same seed into two isolated pipelines: the same alerts and the same
attendance. Alerts follow the event order when nothing in them waits on time: no dwell
before a resolve (`OCC_ALERT_MIN_DWELL_S=0`), no reminders, no forecasts. Then each
pipeline's alerts are what the day's messages imply, worked out here from the messages with
the alert machines' own rules, and its attendance at the end of the morning is what the day
model planned: who came (the others get their record, absent or at home, when the day closes
at midnight, which the whole day below waits for).

Then a whole day at high speed with everything that waits on time switched on: the day
closes at midnight on the replay clock (absentees, auto-closed days), reminders come every
`OCC_ALERT_REMINDER_S` of simulated time, and forecasts speak simulated minutes.
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
from ingest.clock import ReplayClock, wall_now
from ingest.models import Alert
from ingest.roster import Roster, load_roster
from ingest.settings import Settings
from ingest.site import Site, load_site
from processors.attendance import read_latest
from processors.attendance_report import attendance_rows, unit_totals
from processors.attendance_rules import DailyRecord, day_end
from tests.support.mqtt import Collector
from tests.support.pipeline import Pipeline
from tests.support.processes import Command

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
SEED = 11
FAULTS: tuple[Fault, ...] = ("gaps", "underflow")
OFFICE_DAY = date(2026, 11, 23)  # a Monday: group A, the service desk and Makassar are in
# Arrivals, the morning's meetings and the public: 5.5 h from Makassar's 07:00 WITA to
# Jakarta's 11:30 WIB, in 25 s.
START, END, SPEED = time(7), time(11, 30), 800
LEAD_S = 30
"""The replay clock holds the day's start this long: the bridges and workers come up first."""
SETTINGS = {
    "OCC_ROSTER_FILE": str(SAMPLE / "roster.yaml"),
    "OCC_ATTENDANCE_SINCE": OFFICE_DAY.isoformat(),  # no absences on days never simulated
    "OCC_ALERT_MIN_DWELL_S": "0",
    "OCC_ALERT_REMINDER_S": str(24 * 3600),
    "OCC_ALERT_FORECAST_HORIZON_S": "0",
    # A worker a second behind hears a sensor 13 simulated minutes late at 800x: silence is
    # judged after six hours, which the compressed morning never reaches.
    "OCC_SENSOR_OFFLINE_AFTER_S": str(6 * 3600),
    "OCC_ALERT_TICK_S": "1",
    "OCC_BOARD_PORT": "0",
}

Alerts = dict[tuple[str, str | None, str], list[tuple[str, str]]]
Totals = dict[str, tuple[int, int, int, int, int, int]]


def day_clock(window: Window, site: Site, speed: float) -> ReplayClock:
    """Held a minute before the window's first start until LEAD_S from now, then at `speed`."""
    first, _ = window.span(site)
    start = first - timedelta(minutes=1)
    return ReplayClock(start=start, speed=speed, anchor=wall_now() + timedelta(seconds=LEAD_S))


def day_over(day: date, site: Site) -> datetime:
    """When the last building's local day has ended (its attendance closes then)."""
    return max(day_end(day, b.zone) for b in site.buildings)


def predicted_alerts(day: Day, site: Site) -> Alerts:
    """The alerts the day's door messages imply, by the machines' own rules."""
    policy = AlertPolicy(
        warn_ratio=site.policy.warn_ratio,
        min_dwell=timedelta(0),
        hysteresis=1,
        # OCC_ALERT_REMINDER_S is a day: none are due, however long a room stays over.
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


def morning_totals(day: Day, roster: Roster) -> Totals:
    """Per unit: planned WFO, present, late, absent, WFH, holiday, before the day closes: only
    those who came have a record, nobody is absent or at home yet."""
    came = {a.employee for a in day.attendees if a.comes}
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for employee in roster.employees:
        scheduled = roster.scheduled(employee, day.window.date)
        figures = totals[employee.unit]
        figures[0] += scheduled == "wfo"
        figures[1] += employee.id in came
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


def test_the_same_seed_replayed_gives_the_same_alerts_and_attendance(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    began = clock.monotonic()
    site = load_site(Path(stack_env["OCC_SITE_FILE"]))
    roster = load_roster(SAMPLE / "roster.yaml", site)
    day = OFFICE_DAY
    window = Window(day, START, END)
    planned = plan_day(
        site, roster, window, Options(seed=SEED, faults=Faults(enabled=frozenset(FAULTS)))
    )
    predicted = predicted_alerts(planned, site)
    assert {k for k, v in predicted.items() if ("critical", "active") in v}, "a day without alerts"
    assert {"capacity", "sequence_gap"} <= {kind for _, _, kind in predicted}
    totals = morning_totals(planned, roster)
    ends = {(o.building, o.room): o.final for o in room_outlook(planned, site, "occupancy")}

    replay = day_clock(window, site, SPEED)
    pipelines = [Pipeline(stack_env, tmp_path / name, replay, **SETTINGS) for name in ("a", "b")]
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

        sent_at = clock.monotonic()
        # On the replay clock: each message goes when the pipelines' clock reaches it.
        args = ["simulate", "--date", day.isoformat(), "--start", f"{START:%H:%M}"]
        args += ["--end", f"{END:%H:%M}", "--seed", str(SEED)]
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
        clock.sleep(2)  # an alert nobody predicted has time to show up
        seen = [alerts_of(c) for c in collectors]
        for pipeline in pipelines:
            wait_until(partial(attended, pipeline), "the attendance totals", 60, running)
        counted = [totals_of(p, roster, site, day) for p in pipelines]
        days = [
            {r.employee: (r.status, r.late_minutes, len(r.taps)) for r in records_of(p, day)}
            for p in pipelines
        ]
    finally:
        for collector in collectors:
            collector.close()
        statuses = [p.stop_all() for p in pipelines]
    took = clock.monotonic() - began
    assert seen[0] == seen[1]
    assert seen[0] == predicted
    assert counted[0] == counted[1] == totals
    assert days[0] == days[1]
    assert all(code == 0 for s in statuses for code in s.values()), statuses
    print(f"ready {ready:.0f} s, published {published:.0f} s, whole test {took:.0f} s")


WHOLE_DAY = date(2026, 11, 25)  # a Wednesday
WHOLE_SPEED = 720  # 06:00 WITA to midnight WIB, 19 simulated hours, in about 95 s
REMINDER_S, HORIZON_S = 600, 900


def test_a_whole_day_on_the_replay_clock_closes_reminds_and_forecasts_in_simulated_time(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    site = load_site(Path(stack_env["OCC_SITE_FILE"]))
    roster = load_roster(SAMPLE / "roster.yaml", site)
    window = Window(WHOLE_DAY, time(6), time(19))
    # Check-outs an offline kiosk sends hours late, saying when it sent them (`sent_at`).
    faults = Faults(enabled=frozenset({"late-checkouts"}))
    planned = plan_day(site, roster, window, Options(seed=SEED, faults=faults))
    replay = day_clock(window, site, WHOLE_SPEED)
    pipeline = Pipeline(
        stack_env,
        tmp_path,
        replay,
        OCC_ROSTER_FILE=str(SAMPLE / "roster.yaml"),
        OCC_ATTENDANCE_SINCE=WHOLE_DAY.isoformat(),
        OCC_ALERT_TICK_S="1",
        OCC_ALERT_REMINDER_S=str(REMINDER_S),
        OCC_ALERT_FORECAST_HORIZON_S=str(HORIZON_S),
        OCC_SENSOR_OFFLINE_AFTER_S="3600",  # a second behind is twelve simulated minutes
        OCC_BOARD_PORT="0",
    )
    collector = Collector(pipeline.mqtt_url, [f"{pipeline.prefix}/+/alerts"], f"w-{pipeline.tag}")
    try:
        running = [pipeline.bridge(), pipeline.worker()]
        args = ["simulate", "--date", WHOLE_DAY.isoformat(), "--seed", str(SEED)]
        simulator = Command(
            [*args, "--fault", "late-checkouts"], pipeline.env, tmp_path / "simulate.log"
        )
        assert simulator.process.wait(300) == 0, simulator.output()[-3000:]
        clock.sleep(max(0.0, replay.seconds_until(day_over(WHOLE_DAY, site))))

        expected = expected_statuses(planned, roster)

        def closed() -> bool:
            records = records_of(pipeline, WHOLE_DAY)
            return {r.employee: r.status for r in records if r.closed} == expected

        wait_until(closed, "the day closed as planned", 90, running)
        records = records_of(pipeline, WHOLE_DAY)
        alerts = [
            Alert.model_validate_json(p)
            for t, p, _ in collector.messages()
            if t.endswith("/alerts")
        ]
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses

    # The day closed at midnight: absentees and forgotten check-outs are there, and the
    # check-outs that came hours late counted at their own time.
    counted = Counter(expected.values())
    assert counted["absent"] > 0 and counted["auto_closed"] > 0 and counted["on_time"] > 100
    assert not any("clock_skew" in r.flags for r in records)
    assert "late-checkouts" in " ".join(planned.notes)

    # Reminders: a room critical for long is reminded of every REMINDER_S of simulated time
    # (the real day took seconds), never sooner. A reminder is a critical message that
    # follows a critical one of the same alert with nothing changed between; one after a
    # warning is the alert escalating again, which may come at any time.
    previous: dict[str, Alert] = {}
    gaps = []
    for alert in alerts:
        if alert.kind != "capacity":
            continue
        before, previous[alert.alert_id] = previous.get(alert.alert_id), alert
        if (
            before is not None
            and before.severity == alert.severity == "critical"
            and before.state == alert.state == "active"
            and before.ack == alert.ack
            and alert.ts > before.ts
        ):
            gaps.append((alert.ts - before.ts).total_seconds())
    assert gaps, "no room stayed critical long enough for a reminder"
    assert min(gaps) >= REMINDER_S

    # Forecasts: in simulated minutes, within the horizon, and a room forecast to fill did,
    # within those simulated minutes.
    forecasts = [a for a in alerts if a.kind == "capacity_forecast" and a.state == "active"]
    assert forecasts, "no forecast all day"
    assert all(a.value is None or 0 <= a.value <= HORIZON_S / 60 for a in forecasts)
    came_true = [
        f
        for f in forecasts
        if f.value is not None
        and any(
            a.kind == "capacity"
            and a.room == f.room
            and timedelta(0) <= a.ts - f.ts <= timedelta(seconds=HORIZON_S)
            for a in alerts
        )
    ]
    assert came_true, [(f.room, f.value, f.ts) for f in forecasts]


def expected_statuses(day: Day, roster: Roster) -> dict[str, str]:
    """Each employee's status when the day has closed: who was scheduled and did not come is
    absent, who left without tapping out is auto-closed, the rest (full days inside their
    window) on time; WFH days are `wfh`, days off have no record."""
    statuses = {}
    for employee in roster.employees:
        if roster.scheduled(employee, day.window.date) == "wfh":
            statuses[employee.id] = "wfh"
    for attendee in day.attendees:
        if not attendee.comes:
            statuses[attendee.employee] = "absent"
        elif not attendee.taps_out:
            statuses[attendee.employee] = "auto_closed"
        else:
            statuses[attendee.employee] = "on_time"
    return statuses
