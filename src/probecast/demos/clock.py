"""Wall time per stage of a demo (summary.json `demo.stage_seconds`), so a run's budget can be read stage by
stage; a resumed run shows what it redid (a stage whose results were on disk takes next to nothing)."""

from __future__ import annotations

import time


class StageClock:
    def __init__(self) -> None:
        self.start = self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def lap(self, stage: str) -> None:
        """The stage that just ended: the seconds since the previous lap (or the start)."""
        now = time.perf_counter()
        self.seconds[stage] = round(now - self.last, 1)
        self.last = now

    def total(self) -> float:
        return round(time.perf_counter() - self.start, 1)
