"""Backpressure: a bounded queue and a bounded number of unfinished exports per person.

Both limits are checked before anything is written, so a refusal leaves nothing behind.
A person's unfinished exports are a Redis set (`export:active:<who>`) pruned lazily of
jobs that have finished or expired, so it needs no bookkeeping at the end of a job.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue

from app.settings import Settings
from jobs.state import JobState, JobStore

ACTIVE_PREFIX = "export:active:"
QUEUE_FULL_RETRY_AFTER_S = 30
CALLER_BUSY_RETRY_AFTER_S = 10


class QuotaExceeded(Exception):
    """A limit refuses the export for now; `retry_after_s` says when to try again."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s


def check_capacity(redis: Redis, settings: Settings, state: JobState) -> None:
    """Raise `QuotaExceeded` if the queue is full or this person has too many exports."""
    limits = settings.limits
    depth = sum(Queue(name, connection=redis).count for name in settings.queues)
    if depth >= limits.max_queue_depth:
        raise QuotaExceeded(
            f"the export queue is full ({depth} exports waiting, EXPORT_MAX_QUEUE_DEPTH is "
            f"{limits.max_queue_depth}); try again in a minute",
            retry_after_s=QUEUE_FULL_RETRY_AFTER_S,
        )
    if state.requested_by is None:
        return
    key = ACTIVE_PREFIX + str(state.requested_by)
    if redis.scard(key) < limits.max_active_per_caller:
        return  # the cheap answer; the set only over-counts, so pruning can only lower it
    active = active_jobs(redis, settings, state.requested_by)
    if len(active) >= limits.max_active_per_caller:
        raise QuotaExceeded(
            f"you already have {len(active)} unfinished exports (EXPORT_MAX_ACTIVE_PER_CALLER "
            f"is {limits.max_active_per_caller}); wait for one to finish or cancel one",
            retry_after_s=CALLER_BUSY_RETRY_AFTER_S,
        )


def track(redis: Redis, settings: Settings, state: JobState) -> None:
    if state.requested_by is None:
        return
    key = ACTIVE_PREFIX + str(state.requested_by)
    with redis.pipeline() as pipe:
        pipe.sadd(key, state.job_id)
        pipe.expire(key, settings.job_ttl_s)
        pipe.execute()


def active_jobs(redis: Redis, settings: Settings, who: int | str) -> list[str]:
    """This person's exports that are queued or running; finished ones are pruned."""
    key = ACTIVE_PREFIX + str(who)
    store = JobStore(redis, ttl_s=settings.job_ttl_s)
    active = []
    for raw in redis.smembers(key):
        job_id = raw.decode() if isinstance(raw, bytes) else str(raw)
        state = store.get(job_id)
        if state is None or state.status.is_terminal:
            redis.srem(key, job_id)
        else:
            active.append(job_id)
    return active
