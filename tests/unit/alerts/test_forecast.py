"""Capacity forecast: a least-squares trend extrapolated to limit + 1 within a horizon."""

from __future__ import annotations

import itertools
import math
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.forecast import capacity_forecast, forecast_active
from tests.support.samples import T0

Samples = list[tuple[datetime, int]]


def line(per_min: float, start: float, minutes: int = 10, every_s: int = 30) -> Samples:
    """Integer counts of a linear trend, sampled every `every_s` seconds."""
    return [
        (T0 + timedelta(seconds=s), max(0, math.floor(start + per_min * s / 60)))
        for s in range(0, minutes * 60 + 1, every_s)
    ]


def test_rising_trend_crosses_near_the_analytic_time() -> None:
    # 1 person/min from 0: 10 at minute 10, so limit 20 (21 people) is 11 minutes later.
    forecast = capacity_forecast(line(1.0, 0), limit=20, horizon=timedelta(minutes=15))
    assert forecast.slope_per_min == pytest.approx(1.0, abs=0.05)
    assert forecast.crossing_at is not None
    expected = T0 + timedelta(minutes=21)
    assert abs(forecast.crossing_at - expected) < timedelta(seconds=40)


def test_noisy_rise_still_forecasts() -> None:
    # 24 at minute 10, 2 people/min: 31 people 3.5 minutes later (±½ minute of noise).
    rng = random.Random(7)
    noisy = [(t, max(0, c + rng.choice([-1, 0, 1]))) for t, c in line(2.0, 4)]
    forecast = capacity_forecast(noisy, limit=30, horizon=timedelta(minutes=10))
    assert forecast.slope_per_min == pytest.approx(2.0, abs=0.2)
    assert forecast.crossing_at is not None
    assert abs(forecast.crossing_at - (T0 + timedelta(minutes=13.5))) < timedelta(minutes=1)


def test_crossing_beyond_the_horizon_is_none() -> None:
    forecast = capacity_forecast(line(1.0, 0), limit=20, horizon=timedelta(minutes=5))
    assert forecast.crossing_at is None
    assert forecast.slope_per_min > 0


@pytest.mark.parametrize(("per_min", "start"), [(0.0, 15), (-1.0, 19)], ids=["flat", "falling"])
def test_flat_or_falling_is_none(per_min: float, start: float) -> None:
    forecast = capacity_forecast(line(per_min, start), limit=20, horizon=timedelta(hours=1))
    assert forecast.crossing_at is None
    assert forecast.slope_per_min == pytest.approx(per_min, abs=0.05)


def test_already_over_is_none() -> None:
    forecast = capacity_forecast(line(1.0, 15), limit=20, horizon=timedelta(hours=1))
    assert forecast.crossing_at is None
    assert forecast.slope_per_min > 0


def test_at_the_limit_and_rising_crosses_soon() -> None:
    forecast = capacity_forecast(line(1.0, 10), limit=20, horizon=timedelta(minutes=5))
    assert forecast.crossing_at is not None
    assert forecast.crossing_at - (T0 + timedelta(minutes=10)) <= timedelta(minutes=1)


def test_only_the_window_counts() -> None:
    # A morning rush an hour ago says nothing about a room that is emptying now.
    old = [(t - timedelta(hours=1), c) for t, c in line(3.0, 0)]
    recent = line(-0.5, 15)
    forecast = capacity_forecast(old + recent, limit=20, horizon=timedelta(hours=1))
    assert forecast.slope_per_min == pytest.approx(-0.5, abs=0.05)
    assert forecast.crossing_at is None


def test_order_of_samples_does_not_matter() -> None:
    samples = line(1.0, 0)
    shuffled = samples[:]
    random.Random(1).shuffle(shuffled)
    horizon = timedelta(minutes=15)
    assert capacity_forecast(shuffled, limit=20, horizon=horizon) == capacity_forecast(
        samples, limit=20, horizon=horizon
    )


@pytest.mark.parametrize(
    "samples", [[], [(T0, 5)], [(T0, 5), (T0, 9)]], ids=["empty", "one", "same time"]
)
def test_too_few_samples_give_no_trend(samples: Samples) -> None:
    forecast = capacity_forecast(samples, limit=10, horizon=timedelta(minutes=10))
    assert (forecast.crossing_at, forecast.slope_per_min) == (None, 0.0)


HORIZON = timedelta(minutes=15)
SPAN = timedelta(minutes=2)


@pytest.mark.parametrize(
    ("samples", "was_active", "expected"),
    [
        # 1 person/min from 5 towards a limit of 12: crosses in 8 min, within the horizon.
        (line(1, 5, minutes=2), False, True),
        # The same slope seen over 30 s only: a burst, not a trend yet.
        (line(1, 5, minutes=2)[:2], False, False),
        # Too slow to cross within 15 min.
        (line(0.2, 0, minutes=5), False, False),
        # Already open: held while the room still fills, even when the crossing moves out.
        (line(0.2, 0, minutes=5), True, True),
        # Already open and the room stopped filling: resolved.
        (line(0, 5, minutes=5), True, False),
        # Over the limit: the capacity alert speaks, the forecast does not.
        ([*line(1, 5, minutes=2), (T0 + timedelta(minutes=3), 13)], True, False),
        ([], False, False),
    ],
)
def test_forecast_opens_on_a_trend_and_holds_while_filling(
    samples: Samples, was_active: bool, expected: bool
) -> None:
    active, _ = forecast_active(
        samples, limit=12, horizon=HORIZON, min_span=SPAN, was_active=was_active
    )
    assert active is expected


def test_a_zero_horizon_turns_forecasts_off() -> None:
    active, _ = forecast_active(
        line(5, 0, minutes=5), limit=12, horizon=timedelta(0), min_span=SPAN, was_active=True
    )
    assert active is False


def test_an_oscillating_count_below_the_limit_never_opens() -> None:
    samples = [(T0 + timedelta(seconds=30 * i), 8 + (i % 2)) for i in range(40)]
    active, forecast = forecast_active(
        samples, limit=10, horizon=HORIZON, min_span=SPAN, was_active=False
    )
    assert (active, forecast.crossing_at) == (False, None)


@given(
    counts=st.lists(st.integers(0, 40), min_size=2, max_size=30),
    gaps=st.lists(st.integers(1, 120), min_size=30, max_size=30),
    order=st.randoms(use_true_random=False),
    limit=st.integers(1, 50),
)
def test_the_minutes_run_from_the_newest_sample_and_stay_within_the_horizon(
    counts: list[int], gaps: list[int], order: random.Random, limit: int
) -> None:
    """Samples arrive in any order (sensors' clocks differ, events come late): the minutes
    are counted from the newest sample's time, never from the last to arrive."""
    times = list(itertools.accumulate(timedelta(seconds=g) for g in gaps[: len(counts)]))
    samples = [(T0 + t, c) for t, c in zip(times, counts, strict=True)]
    order.shuffle(samples)
    horizon = timedelta(minutes=15)
    forecast = capacity_forecast(samples, limit=limit, horizon=horizon)
    if forecast.crossing_at is None:
        assert forecast.minutes is None
        return
    newest = max(t for t, _ in samples)
    assert forecast.minutes is not None
    assert 0 <= forecast.minutes <= horizon / timedelta(minutes=1)
    assert abs(forecast.crossing_at - (newest + timedelta(minutes=forecast.minutes))) < timedelta(
        milliseconds=1
    )
