"""Room limits and status: one arithmetic for the site, the workers, signage and alerts."""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal
from functools import lru_cache
from typing import Annotated

from pydantic import Field

from ingest.models import Status

WarnRatio = Annotated[float, Field(gt=0, le=1)]
"""The share of a room's limit at which it warns; 1 warns only when the room is full."""


def limit_of(capacity: int, ratio: Decimal) -> int:
    """floor(capacity × ratio): a limit never rounds up past what the policy allows."""
    return int((capacity * ratio).to_integral_value(rounding=ROUND_FLOOR))


@lru_cache(maxsize=4096)
def warn_level(limit: int, warn_ratio: float) -> int:
    """The smallest count that warns: ceil(ratio × limit), at least 1 (empty rooms never warn)."""
    # Decimal of the written ratio: 0.7 × 10 in floats is 7.000000000000001, whose ceil is 8.
    return max(1, math.ceil(Decimal(str(warn_ratio)) * limit))


def is_over(count: int, limit: int) -> bool:
    """Over the limit: more people than it allows (at the limit is full, not over)."""
    return count > limit


def status_of(count: int, limit: int, warn_ratio: float) -> Status:
    """A room's status: "over" above the limit, "full" at it, "warning" from the warn level,
    else "open". A limit of 0 (room closed) is "over" with anyone inside, else "full"."""
    if is_over(count, limit):
        return "over"
    if count == limit:
        return "full"
    if count >= warn_level(limit, warn_ratio):
        return "warning"
    return "open"
