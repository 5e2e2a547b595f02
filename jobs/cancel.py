"""Cancelling an export: a queued job never starts, a running one stops at a checkpoint.

`request_cancel` leaves `export:cancel:<jobId>` (holding the sentence) for the worker, which
checks it on every progress report (`Progress.report` raises `ExportCancelled`), and
fails a queued job at once. Either way the job ends `failed` with "cancelled by <who>",
and the runner removes its temp files.
"""

from __future__ import annotations

import contextlib

from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job

from jobs.progress import CANCEL_PREFIX, Progress
from jobs.runtime import Runtime
from jobs.state import JobState, JobStatus


class CannotCancel(Exception):
    """The job has already finished; the message says how."""


def request_cancel(rt: Runtime, state: JobState, *, by: str) -> JobState:
    if state.status.is_terminal:
        raise CannotCancel(f"job {state.job_id} has already {state.status.value}")
    sentence = f"cancelled by {by}"
    rt.redis.set(CANCEL_PREFIX + state.job_id, sentence, ex=rt.settings.job_ttl_s)
    if state.status is JobStatus.QUEUED:
        _remove_from_queue(rt, state.job_id)
        progress = Progress(rt, state)
        progress.fail(sentence)
        return progress.state
    return state


def _remove_from_queue(rt: Runtime, job_id: str) -> None:
    # Already picked up? Then the runner sees the cancel flag before it starts work.
    with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
        Job.fetch(job_id, connection=rt.redis).cancel()
