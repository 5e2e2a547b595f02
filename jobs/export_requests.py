"""The `export-requests` document in Payload: the durable copy of every job's story.

Maps between a `JobState` and the document's fields (`type`, `project`, `params`,
`status`, `progress`, `stage`, `error`, `result`, `resultUrl`, `jobId`, `startedAt`,
`finishedAt`, `requestedBy`, `source`, `notes` (one sentence a line), and `reused`,
`fingerprint`, `timings`).
"""

from __future__ import annotations

import logging
from typing import Any

from cms_client import CMSError, PayloadClient
from jobs.state import ExportType, JobState, JobStatus, utcnow

logger = logging.getLogger(__name__)

STATUS_FIELDS = (
    "status",
    "progress",
    "stage",
    "error",
    "result",
    "resultUrl",
    "jobId",
    "startedAt",
    "finishedAt",
    "reused",
    "fingerprint",
    "timings",
    "notes",
)


def new_doc(state: JobState) -> dict[str, Any]:
    """The body that creates the document for a REST or MCP submission."""
    doc: dict[str, Any] = {
        "type": state.type.value,
        "project": state.project_id,
        "params": state.params,
        "status": state.status.value,
        "progress": state.progress,
        "stage": state.stage,
        "jobId": state.job_id,
        "source": state.source,
    }
    if state.requested_by is not None:
        doc["requestedBy"] = state.requested_by
    return doc


def status_fields(state: JobState) -> dict[str, Any]:
    """The fields the worker keeps current on the document."""
    return {
        "status": state.status.value,
        "progress": state.progress,
        "stage": state.stage,
        "error": state.error,
        "result": state.result_media_id,
        "resultUrl": state.result_url,
        "jobId": state.job_id,
        "startedAt": state.started_at,
        "finishedAt": state.finished_at,
        "reused": state.reused,
        "fingerprint": state.fingerprint,
        "timings": state.timings,
        "notes": "\n".join(state.notes) or None,
    }


def state_from_doc(doc: dict[str, Any]) -> JobState:
    """Rebuild a job's state from its document, once Redis has let it expire."""
    result = doc.get("result")
    project = doc.get("project")
    return JobState(
        job_id=str(doc.get("jobId") or ""),
        type=ExportType(doc.get("type") or ExportType.PROJECT_PDF.value),
        project_id=_id_of(project) or "",
        params=doc.get("params") or {},
        status=JobStatus(doc.get("status") or JobStatus.QUEUED.value),
        progress=int(doc.get("progress") or 0),
        stage=str(doc.get("stage") or ""),
        result_media_id=_id_of(result),
        result_url=doc.get("resultUrl")
        or (result.get("url") if isinstance(result, dict) else None),
        error=doc.get("error"),
        request_doc_id=doc.get("id"),
        requested_by=_id_of(doc.get("requestedBy")),
        source=str(doc.get("source") or "admin"),
        created_at=str(doc.get("createdAt") or utcnow()),
        started_at=doc.get("startedAt"),
        finished_at=doc.get("finishedAt"),
        reused=bool(doc.get("reused")),
        fingerprint=doc.get("fingerprint"),
        timings=_timings_of(doc.get("timings")),
        notes=_notes_of(doc.get("notes")),
    )


def _timings_of(value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        return {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, int | float)}


def _notes_of(value: Any) -> list[str]:
    """The document keeps notes as text, one sentence a line (readable in the admin)."""
    return [line for line in value.splitlines() if line.strip()] if isinstance(value, str) else []


def _id_of(value: Any) -> int | str | None:
    """A relationship is an id at depth 0 and a populated object deeper."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, int | str) else None


def mark_failed(cms: PayloadClient, collection: str, doc_id: int | str, sentence: str) -> bool:
    """Fail a document that never got a job (refused or not queued); False if Payload erred."""
    try:
        cms.update(
            collection,
            doc_id,
            {
                "status": JobStatus.FAILED.value,
                "error": sentence,
                "finishedAt": utcnow(),
            },
        )
    except CMSError:
        logger.exception("could not mark export request %s failed (%s)", doc_id, sentence)
        return False
    return True
