"""The simulated clock of one replay: it moves only when a step says so, so a replay is
deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta


class SimClock:
    """One per file, shared by its peers (they take ``now`` as their clock)."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
