"""How long each stage of a job took, in milliseconds: every second accounted for.

    timer = StageTimer()
    with timer.stage("render"):
        with timer.stage("fetch"):   # nested: counted as fetch, not as render
            ...

Stages are exclusive: a stage entered inside another pauses the outer one, so the
figures add up to the job's wall time. The same stage entered twice accumulates. The
vocabulary (`STAGES`) is what `GET /jobs/{id}`, the export request's `timings`, the
job's log line and `export_stage_duration_seconds` use.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

QUEUED = "queued"
FETCH = "fetch"
RENDER = "render"
BUNDLE = "bundle"
TRANSCODE = "transcode"
REUSE = "reuse"
UPLOAD = "upload"
WRITE_BACK = "write-back"
STAGES = (QUEUED, FETCH, REUSE, RENDER, BUNDLE, TRANSCODE, UPLOAD, WRITE_BACK)


class StageTimer:
    """Exclusive wall time per stage, in ms, rounded to 0.1 ms."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._stack: list[tuple[str, float]] = []
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        now = self._clock()
        if self._stack:
            outer, since = self._stack[-1]
            self.add(outer, now - since)
        self._stack.append((name, now))
        try:
            yield
        finally:
            name, since = self._stack.pop()
            now = self._clock()
            self.add(name, now - since)
            if self._stack:
                outer, _ = self._stack[-1]
                self._stack[-1] = (outer, now)

    def add(self, name: str, seconds: float) -> None:
        self.ms[name] = round(self.ms.get(name, 0.0) + seconds * 1000, 1)

    def summary(self) -> str:
        """`fetch 21 ms, render 250 ms, …` for a log line, in stage order."""
        order = {name: index for index, name in enumerate(STAGES)}
        names = sorted(self.ms, key=lambda n: order.get(n, len(order)))
        return ", ".join(f"{name} {self.ms[name]:.0f} ms" for name in names)


def seconds_since(iso_timestamp: str, now: datetime) -> float | None:
    """Seconds from an ISO-8601 timestamp (`…Z`) to `now`; None if it does not parse."""
    try:
        then = datetime.fromisoformat(iso_timestamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, (now - then).total_seconds())
