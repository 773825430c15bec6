"""The occupancy rules: how door records and the passing of time change one room's count.

Pure functions over frozen models, with no I/O and no wall clock: the time is always a
record's `received_at` or an explicit `now`, so replaying `occupancy.door` rebuilds the
same `RoomCount`s and the same findings.

Rules, in the order `apply_door` applies them to a record arriving at t = `received_at`:

1. Resets first (`tick` applies the same two at `now`, so a stale room clears without
   waiting for a door event):
   - daily: if the room has had traffic since its last reset (`entered + exited > 0`) and
     `last_reset_boundary(t)` is later than both `last_activity` and `last_reset`,
     `count`, `raw_balance`, `entered` and `exited` go to 0, `last_reset` becomes the
     boundary, and a `daily_reset` finding carries the count before;
   - else max dwell: if `count > 0` and `t - last_activity > max_dwell` (people left
     without being counted out), the same reset with `last_reset = t`, finding
     `dwell_reset`.
   Resets never touch the sensors' sequence state.
2. Dedup by `seq`, per sensor:
   - a sensor's first message, `seq == last_seq + 1`: applied;
   - `seq > last_seq + 1`: applied, `sequence_gap` (value: how many are missing), the
     skipped seqs remembered in `missing` (the newest `MAX_MISSING`);
   - `0 < seq <= last_seq`: if in `missing`, applied and removed from it (`late_fill`),
     else `duplicate`;
   - `seq == 0` (the sensor restarted): a `duplicate` if `last_seq == 0` and `ts == last_ts`
     (the restart message redelivered), else applied, `missing` cleared,
     `sensor_restart` and no gap.
   Every message, duplicates included, moves the sensor's `last_seen` (never backwards).
3. Apply: `count = max(0, count + entered - exited)`; `raw_balance`, `entered`, `exited`
   accumulate unclamped; a count that would go below zero raises `count_underflow` (value:
   how far below). Messages with traffic move `last_activity` (never backwards); heartbeats
   (0/0) move only `last_seen` and the sequence.
4. Offline: the caller keeps the set of sensors it has reported offline and passes it to
   `tick`, which reports `sensor_offline` for a sensor silent longer than `offline_after`
   and not in the set, and `sensor_online` for one in the set that has been heard from
   since. `apply_door` does not know the set; `sensor_silence` says how long each sensor
   has been quiet. A sensor that never sent anything is unknown here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ingest.models import DoorRecord
from ingest.site import Building

__all__ = [
    "MAX_MISSING",
    "Finding",
    "FindingKind",
    "RoomCount",
    "SensorState",
    "apply_door",
    "last_reset_boundary",
    "sensor_silence",
    "tick",
]

# Enough to fill in any realistic burst of reordering; bounded because the state lives in a
# Faust table and a sensor jumping from seq 5 to 10**12 must not make it huge.
MAX_MISSING = 256

FindingKind = Literal[
    "duplicate",
    "sequence_gap",
    "late_fill",
    "sensor_restart",
    "count_underflow",
    "daily_reset",
    "dwell_reset",
    "sensor_offline",
    "sensor_online",
]


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SensorState(_State):
    """Where one door sensor's numbering stands.

    `last_ts` is the sensor's own `ts` of the message numbered `last_seq` (a late fill does
    not move it); `last_seen` is the latest `received_at` of any of its messages;
    `restarted_at` is the `ts` of the seq-0 message that began the current numbering, so that
    message redelivered after later ones (a bridge crash redelivers a whole window) is
    recognised instead of counted as a second restart.
    """

    last_seq: int
    last_ts: AwareDatetime
    last_seen: AwareDatetime
    missing: list[int] = []
    restarted_at: AwareDatetime | None = None


class RoomCount(_State):
    """One room's count, kept per "building/room" in a Faust table."""

    building: str
    room: str
    count: int = 0
    raw_balance: int = 0
    entered: int = 0
    exited: int = 0
    sensors: dict[str, SensorState] = {}
    last_activity: AwareDatetime | None = None
    last_reset: AwareDatetime | None = None


class Finding(_State):
    """Something a rule noticed or corrected; every correction is an event.

    `value` by kind: `sequence_gap` seqs missing; `late_fill` seqs still missing;
    `duplicate` the seq; `sensor_restart` the last seq before it; `count_underflow` how far
    below zero; `daily_reset`/`dwell_reset` the count before; `sensor_offline`/
    `sensor_online` whole seconds of silence. `at` is the record's `received_at` or
    `now`, except for resets, where it is the new `last_reset`.
    """

    kind: FindingKind
    building: str
    room: str
    sensor: str | None
    at: AwareDatetime
    value: int | None
    detail: str


class _Verdict(NamedTuple):
    sensor: SensorState
    apply: bool
    kind: FindingKind | None = None
    value: int | None = None
    detail: str = ""


def apply_door(
    state: RoomCount, record: DoorRecord, building: Building, max_dwell: timedelta
) -> tuple[RoomCount, list[Finding]]:
    """The room after one door record: resets due at `received_at`, then dedup, then counts.

    Applying the same record twice in a row leaves the state as applying it once.
    """
    if (record.building, record.room) != (state.building, state.room):
        raise ValueError(f"record for {record.key} applied to {state.building}/{state.room}")
    if building.id != state.building:
        raise ValueError(f"building {building.id} given for a room of {state.building}")
    t = record.received_at
    state, findings = _resets(state, t, building, max_dwell)
    verdict = _sequence(state.sensors.get(record.sensor), record)
    if verdict.kind is not None:
        findings.append(
            _finding(
                state,
                verdict.kind,
                t,
                value=verdict.value,
                detail=verdict.detail,
                sensor=record.sensor,
            )
        )
    sensors = {**state.sensors, record.sensor: verdict.sensor}
    if not verdict.apply:
        return state.model_copy(update={"sensors": sensors}), findings

    delta = record.entered - record.exited
    balance = state.count + delta
    if balance < 0:
        findings.append(
            _finding(
                state,
                "count_underflow",
                t,
                value=-balance,
                detail=f"{record.exited} out of {state.count + record.entered}; clamped at 0",
                sensor=record.sensor,
            )
        )
    update: dict[str, object] = {
        "count": max(0, balance),
        "raw_balance": state.raw_balance + delta,
        "entered": state.entered + record.entered,
        "exited": state.exited + record.exited,
        "sensors": sensors,
    }
    if record.entered or record.exited:
        update["last_activity"] = _latest(state.last_activity, t)
    return state.model_copy(update=update), findings


# Positional on purpose: it is the signature the occupancy agent's timer is written against.
def tick(  # noqa: PLR0917
    state: RoomCount,
    now: datetime,
    building: Building,
    max_dwell: timedelta,
    offline_after: timedelta,
    offline: frozenset[str],
) -> tuple[RoomCount, list[Finding]]:
    """The room at `now` without a door event: the resets due, and sensors gone or back.

    `offline` is the set of this room's sensors the caller has already reported offline;
    the caller adds a sensor on `sensor_offline` and removes it on `sensor_online`, and
    stores the returned state. Findings come in a stable order (resets, then by sensor).
    """
    state, findings = _resets(state, now, building, max_dwell)
    for sensor, silence in sorted(sensor_silence(state, now).items()):
        seconds = int(silence.total_seconds())
        if silence > offline_after and sensor not in offline:
            detail = f"silent for {silence} (offline after {offline_after})"
            findings.append(
                _finding(state, "sensor_offline", now, value=seconds, detail=detail, sensor=sensor)
            )
        elif silence <= offline_after and sensor in offline:
            detail = f"heard from {silence} ago"
            findings.append(
                _finding(state, "sensor_online", now, value=seconds, detail=detail, sensor=sensor)
            )
    return state, findings


def next_due(
    state: RoomCount, building: Building, max_dwell: timedelta, offline_after: timedelta
) -> datetime | None:
    """The earliest instant at which `tick` could find something in this room without a
    door event coming first (None: never): its daily reset, its dwell reset, a sensor
    going silent. A sensor already reported offline counts as going silent (its due time
    is past: the caller looks at it each tick until it is heard from); one heard from
    again is found at the tick after its event."""
    due: list[datetime] = []
    if state.last_activity is not None and (state.entered or state.exited):
        since = max(state.last_activity, state.last_reset or state.last_activity)
        due.append(next_reset_boundary(since, building))
    if state.last_activity is not None and state.count > 0:
        due.append(state.last_activity + max_dwell + _EPSILON)
    due.extend(known.last_seen + offline_after + _EPSILON for known in state.sensors.values())
    return min(due, default=None)


_EPSILON = timedelta(microseconds=1)  # the rules compare strictly: due just after


def next_reset_boundary(after: datetime, building: Building) -> datetime:
    """The first daily reset later than `after` (the boundaries of `last_reset_boundary`)."""
    zone = building.zone
    day = after.astimezone(zone).date()
    for offset in range(3):
        boundary = datetime.combine(
            day + timedelta(days=offset), building.reset_at, tzinfo=zone
        ).astimezone(UTC)
        if boundary > after:
            return boundary
    raise AssertionError("a daily reset within two days")  # pragma: no cover


def sensor_silence(state: RoomCount, now: datetime) -> dict[str, timedelta]:
    """How long each known sensor of the room has been quiet at `now` (never negative)."""
    return {
        sensor: max(timedelta(0), now - known.last_seen) for sensor, known in state.sensors.items()
    }


def last_reset_boundary(now: datetime, building: Building) -> datetime:
    """The latest daily reset at or before `now` (in UTC), in the building's local time.

    Local time comes from the building's IANA zone, so it holds across DST changes and in
    all three Indonesian zones: with a 03:00 reset, a record at 07:30 WIT (22:30 UTC the
    day before) is after that morning's 03:00 WIT (18:00 UTC). A reset time that a DST
    change skips is taken with the offset before the change (02:30 becomes 03:30); one that
    occurs twice is the first occurrence.
    """
    if now.utcoffset() is None:
        # A naive time would be read in the machine's zone: not deterministic.
        raise ValueError(f"{now.isoformat()} has no UTC offset")
    zone = building.zone
    day = now.astimezone(zone).date()
    boundary = datetime.combine(day, building.reset_at, tzinfo=zone).astimezone(UTC)
    if boundary > now:
        earlier = day - timedelta(days=1)
        boundary = datetime.combine(earlier, building.reset_at, tzinfo=zone).astimezone(UTC)
    return boundary


def _resets(
    state: RoomCount, at: datetime, building: Building, max_dwell: timedelta
) -> tuple[RoomCount, list[Finding]]:
    if state.last_activity is None:
        return state, []
    boundary = last_reset_boundary(at, building)
    if (
        (state.entered or state.exited)
        and boundary > state.last_activity
        and (state.last_reset is None or boundary > state.last_reset)
    ):
        detail = f"daily reset at {boundary.astimezone(building.zone).isoformat()}; {_tally(state)}"
        return _reset(state, boundary), [
            _finding(state, "daily_reset", boundary, value=state.count, detail=detail)
        ]
    idle = at - state.last_activity
    if state.count > 0 and idle > max_dwell:
        detail = f"no door activity for {idle} (max dwell {max_dwell}); {_tally(state)}"
        return _reset(state, at), [
            _finding(state, "dwell_reset", at, value=state.count, detail=detail)
        ]
    return state, []


def _reset(state: RoomCount, at: datetime) -> RoomCount:
    return state.model_copy(
        update={"count": 0, "raw_balance": 0, "entered": 0, "exited": 0, "last_reset": at}
    )


def _tally(state: RoomCount) -> str:
    return (
        f"count {state.count}, raw balance {state.raw_balance}, "
        f"entered {state.entered}, exited {state.exited}"
    )


def _sequence(previous: SensorState | None, record: DoorRecord) -> _Verdict:
    seq, ts, t = record.seq, record.ts, record.received_at
    if previous is None:
        first = SensorState(
            last_seq=seq, last_ts=ts, last_seen=t, restarted_at=ts if seq == 0 else None
        )
        return _Verdict(first, apply=True)
    seen = _latest(previous.last_seen, t)
    last = previous.last_seq
    if seq == 0:
        return _restart(previous, ts, seen)
    if seq == last + 1:
        return _Verdict(
            previous.model_copy(update={"last_seq": seq, "last_ts": ts, "last_seen": seen}),
            apply=True,
        )
    if seq > last + 1:
        # Only the newest MAX_MISSING can be kept, so never build the whole range of a jump.
        skipped = range(max(last + 1, seq - MAX_MISSING), seq)
        missing = [*previous.missing, *skipped][-MAX_MISSING:]
        advanced = previous.model_copy(
            update={"last_seq": seq, "last_ts": ts, "last_seen": seen, "missing": missing}
        )
        count = seq - last - 1
        return _Verdict(advanced, True, "sequence_gap", count, f"seq {seq} after {last}")
    if seq in previous.missing:
        missing = [s for s in previous.missing if s != seq]
        filled = previous.model_copy(update={"last_seen": seen, "missing": missing})
        return _Verdict(filled, True, "late_fill", len(missing), f"seq {seq} arrived late")
    again = previous.model_copy(update={"last_seen": seen})
    return _Verdict(again, False, "duplicate", seq, f"seq {seq} already applied (last {last})")


def _restart(previous: SensorState, ts: datetime, seen: datetime) -> _Verdict:
    last = previous.last_seq
    if ts == previous.restarted_at or (last == 0 and ts == previous.last_ts):
        redelivered = previous.model_copy(update={"last_seen": seen})
        return _Verdict(redelivered, False, "duplicate", 0, "restart message redelivered")
    restarted = SensorState(last_seq=0, last_ts=ts, last_seen=seen, restarted_at=ts)
    return _Verdict(restarted, True, "sensor_restart", last, f"seq 0 after {last}")


def _latest(current: datetime | None, t: datetime) -> datetime:
    # Bridges stamp received_at on several machines; keep the times monotonic anyway.
    return t if current is None or t > current else current


def _finding(
    state: RoomCount,
    kind: FindingKind,
    at: datetime,
    *,
    value: int | None,
    detail: str,
    sensor: str | None = None,
) -> Finding:
    return Finding(
        kind=kind,
        building=state.building,
        room=state.room,
        sensor=sensor,
        at=at,
        value=value,
        detail=detail,
    )
