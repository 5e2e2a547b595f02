"""Finding a job: its live state in Redis, or its durable copy in Payload."""

from __future__ import annotations

import re

from app.errors import APIError
from app.submissions import Services
from jobs.export_requests import state_from_doc
from jobs.state import JobState, JobStore

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def find_job(services: Services, job_id: str) -> JobState:
    """The job's live state from Redis, or its durable copy from Payload."""
    if not JOB_ID.match(job_id):
        raise _job_not_found(job_id)
    state = JobStore(services.redis, ttl_s=services.settings.job_ttl_s).get(job_id)
    if state is not None:
        return state
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
