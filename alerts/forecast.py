"""Capacity forecast: when will a room's recent inflow trend take it over its limit?"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from ingest.limits import is_over

DEFAULT_WINDOW = timedelta(minutes=10)


class Forecast(BaseModel):
    """The fitted trend in people per minute, and when it reaches limit + 1 (None: not soon)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    crossing_at: datetime | None
    slope_per_min: float
    minutes: float | None = None
    """Minutes from the newest sample (the forecast's "now") to `crossing_at`."""


def capacity_forecast(
    samples: Sequence[tuple[datetime, int]],
    *,
    limit: int,
    horizon: timedelta,
    window: timedelta = DEFAULT_WINDOW,
) -> Forecast:
    """Fit a least-squares line to the samples of the last `window` and extrapolate it.

    `samples` are (time, count) pairs of one room, in any order; the caller keeps them
    bounded (e.g. a deque of the last few hundred). "Now" is the newest sample, so the
    result depends only on the samples. The extrapolation starts from the newest count,
    not from the fitted line, so a room is never forecast over while it is not, and a
    room already over its limit gets no forecast (it has a capacity alert instead).
    `crossing_at` is set when the slope is positive and reaches limit + 1 within
    `horizon` of the newest sample.
    """
    if not samples:
        return Forecast(crossing_at=None, slope_per_min=0.0)
    ordered = sorted(samples, key=lambda sample: sample[0])
    newest_at, newest_count = ordered[-1]
    recent = [(t, c) for t, c in ordered if newest_at - t <= window]
    slope = _slope_per_minute(newest_at, recent)
    if is_over(newest_count, limit) or slope <= 0:
        return Forecast(crossing_at=None, slope_per_min=slope)
    crossing_at = newest_at + timedelta(minutes=(limit + 1 - newest_count) / slope)
    if crossing_at - newest_at > horizon:
        return Forecast(crossing_at=None, slope_per_min=slope)
    minutes = (crossing_at - newest_at).total_seconds() / 60
    return Forecast(crossing_at=crossing_at, slope_per_min=slope, minutes=minutes)


def _slope_per_minute(origin: datetime, samples: Sequence[tuple[datetime, int]]) -> float:
    """Least-squares slope of count over minutes; 0 when the times do not spread."""
    xs = [(t - origin).total_seconds() / 60 for t, _ in samples]
    ys = [float(c) for _, c in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


def forecast_active(
    samples: Sequence[tuple[datetime, int]],
    *,
    limit: int,
    horizon: timedelta,
    min_span: timedelta,
    was_active: bool,
    window: timedelta = DEFAULT_WINDOW,
) -> tuple[bool, Forecast]:
    """Whether a `capacity_forecast` warning should be open, with the forecast behind it.

    It opens when the trend reaches the limit within `horizon` and the samples of the window
    span at least `min_span` (a burst of seconds is not a trend). Once open it holds while
    the room still fills and is not over its limit (the capacity alert takes over then), so
    a trend that wobbles around the horizon does not make it flap.
    """
    forecast = capacity_forecast(samples, limit=limit, horizon=horizon, window=window)
    if not samples or horizon <= timedelta(0):
        return False, forecast
    newest_at, newest_count = max(samples, key=lambda sample: sample[0])
    if is_over(newest_count, limit):
        return False, forecast
    if was_active:
        return forecast.slope_per_min > 0, forecast
    oldest_at = min(t for t, _ in samples if newest_at - t <= window)
    return newest_at - oldest_at >= min_span and forecast.crossing_at is not None, forecast
