"""Moves a job through its states: in Redis on every change, onto Payload coalesced.

Redis (and so `GET /jobs/{id}` and live watchers) sees every change. The Payload
document is patched at most once per `progress_writeback_interval_s`, the start
included: whatever changed within that window becomes one PATCH, and a job that ends
within its first window costs Payload one write (its final state), not six. So the admin
learns a job's id and `running` within a second of its start, and Payload is not asked to
write while it answers the job's own reads. Those PATCHes run in order on a background
thread, so the job does not wait for Payload while it fetches and renders; the final
state waits for them, then is written last. The first and final writes are retried a
few times, briefly and backed off (the first may meet a document Payload has not
committed yet); a final state that still cannot be written is left in
`WRITEBACK_PENDING_KEY` for the reconciler, so no outcome is lost.

Each job's stage timings (`jobs.timings`) are kept here too, since this is where its
state changes: they reach Redis with every change and Payload with every write.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from cms_client import CMSError, CMSNotFound, CMSUnavailable, Doc
from jobs import timings as stages
from jobs.errors import ExportCancelled, ExportInterrupted, WorkerStopping
from jobs.export_requests import status_fields
from jobs.runtime import Runtime
from jobs.state import JobExpired, JobState, JobStatus, utcnow
from jobs.timings import StageTimer

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
        self._window_start = float("-inf")
        self._pending = False
        self._written_once = False
        self._last_cancel_check = float("-inf")
        self.timings = StageTimer()
        self._writes_lock = threading.Lock()
        self._writes: list[tuple[dict[str, Any], bool]] = []
        self._writer: threading.Thread | None = None

    @property
    def job_id(self) -> str:
        return self.state.job_id

    def start(self) -> None:
        started_at = datetime.now(UTC)
        waited = stages.seconds_since(self.state.created_at, started_at)
        if waited is not None:
            self.timings.add(stages.QUEUED, waited)
        self._window_start = self._clock()
        self._apply(
            status=JobStatus.RUNNING,
            stage="starting",
            progress=0,
            started_at=utcnow(),
            error=None,
            reused=False,
            notes=[],
        )
        # Not written yet: the first PATCH goes out once the window has passed (or with the
        # final state), so Payload answers the job's own reads first and a short export
        # costs it one write.
        self._pending = True

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
        self._pending = True
        self._flush_if_due()

    def note(self, sentence: str, percent: float) -> None:
        """Tell the requester something that is not an error: shown as the stage now, and
        kept in the job's `notes` (and on the export request) after later stages."""
        if sentence not in self.state.notes:
            self._apply(notes=[*self.state.notes, sentence])
        self.report(sentence, percent)

    def note_fingerprint(self, fingerprint: str) -> None:
        self._apply(fingerprint=fingerprint)

    def succeed(self, media: Doc, *, reused: bool = False) -> None:
        url = media.get("url")
        self._apply(
            status=JobStatus.SUCCEEDED,
            stage="done",
            progress=100,
            error=None,
            result_media_id=media.get("id"),
            result_url=self.runtime.cms.absolute_url(url) if isinstance(url, str) else None,
            finished_at=utcnow(),
            reused=reused,
        )
        self._write_final()

    def fail(self, sentence: str, *, status: JobStatus = JobStatus.FAILED) -> None:
        """End the job `failed` (or `cancelled`), with the sentence saying why."""
        self._apply(status=status, error=sentence, finished_at=utcnow())
        self._write_final()

    def _write_final(self) -> None:
        # `write-back` is the time the job waited for Payload: the earlier PATCHes still
        # in flight, then the final one. Its own time reaches Redis, not Payload.
        with self.timings.stage(stages.WRITE_BACK):
            self.flush()
            self._write_now(final=True, retry=True)
        self._apply(timings=dict(self.timings.ms))

    def _flush_if_due(self) -> None:
        interval = self.runtime.settings.progress_writeback_interval_s
        if self._pending and self._clock() - self._window_start >= interval:
            self._write_soon(retry=not self._written_once)

    def write_final(self) -> None:
        """Write the final state to Payload again (the reconciler's retry)."""
        self._write_now(final=True, retry=False)

    def flush(self) -> None:
        """Wait until every PATCH asked for so far has been sent (or given up on)."""
        with self._writes_lock:
            writer = self._writer
        if writer is not None:
            writer.join()

    def _apply(self, **changes: Any) -> None:
        changes.setdefault("timings", dict(self.timings.ms))
        try:
            self.state = self.runtime.store.update(self.job_id, **changes)
        except JobExpired:  # it waited or ran past EXPORT_JOB_TTL_S: write it whole again
            self.state = self.runtime.store.restore(replace(self.state, **changes))

    def _write_soon(self, *, retry: bool) -> None:
        """Queue a PATCH of the state as it is now; a background thread sends it."""
        self._mark_written()
        fields = status_fields(self.state)
        with self._writes_lock:
            self._writes.append((fields, retry))
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._send_queued, name=f"writeback-{self.job_id}", daemon=True
                )
                self._writer.start()

    def _send_queued(self) -> None:
        while (write := self._next_write()) is not None:
            fields, retry = write
            try:
                self._patch(fields, final=False, retry=retry)
            except Exception:  # a progress write must never take the job (or its writes) down
                logger.exception("job %s: progress write-back failed", self.job_id)

    def _next_write(self) -> tuple[dict[str, Any], bool] | None:
        with self._writes_lock:
            if not self._writes:
                self._writer = None
                return None
            return self._writes.pop(0)

    def _write_now(self, *, final: bool, retry: bool) -> None:
        self._mark_written()
        self._patch(status_fields(self.state), final=final, retry=retry)

    def _mark_written(self) -> None:
        self._pending, self._written_once = False, True
        self._window_start = self._clock()

    def _patch(self, fields: dict[str, Any], *, final: bool, retry: bool) -> None:
        doc_id = self.state.request_doc_id
        if doc_id is None:
            return
        delays = self.runtime.settings.writeback_retry_delays_s if retry else ()
        collection = self.runtime.settings.collections.export_requests
        for attempt in range(len(delays) + 1):
            try:
                self.runtime.cms.update(collection, doc_id, fields)
            except (CMSNotFound, CMSUnavailable) as exc:
                # A 404 right after creation: Payload's transaction may not have committed.
                if attempt < len(delays):
                    self._sleep(delays[attempt])
                    continue
                self._writeback_failed(exc, final=final)
            except CMSError as exc:
                self._writeback_failed(exc, final=final)
            else:
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
