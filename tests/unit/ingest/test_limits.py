"""Room limits and status: one arithmetic for signage and alerts, as tables."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.limits import is_over, limit_of, status_of, warn_level


@pytest.mark.parametrize(
    ("count", "limit", "warn_ratio", "status"),
    [
        (0, 10, 0.8, "open"),
        (7, 10, 0.8, "open"),
        (8, 10, 0.8, "warning"),
        (9, 10, 0.8, "warning"),
        (10, 10, 0.8, "full"),
        (11, 10, 0.8, "over"),
        (7, 10, 0.7, "warning"),  # 0.7 × 10 is 7.000000000000001 in floats
        (2, 3, 0.5, "warning"),
        (1, 3, 0.5, "open"),
        (0, 1, 0.8, "open"),
        (1, 1, 0.8, "full"),
        (0, 0, 0.8, "full"),
        (1, 0, 0.8, "over"),
    ],
)
def test_status_of(count: int, limit: int, warn_ratio: float, status: str) -> None:
    assert status_of(count, limit, warn_ratio) == status


@pytest.mark.parametrize(
    ("limit", "ratio", "expected"),
    [(10, 0.8, 8), (10, 0.7, 7), (3, 0.8, 3), (1, 0.8, 1), (0, 0.8, 1), (20, 1.0, 20)],
)
def test_warn_level(limit: int, ratio: float, expected: int) -> None:
    assert warn_level(limit, ratio) == expected


@pytest.mark.parametrize(
    ("capacity", "ratio", "expected"),
    [(10, "0.5", 5), (9, "0.5", 4), (7, "0.25", 1), (3, "0.25", 0), (40, "1.0", 40), (3, "0.7", 2)],
)
def test_limit_of_rounds_down(capacity: int, ratio: str, expected: int) -> None:
    assert limit_of(capacity, Decimal(ratio)) == expected


@given(
    count=st.integers(0, 500),
    limit=st.integers(0, 400),
    ratio=st.sampled_from([0.5, 0.7, 0.75, 0.8, 0.9, 1.0]),
)
def test_status_and_alert_levels_agree(count: int, limit: int, ratio: float) -> None:
    """Signage and the alert machine read one arithmetic: a warning status is exactly a
    count from the warn level up to the limit, and "over" is exactly `is_over`."""
    status = status_of(count, limit, ratio)
    assert (status == "over") == is_over(count, limit)
    if status == "warning":
        assert warn_level(limit, ratio) <= count < limit
    if status == "open":
        assert count < warn_level(limit, ratio)
