"""The one door: every export request, from any entry, becomes a queued export here.

REST, MCP, the Payload webhook and the CLI each hand over a `Submission` — the export kind,
the body as JSON, who is acting — and do nothing of the following themselves:

1. **validate** the body with the kind's model (`jobs.kinds`): a 400/422 naming the field;
2. **authorise** the acting person for the project the body names (`Requester`):
   - a caller with their own Payload credentials (REST, MCP) is asked about *as themselves*,
     so Payload's access control decides (403/404);
   - for the webhook, the signed Payload plugin attests that the person who created the
     request, or set it back to `queued`, could read its project at that moment; the project
     is the document's own relation, never anything in `params`;
   - the CLI's operator holds PAYLOAD_API_KEY: the service account reads the project;
3. run the kind's **pre-check** (video: pin the timeline), reading Payload as the person
   when they brought credentials;
4. **reserve** capacity atomically (queue depth, the person's unfinished exports): 429;
5. **record** the `export-requests` document in Payload (the durable record; the webhook's
   request already has one), then **queue** the job.

The reservation in Redis comes before anything is written to Payload, so a Redis outage
answers 503 with nothing left behind. A refusal of a request that came with a document is
written onto that document, so the editor sees why in the admin. If queueing fails after
the document exists, the document is marked failed with the reason, so none is left
`queued` with no job behind it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from app.auth import Authenticator, Caller
from app.errors import APIError
from app.schemas import validate_body
from app.settings import Settings
from cms_client import CMSError, CMSNotFound, PayloadClient
from jobs import queue, quotas
from jobs.export_requests import mark_failed, new_doc
from jobs.kinds import ExportKind, ExportRequest, InvalidExportRequest
from jobs.runtime import Runtime
from jobs.state import JobState, JobStore

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """The connections the web process holds, opened in the app's lifespan."""

    settings: Settings
    redis: Redis
    cms: PayloadClient
    auth: Authenticator | None = None
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


@dataclass(frozen=True)
class Requester:
    """Who is acting, and how the service knows they may read the project.

    `caller` holds the person's own credentials (REST, MCP): they are authorised with them.
    Without a caller the request is attested: by the signed Payload plugin, which checked
    the person with Payload's access control (`source="admin"`), or by the operator who
    holds the service's own key (`source="cli"`).
    """

    source: str
    user_id: int | str | None = None
    caller: Caller | None = None

    @classmethod
    def with_credentials(cls, caller: Caller, *, source: str) -> Requester:
        return cls(source=source, user_id=caller.user_id, caller=caller)


@dataclass(frozen=True)
class Submission:
    """An export request as a door received it, before anything is checked."""

    kind: ExportKind
    body: dict[str, Any]
    requester: Requester
    #: the `export-requests` document the request came with (the webhook), if any
    request_doc_id: int | str | None = None
    #: the project, when the entry fixes it (the document's relation) rather than the body
    project_id: int | str | None = None

    def request_body(self) -> dict[str, Any]:
        """The body to validate: the project comes from the entry when it fixes it."""
        if self.project_id is None:
            return self.body
        if "projectId" in self.body:
            raise APIError(
                422,
                "unknown_field",
                "projectId is not an option of an export request: the project is the "
                "request's own project field",
                field="projectId",
            )
        return {**self.body, "projectId": self.project_id}


def new_job_id() -> str:
    return uuid.uuid4().hex


async def submit(services: Services, submission: Submission) -> JobState:
    """Validate, authorise, check, reserve, record and queue: the job as queued."""
    try:
        state = await accept(services, submission)
        return await run_in_threadpool(_record_and_queue, services, state)
    except (APIError, quotas.QuotaExceeded) as exc:
        if submission.request_doc_id is not None:
            await run_in_threadpool(record_refusal, services, submission.request_doc_id, exc)
        raise


async def accept(services: Services, submission: Submission) -> JobState:
    """Steps 1–3: the job a valid, authorised request asks for, not yet recorded anywhere."""
    kind, requester = submission.kind, submission.requester
    request: ExportRequest = validate_body(submission.request_body(), kind.request)
    reader, request.projectId = await _authorise(services, requester, request.projectId)
    params = await run_in_threadpool(_params_of, kind, reader, services.settings, request)
    return JobState(
        job_id=new_job_id(),
        type=kind.export_type,
        project_id=request.projectId,
        params=params,
        request_doc_id=submission.request_doc_id,
        requested_by=requester.user_id,
        source=requester.source,
    )


async def _authorise(
    services: Services, requester: Requester, project_id: int | str
) -> tuple[PayloadClient, int | str]:
    """Refuse unless the person may read the project: the client to read it as them, and
    the project's id as Payload spells it (`"17"` is 17 where ids are numbers)."""
    if requester.caller is not None:
        assert services.auth is not None, "a web process authenticates callers"
        canonical = await services.auth.require_project(requester.caller, project_id)
        return services.cms.as_caller(requester.caller.authorization), canonical
    canonical = await run_in_threadpool(_require_project_exists, services, project_id)
    return services.cms, canonical


def _require_project_exists(services: Services, project_id: int | str) -> int | str:
    projects = services.settings.collections.projects
    try:
        doc = services.cms.get(projects, project_id, depth=0)
    except CMSNotFound as exc:
        raise APIError(
            404,
            "project_not_found",
            f"project {project_id} was not found in Payload's {projects} "
            "(or PAYLOAD_API_KEY may not read it)",
            field="projectId",
        ) from exc
    found = doc.get("id")
    return found if isinstance(found, int | str) else project_id


def _params_of(
    kind: ExportKind, reader: PayloadClient, settings: Settings, request: ExportRequest
) -> dict[str, Any]:
    try:
        return kind.params_for(reader, settings, request)
    except InvalidExportRequest as exc:
        raise APIError(422, "invalid_field", exc.message, field=exc.field) from exc


def _record_and_queue(services: Services, state: JobState) -> JobState:
    """Steps 4–5, blocking: reserve, record in Payload, queue."""
    redis, settings = services.redis, services.settings
    quotas.reserve(redis, settings, state)
    try:
        if state.request_doc_id is None:
            record(services, state)
        queue.submit(redis, settings, state)
    except RedisError as exc:
        _mark_unqueued(services, state, exc)
        raise
    except BaseException:
        quotas.release(redis, state)
        raise
    logger.info(
        "job %s: %s export of project %s queued (export request %s, %s)",
        state.job_id,
        state.type.value,
        state.project_id,
        state.request_doc_id,
        state.source,
    )
    return state


def record(services: Services, state: JobState) -> None:
    """Create the job's `export-requests` document in Payload, the durable record."""
    doc = services.cms.create(services.settings.collections.export_requests, new_doc(state))
    state.request_doc_id = doc.get("id")


def _mark_unqueued(services: Services, state: JobState, exc: RedisError) -> None:
    sentence = f"could not be queued: the job queue (Redis) failed ({exc.__class__.__name__})"
    logger.warning("job %s: %s", state.job_id, sentence)
    if state.request_doc_id is not None:
        mark_failed(
            services.cms,
            services.settings.collections.export_requests,
            state.request_doc_id,
            sentence,
        )


def refusal_sentence(exc: APIError | quotas.QuotaExceeded) -> str:
    """How a refused request reads on its `export-requests` document."""
    if isinstance(exc, APIError) and exc.status in (400, 422):
        return f"the export request is not valid: {exc.message}"
    return f"not started: {exc.message}"


def record_refusal(
    services: Services, doc_id: int | str, exc: APIError | quotas.QuotaExceeded
) -> None:
    """Write why a request was refused onto its `export-requests` document."""
    collection = services.settings.collections.export_requests
    mark_failed(services.cms, collection, doc_id, refusal_sentence(exc))
