"""Putting exports on the RQ queues. Imported by the web process: keep it light.

Exports go to a queue by expected cost (`queue_name_for`): PDF briefs and bundles without
media to EXPORT_QUEUE_FAST, media bundles and videos to EXPORT_QUEUE_BULK, so a 1 s brief
never waits behind a 20 GB bundle. Workers take the fast queue first (`worker_queue_names`).

Exports are never retried automatically (`Retry` is not used): a failed export says why,
and a person decides whether to run it again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis import Redis
from rq import Queue
from rq.job import Job

from app.settings import Settings
from jobs import fleet, quotas
from jobs import metrics as job_metrics
from jobs.state import ExportType, JobState, JobStore

RUN_EXPORT = "jobs.runner.run_export"
RESULT_TTL_S = 24 * 3600
FAILURE_TTL_S = 7 * 24 * 3600
#: `export-service worker --queues` accepts these names for the configured queues.
QUEUE_ALIASES = ("fast", "bulk")


def is_bulk(export_type: ExportType, params: Mapping[str, Any]) -> bool:
    """Whether an export is expected to take minutes and gigabytes rather than seconds."""
    if export_type is ExportType.VIDEO:
        return True
    if export_type is ExportType.PROJECT_ZIP:
        return bool(params.get("includeMedia"))
    return False


def queue_name_for(settings: Settings, export_type: ExportType, params: Mapping[str, Any]) -> str:
    """The queue an export waits in, from its type and params."""
    return settings.bulk_queue if is_bulk(export_type, params) else settings.fast_queue


def worker_queue_names(settings: Settings, wanted: str | None = None) -> list[str]:
    """The queues a worker listens to, in priority order.

    `wanted` is `--queues`: comma-separated `fast`, `bulk` or queue names. By default every
    queue, fast first, then bulk, then EXPORT_QUEUE (exports queued before the split).
    """
    if not wanted:
        return list(settings.queues)
    aliases = {"fast": settings.fast_queue, "bulk": settings.bulk_queue}
    names = [aliases.get(item.strip(), item.strip()) for item in wanted.split(",")]
    unknown = [n for n in names if n not in settings.queues]
    if unknown or not names:
        raise ValueError(
            f"--queues {wanted!r}: {', '.join(unknown) or 'nothing'} is not an export queue; "
            f"use fast, bulk or one of {', '.join(settings.queues)}"
        )
    return list(dict.fromkeys(names))


def queue_for(redis: Redis, settings: Settings, state: JobState) -> Queue:
    return Queue(queue_name_for(settings, state.type, state.params), connection=redis)


def submit(redis: Redis, settings: Settings, state: JobState) -> Job:
    """Record the job's state, then queue it under the same id."""
    JobStore(redis, ttl_s=settings.job_ttl_s).create(state)
    job = queue_for(redis, settings, state).enqueue(
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
    fleet.count_submitted(redis, state.type)  # export_fleet_jobs_submitted_total (jobs/fleet.py)
    return job
