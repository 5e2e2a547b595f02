"""Turning a validated request into a queued export: one path for REST and MCP.

The order keeps promises when a dependency is down: Redis is checked first (so an
outage answers 503 before anything is written), then the `export-requests` document is
created in Payload (the durable record), then the job is queued. If queueing fails
after the document exists, the document is marked failed with the reason, so no
document is left `queued` with no job behind it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from app.auth import Caller
from app.settings import Settings
from cms_client import CMSError, PayloadClient
from jobs import queue, quotas
from jobs.export_requests import mark_failed, new_doc
from jobs.runtime import Runtime
from jobs.state import ExportType, JobState, JobStore

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """The connections the web process holds, opened in the app's lifespan."""

    settings: Settings
    redis: Redis
    cms: PayloadClient
    aredis: Any = None  # redis.asyncio.Redis for the event loop's hot reads, when open
    _service_user: dict[str, Any] | None = field(default=None, init=False, repr=False)

    @property
    def runtime(self) -> Runtime:
        """The same connections, shaped as the worker side's `Runtime`."""
        return Runtime(
            settings=self.settings,
            redis=self.redis,
            store=JobStore(self.redis, ttl_s=self.settings.job_ttl_s),
            cms=self.cms,
        )

    def service_user(self) -> dict[str, Any] | None:
        """The Payload user behind PAYLOAD_API_KEY, asked once (None while Payload is down)."""
        if self._service_user is None:
            try:
                self._service_user = self.cms.me(self.settings.payload_auth_collection)
            except CMSError as exc:
                logger.warning("could not ask Payload who the service user is: %s", exc)
        return self._service_user


def new_job_id() -> str:
    return uuid.uuid4().hex


async def submit_export(
    services: Services,
    caller: Caller,
    export_type: ExportType,
    project_id: int | str,
    params: dict[str, Any],
    *,
    source: str = "rest",
) -> JobState:
    state = JobState(
        job_id=new_job_id(),
        type=export_type,
        project_id=project_id,
        params=params,
        requested_by=caller.user_id,
        source=source,
    )
    return await run_in_threadpool(_record_and_queue, services, state)


def _record_and_queue(services: Services, state: JobState) -> JobState:
    services.redis.ping()
    quotas.check_capacity(services.redis, services.settings, state)
    collection = services.settings.collections.export_requests
    doc = services.cms.create(collection, new_doc(state))
    state.request_doc_id = doc.get("id")
    try:
        queue.submit(services.redis, services.settings, state)
    except RedisError as exc:
        _mark_unqueued(services, state, exc)
        raise
    logger.info(
        "job %s: %s export of project %s queued (export request %s)",
        state.job_id,
        state.type.value,
        state.project_id,
        state.request_doc_id,
    )
    return state


def _mark_unqueued(services: Services, state: JobState, exc: RedisError) -> None:
    sentence = f"could not be queued: the job queue (Redis) failed ({exc.__class__.__name__})"
    if state.request_doc_id is not None:
        mark_failed(
            services.cms,
            services.settings.collections.export_requests,
            state.request_doc_id,
            sentence,
        )
