"""The one door: every entry submits through `app.submissions`, and the same rules hold.

A request never chooses a project it may not read: REST and MCP callers are asked about
as themselves, the webhook's project is the document's own relation, and every body is
validated by the export kind's model. Capacity is reserved atomically.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app.main import create_app
from jobs.state import JobStatus
from tests.app.test_webhooks import admin_request, delivery, post
from tests.conftest import EDITOR, OUTSIDER, run_jobs, waiting_jobs
from tests.payload_stub import PayloadStub

PLUGIN_SRC = Path(__file__).resolve().parents[2] / "payload-plugin" / "src"


def private_project(payload: PayloadStub) -> dict:
    """A project only the outsider (user 3) may read."""
    return payload.add("projects", {"id": 18, "title": "Private", "editors": [3]})


def test_a_webhook_request_whose_params_name_another_project_exports_nothing(
    client, payload, redis, worker
):
    private_project(payload)
    doc = admin_request(payload, params={"projectId": 18})

    answer = post(client, delivery(doc)).json()

    assert answer["queued"] is False
    assert "projectId is not an option of an export request" in answer["reason"]
    assert doc["status"] == "failed"
    assert doc["error"].startswith("the export request is not valid: projectId")
    assert waiting_jobs(redis) == []
    run_jobs(worker)
    assert [m for m in payload.docs("media") if m.get("exportOf") is not None] == []


@pytest.mark.parametrize("sneaky", [{"project": 18}, {"options": {"projectId": 18}}])
def test_no_other_key_in_params_chooses_the_project_either(client, payload, redis, sneaky):
    private_project(payload)
    doc = admin_request(payload, params=sneaky)
    answer = post(client, delivery(doc)).json()
    assert answer["queued"] is False
    assert doc["status"] == "failed" and "not a field" in doc["error"]
    assert waiting_jobs(redis) == []


def test_a_webhook_request_exports_the_documents_own_project(client, payload, worker, redis):
    doc = admin_request(payload, params={"options": {"paperSize": "Letter"}})
    job_id = post(client, delivery(doc)).json()["jobId"]
    run_jobs(worker)
    assert doc["status"] == "succeeded", doc["error"]
    media = payload.collections["media"][doc["result"]]
    assert media["exportOf"] == 17
    assert redis.hget(f"export:job:{job_id}", "project_id") == b"17"


def test_a_rerun_is_requested_by_the_person_who_made_the_change(client, payload, redis):
    doc = admin_request(payload, status="queued", requestedBy=2)
    previous = {**doc, "status": "cancelled"}
    doc["updatedAt"] = "2026-11-25T12:00:00.000Z"
    someone_else = {"id": 9, "collection": "users", "email": "producer@example.com"}
    answer = post(client, delivery(doc, operation="update", previous=previous, user=someone_else))
    assert answer.json()["queued"] is True
    assert redis.hget(f"export:job:{answer.json()['jobId']}", "requested_by") == b"9"


def test_a_rest_body_never_names_a_project_the_caller_cannot_read(client, payload, redis):
    private_project(payload)
    response = client.post(
        "/exports/project-pdf", json={"projectId": 18}, headers={"Authorization": EDITOR}
    )
    assert response.status_code == 404  # Payload hides what the editor may not read
    assert response.json()["error"]["code"] == "project_not_found"
    assert waiting_jobs(redis) == [] and payload.docs("export-requests") == []


def test_an_outsider_gets_nothing_through_rest(client, payload, redis):
    for kind, body in [
        ("project-pdf", {"projectId": 17}),
        ("project-zip", {"projectId": 17}),
        ("video", {"projectId": 17, "preset": "720p-h264"}),
    ]:
        response = client.post(f"/exports/{kind}", json=body, headers={"Authorization": OUTSIDER})
        assert response.status_code == 404, kind
        assert response.json()["error"]["code"] == "project_not_found"
    assert waiting_jobs(redis) == [] and payload.docs("export-requests") == []


def burst(settings, redis, count: int, kind: str, **limits: int) -> list[int]:
    """`count` parallel submissions by the editor under these limits: their status codes."""
    capped = replace(settings, limits=replace(settings.limits, **limits))
    with TestClient(create_app(capped, redis=redis)) as client:

        def submit(_: int) -> int:
            response = client.post(
                f"/exports/{kind}", json={"projectId": 17}, headers={"Authorization": EDITOR}
            )
            return response.status_code

        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(submit, range(count)))


def test_parallel_submissions_cannot_pass_the_per_person_cap(settings, redis, payload):
    codes = burst(settings, redis, 30, "project-pdf", max_active_per_caller=10)
    assert codes.count(202) == 10, codes
    assert codes.count(429) == 20
    assert len(waiting_jobs(redis)) == 10
    assert len(payload.docs("export-requests")) == 10


def test_parallel_submissions_cannot_pass_the_queue_depth(settings, redis, payload):
    codes = burst(settings, redis, 20, "project-zip", max_queue_depth=5)
    assert codes.count(202) == 5, codes
    assert codes.count(429) == 15
    assert len(waiting_jobs(redis)) == 5


def test_a_finished_or_cancelled_export_gives_its_place_back(client, payload, worker, settings):
    capped = replace(settings, limits=replace(settings.limits, max_active_per_caller=1))
    with TestClient(create_app(capped, redis=worker.connection)) as capped_client:

        def submit() -> int:
            response = capped_client.post(
                "/exports/project-pdf", json={"projectId": 17}, headers={"Authorization": EDITOR}
            )
            return response.status_code

        assert submit() == 202
        assert submit() == 429
        run_jobs(worker)  # succeeded: the place is free again
        assert submit() == 202
        [job_id] = [
            key.decode().removeprefix("rq:job:")
            for key in worker.connection.keys("rq:job:*")
            if worker.connection.hget(f"export:job:{key.decode()[7:]}", "status") == b'"queued"'
        ]
        cancel = capped_client.post(f"/jobs/{job_id}/cancel", headers={"Authorization": EDITOR})
        assert cancel.json()["status"] == JobStatus.CANCELLED.value
        assert submit() == 202


def test_the_plugin_knows_the_same_statuses_as_the_service():
    sources = "\n".join(p.read_text() for p in PLUGIN_SRC.rglob("*.ts"))
    match = re.search(r"JOB_STATUSES\s*=\s*\[([^\]]*)\]", sources)
    assert match, "payload-plugin/src declares JOB_STATUSES"
    declared = re.findall(r"'([a-z-]+)'", match.group(1))
    assert declared == [status.value for status in JobStatus]


def test_params_that_are_not_an_object_fail_the_request_with_the_field(client, payload, redis):
    doc = admin_request(payload, params=["projectId", 18])
    answer = post(client, delivery(doc)).json()
    assert answer["queued"] is False
    assert (doc["status"], doc["error"]) == (
        "failed",
        "the export request is not valid: params must be a JSON object",
    )
    assert waiting_jobs(redis) == []
