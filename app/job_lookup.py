"""Finding a job: its live state in Redis, or its durable copy in Payload.

Payload's `export-requests` document is the job's durable copy, so a job is still found
when Redis has expired it — or when Redis is down while Payload answers.
"""

from __future__ import annotations

import logging
import re

from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from app.errors import APIError
from app.submissions import Services
from jobs.export_requests import state_from_doc
from jobs.state import KEY_PREFIX, JobState, JobStore

logger = logging.getLogger(__name__)

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def lookup_job(services: Services, job_id: str) -> JobState:
    """`find_job` for the event loop: Redis read asynchronously, no thread hop.

    `GET /jobs/{id}` is the hottest path (pollers); a thread per read cost it ~3× here.
    """
    if not JOB_ID.match(job_id):
        raise _job_not_found(job_id)
    if services.aredis is not None:
        try:
            raw = await services.aredis.hgetall(KEY_PREFIX + job_id)
        except RedisError as exc:
            _redis_down(job_id, exc)
            return await run_in_threadpool(_from_payload, services, job_id)
        if raw:
            return JobState.from_redis(raw)
    return await run_in_threadpool(find_job, services, job_id)


def find_job(services: Services, job_id: str) -> JobState:
    """The job's live state from Redis, or its durable copy from Payload."""
    if not JOB_ID.match(job_id):
        raise _job_not_found(job_id)
    try:
        state = JobStore(services.redis, ttl_s=services.settings.job_ttl_s).get(job_id)
    except RedisError as exc:
        _redis_down(job_id, exc)
        state = None
    if state is not None:
        return state
    return _from_payload(services, job_id)


def _redis_down(job_id: str, exc: RedisError) -> None:
    logger.warning(
        "job %s: Redis did not answer (%s); reading the job from Payload",
        job_id,
        exc.__class__.__name__,
        extra={"jobId": job_id},
    )


def _from_payload(services: Services, job_id: str) -> JobState:
    page = services.cms.find(
        services.settings.collections.export_requests,
        where={"jobId": {"equals": job_id}},
        limit=1,
        depth=0,
    )
    docs = page.get("docs") or []
    if not docs:
        raise _job_not_found(job_id)
    return state_from_doc(docs[0])


def _job_not_found(job_id: str) -> APIError:
    return APIError(404, "job_not_found", f"no export job has the id {job_id!r}")
