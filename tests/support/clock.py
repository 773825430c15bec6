"""A pipeline clock that tests set and move by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass
class ManualClock:
    """Tells `current` until a test moves it; satisfies `ingest.clock.Clock`."""

    current: datetime

    def now(self) -> datetime:
        return self.current

    def seconds_until(self, instant: datetime) -> float:
        return 0.0 if instant <= self.current else float("inf")

    @property
    def spec(self) -> str:
        return f"replay:{self.current.isoformat()}@1"

    def advance(self, by: timedelta) -> None:
        self.current += by
