"""The OpenAPI 3.1 description of the REST API, served at `/openapi.json`.

Request bodies come from the same pydantic models that validate them, so the document
cannot drift from what the service accepts; `tests/app/test_openapi.py` checks that every
route is described and fuzzes the API against this document with schemathesis.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.schemas import PdfExportRequest, VideoExportRequest, ZipExportRequest
from jobs.state import ExportType, JobStatus

REF = "#/components/schemas/{model}"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str, **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ref(name)}},
    }
    if headers:
        response["headers"] = {k: {"schema": {"type": v}} for k, v in headers.items()}
    return response


def _errors(*statuses: int) -> dict[str, Any]:
    words = {
        400: "the body is not a JSON object",
        401: "no or bad credentials",
        403: "Payload does not let the caller do this",
        404: "not found",
        409: "the job has already finished",
        413: "the body is too large",
        422: "a field is missing, unknown or invalid",
        429: "a limit was reached; retry later",
        501: "not available on this deployment",
        503: "a dependency (Redis or Payload) is unavailable",
    }
    return {str(s): _json("Error", words[s]) for s in statuses}


def _model_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _submission(kind: str, model: type[BaseModel], summary: str) -> dict[str, Any]:
    return {
        "post": {
            "operationId": f"export_{kind.replace('-', '_')}",
            "summary": summary,
            "security": [{"payload": []}],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(model.__name__)}},
            },
            "responses": {
                "202": _json("Accepted", "queued", Location="string"),
                **_errors(400, 401, 403, 404, 413, 422, 429, 501, 503),
            },
        }
    }


JOB_ID_PARAM = {
    "name": "jobId",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}


@functools.cache
def build_document() -> dict[str, Any]:
    nullable_id = {"type": ["integer", "string", "null"]}
    job = {
        "type": "object",
        "required": ["jobId", "type", "projectId", "status", "progress", "stage"],
        "properties": {
            "jobId": {"type": "string"},
            "type": {"enum": [t.value for t in ExportType]},
            "projectId": {"type": ["integer", "string"]},
            "status": {"enum": [s.value for s in JobStatus]},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "stage": {"type": "string"},
            "resultMediaId": nullable_id,
            "resultUrl": {"type": ["string", "null"]},
            "error": {"type": ["string", "null"]},
            "exportRequestId": nullable_id,
            "createdAt": {"type": "string"},
            "startedAt": {"type": ["string", "null"]},
            "finishedAt": {"type": ["string", "null"]},
            "reused": {"type": "boolean"},
            "timings": {"type": "object", "additionalProperties": {"type": "number"}},
            "eventsUrl": {"type": "string"},
        },
    }
    components = {
        **_model_schemas(PdfExportRequest, ZipExportRequest, VideoExportRequest),
        "Job": job,
        "Accepted": {
            "type": "object",
            "required": ["jobId", "status", "statusUrl"],
            "properties": {
                "jobId": {"type": "string"},
                "status": {"type": "string"},
                "exportRequestId": nullable_id,
                "statusUrl": {"type": "string"},
                "eventsUrl": {"type": "string"},
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                    },
                }
            },
        },
        "Health": {
            "type": "object",
            "required": ["ok", "checks"],
            "properties": {"ok": {"type": "boolean"}, "checks": {"type": "object"}},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "export-service",
            "version": "0.1.0",
            "description": "Exports of Payload projects: PDF briefs, ZIP bundles, videos.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "payload": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "Authorization",
                    "description": "Your Payload credentials: 'users API-Key <key>', "
                    "'JWT <token>' or 'Bearer <token>'",
                }
            },
        },
        "paths": {
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Whether Redis and Payload answer",
                    "responses": {
                        "200": _json("Health", "all dependencies answer"),
                        "503": _json("Health", "a dependency does not answer"),
                    },
                }
            },
            "/exports/project-pdf": _submission(
                "project-pdf", PdfExportRequest, "Queue a PDF brief of a project"
            ),
            "/exports/project-zip": _submission(
                "project-zip", ZipExportRequest, "Queue a ZIP bundle of a project"
            ),
            "/exports/video": _submission(
                "video", VideoExportRequest, "Queue a video export of a project's timeline"
            ),
            "/jobs/{jobId}": {
                "get": {
                    "operationId": "get_job",
                    "summary": "A job's state",
                    "security": [{"payload": []}],
                    "parameters": [JOB_ID_PARAM],
                    "responses": {"200": _json("Job", "the job"), **_errors(401, 403, 404, 503)},
                }
            },
            "/jobs/{jobId}/cancel": {
                "post": {
                    "operationId": "cancel_job",
                    "summary": "Cancel a queued or running job",
                    "security": [{"payload": []}],
                    "parameters": [JOB_ID_PARAM],
                    "responses": {
                        "202": _json("Job", "cancelled, or asked to stop"),
                        **_errors(401, 403, 404, 409, 503),
                    },
                }
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(build_document())
