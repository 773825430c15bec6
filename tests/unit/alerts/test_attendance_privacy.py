"""`health_screening` and privacy: the alert names a pseudonym, the screening values stay in
the alert only, and an employee's entry of `health-alerts` goes a day after the day ends.

The machine runs on plain stand-ins for its table, ownership and notifiers (the real ones
need a running Faust app; test_attendance_privacy_worker.py runs them on the real stack).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.attendance import HealthScreening, Screenings
from ingest.models import Alert, CheckinRecord
from ingest.pseudonym import Pseudonyms
from ingest.roster import Roster
from ingest.site import Site
from processors.attendance_rules import TapRules, apply_tap
from tests.support.clock import ManualClock

SERVICE_DESK, NAME = "197202042002021242", "Dian Setiawan"
KEY = b"alerts-privacy-test-key-00000001"
AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 08:00 WIB, Monday


class Holder:
    """Every key is on partition 0, which this worker holds; stores into the table."""

    def owned(self) -> set[int]:
        return {0}

    def partition_of(self, key: bytes) -> int:
        return 0

    def store(
        self, table: dict[bytes, Any], key: bytes, value: Any, partition: int | None = None
    ) -> None:
        table[key] = value

    def delete(self, table: dict[bytes, Any], key: bytes, partition: int) -> None:
        del table[key]


class Sent:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    async def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


def machine(
    site: Site, clock: ManualClock
) -> tuple[HealthScreening, dict[bytes, Screenings], Sent]:
    screening = HealthScreening.__new__(HealthScreening)
    table: dict[bytes, Screenings] = {}
    sent = Sent()
    screening.__dict__.update(
        _site=site,
        _clock=clock,
        _threshold=37.5,
        _notifiers=sent,
        _ownership=Holder(),
        _pseudonyms=Pseudonyms(KEY),
        employees=table,
    )
    return screening, table, sent


def test_the_alert_names_the_pseudonym_and_the_entry_goes_a_day_after(
    sample_roster: Roster, sample_site: Site
) -> None:
    employee = sample_roster.employee(SERVICE_DESK)
    assert employee is not None and employee.name == NAME
    clock = ManualClock(AT)
    screening, table, sent = machine(sample_site, clock)
    record = CheckinRecord(
        building="hq-jakarta",
        kiosk="kiosk-main",
        event_id="e1",
        ts=AT,
        employee_id=SERVICE_DESK,
        action="check_in",
        temperature_c=38.4,
        mask=False,
        received_at=AT,
    )
    day, _ = apply_tap(
        None, record, employee=employee, roster=sample_roster, site=sample_site, rules=TapRules()
    )
    asyncio.run(screening._on_tap(record, employee, day))

    [alert] = sent.alerts
    pseudonym = Pseudonyms(KEY)(SERVICE_DESK)
    assert alert.message == (
        f"Kantor Pusat Badan Pelayanan Publik (Jakarta): employee {pseudonym} failed the "
        "health screening at kiosk kiosk-main (temperature 38.4 °C ≥ 37.5 °C, no mask)"
    )
    assert SERVICE_DESK not in alert.model_dump_json() and NAME not in alert.model_dump_json()
    assert alert.value == 38.4  # the screening value, in the alert and nowhere else
    assert "38.4" not in day.model_dump_json()

    # The day ends (midnight WIB): resolved, the message still by pseudonym.
    clock.current = datetime(2026, 11, 23, 17, 1, tzinfo=UTC)
    asyncio.run(screening._resolve_ended())
    resolved = sent.alerts[-1]
    assert (resolved.state, resolved.alert_id) == ("resolved", alert.alert_id)
    assert pseudonym in resolved.message and SERVICE_DESK not in resolved.message
    # Held a day, against a repeat of the same day: under the pseudonym, never the id.
    assert list(table) == [pseudonym.encode()]

    # A day later the employee's entry is gone, not left empty under their id.
    clock.advance(timedelta(days=1))
    asyncio.run(screening._resolve_ended())
    assert table == {} and len(sent.alerts) == 2
