"""Seeded random streams, one per purpose, so the same seed gives the same bytes and one
purpose's draws never shift another's."""

from __future__ import annotations

import random


def stream(*parts: object) -> random.Random:
    """The random stream named by `parts` (seed, date, building, purpose…), across processes."""
    # A str seed is hashed with SHA-512 by `random`, independent of PYTHONHASHSEED.
    return random.Random("/".join(str(p) for p in parts))  # noqa: S311 - simulation, not secrets
