"""app.auth through the routes: who may export, and how long an answer is trusted."""

from __future__ import annotations

from dataclasses import replace

from starlette.testclient import TestClient

from app.main import create_app
from tests.conftest import EDITOR
from tests.payload_stub import EDITOR_KEY


def submit(client: TestClient) -> int:
    response = client.post(
        "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
    )
    return response.status_code


def test_revoked_access_stops_exports_once_the_cache_ttl_is_over(settings, redis, payload):
    with TestClient(create_app(replace(settings, auth_cache_ttl_s=0), redis=redis)) as client:
        assert submit(client) == 202
        payload.collections["projects"][17]["editors"] = []  # access revoked in Payload
        assert submit(client) == 404


def test_approvals_are_reused_within_the_ttl(settings, redis, payload):
    with TestClient(create_app(replace(settings, auth_cache_ttl_s=60), redis=redis)) as client:
        assert submit(client) == 202
        del payload.users[EDITOR_KEY]
        assert submit(client) == 202


def test_refusals_are_never_cached(settings, redis, payload):
    with TestClient(create_app(replace(settings, auth_cache_ttl_s=60), redis=redis)) as client:
        editors = payload.collections["projects"][17]["editors"]
        payload.collections["projects"][17]["editors"] = []
        assert submit(client) == 404
        payload.collections["projects"][17]["editors"] = editors  # access granted
        assert submit(client) == 202


def submit_raw(client: TestClient, project_id: object) -> tuple[int, dict]:
    response = client.post(
        "/exports/project-pdf", json={"projectId": project_id}, headers={"Authorization": EDITOR}
    )
    return response.status_code, response.json()


def test_an_id_payloads_database_cannot_look_up_is_the_callers_error(client, payload):
    payload.numeric_ids = True  # like SQLite or Postgres: "abc" makes Payload answer 500
    status, body = submit_raw(client, "abc")
    assert status == 404, body
    assert body["error"]["code"] == "project_not_found" and body["error"]["field"] == "projectId"
    assert "unavailable" not in body["error"]["message"]


def test_a_numeric_string_is_that_number_where_payloads_ids_are_numbers(client, payload):
    payload.numeric_ids = True  # Payload refuses a relationship to "17" (400)
    status, body = submit_raw(client, "17")
    assert status == 202, body
    (request,) = payload.docs("export-requests")
    assert request["project"] == 17


def test_payload_really_down_is_still_unavailable(client, payload):
    payload.down = True
    status, body = submit_raw(client, "abc")
    assert status == 503 and body["error"]["code"] == "payload_unavailable"
