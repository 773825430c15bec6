"""The fault suite's own measures, without the stack: the recount rule, the drift between
two snapshots and the verdict, so that a row can only read 0 when nothing went wrong."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

import pytest

from tests.support.faults import FaultRow, drift, finish, recount_records, table, tally


@dataclass
class Record:
    partition: int
    offset: int
    value: bytes


def door(partition: int, offset: int, sensor: str, seq: int, entered: int, exited: int) -> Record:
    body = {"building": "b", "room": sensor[0], "sensor": sensor, "seq": seq}
    body |= {"entered": entered, "exited": exited}
    return Record(partition, offset, json.dumps(body).encode())


def test_each_event_counts_once_in_partition_order() -> None:
    records = [
        door(0, 1, "a1", 1, 0, 1),  # read out of offset order: sorted back
        door(0, 0, "a1", 0, 2, 0),
        door(0, 2, "a1", 0, 2, 0),  # the same event again (a redelivery)
        door(1, 0, "x1", 0, 1, 0),
        door(1, 1, "x2", 0, 0, 1),
    ]
    counted = recount_records(records)
    assert counted.counts == Counter({"b/a": 1, "b/x": 0})
    assert counted.repeats == 1
    assert counted.clamped == 0
    assert counted.late == 0
    assert len(counted.identities) == 4


def test_out_of_order_is_seen_and_clamped_as_the_rule_says() -> None:
    records = [door(0, 0, "a1", 1, 0, 2), door(0, 1, "a1", 0, 2, 0)]
    counted = recount_records(records)
    assert counted.late == 1
    assert counted.clamped == 1
    assert counted.counts["b/a"] == 2  # 0 (clamped), then +2: what the worker must show too


def test_drift_splits_counted_twice_from_lost() -> None:
    assert drift({"r1": 0, "r2": 1}, {"r1": 2, "r2": 0, "r3": -1}) == (2, 2)
    assert drift({"r1": 1}, {"r1": 1}) == (0, 0)


def test_tally_is_what_the_load_sent() -> None:
    sent = [
        ("p/b/r/door/s1", b'{"seq":0,"ts":"t","entered":2,"exited":0}'),
        ("p/b/r/door/s2", b'{"seq":0,"ts":"t","entered":0,"exited":1}'),
    ]
    assert tally(sent) == Counter({"b/r": 1})


@pytest.mark.parametrize(("lost", "twice", "out_of_order"), [(1, 0, 0), (0, 1, 0), (0, 0, 1)])
def test_any_loss_double_count_or_disorder_fails_the_row(
    lost: int, twice: int, out_of_order: int
) -> None:
    row = FaultRow("x", published=10, lost=lost, twice=twice, out_of_order=out_of_order)
    with pytest.raises(AssertionError):
        finish(row)
    assert not row.passed
    assert "(FAILED)" in table([row])


def test_a_clean_row_passes() -> None:
    row = FaultRow("x", published=10, recover_s=1.25)
    finish(row)
    assert row.passed
    assert "1.2" in table([row])
