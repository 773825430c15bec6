"""The InfluxDB line protocol and counter deltas of the metrics writer, without a server."""

from __future__ import annotations

from ingest.metrics import Deltas, line
from tests.integration.ingest.test_metrics import T0


def test_line_leaves_out_missing_tags_and_fields_and_escapes_the_rest() -> None:
    text = line(
        "alerts",
        {"building": "hq one", "room": None, "kind": "capacity"},
        {"value": 3.5, "alert_id": 'a "1"', "active": 1, "ack_s": None},
        T0,
    )
    assert text == (
        'alerts,building=hq\\ one,kind=capacity active=1i,alert_id="a \\"1\\"",value=3.5 '
        f"{int(T0.timestamp()) * 10**9}"
    )


def test_deltas_are_what_each_counter_grew_by() -> None:
    deltas = Deltas()
    assert deltas.take({"a": 3, "b": 1}) == {"a": 3, "b": 1}
    assert deltas.take({"a": 5, "b": 1}) == {"a": 2, "b": 0}
    assert deltas.take({"a": 5}, ["a", "c"]) == {"a": 0, "c": 0}
