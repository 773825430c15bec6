"""Acks of attendance alerts: the screening or headcount machine holding the alert applies it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts.attendance import Screening, Screenings, acknowledge_screening
from alerts.machine import MachineState, acknowledge, event_alert_step
from ingest.models import AckInfo, AckRecord, Alert, AlertKind
from tests.support.samples import T0, sequential_ids

DAY_END = T0 + timedelta(hours=16)
HQ, RO = "hq-jakarta/2026-11-27", "ro-makassar/2026-11-27"


def opened(kind: AlertKind, alert_id: str, building: str = "hq-jakarta") -> MachineState:
    state, _ = event_alert_step(
        MachineState(),
        kind=kind,
        building=building,
        room=None,
        active=True,
        severity="warning",
        value=38.2,
        now=T0,
        message=f"{kind} opened",
        alert_id_factory=lambda: alert_id,
    )
    return state


def ack(
    alert_id: str,
    at: timedelta = timedelta(minutes=5),
    by: str = "guard-1",
    building: str = "hq-jakarta",
) -> AckRecord:
    return AckRecord(building=building, alert_id=alert_id, by=by, ts=T0 + at, received_at=T0 + at)


def screenings(machines: dict[str, MachineState]) -> Screenings:
    """An employee's screenings by `building/date`, as the worker keeps them."""
    return Screenings(
        slots={slot: Screening(machine=m, ends=DAY_END) for slot, m in machines.items()}
    )


def test_the_screening_holding_the_alert_is_acked_and_the_alert_sent_again() -> None:
    before = screenings(
        {
            HQ: opened("health_screening", "h-1"),
            RO: opened("health_screening", "h-2", building="ro-makassar"),
        }
    )
    # Sent on another building's topic, the ack of ro-makassar's alert changes nothing.
    assert acknowledge_screening(before, ack("h-2")) is None
    applied = acknowledge_screening(before, ack("h-2", building="ro-makassar"))
    assert applied is not None
    after, sent = applied
    [alert] = sent
    assert (alert.alert_id, alert.kind, alert.state, alert.building) == (
        "h-2",
        "health_screening",
        "active",
        "ro-makassar",
    )
    assert alert.ack == AckInfo(by="guard-1", ts=T0 + timedelta(minutes=5))
    assert alert.ts == T0 + timedelta(minutes=5)
    # The ack is kept in the slot that held it (what the table stores); the other is untouched.
    assert after.slots[RO].machine.alert == alert
    assert after.slots[HQ] == before.slots[HQ]
    assert after.slots[RO].ends == DAY_END


@pytest.mark.parametrize(
    ("machine", "alert_id"),
    [
        (opened("health_screening", "h-1"), "h-9"),  # another alert
        (MachineState(), "h-1"),  # resolved at the day end: nothing open
    ],
)
def test_an_ack_no_screening_holds_is_left_for_others(machine: MachineState, alert_id: str) -> None:
    assert acknowledge_screening(screenings({HQ: machine}), ack(alert_id)) is None
    assert acknowledge_screening(Screenings(), ack(alert_id)) is None


def test_a_second_ack_is_held_but_sends_nothing() -> None:
    first = acknowledge_screening(screenings({HQ: opened("health_screening", "h-1")}), ack("h-1"))
    assert first is not None
    again = acknowledge_screening(first[0], ack("h-1", at=timedelta(minutes=9), by="guard-2"))
    assert again == (first[0], [])
    alert = first[0].slots[HQ].machine.alert
    assert alert is not None and alert.ack is not None and alert.ack.by == "guard-1"


def test_a_console_clock_behind_does_not_move_the_alert_back() -> None:
    applied = acknowledge_screening(
        screenings({HQ: opened("health_screening", "h-1")}), ack("h-1", at=-timedelta(hours=1))
    )
    assert applied is not None
    [alert] = applied[1]
    assert alert.ts == T0
    assert alert.ack is not None and alert.ack.ts == T0 - timedelta(hours=1)


@pytest.mark.parametrize("kind", ["health_screening", "building_headcount"])
def test_the_ack_stays_on_the_alert_while_active_and_when_resolved(kind: AlertKind) -> None:
    """What the machines send after an ack still says who acknowledged it."""
    ids = sequential_ids(kind)
    state, _ = acknowledge(opened(kind, "a-1"), AckInfo(by="guard-1", ts=T0), "a-1")

    def step(active: bool, at: timedelta) -> tuple[MachineState, list[Alert]]:
        return event_alert_step(
            state,
            kind=kind,
            building="hq-jakarta",
            room=None,
            active=active,
            severity="warning",
            value=1.0,
            now=T0 + at,
            message="step",
            alert_id_factory=ids,
        )

    still, sent = step(True, timedelta(minutes=1))  # e.g. the headcount still over the plan
    assert (still, sent) == (state, [])
    closed, [resolved] = step(False, timedelta(hours=1))
    assert closed == MachineState()
    assert (resolved.alert_id, resolved.state) == ("a-1", "resolved")
    assert resolved.ack == AckInfo(by="guard-1", ts=T0)
