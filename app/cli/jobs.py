"""`export-service jobs show|list|cancel`: the service's jobs, from a shell.

They read what the web process reads: a job's live state in Redis (REDIS_URL), or its
`export-requests` document in Payload once Redis has let it expire. `list` shows the
jobs Redis still holds (EXPORT_JOB_TTL_S, 7 days by default), newest first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from redis import Redis

from app.job_lookup import find_job
from app.settings import Settings, SettingsError
from app.submissions import Services
from jobs import runtime as runtime_module
from jobs.cancel import request_cancel
from jobs.state import KEY_PREFIX, JobState, JobStatus, JobStore

CANCELLED_BY = "the command line (export-service jobs cancel)"
SCAN_BATCH = 500
COLUMNS = ("JOB ID", "STATUS", "TYPE", "PROJECT", "PROGRESS", "STAGE", "CREATED")


def _runtime(settings: Settings) -> runtime_module.Runtime:
    if not settings.redis_url:
        raise SettingsError("REDIS_URL is not set; `jobs` reads the Redis the service uses")
    from app.main import connect_redis

    redis = connect_redis(settings)
    redis.ping()
    return runtime_module.build(settings, redis)


def _services(rt: runtime_module.Runtime) -> Services:
    return Services(settings=rt.settings, redis=rt.redis, cms=rt.cms)


def show(settings: Settings, job_id: str) -> int:
    rt = _runtime(settings)
    print(json.dumps(find_job(_services(rt), job_id).public(), indent=2))
    return 0


def cancel(settings: Settings, job_id: str) -> int:
    """Exit 0 when the cancel is recorded; `CannotCancel` (exit 5) if the job has ended."""
    rt = _runtime(settings)
    state = request_cancel(rt, find_job(_services(rt), job_id), by=CANCELLED_BY)
    if state.status is JobStatus.CANCELLED:
        print(f"job {job_id}: cancelled before it started")
    else:
        print(f"job {job_id}: cancel requested; it stops at its next checkpoint")
    return 0


def list_jobs(settings: Settings, *, status: JobStatus | None, limit: int, as_json: bool) -> int:
    rt = _runtime(settings)
    states = [s for s in live_jobs(rt.redis, rt.store) if status is None or s.status is status]
    states.sort(key=lambda s: s.created_at, reverse=True)
    states = states[:limit]
    if as_json:
        print(json.dumps([s.public() for s in states]))
        return 0
    rows = [COLUMNS, *(_row(s) for s in states)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def live_jobs(redis: Redis, store: JobStore) -> Iterator[JobState]:
    """Every job state Redis holds (SCAN, so a big keyspace does not block Redis)."""
    for key in redis.scan_iter(match=KEY_PREFIX + "*", count=SCAN_BATCH):
        name = key.decode() if isinstance(key, bytes) else str(key)
        state = store.get(name.removeprefix(KEY_PREFIX))
        if state is not None:
            yield state


def _row(state: JobState) -> tuple[str, ...]:
    return (
        state.job_id,
        state.status.value,
        state.type.value,
        str(state.project_id),
        f"{state.progress}%",
        state.stage,
        state.created_at,
    )
