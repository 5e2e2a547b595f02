"""Webhooks from the Payload plugin: signed, queued once, echoes and noise ignored."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.datastructures import Secret
from starlette.testclient import TestClient

from app.errors import APIError
from app.main import create_app
from app.webhooks import sign, verify_signature
from tests.conftest import WEBHOOK_SECRET, run_jobs
from tests.payload_stub import PayloadStub

EDITOR_USER = {"id": 2, "collection": "users", "email": "editor@example.com"}
SERVICE_USER = {"id": 1, "collection": "users", "email": "export-service@example.com"}


def admin_request(payload: PayloadStub, **fields: Any) -> dict[str, Any]:
    """An export request as an editor creates it in the admin (the plugin's defaults)."""
    return payload.add(
        "export-requests",
        {
            "type": "project-pdf",
            "project": 17,
            "params": {},
            "status": "queued",
            "progress": 0,
            "jobId": None,
            "requestedBy": 2,
            "source": "admin",
            **fields,
        },
    )


def delivery(
    doc: dict[str, Any],
    *,
    operation: str = "create",
    user=EDITOR_USER,
    previous: dict[str, Any] | None = None,
    event="export-requests.afterChange",
):
    return {
        "event": event,
        "collection": "export-requests",
        "operation": operation,
        "user": user,
        "changedFields": [],
        "doc": doc,
        "previousDoc": previous or {},
    }


def post(
    client: TestClient,
    body: Any,
    *,
    secret: str = WEBHOOK_SECRET,
    age_s: int = 0,
    signature: str | None = None,
):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = signature or sign(secret, raw, int(time.time()) - age_s)
    return client.post(
        "/webhooks/payload",
        content=raw,
        headers={"X-Export-Signature": header, "Content-Type": "application/json"},
    )


def test_an_admin_request_is_queued_run_and_written_back(client, payload, worker):
    doc = admin_request(payload)
    response = post(client, delivery(doc))
    assert response.status_code == 202
    assert response.json()["queued"] is True
    run_jobs(worker)
    assert doc["status"] == "succeeded", doc["error"]
    assert doc["jobId"] == response.json()["jobId"]
    assert payload.collections["media"][doc["result"]]["exportRequest"] == doc["id"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"signature": "nonsense"}, "missing or malformed"),
        ({"signature": "t=1,v1=abc"}, "missing or malformed"),
        ({"secret": "another-secret-entirely"}, "does not match"),
        ({"age_s": 301}, "more than 300 s"),
        ({"age_s": -310}, "more than 300 s"),
    ],
)
def test_forged_and_stale_signatures_are_refused(client, payload, redis, kwargs, fragment):
    response = post(client, delivery(admin_request(payload)), **kwargs)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert fragment in response.json()["error"]["message"]
    assert redis.keys("rq:job:*") == []


SIGNATURE_VECTORS = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "webhook-signatures.json").read_text()
)["vectors"]


@pytest.mark.parametrize("vector", SIGNATURE_VECTORS, ids=lambda v: v["secret"])
def test_signatures_match_the_known_answers_the_plugin_is_tested_against(vector):
    body = vector["body"].encode()
    assert sign(vector["secret"], body, vector["t"]) == vector["header"]
    later = vector["t"] + 10
    secrets = ("some-other-secret-000", vector["secret"])
    verify_signature(vector["header"], body, secrets, now=later)
    with pytest.raises(APIError, match="does not match"):
        verify_signature(vector["header"], body + b" ", secrets, now=later)


def test_a_missing_signature_is_refused(client, payload):
    raw = json.dumps(delivery(admin_request(payload))).encode()
    response = client.post("/webhooks/payload", content=raw)
    assert response.status_code == 401


def test_secrets_can_be_rotated(settings, redis, payload):
    rotated = replace(
        settings, webhook_secrets=(Secret("new-secret-000000001"), Secret(WEBHOOK_SECRET))
    )
    with TestClient(create_app(rotated, redis=redis)) as client:
        assert post(client, delivery(admin_request(payload))).json()["queued"] is True
        body = delivery(admin_request(payload))
        assert post(client, body, secret="new-secret-000000001").json()["queued"] is True


def test_a_duplicate_delivery_is_queued_once(client, payload, redis):
    body = delivery(admin_request(payload))
    assert post(client, body).json()["queued"] is True
    again = post(client, body).json()
    assert again == {"queued": False, "reason": "this delivery was already handled"}
    assert len(redis.keys("rq:job:*")) == 1


@pytest.mark.parametrize(
    ("body_changes", "reason"),
    [
        ({"user": SERVICE_USER, "operation": "update"}, "write-back by the export service"),
        ({"operation": "update"}, "does not ask for a run"),
        ({"event": "media.afterChange"}, "not one this service acts on"),
    ],
)
def test_echoes_and_other_events_are_ignored(client, payload, redis, body_changes, reason):
    body = {**delivery(admin_request(payload, status="running")), **body_changes}
    response = post(client, body)
    assert response.status_code == 202
    assert reason in response.json()["reason"]
    assert redis.keys("rq:job:*") == []


def test_the_services_own_submissions_are_not_queued_twice(client, payload, redis):
    doc = admin_request(payload, jobId="abc123", source="rest")
    response = post(client, delivery(doc))
    assert "already queued by the service" in response.json()["reason"]


def test_setting_a_failed_request_back_to_queued_runs_it_again(client, payload, worker, redis):
    doc = admin_request(payload)
    first = post(client, delivery(doc)).json()["jobId"]
    del payload.collections["projects"][17]["title"]  # still renders; just a change
    run_jobs(worker)
    previous = {**doc, "status": "failed", "error": "it broke"}
    doc.update(status="queued", error=None, updatedAt="2026-11-25T11:00:00.000Z")
    rerun = delivery(doc, operation="update", previous=previous)
    second = post(client, rerun).json()
    assert second["queued"] is True and second["jobId"] != first
    assert post(client, rerun).json()["queued"] is False  # the same re-run delivered twice
    run_jobs(worker)
    assert doc["status"] == "succeeded" and doc["jobId"] == second["jobId"]


def test_an_invalid_request_is_marked_failed_with_the_reason(client, payload, redis):
    doc = admin_request(payload, params={"options": {"paperSize": "A0"}})
    response = post(client, delivery(doc))
    assert response.status_code == 202 and response.json()["queued"] is False
    assert doc["status"] == "failed"
    assert doc["error"].startswith("the export request is not valid: options.paperSize")
    assert redis.keys("rq:job:*") == []


def test_malformed_json_is_a_400(client):
    response = post(client, b"{nope")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_without_a_secret_webhooks_are_refused(settings, redis, payload):
    with TestClient(create_app(replace(settings, webhook_secrets=()), redis=redis)) as client:
        response = post(client, delivery(admin_request(payload)))
        assert response.status_code == 503
        assert "EXPORT_WEBHOOK_SECRET" in response.json()["error"]["message"]


# -- tickets for the admin's live progress -------------------------------------------------


def ticket_request(client, job_id, doc_id, **kwargs):
    body = {"jobId": job_id, "exportRequestId": doc_id, "user": EDITOR_USER}
    raw = json.dumps(body).encode()
    header = kwargs.get("signature") or sign(WEBHOOK_SECRET, raw, int(time.time()))
    return client.post(
        "/webhooks/payload/ticket", content=raw, headers={"X-Export-Signature": header}
    )


def test_the_plugin_gets_a_ticket_that_opens_the_jobs_socket(client, payload):
    doc = admin_request(payload)
    job_id = post(client, delivery(doc)).json()["jobId"]
    response = ticket_request(client, job_id, doc["id"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["eventsUrl"] == f"ws://testserver{body['eventsPath']}"
    assert body["expiresAt"] > time.time()
    with client.websocket_connect(body["eventsPath"]) as ws:
        assert ws.receive_json()["jobId"] == job_id


def test_tickets_need_the_signature_and_the_right_export_request(client, payload):
    doc = admin_request(payload)
    job_id = post(client, delivery(doc)).json()["jobId"]
    forged = ticket_request(
        client, job_id, doc["id"], signature=f"t={int(time.time())},v1={'0' * 64}"
    )
    assert forged.status_code == 401
    mismatch = ticket_request(client, job_id, 999)
    assert mismatch.status_code == 409
    assert mismatch.json()["error"]["code"] == "job_mismatch"
    assert ticket_request(client, "nope", doc["id"]).status_code == 404
    assert ticket_request(client, "../x", doc["id"]).status_code == 422
