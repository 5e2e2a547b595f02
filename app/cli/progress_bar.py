"""A one-line progress display for `export-service export`: stage, percent, bytes, ETA.

On a terminal the line is redrawn in place (at most `REDRAW_INTERVAL_S` apart); anywhere
else (a CI log, a pipe) a plain line is printed when the stage changes or the percent
crosses a `LOG_STEP_PERCENT` step, so logs stay short and greppable:

    zip   45%  bundling        1.2 MB  ETA 12s

Hand-rolled rather than `tqdm`/`rich`: it is one line with four fields, and the
non-terminal output is part of the CLI's contract (tests parse it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_INTERVAL_S = 0.1
LOG_STEP_PERCENT = 25
BAR_WIDTH = 24
#: No ETA before this much of the work is done: early rates mislead.
ETA_MIN_PERCENT = 5


def human_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class ProgressBar:
    """Thread-safe: downloads report bytes from wherever the builder streams them."""

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str,
        interactive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.interactive = stream.isatty() if interactive is None else interactive
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._stage, self._percent, self._bytes = "starting", 0, 0
        self._last_draw = float("-inf")
        self._last_logged: tuple[str, int] | None = None

    def update(self, *, stage: str, percent: int) -> None:
        with self._lock:
            stage_changed = stage != self._stage
            self._stage, self._percent = stage, percent
            self._draw(force=stage_changed)

    def add_bytes(self, count: int) -> None:
        with self._lock:
            self._bytes += count
            self._draw(force=False)

    def finish(self, message: str) -> None:
        """Leave the final figures on screen, then `message` on its own line."""
        with self._lock:
            self._draw(force=True)
            if self.interactive:
                self.stream.write("\n")
            self.stream.write(message + "\n")
            self.stream.flush()

    def line(self) -> str:
        eta = self._eta()
        fields = [
            f"{self.label:<5}",
            f"{self._percent:>3}%",
            f"{self._stage:<18}",
            f"{human_bytes(self._bytes):>9}",
            f"ETA {human_duration(eta) if eta is not None else '?'}",
        ]
        if self.interactive:
            filled = BAR_WIDTH * self._percent // 100
            fields.insert(1, "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]")
        return "  ".join(fields)

    def _eta(self) -> float | None:
        if self._percent >= 100:
            return 0.0
        if self._percent < ETA_MIN_PERCENT:
            return None
        elapsed = self._clock() - self._started
        return elapsed * (100 - self._percent) / self._percent

    def _draw(self, *, force: bool) -> None:
        if self.interactive:
            now = self._clock()
            if force or now - self._last_draw >= REDRAW_INTERVAL_S:
                self._last_draw = now
                self.stream.write("\r\x1b[2K" + self.line())
                self.stream.flush()
            return
        step = (self._stage, self._percent // LOG_STEP_PERCENT)
        if step != self._last_logged:
            self._last_logged = step
            self.stream.write(self.line() + "\n")
            self.stream.flush()
