"""The InfluxDB alert channel: one point per alert sent, its time to acknowledge, no message."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from alerts.notifiers import InfluxNotifier
from ingest.metrics import Fields, Tags
from ingest.models import AckInfo, Alert
from tests.support.samples import T0, sample_alert


class Points:
    """A sink that keeps what it is given (the writer's own tests cover InfluxDB)."""

    def __init__(self) -> None:
        self.points: list[tuple[str, dict[str, str], dict[str, object], datetime]] = []

    def write(self, measurement: str, tags: Tags, fields: Fields, at: datetime) -> None:
        kept_tags = {k: v for k, v in tags.items() if v is not None}
        kept_fields: dict[str, object] = {k: v for k, v in fields.items() if v is not None}
        self.points.append((measurement, kept_tags, kept_fields, at))


def _send(notifier: InfluxNotifier, *alerts: Alert) -> None:
    async def run() -> None:
        for alert in alerts:
            await notifier.send(alert)

    asyncio.run(run())


def test_a_lifecycle_gives_one_point_per_transition_and_the_time_to_ack() -> None:
    sink = Points()
    raised = sample_alert()
    acked = raised.model_copy(
        update={
            "ack": AckInfo(by="guard-7", ts=T0 + timedelta(seconds=95)),
            "ts": T0 + timedelta(seconds=95),
        }
    )
    reminded = acked.model_copy(update={"ts": T0 + timedelta(minutes=10)})
    resolved = acked.model_copy(update={"state": "resolved", "ts": T0 + timedelta(minutes=12)})
    _send(InfluxNotifier(sink), raised, acked, reminded, resolved)
    assert [p[0] for p in sink.points] == ["alerts"] * 4
    assert sink.points[0][1] == {
        "building": "B1",
        "room": "R1",
        "kind": "capacity",
        "severity": "critical",
        "state": "active",
    }
    fields = [p[2] for p in sink.points]
    assert [f["active"] for f in fields] == [1, 1, 1, 0]
    assert [f["acked"] for f in fields] == [0, 1, 1, 1]
    assert [f.get("ack_s") for f in fields] == [None, 95.0, None, None]  # only where it came
    assert {f["alert_id"] for f in fields} == {"alert-1"}
    assert [p[3] for p in sink.points] == [a.ts for a in (raised, acked, reminded, resolved)]


def test_no_message_and_no_room_tag_for_a_building_wide_alert() -> None:
    sink = Points()
    alert = sample_alert().model_copy(
        update={"kind": "health_screening", "room": None, "message": "employee E-0042: 38.2 °C"}
    )
    _send(InfluxNotifier(sink), alert)
    ((_, tags, fields, _),) = sink.points
    assert "room" not in tags
    assert all("E-0042" not in str(v) for v in [*tags.values(), *fields.values()])


def test_an_ack_before_the_first_point_seen_gives_no_time_to_ack() -> None:
    # A worker restarted between the raise and the ack saw no start: it does not invent one.
    sink = Points()
    late = sample_alert().model_copy(
        update={"ack": AckInfo(by="guard-7", ts=T0 - timedelta(seconds=5))}
    )
    _send(InfluxNotifier(sink), late)
    assert "ack_s" not in sink.points[0][2]
    assert sink.points[0][2]["acked"] == 1
