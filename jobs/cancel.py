"""Cancelling an export: a queued job never starts, a running one stops at a checkpoint.

`request_cancel` leaves `export:cancel:<jobId>` (holding the sentence) for the worker, which
checks it on every progress report (`Progress.report` raises `ExportCancelled`), and
ends a queued job at once. Either way the job ends `cancelled` with "cancelled by <who>",
and the runner removes its temp files.
"""

from __future__ import annotations

import contextlib
import logging

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from jobs.errors import ExportCancelled
from jobs.progress import Progress, ask_to_stop
from jobs.runtime import Runtime
from jobs.state import JobState, JobStatus

logger = logging.getLogger(__name__)


class CannotCancel(Exception):
    """The job has already finished; the message says how."""


def request_cancel(rt: Runtime, state: JobState, *, by: str) -> JobState:
    if state.status.is_terminal:
        ended = "been cancelled" if state.status is JobStatus.CANCELLED else state.status.value
        raise CannotCancel(f"job {state.job_id} has already {ended}")
    sentence = f"cancelled by {by}"
    ask_to_stop(rt.redis, state.job_id, sentence, kind=ExportCancelled, ttl_s=rt.settings.job_ttl_s)
    logger.info("job %s: %s", state.job_id, sentence)
    if state.status is JobStatus.QUEUED:
        _remove_from_queue(rt, state.job_id)
        progress = Progress(rt, state)
        progress.fail(sentence, status=JobStatus.CANCELLED)
        return progress.state
    return state


def _remove_from_queue(rt: Runtime, job_id: str) -> None:
    # Already picked up? Then the runner sees the cancel flag before it starts work.
    with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
        Job.fetch(job_id, connection=rt.redis).cancel()
