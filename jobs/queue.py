"""Putting exports on the RQ queue. Imported by the web process: keep it light.

Exports are never retried automatically (`Retry` is not used): a failed export says why,
and a person decides whether to run it again.
"""

from __future__ import annotations

from redis import Redis
from rq import Queue
from rq.job import Job

from app.settings import Settings
from jobs import metrics as job_metrics
from jobs import quotas
from jobs.state import JobState, JobStore

RUN_EXPORT = "jobs.runner.run_export"
RESULT_TTL_S = 24 * 3600
FAILURE_TTL_S = 7 * 24 * 3600


def queue_for(redis: Redis, settings: Settings) -> Queue:
    return Queue(settings.queue_name, connection=redis)


def submit(redis: Redis, settings: Settings, state: JobState) -> Job:
    """Record the job's state, then queue it under the same id."""
    JobStore(redis, ttl_s=settings.job_ttl_s).create(state)
    job = queue_for(redis, settings).enqueue(
        RUN_EXPORT,
        state.job_id,
        job_id=state.job_id,
        job_timeout=settings.limits.job_timeout_s,
        result_ttl=RESULT_TTL_S,
        failure_ttl=FAILURE_TTL_S,
        description=f"{state.type.value} export of project {state.project_id}",
    )
    quotas.queued(redis, state)
    job_metrics.submitted(state.type)  # export_jobs_submitted_total (jobs/metrics.py)
    return job
