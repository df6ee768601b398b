"""How long each stage of a turn took: one stopwatch per turn, one TimingEvent per stage."""

from __future__ import annotations

import time

from assistant.events import TimingEvent


class Stopwatch:
    """Started with the turn; `lap(stage, since)` records the stage's milliseconds and returns its event."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, stage: str, since: float) -> TimingEvent:
        ms = (time.perf_counter() - since) * 1000
        self.timings[stage] = round(ms, 2)
        return TimingEvent(stage, ms)

    def total_ms(self) -> float:
        return round((time.perf_counter() - self.start) * 1000, 2)
