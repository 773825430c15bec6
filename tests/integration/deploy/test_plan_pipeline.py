"""A planned day through the real pipeline (Mosquitto → bridge → Kafka → worker) on a replay
clock: people sit in the rooms the plan gave them, and no workroom raises a capacity alert."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date
from functools import partial
from pathlib import Path

import pytest

from deploy.plan import dump_roster, plan_roster, planned_roster, week_days
from deploy.plan_report import compare, read_all
from deploy.simulator import Options, Window, plan_day, room_outlook
from ingest.models import RoomState
from ingest.roster import load_roster
from ingest.site import load_site
from processors.attendance_rules import DailyRecord
from tests.integration.deploy.test_simulator_pipeline import (
    END,
    SETTINGS,
    SPEED,
    START,
    alerts_of,
    day_clock,
    predicted_alerts,
    settings_of,
    wait_until,
)
from tests.support.mqtt import Collector
from tests.support.pipeline import Pipeline
from tests.support.processes import Command

pytestmark = pytest.mark.integration

SAMPLE = Path(__file__).resolve().parents[3] / "deploy" / "sample"
SEED = 5
WEEK = week_days(date(2026, 11, 30), date(2026, 12, 6))


def test_the_busiest_planned_day_raises_no_capacity_alert_in_any_workroom(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    site = load_site(Path(stack_env["OCC_SITE_FILE"]))
    roster = load_roster(SAMPLE / "roster.yaml", site)
    made = plan_roster(
        site, roster, WEEK, site.policy.active, min_office_days=1, below_warning=True
    )
    assert made.feasible
    planned_file = tmp_path / "planned.yaml"
    planned_file.write_text(dump_roster(planned_roster(SAMPLE / "roster.yaml", roster, made)))
    planned = load_roster(planned_file, site)
    workrooms = {(b.id, r.id) for b in site.buildings for r in b.rooms if r.type == "workroom"}
    load: Counter[date] = Counter()
    for r in made.rooms:
        if (r.building, r.room) in workrooms:
            load[r.date] += r.planned
    day = max(load, key=lambda d: load[d])

    window = Window(day, START, END)
    simulated = plan_day(site, planned, window, Options(seed=SEED))
    predicted = predicted_alerts(simulated, site)
    assert not [k for k in predicted if (k[0], k[1]) in workrooms and k[2] == "capacity"]
    ends = {(o.building, o.room): o.final for o in room_outlook(simulated, site, "occupancy")}
    assert any(ends[room] for room in workrooms)  # people are at their desks at 11:30

    settings = {**SETTINGS, "OCC_ROSTER_FILE": str(planned_file), "OCC_ATTENDANCE_SINCE": str(day)}
    pipeline = Pipeline(stack_env, tmp_path / "p", day_clock(window, site, SPEED), **settings)
    pipeline.tmp_path.mkdir()
    collector = Collector(pipeline.mqtt_url, [f"{pipeline.prefix}/+/alerts"], f"w-{pipeline.tag}")
    try:
        running = [pipeline.bridge(), pipeline.worker()]
        args = ["simulate", "--date", day.isoformat(), "--start", f"{START:%H:%M}"]
        args += ["--end", f"{END:%H:%M}", "--seed", str(SEED)]
        simulator = Command(args, pipeline.env, pipeline.tmp_path / "simulate.log")
        assert simulator.process.wait(120) == 0, simulator.output()[-3000:]

        def counted_out() -> bool:
            states = pipeline.room_states().values()
            return {(s.building, s.room): s.count for s in states} == ends

        wait_until(partial(counted_out), "the final counts", 60, running)
        seen = alerts_of(collector)
        states = asyncio.run(read_all(settings_of(pipeline), "room-state", RoomState))
        records = asyncio.run(read_all(settings_of(pipeline), "attendance", DailyRecord))
    finally:
        collector.close()
        statuses = pipeline.stop_all()
    assert all(code == 0 for code in statuses.values()), statuses
    in_workrooms = {k: v for k, v in seen.items() if (k[0], k[1]) in workrooms}
    assert not [k for k in in_workrooms if k[2] == "capacity"], in_workrooms
    assert seen == predicted  # the rest of the day's alerts (meetings, service halls) as foreseen

    # Plan against actual (`occupancy report plan`): every workroom's measured peak is within
    # what was planned, and whoever came was planned in that day.
    rooms, employees = compare(
        site, planned, [day], site.policy.active, states=states, records=records
    )
    peaks = {(r.building, r.room): (r.peak, r.planned) for r in rooms if r.date == day}
    for room in workrooms:
        peak, planned_in = peaks.get(room, (None, 0))
        assert (peak or 0) <= planned_in, (room, peak, planned_in)
    came = {a.employee for a in simulated.attendees if a.comes}
    assert {e.employee for e in employees if e.attended} == came
    assert not [e for e in employees if e.unplanned]
