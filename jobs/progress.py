"""Moves a job through its states: in Redis on every change, onto Payload throttled.

Redis (and so `GET /jobs/{id}` and live watchers) sees every change. The Payload
document is patched on every stage change and at most once per
`progress_writeback_interval_s` otherwise, so the admin shows movement without flooding
Payload. Start and final states are written with a short, bounded, backed-off retry;
a final state that still cannot be written is left in `WRITEBACK_PENDING_KEY` for the
reconciler, so no outcome is lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from cms_client import CMSError, CMSNotFound, CMSUnavailable, Doc
from jobs.errors import ExportCancelled, ExportInterrupted, WorkerStopping
from jobs.export_requests import status_fields
from jobs.runtime import Runtime
from jobs.state import JobState, JobStatus, utcnow

logger = logging.getLogger(__name__)

WRITEBACK_PENDING_KEY = "export:writeback-pending"
CANCEL_PREFIX = "export:cancel:"
CANCEL_CHECK_INTERVAL_S = 0.5
#: How a stop request names its kind in `export:cancel:<jobId>` (then a newline, the sentence).
_STOP_KINDS: dict[str, type[ExportInterrupted]] = {
    "cancelled": ExportCancelled,
    "stopping": WorkerStopping,
}


def ask_to_stop(
    redis: Any, job_id: str, sentence: str, *, kind: type[ExportInterrupted], ttl_s: int
) -> None:
    """Leave a stop request the job sees at its next checkpoint (`Progress.check_cancelled`)."""
    name = next(key for key, cls in _STOP_KINDS.items() if cls is kind)
    redis.set(CANCEL_PREFIX + job_id, f"{name}\n{sentence}", ex=ttl_s)


class Progress:
    """The one place a running job's status, stage and percent change."""

    def __init__(
        self,
        runtime: Runtime,
        state: JobState,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.runtime = runtime
        self.state = state
        self._clock = clock
        self._sleep = sleep
        self._last_write = float("-inf")
        self._last_cancel_check = float("-inf")

    @property
    def job_id(self) -> str:
        return self.state.job_id

    def start(self) -> None:
        self._apply(
            status=JobStatus.RUNNING, stage="starting", progress=0, started_at=utcnow(), error=None
        )
        self._writeback(final=False, retry=True)

    def stop_request(self) -> ExportInterrupted | None:
        """Why this job has been asked to stop ("cancelled by …"), if it has."""
        raw = self.runtime.redis.get(CANCEL_PREFIX + self.job_id)
        if raw is None:
            return None
        kind, _, sentence = (raw.decode() if isinstance(raw, bytes) else str(raw)).partition("\n")
        return _STOP_KINDS.get(kind, ExportCancelled)(sentence or kind)

    def check_cancelled(self) -> None:
        """A checkpoint: raise `ExportCancelled` (or `WorkerStopping`) if asked to stop."""
        request = self.stop_request()
        if request is not None:
            raise request

    def report(self, stage: str, percent: float) -> None:
        """Record progress; `percent` is clamped to 0–99 until success.

        Cheap enough to call per chunk: a report that changes nothing costs no Redis call,
        except the cancellation check, which runs on every change and at least every
        `CANCEL_CHECK_INTERVAL_S` otherwise.
        """
        stage_changed = stage != self.state.stage
        percent_int = max(0, min(99, int(percent)))
        changed = stage_changed or percent_int != self.state.progress
        if changed or self._clock() - self._last_cancel_check >= CANCEL_CHECK_INTERVAL_S:
            self._last_cancel_check = self._clock()
            self.check_cancelled()
        if not changed:
            return
        self._apply(stage=stage, progress=percent_int)
        interval = self.runtime.settings.progress_writeback_interval_s
        if stage_changed or self._clock() - self._last_write >= interval:
            self._writeback(final=False, retry=False)

    def succeed(self, media: Doc) -> None:
        url = media.get("url")
        self._apply(
            status=JobStatus.SUCCEEDED,
            stage="done",
            progress=100,
            error=None,
            result_media_id=media.get("id"),
            result_url=self.runtime.cms.absolute_url(url) if isinstance(url, str) else None,
            finished_at=utcnow(),
        )
        self._writeback(final=True, retry=True)

    def fail(self, sentence: str, *, status: JobStatus = JobStatus.FAILED) -> None:
        """End the job `failed` (or `cancelled`), with the sentence saying why."""
        self._apply(status=status, error=sentence, finished_at=utcnow())
        self._writeback(final=True, retry=True)

    def write_final(self) -> None:
        """Write the final state to Payload again (the reconciler's retry)."""
        self._writeback(final=True, retry=False)

    def _apply(self, **changes: Any) -> None:
        self.state = self.runtime.store.update(self.job_id, **changes)

    def _writeback(self, *, final: bool, retry: bool) -> None:
        doc_id = self.state.request_doc_id
        if doc_id is None:
            return
        delays = self.runtime.settings.writeback_retry_delays_s if retry else ()
        collection = self.runtime.settings.collections.export_requests
        for attempt in range(len(delays) + 1):
            try:
                self.runtime.cms.update(collection, doc_id, status_fields(self.state))
            except (CMSNotFound, CMSUnavailable) as exc:
                # A 404 right after creation: Payload's transaction may not have committed.
                if attempt < len(delays):
                    self._sleep(delays[attempt])
                    continue
                self._writeback_failed(exc, final=final)
            except CMSError as exc:
                self._writeback_failed(exc, final=final)
            else:
                self._last_write = self._clock()
                if final:
                    self.runtime.redis.srem(WRITEBACK_PENDING_KEY, self.job_id)
            return

    def _writeback_failed(self, exc: CMSError, *, final: bool) -> None:
        logger.warning(
            "job %s: could not update export request %s: %s",
            self.job_id,
            self.state.request_doc_id,
            exc,
        )
        if final:
            self.runtime.redis.sadd(WRITEBACK_PENDING_KEY, self.job_id)
