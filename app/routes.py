"""The REST API: submit exports, read jobs, check health."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.auth import Authenticator
from app.errors import APIError
from app.events import events_path
from app.job_lookup import lookup_job
from app.schemas import (
    PdfExportRequest,
    VideoExportRequest,
    ZipExportRequest,
    parse_json_body,
)
from app.submissions import Services, submit_export
from app.video import check_video_request
from cms_client import CMSError, PayloadClient
from jobs.cancel import CannotCancel, request_cancel
from jobs.state import ExportType, JobState

HEALTH_TIMEOUT_S = (2.0, 3.0)


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def authenticator_of(request: Request) -> Authenticator:
    auth: Authenticator = request.app.state.auth
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


async def _submit(request: Request, export_type: ExportType, model: type[BaseModel]) -> Response:
    caller = await authenticator_of(request).caller(request)
    body = parse_json_body(await read_body(request), model)
    params = body.model_dump(exclude={"projectId"}, exclude_none=True)
    project_id: int | str = body.projectId  # type: ignore[attr-defined]
    project_id = await authenticator_of(request).require_project(caller, project_id)
    state = await submit_export(services_of(request), caller, export_type, project_id, params)
    return accepted(request, state)


def accepted(request: Request, state: JobState) -> JSONResponse:
    """202 with the job's id, where to read it and where to watch it."""
    body = {**accepted_body(state), "eventsUrl": events_url(request, state.job_id)}
    return JSONResponse(body, status_code=202, headers={"Location": f"/jobs/{state.job_id}"})


def events_url(request: Request, job_id: str) -> str:
    """The WebSocket URL, with a short-lived ticket, for watching this job live."""
    return websocket_origin(request) + events_path(job_id, request.app.state.ticket_key)


def websocket_origin(request: Request) -> str:
    """`ws://host` or `wss://host`, as the request reached us."""
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request.url.netloc}"


def accepted_body(state: JobState) -> dict[str, Any]:
    return {
        "jobId": state.job_id,
        "status": state.status.value,
        "exportRequestId": state.request_doc_id,
        "statusUrl": f"/jobs/{state.job_id}",
    }


async def export_project_pdf(request: Request) -> Response:
    return await _submit(request, ExportType.PROJECT_PDF, PdfExportRequest)


async def export_project_zip(request: Request) -> Response:
    return await _submit(request, ExportType.PROJECT_ZIP, ZipExportRequest)


async def export_video(request: Request) -> Response:
    caller = await authenticator_of(request).caller(request)
    body = parse_json_body(await read_body(request), VideoExportRequest)
    body.projectId = await authenticator_of(request).require_project(caller, body.projectId)
    services = services_of(request)
    params = await run_in_threadpool(
        check_video_request, services.cms.as_caller(caller.authorization), services.settings, body
    )
    state = await submit_export(services, caller, ExportType.VIDEO, body.projectId, params)
    return accepted(request, state)


async def get_job(request: Request) -> Response:
    caller = await authenticator_of(request).caller(request)
    job_id = request.path_params["job_id"]
    state = await lookup_job(services_of(request), job_id)
    await authenticator_of(request).require_project(caller, state.project_id)
    return JSONResponse({**state.public(), "eventsUrl": events_url(request, state.job_id)})


async def cancel_job(request: Request) -> Response:
    """Stop a job: a queued one never starts, a running one stops at its next checkpoint."""
    caller = await authenticator_of(request).caller(request)
    services = services_of(request)
    state = await lookup_job(services, request.path_params["job_id"])
    await authenticator_of(request).require_project(caller, state.project_id)
    try:
        state = await run_in_threadpool(
            request_cancel, services.runtime, state, by=caller.display_name
        )
    except CannotCancel as exc:
        raise APIError(409, "job_finished", f"{exc}; there is nothing to cancel") from exc
    return JSONResponse(state.public(), status_code=202)


async def health(request: Request) -> Response:
    services = services_of(request)
    checks = await run_in_threadpool(_check_dependencies, services)
    ok = all(check["ok"] for check in checks.values())
    return JSONResponse({"ok": ok, "checks": checks}, status_code=200 if ok else 503)


def _check_dependencies(services: Services) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        services.redis.ping()
        checks["redis"] = {"ok": True}
    except Exception as exc:
        checks["redis"] = {"ok": False, "error": f"Redis did not answer: {exc.__class__.__name__}"}
    probe = PayloadClient(
        services.cms.base_url,
        authorization=services.settings.service_authorization,
        timeout=HEALTH_TIMEOUT_S,
        session=services.cms.session,
    )
    try:
        user = probe.me(services.settings.payload_auth_collection)
        checks["payload"] = (
            {"ok": user is not None}
            if user is not None
            else {"ok": False, "error": "Payload does not accept PAYLOAD_API_KEY"}
        )
    except CMSError as exc:
        checks["payload"] = {"ok": False, "error": str(exc)}
    return checks


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/exports/project-pdf", export_project_pdf, methods=["POST"]),
    Route("/exports/project-zip", export_project_zip, methods=["POST"]),
    Route("/exports/video", export_video, methods=["POST"]),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
]
