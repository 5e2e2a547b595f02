"""The live state of an export, kept in Redis, and the vocabulary that describes it.

Redis holds one hash per job (`export:job:<jobId>`) that the web process reads for
`GET /jobs/{id}` and the worker updates as it goes; every update is also published on
`export:events:<jobId>` for live watchers. Payload's `export-requests` document is the
durable copy: once Redis lets a job expire, `GET /jobs/{id}` answers from Payload.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

from pydantic import BaseModel, Field
from redis import Redis

KEY_PREFIX = "export:job:"
EVENTS_PREFIX = "export:events:"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def can_rerun(self) -> bool:
        """A person may set a request in this status back to `queued` to run it again."""
        return self in (JobStatus.FAILED, JobStatus.CANCELLED)


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class ExportType(StrEnum):
    PROJECT_PDF = "project-pdf"
    PROJECT_ZIP = "project-zip"
    VIDEO = "video"


class Job(BaseModel):
    """A job's public shape: `GET /jobs/{id}`, the OpenAPI `Job` schema, MCP's output schema."""

    jobId: str
    type: ExportType
    projectId: int | str
    status: JobStatus
    progress: int = Field(ge=0, le=100, description="percent, 0 to 100")
    stage: str = Field(description="what the job is doing, in a few words")
    resultMediaId: int | str | None = Field(
        None, description="the Payload Media document holding the exported file"
    )
    resultUrl: str | None = Field(None, description="where to download that file")
    error: str | None = Field(
        None, description="why the job failed or who cancelled it, in a sentence"
    )
    exportRequestId: int | str | None = Field(
        None, description="the export-requests document in Payload recording this job"
    )
    createdAt: str
    startedAt: str | None = None
    finishedAt: str | None = None
    reused: bool = Field(
        False, description="true: an identical earlier result was reused, nothing rendered"
    )
    timings: dict[str, float] = Field(
        default_factory=dict, description="milliseconds spent in each stage so far"
    )
    notes: list[str] = Field(
        default_factory=list,
        description="what the requester should know about the result that is not an error, "
        "in sentences (e.g. an option the project could not honour); kept to the end",
    )
    eventsUrl: str | None = Field(
        None,
        description="a WebSocket URL streaming the job's changes, with a short-lived ticket",
    )


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class JobState:
    """One export, as `GET /jobs/{id}` shows it (plus what the worker needs to run it)."""

    job_id: str
    type: ExportType
    project_id: int | str
    params: dict[str, Any] = field(default_factory=dict)
    status: JobStatus = JobStatus.QUEUED
    progress: int = 0
    stage: str = "queued"
    result_media_id: int | str | None = None
    result_url: str | None = None
    error: str | None = None
    request_doc_id: int | str | None = None
    requested_by: int | str | None = None
    source: str = "rest"
    created_at: str = field(default_factory=utcnow)
    started_at: str | None = None
    finished_at: str | None = None
    # No work done twice (jobs/reuse.py) and every second accounted for (jobs/timings.py).
    reused: bool = False
    fingerprint: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def public(self, *, events_url: str | None = None) -> dict[str, Any]:
        """The JSON shape of `GET /jobs/{id}` (`Job`); `eventsUrl` only when given."""
        job = Job.model_construct(
            jobId=self.job_id,
            type=self.type,
            projectId=self.project_id,
            status=self.status,
            progress=self.progress,
            stage=self.stage,
            resultMediaId=self.result_media_id,
            resultUrl=self.result_url,
            error=self.error,
            exportRequestId=self.request_doc_id,
            createdAt=self.created_at,
            startedAt=self.started_at,
            finishedAt=self.finished_at,
            reused=self.reused,
            timings=self.timings,
            notes=self.notes,
            eventsUrl=events_url,
        )
        return job.model_dump(mode="json", exclude_none=False, exclude=_no_events(events_url))

    def to_redis(self) -> dict[str, str]:
        raw = asdict(self)
        raw["type"] = self.type.value
        raw["status"] = self.status.value
        return {name: json.dumps(value) for name, value in raw.items()}

    @classmethod
    def from_redis(cls, raw: dict[bytes, bytes]) -> JobState:
        known = {f.name for f in fields(cls)}
        values = {k.decode(): json.loads(v) for k, v in raw.items() if k.decode() in known}
        values["type"] = ExportType(values["type"])
        values["status"] = JobStatus(values["status"])
        return cls(**values)


class JobStore:
    """Job states in Redis; each write refreshes the TTL and publishes the new state."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    def create(self, state: JobState) -> None:
        key = KEY_PREFIX + state.job_id
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=state.to_redis())  # type: ignore[arg-type]
            pipe.expire(key, self.ttl_s)
            pipe.execute()

    def get(self, job_id: str) -> JobState | None:
        raw = self.redis.hgetall(KEY_PREFIX + job_id)
        return JobState.from_redis(raw) if raw else None  # type: ignore[arg-type]

    def delete(self, job_id: str) -> None:
        self.redis.delete(KEY_PREFIX + job_id)

    def update(self, job_id: str, **changes: Any) -> JobState:
        """Apply `changes` (JobState field names) and publish the result.

        Raises `JobExpired` when Redis no longer holds the job: an update never writes a
        partial record in place of an expired one.
        """
        key = KEY_PREFIX + job_id
        encoded = [
            item
            for name, value in changes.items()
            for item in (name, json.dumps(value.value if isinstance(value, Enum) else value))
        ]
        raw = self.redis.eval(_UPDATE_IF_PRESENT, 1, key, self.ttl_s, *encoded)
        if not raw:
            raise JobExpired(job_id)
        state = JobState.from_redis(dict(zip(raw[::2], raw[1::2], strict=True)))
        self._publish(state)
        return state

    def restore(self, state: JobState) -> JobState:
        """Write a job's whole state again (Redis let it expire while it waited or ran)."""
        self.create(state)
        self._publish(state)
        return state

    def _publish(self, state: JobState) -> None:
        self.redis.publish(EVENTS_PREFIX + state.job_id, json.dumps(event_of(state)))


class JobExpired(LookupError):
    """Redis no longer holds this job's state (EXPORT_JOB_TTL_S passed since its last change)."""


# KEYS: the job's hash; ARGV: ttl, then field, value, field, value …
_UPDATE_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return redis.call('HGETALL', KEYS[1])
"""


def _no_events(events_url: str | None) -> set[str]:
    return {"eventsUrl"} if events_url is None else set()


def event_of(state: JobState) -> dict[str, Any]:
    """The message live watchers receive for a state change."""
    return {
        "jobId": state.job_id,
        "status": state.status.value,
        "progress": state.progress,
        "stage": state.stage,
        "error": state.error,
        "resultMediaId": state.result_media_id,
        "at": utcnow(),
    }
