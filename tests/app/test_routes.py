"""The REST API, as the README shows it: submit, run on a real worker, read the job."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from app.main import connect_redis, create_app
from app.settings import Settings
from jobs.state import JobStore
from tests.conftest import EDITOR, GUEST, OUTSIDER, leftovers, queued_jobs, run_jobs
from tests.payload_stub import PayloadStub


def submit(client: TestClient, kind: str, body: dict[str, object], auth: str = EDITOR):
    return client.post(f"/exports/{kind}", json=body, headers={"Authorization": auth})


def job(client: TestClient, job_id: str, auth: str = EDITOR) -> dict[str, object]:
    response = client.get(f"/jobs/{job_id}", headers={"Authorization": auth})
    assert response.status_code == 200, response.text
    return response.json()


def request_doc(payload: PayloadStub, job_id: str) -> dict[str, object]:
    [doc] = [d for d in payload.docs("export-requests") if d["jobId"] == job_id]
    return doc


# -- the whole path ----------------------------------------------------------------------


def test_pdf_export_runs_to_a_media_document(client, payload, worker, settings):
    response = submit(client, "project-pdf", {"projectId": 17})
    assert response.status_code == 202
    job_id = response.json()["jobId"]
    assert response.headers["Location"] == f"/jobs/{job_id}"
    assert job(client, job_id)["status"] == "queued"
    doc = request_doc(payload, job_id)
    assert doc["status"] == "queued"
    assert (doc["type"], doc["project"], doc["source"], doc["requestedBy"]) == (
        "project-pdf",
        17,
        "rest",
        2,
    )

    run_jobs(worker)

    state = job(client, job_id)
    assert state["status"] == "succeeded", state["error"]
    assert state["progress"] == 100
    media = payload.collections["media"][state["resultMediaId"]]
    assert media["mimeType"] == "application/pdf"
    assert media["exportOf"] == 17 and media["exportRequest"] == doc["id"]
    assert media["exportType"] == "project-pdf"
    assert payload.files[media["filename"]].startswith(b"%PDF-")
    assert state["resultUrl"] == f"http://payload.test{media['url']}"
    assert doc["status"] == "succeeded" and doc["result"] == media["id"]
    assert doc["startedAt"] and doc["finishedAt"]
    statuses = [u.get("status") for doc_id, u in payload.updates if doc_id == doc["id"]]
    assert statuses[0] == "running" and statuses[-1] == "succeeded"
    assert leftovers(settings.temp_dir) == []


def test_zip_export_bundles_project_and_scripts_with_a_manifest(client, payload, worker):
    job_id = submit(client, "project-zip", {"projectId": 17}).json()["jobId"]
    run_jobs(worker)

    state = job(client, job_id)
    assert state["status"] == "succeeded", state["error"]
    media = payload.collections["media"][state["resultMediaId"]]
    archive = zipfile.ZipFile(io.BytesIO(payload.files[media["filename"]]))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["projectId"] == 17
    paths = [entry["path"] for entry in manifest["files"]]
    assert "project.json" in paths
    assert sum(p.startswith("scripts/") and p.endswith(".md") for p in paths) == 3
    assert sum(p.startswith("scripts/") and p.endswith(".json") for p in paths) == 3
    for entry in manifest["files"]:
        assert hashlib.sha256(archive.read(entry["path"])).hexdigest() == entry["sha256"]


# -- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({}, 422, "missing_field", "projectId"),
        ({"projectId": 17, "colour": "red"}, 422, "unknown_field", "colour"),
        ({"projectId": "../users/me"}, 422, "invalid_field", "projectId"),
        ({"projectId": True}, 422, "invalid_field", "projectId"),
        ({"projectId": -3}, 422, "invalid_field", "projectId"),
        (
            {"projectId": 17, "options": {"paperSize": "A0"}},
            422,
            "invalid_field",
            "options.paperSize",
        ),
        (
            {"projectId": 17, "options": {"watermark": True}},
            422,
            "unknown_field",
            "options.watermark",
        ),
    ],
)
def test_pdf_bodies_are_validated(client, payload, redis, settings, body, status, code, field):
    response = submit(client, "project-pdf", body)
    assert response.status_code == status
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert field in error["message"]
    assert payload.docs("export-requests") == []
    assert queued_jobs(redis, settings) == []


def test_zip_options_are_validated(client, redis, settings):
    response = submit(client, "project-zip", {"projectId": 17, "includeMedia": "yes"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "includeMedia"
    response = submit(client, "project-zip", {"projectId": 17, "options": {"format": "rar"}})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "options.format"
    assert queued_jobs(redis, settings) == []


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"null"])
def test_malformed_json_is_a_400(client, raw):
    response = client.post(
        "/exports/project-pdf",
        content=raw,
        headers={"Authorization": EDITOR, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_deeply_nested_json_is_refused(client):
    body = '{"projectId": 17, "options": ' + "[" * 200 + "]" * 200 + "}"
    response = client.post("/exports/project-pdf", content=body, headers={"Authorization": EDITOR})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "json_too_deep"


def test_oversized_bodies_are_a_413(client, settings):
    body = json.dumps({"projectId": 17, "pad": "x" * settings.limits.max_body_bytes})
    response = client.post("/exports/project-pdf", content=body, headers={"Authorization": EDITOR})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


# -- authentication and access -----------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "status", "code"),
    [
        (None, 401, "unauthenticated"),
        ("Basic dXNlcjpwYXNz", 401, "unauthenticated"),
        ("users API-Key not-a-real-key", 401, "unauthenticated"),
        (OUTSIDER, 404, "project_not_found"),
        (GUEST, 403, "forbidden"),
    ],
)
def test_callers_need_credentials_payload_accepts_for_the_project(
    client, payload, auth, status, code
):
    headers = {"Authorization": auth} if auth else {}
    response = client.post("/exports/project-pdf", json={"projectId": 17}, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert payload.docs("export-requests") == []


def test_a_job_is_visible_only_to_callers_who_can_read_its_project(client):
    job_id = submit(client, "project-pdf", {"projectId": 17}).json()["jobId"]
    assert client.get(f"/jobs/{job_id}", headers={"Authorization": OUTSIDER}).status_code == 404
    assert client.get(f"/jobs/{job_id}").status_code == 401


def test_unknown_jobs_are_a_404(client):
    response = client.get("/jobs/nope", headers={"Authorization": EDITOR})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"


# -- failures become sentences -----------------------------------------------------------


def test_a_payload_error_during_the_job_is_written_as_a_sentence(client, payload, worker, redis):
    job_id = submit(client, "project-pdf", {"projectId": 17}).json()["jobId"]
    del payload.collections["projects"][17]
    run_jobs(worker)

    state = JobStore(redis, ttl_s=60).get(job_id)
    assert state.status == "failed"
    assert "Payload answered 404 to GET /projects/17: Not Found" in state.error
    assert "nothing was uploaded" in state.error
    assert request_doc(payload, job_id)["error"] == state.error
    assert [d for d in payload.docs("media") if d.get("exportType")] == []


def test_payload_unreachable_on_submit_is_a_503(client, payload, redis, settings):
    client.get("/health")  # nothing cached that would hide the outage
    payload.down = True
    response = submit(client, "project-pdf", {"projectId": 17})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "payload_unavailable"
    assert queued_jobs(redis, settings) == []


def test_redis_down_answers_503_at_once_and_creates_no_document(settings, payload):
    dead = connect_redis(replace(settings, redis_url="unix:///nonexistent/redis.sock"))
    with TestClient(create_app(settings, redis=dead)) as client:
        response = submit(client, "project-pdf", {"projectId": 17})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "redis_unavailable"
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["checks"]["redis"]["ok"] is False
    assert payload.docs("export-requests") == []


def test_jobs_are_read_from_payload_once_redis_has_expired_them(client, payload, worker, redis):
    job_id = submit(client, "project-pdf", {"projectId": 17}).json()["jobId"]
    run_jobs(worker)
    redis.delete(f"export:job:{job_id}")

    state = job(client, job_id)
    assert state["status"] == "succeeded"
    assert state["jobId"] == job_id and state["projectId"] == 17


def test_health_reports_each_dependency(client, payload):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "checks": {"redis": {"ok": True}, "payload": {"ok": True}},
    }
    payload.down = True
    response = client.get("/health")
    assert response.status_code == 503
    assert "did not answer" in response.json()["checks"]["payload"]["error"]


def test_temp_files_are_removed_after_a_failure(client, payload, worker, settings: Settings):
    submit(client, "project-zip", {"projectId": 17})
    payload.down = True
    run_jobs(worker)
    assert list(Path(settings.temp_dir).iterdir()) == []


def test_every_error_is_json(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = client.delete("/health")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


# -- backpressure ------------------------------------------------------------------------


def test_a_full_queue_answers_429_with_retry_after(settings, redis, payload):
    full = replace(settings, limits=replace(settings.limits, max_queue_depth=2))
    with TestClient(create_app(full, redis=redis)) as client:
        assert submit(client, "project-pdf", {"projectId": 17}).status_code == 202
        assert submit(client, "project-zip", {"projectId": 17}).status_code == 202
        response = submit(client, "project-pdf", {"projectId": 17})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert "EXPORT_MAX_QUEUE_DEPTH is 2" in response.json()["error"]["message"]
    assert len(payload.docs("export-requests")) == 2


def test_one_person_has_a_bounded_number_of_unfinished_exports(settings, redis, payload, worker):
    strict = replace(settings, limits=replace(settings.limits, max_active_per_caller=1))
    with TestClient(create_app(strict, redis=redis)) as client:
        assert submit(client, "project-pdf", {"projectId": 17}).status_code == 202
        busy = submit(client, "project-pdf", {"projectId": 17})
        assert busy.status_code == 429
        assert busy.json()["error"]["code"] == "too_many_exports"
        assert "EXPORT_MAX_ACTIVE_PER_CALLER is 1" in busy.json()["error"]["message"]
        run_jobs(worker)  # the first one finishes, so there is room again
        assert submit(client, "project-pdf", {"projectId": 17}).status_code == 202


def test_images_uploaded_inside_rich_text_are_fetched_for_the_brief(client, payload, worker):
    from tests.payload_stub import png_bytes

    inline = payload.add_media_file(
        "inline.png", png_bytes(color="red"), "image/png", width=64, height=48
    )
    # Issue #13: rich text embeds only the project's own media (tests/jobs/pdf/test_export.py
    # shows another media item is not fetched), so the inline image is one of the project's.
    payload.collections["projects"][17]["media"].append(inline["id"])
    script = payload.docs("scripts")[0]
    script["body"]["root"]["children"].append(
        {"type": "upload", "relationTo": "media", "value": inline["id"], "version": 1}
    )
    job_id = submit(client, "project-pdf", {"projectId": 17}).json()["jobId"]
    run_jobs(worker)
    assert job(client, job_id)["status"] == "succeeded"
    fetched = [c.request.url for c in payload.mock.calls]
    assert "http://payload.test/api/media/file/inline.png" in fetched
