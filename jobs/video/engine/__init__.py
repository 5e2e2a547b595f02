"""The boundary between a video export and whatever renders it.

A `VideoEngine` turns a checked `RenderPlan` into one encoded file in the job's work
folder. Two implementations, chosen by `engine_for(settings)`:

* `ServicesEngine` (`services.py`) when VIDEO_PROCESSING_URL and TRANSCODING_URL are set:
  the platform's services render and transcode, the worker only orchestrates and
  downloads the result (docs/video-services.md is the HTTP contract);
* `LocalEngine` (`local.py`) otherwise: ffmpeg in the worker, so one machine suffices.

Either can be stopped: `cancel()` (from another thread) or a `should_stop()` that answers
True makes the local engine kill ffmpeg and the services engine cancel its remote job.

Errors, all `ExportError`s so their message becomes the export's error sentence:

    VideoEngineError            the engine could not produce the video
    ├── RenderCancelled         the job was asked to stop; ffmpeg killed / remote job cancelled
    ├── FfmpegFailed            ffmpeg could not read a source or exited non-zero (log tail)
    └── VideoServiceError       a video service refused or failed, with its own message
        ├── VideoServiceUnavailable  no answer, a timeout or a 5xx (submissions are retried)
        └── VideoServiceTimeout      it did not finish in time; its job was cancelled
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from jobs.errors import ExportError
from jobs.video.engine.probe import MediaInfo
from jobs.video.timeline import RenderPlan, Source

if TYPE_CHECKING:
    from app.settings import Settings

# Progress the engine owns; the runner reports upload from 90 on.
MAX_ENGINE_PERCENT = 88.0

ProgressFn = Callable[[str, float], None]
"""`progress(stage, fraction)`: how far the engine is (0–1) within one of its stages."""


class VideoEngineError(ExportError):
    """The engine could not produce the video; the message says why."""


class RenderCancelled(VideoEngineError):
    """The job was asked to stop; nothing is left running."""


class FfmpegFailed(VideoEngineError):
    """ffmpeg could not read a source or exited with an error."""


class VideoServiceError(VideoEngineError):
    """A video service refused, failed or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class VideoServiceUnavailable(VideoServiceError):
    """A video service did not answer, timed out or answered with a 5xx."""


class VideoServiceTimeout(VideoServiceError):
    """A video service did not finish within its timeout; its job was cancelled."""


def _never() -> bool:
    return False


@dataclass(frozen=True)
class RenderRequest:
    """One render: the plan, where to write, and how to reach the media and report."""

    job_id: str
    plan: RenderPlan
    workdir: Path
    progress: ProgressFn
    fetch_media: Callable[[Source, Path], Path]
    media_url: Callable[[Source], str]
    should_stop: Callable[[], bool] = field(default=_never)


@dataclass(frozen=True)
class RenderResult:
    """The encoded file, what it contains, and (if already known) its SHA-256."""

    path: Path
    info: MediaInfo
    sha256: str | None = None


class VideoEngine(Protocol):
    """Renders a `RenderPlan` to one file below `request.workdir`."""

    name: str
    stages: Mapping[str, tuple[float, float]]

    def render(self, request: RenderRequest) -> RenderResult: ...

    def cancel(self) -> None:
        """Stop the render in progress, from any thread; `render` then raises."""
        ...


class StageProgress:
    """Maps an engine's per-stage fractions onto one job percent that never goes back."""

    def __init__(
        self, report: Callable[[str, float], None], spans: Mapping[str, tuple[float, float]]
    ) -> None:
        self._report = report
        self._spans = spans
        self._high = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        low, high = self._spans[stage]
        percent = low + (high - low) * max(0.0, min(1.0, fraction))
        self._high = max(self._high, min(percent, MAX_ENGINE_PERCENT))
        self._report(stage, self._high)


def engine_for(settings: Settings) -> VideoEngine:
    """The services engine when both service URLs are set, else the local ffmpeg one."""
    if settings.video.configured:
        from jobs.video.engine.services import ServicesEngine

        return ServicesEngine.from_settings(settings)
    from jobs.video.engine.local import LocalEngine

    return LocalEngine()
