"""Alert state machines: pure functions from (state, input, now) to (state, messages to send).

One `MachineState` per (building, room, kind) keeps at most one open alert for that pair.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ingest.limits import WarnRatio, is_over, warn_level
from ingest.models import AckInfo, Alert, AlertKind, Identifier, Severity

AlertIdFactory = Callable[[], str]


def new_alert_id() -> str:
    """A fresh alert id: 32 hex digits, which is a valid identifier."""
    return uuid.uuid4().hex


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertPolicy(_Frozen):
    """How eagerly capacity alerts open, escalate, remind and resolve."""

    warn_ratio: WarnRatio = 0.8
    # Over the limit must hold this long before it is critical (0: at once).
    debounce: Annotated[timedelta, Field(ge=timedelta(0))] = timedelta(0)
    # People under a level the count must fall before that level is released.
    hysteresis: Annotated[int, Field(ge=0)] = 1
    # How long the count must stay released before the alert de-escalates or resolves.
    min_dwell: Annotated[timedelta, Field(ge=timedelta(0))] = timedelta(seconds=60)
    reminder_every: Annotated[timedelta, Field(gt=timedelta(0))] = timedelta(minutes=10)


class MachineState(_Frozen):
    """What one machine remembers between steps; JSON round-trips for a Faust table.

    `alert` is the open alert (None when none is open), as last sent; `pending_since` is
    when the count went over the limit (waiting out the debounce); `clear_since` is when it
    fell below the release level (waiting out the dwell); `last_sent` paces reminders;
    `quiet_until` is when an alert resolved by hand may open again (the dwell after it).
    """

    alert: Alert | None = None
    pending_since: AwareDatetime | None = None
    clear_since: AwareDatetime | None = None
    last_sent: AwareDatetime | None = None
    quiet_until: AwareDatetime | None = None


Step = tuple[MachineState, list[Alert]]


def capacity_step(
    state: MachineState,
    *,
    building: str,
    room: str,
    count: int,
    limit: int,
    now: datetime,
    policy: AlertPolicy,
    alert_id_factory: AlertIdFactory,
    room_name: str | None = None,
) -> Step:
    """Advance a room's capacity alert with its current count (call it on ticks too).

    Warning at count ≥ `warn_level`, critical at count > limit once held for `debounce`.
    A critical is released when count ≤ limit − hysteresis, a warning when
    count < warn level − hysteresis (never below 1); a release that holds for `min_dwell`
    resolves the alert, or de-escalates a critical to warning when the count is not yet
    below the warning's release. While critical, the alert is re-sent every
    `reminder_every`. `room_name` (default: the id) is what the messages call the room.
    """
    warn = warn_level(limit, policy.warn_ratio)
    pending_since = (state.pending_since or now) if is_over(count, limit) else None
    held_over = pending_since is not None and now - pending_since >= policy.debounce
    reading = _Reading(count, limit, now, room_name or room, warn, pending_since, held_over)
    if state.alert is not None:
        return _advance(state, state.alert, reading, policy)
    if state.quiet_until is not None:
        if now < state.quiet_until:
            return state.model_copy(update={"pending_since": pending_since}), []
        state = state.model_copy(update={"quiet_until": None})
    severity: Severity | None = "critical" if held_over else "warning" if count >= warn else None
    if severity is None:
        return state.model_copy(update={"pending_since": pending_since}), []
    opened = Alert(
        alert_id=alert_id_factory(),
        kind="capacity",
        severity=severity,
        state="active",
        ack=None,
        building=building,
        room=room,
        value=float(count),
        limit=float(limit),
        message=reading.message(severity),
        ts=now,
    )
    return _sent(opened, now, pending_since=None if held_over else pending_since), [opened]


@dataclass(frozen=True, slots=True)
class _Reading:
    """One step's input and what follows from it before looking at the open alert."""

    count: int
    limit: int
    now: datetime
    name: str
    warn: int
    pending_since: datetime | None
    held_over: bool

    def message(self, severity: Severity, *, reminder: bool = False) -> str:
        if severity == "critical":
            still = "still " if reminder else ""
            return f"{self.name} is {still}over its limit: {self.count} of {self.limit}"
        return f"{self.name} is near its limit: {self.count} of {self.limit}"

    def changed(self, alert: Alert, **update: object) -> Alert:
        """The open alert again, as of this reading; ack and alert_id carry over."""
        values = {"value": float(self.count), "limit": float(self.limit), "ts": self.now}
        return alert.model_copy(update=values | update)


def _advance(
    state: MachineState,
    alert: Alert,
    reading: _Reading,
    policy: AlertPolicy,
) -> Step:
    now = reading.now
    if alert.severity == "warning" and reading.held_over:
        escalated = reading.changed(alert, severity="critical", message=reading.message("critical"))
        return _sent(escalated, now), [escalated]

    # max() keeps a release reachable for tiny limits: an empty room always releases.
    warn_release = max(1, reading.warn - policy.hysteresis)
    if alert.severity == "critical":
        released = reading.count <= max(0, reading.limit - policy.hysteresis)
    else:
        released = reading.count < warn_release
    clear_since = (state.clear_since or now) if released else None
    if clear_since is not None and now - clear_since >= policy.min_dwell:
        if reading.count < warn_release:
            message = f"{reading.name} is back to normal: {reading.count} of {reading.limit}"
            return MachineState(), [reading.changed(alert, state="resolved", message=message)]
        deescalated = reading.changed(alert, severity="warning", message=reading.message("warning"))
        return _sent(deescalated, now), [deescalated]

    quiet = state.model_copy(
        update={
            "pending_since": reading.pending_since if alert.severity == "warning" else None,
            "clear_since": clear_since,
        }
    )
    last_sent = state.last_sent or alert.ts
    if alert.severity == "critical" and now - last_sent >= policy.reminder_every:
        reminder = reading.changed(alert, message=reading.message("critical", reminder=True))
        return quiet.model_copy(update={"alert": reminder, "last_sent": now}), [reminder]
    return quiet, []


def acknowledge(state: MachineState, ack: AckInfo, alert_id: str) -> Step:
    """Acknowledge the open alert `alert_id`; an unknown, closed or already acked id is ignored."""
    alert = state.alert
    if alert is None or alert.alert_id != alert_id or alert.ack is not None:
        return state, []
    # A console clock behind ours must not make the alert's messages go back in time.
    ts = max(alert.ts, ack.ts)
    acked = alert.model_copy(update={"ack": ack, "ts": ts})
    return state.model_copy(update={"alert": acked, "last_sent": ts}), [acked]


def resolve(
    state: MachineState, alert_id: str, *, by: str, reason: str, now: datetime, dwell: timedelta
) -> Step:
    """Resolve the open alert `alert_id` by hand (security, with a reason); a condition that
    persists opens a new alert once `dwell` has passed. Another id is ignored."""
    alert = state.alert
    if alert is None or alert.alert_id != alert_id:
        return state, []
    ts = max(alert.ts, now)
    note = f" (resolved by {by}: {reason})"
    message = alert.message[: 1024 - len(note)] + note if len(note) < 1024 else note[:1024]
    resolved = alert.model_copy(update={"state": "resolved", "ts": ts, "message": message})
    return MachineState(quiet_until=ts + dwell), [resolved]


def event_alert_step(
    state: MachineState,
    *,
    kind: AlertKind,
    building: str,
    room: str | None,
    active: bool,
    severity: Severity,
    value: float | None,
    now: datetime,
    message: str,
    alert_id_factory: AlertIdFactory,
    limit: float | None = None,
) -> Step:
    """A condition alert (sensor offline, sequence gap, …): opens when it becomes active, resolves
    when it stops; while it stays active nothing more is sent."""
    alert = state.alert
    quiet = state.quiet_until is not None and now < state.quiet_until
    if active and alert is None and not quiet:
        opened = Alert(
            alert_id=alert_id_factory(),
            kind=kind,
            severity=severity,
            state="active",
            ack=None,
            building=building,
            room=room,
            value=value,
            limit=limit,
            message=message,
            ts=now,
        )
        return _sent(opened, now), [opened]
    if not active and alert is not None:
        resolved = alert.model_copy(
            update={"state": "resolved", "value": value, "message": message, "ts": now}
        )
        return MachineState(), [resolved]
    return state, []


def _sent(alert: Alert, now: datetime, *, pending_since: datetime | None = None) -> MachineState:
    return MachineState(alert=alert, pending_since=pending_since, last_sent=now)


class RoomSnapshot(_Frozen):
    """A room's current count against its limit, as the summary needs it."""

    building: Identifier
    room: Identifier
    count: Annotated[int, Field(ge=0)]
    limit: Annotated[int, Field(ge=0)]


class BuildingSummary(_Frozen):
    """A building at a glance: which rooms are over their limit, how many people are in."""

    building: Identifier
    rooms_over_limit: list[str]
    headcount: int


def building_summary(building: str, rooms: Iterable[RoomSnapshot]) -> BuildingSummary:
    """Roll up the rooms of `building` (rooms of other buildings are skipped)."""
    mine = [r for r in rooms if r.building == building]
    return BuildingSummary(
        building=building,
        rooms_over_limit=sorted(r.room for r in mine if is_over(r.count, r.limit)),
        headcount=sum(r.count for r in mine),
    )
