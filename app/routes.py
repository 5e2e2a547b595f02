"""The REST API: submit exports, read jobs, check health."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.errors import APIError
from app.job_lookup import lookup_job
from app.schemas import read_json_object
from app.submissions import Requester, Services, Submission, submit
from app.web import accepted, authenticator_of, events_url, read_body, services_of
from cms_client import CMSError, PayloadClient
from jobs.cancel import CannotCancel, request_cancel
from jobs.kinds import kind_of
from jobs.state import ExportType

HEALTH_TIMEOUT_S = (2.0, 3.0)


async def _submit(request: Request, export_type: ExportType) -> Response:
    caller = await authenticator_of(request).caller(request)
    body = read_json_object(await read_body(request))
    submission = Submission(
        kind_of(export_type), body, Requester.with_credentials(caller, source="rest")
    )
    state = await submit(services_of(request), submission)
    return accepted(request, state)


async def export_project_pdf(request: Request) -> Response:
    return await _submit(request, ExportType.PROJECT_PDF)


async def export_project_zip(request: Request) -> Response:
    return await _submit(request, ExportType.PROJECT_ZIP)


async def export_video(request: Request) -> Response:
    return await _submit(request, ExportType.VIDEO)


async def get_job(request: Request) -> Response:
    caller = await authenticator_of(request).caller(request)
    job_id = request.path_params["job_id"]
    state = await lookup_job(services_of(request), job_id)
    await authenticator_of(request).require_project(caller, state.project_id)
    return JSONResponse(state.public(events_url=events_url(request, state.job_id)))


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
