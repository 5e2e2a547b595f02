"""What the web routes share: their services, the body reader, the 202 answer, socket URLs."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from app.auth import Authenticator
from app.errors import APIError
from app.events import events_path
from app.submissions import Services
from jobs.state import JobState


def services_of(conn: HTTPConnection) -> Services:
    services: Services = conn.app.state.services
    return services


def authenticator_of(conn: HTTPConnection) -> Authenticator:
    auth: Authenticator = conn.app.state.auth
    return auth


async def read_body(request: Request) -> bytes:
    """The raw body, refused with 413 past EXPORT_MAX_BODY_BYTES without reading it all."""
    limit = services_of(request).settings.limits.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> APIError:
    return APIError(
        413,
        "payload_too_large",
        f"the request body is over {limit:,} bytes (EXPORT_MAX_BODY_BYTES)",
    )


def accepted(request: Request, state: JobState) -> JSONResponse:
    """202 with the job's id, where to read it and where to watch it."""
    body = {**accepted_body(state), "eventsUrl": events_url(request, state.job_id)}
    return JSONResponse(body, status_code=202, headers={"Location": f"/jobs/{state.job_id}"})


def accepted_body(state: JobState) -> dict[str, Any]:
    return {
        "jobId": state.job_id,
        "status": state.status.value,
        "exportRequestId": state.request_doc_id,
        "statusUrl": f"/jobs/{state.job_id}",
    }


def events_url(conn: HTTPConnection, job_id: str) -> str:
    """The WebSocket URL, with a short-lived ticket, for watching this job live."""
    return websocket_origin(conn) + events_path(job_id, conn.app.state.ticket_key)


def websocket_origin(conn: HTTPConnection) -> str:
    """`ws://host` or `wss://host`, as the request reached us."""
    scheme = "wss" if conn.url.scheme == "https" else "ws"
    return f"{scheme}://{conn.url.netloc}"
