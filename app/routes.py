"""The REST API: submit exports, read jobs, check health."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.auth import Authenticator
from app.errors import APIError
from app.schemas import (
    PdfExportRequest,
    VideoExportRequest,
    ZipExportRequest,
    parse_json_body,
)
from app.submissions import Services, submit_export
from cms_client import CMSError, PayloadClient
from jobs.export_requests import state_from_doc
from jobs.state import ExportType, JobState, JobStore

JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
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
    return APIError(413, "payload_too_large",
                    f"the request body is over {limit:,} bytes (EXPORT_MAX_BODY_BYTES)")


async def _submit(
    request: Request, export_type: ExportType, model: type[BaseModel]
) -> Response:
    caller = await authenticator_of(request).caller(request)
    body = parse_json_body(await read_body(request), model)
    params = body.model_dump(exclude={"projectId"}, exclude_none=True)
    project_id: int | str = body.projectId  # type: ignore[attr-defined]
    await authenticator_of(request).require_project(caller, project_id)
    state = await submit_export(services_of(request), caller, export_type, project_id, params)
    return JSONResponse(
        accepted_body(state), status_code=202, headers={"Location": f"/jobs/{state.job_id}"}
    )


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
    parse_json_body(await read_body(request), VideoExportRequest)
    raise APIError(
        501, "not_available",
        f"video exports are not available on this deployment yet ({caller.label}); "
        "PDF and ZIP exports are",
    )


async def get_job(request: Request) -> Response:
    caller = await authenticator_of(request).caller(request)
    job_id = request.path_params["job_id"]
    state = await run_in_threadpool(find_job, services_of(request), job_id)
    await authenticator_of(request).require_project(caller, state.project_id)
    return JSONResponse(state.public())


def find_job(services: Services, job_id: str) -> JobState:
    """The job's live state from Redis, or its durable copy from Payload."""
    if not JOB_ID.match(job_id):
        raise _job_not_found(job_id)
    state = JobStore(services.redis, ttl_s=services.settings.job_ttl_s).get(job_id)
    if state is not None:
        return state
    page = services.cms.find(
        services.settings.collections.export_requests,
        where={"jobId": {"equals": job_id}}, limit=1, depth=0,
    )
    docs = page.get("docs") or []
    if not docs:
        raise _job_not_found(job_id)
    return state_from_doc(docs[0])


def _job_not_found(job_id: str) -> APIError:
    return APIError(404, "job_not_found", f"no export job has the id {job_id!r}")


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
        services.cms.base_url, authorization=services.settings.service_authorization,
        timeout=HEALTH_TIMEOUT_S, session=services.cms.session,
    )
    try:
        user = probe.me(services.settings.payload_auth_collection)
        checks["payload"] = {"ok": user is not None} if user is not None else {
            "ok": False, "error": "Payload does not accept PAYLOAD_API_KEY"}
    except CMSError as exc:
        checks["payload"] = {"ok": False, "error": str(exc)}
    return checks


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/exports/project-pdf", export_project_pdf, methods=["POST"]),
    Route("/exports/project-zip", export_project_zip, methods=["POST"]),
    Route("/exports/video", export_video, methods=["POST"]),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
]
