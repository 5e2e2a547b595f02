"""`/openapi.json` describes every route, and the API keeps to it under fuzzing."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from starlette.routing import Route

from app.main import routes
from tests.conftest import EDITOR

EXAMPLES_PER_OPERATION = 25
UNDESCRIBED = {
    "/openapi.json",
    "/webhooks/payload",
    "/webhooks/payload/ticket",
    "/metrics",
    "/metrics/queues",
}  # not part of the public API


def openapi_path(path: str) -> str:
    return path.replace("{job_id}", "{jobId}")


def test_every_route_is_described_and_nothing_else(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    served = {
        (openapi_path(route.path), method.lower())
        for route in routes
        if isinstance(route, Route)
        and route.path not in UNDESCRIBED
        and not route.path.startswith("/mcp")
        for method in (route.methods or set()) - {"HEAD"}
    }
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served == described


def test_request_schemas_are_the_validating_models(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    pdf = schemas["PdfExportRequest"]
    assert pdf["required"] == ["projectId"]
    assert pdf["additionalProperties"] is False


def test_the_api_keeps_to_its_schema_and_never_answers_5xx(client):
    """schemathesis, driven by hypothesis directly (its pytest plugin predates pytest 9)."""
    api = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(headers={"Authorization": EDITOR})

        check()
