"""app.errors through the routes: answers say what to do, never where things live."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from starlette.testclient import TestClient

from app.main import create_app
from jobs import runtime
from tests.conftest import EDITOR, run_jobs
from tests.payload_stub import BASE_URL

INTERNAL_HOST = BASE_URL.split("://", 1)[1]


def submit(client: TestClient, kind: str, body: dict[str, object]):
    return client.post(f"/exports/{kind}", json=body, headers={"Authorization": EDITOR})


def test_payload_down_answers_never_name_the_internal_payload_url(client, payload):
    payload.down = True
    health = client.get("/health")
    refused = submit(client, "project-pdf", {"projectId": 17})
    assert health.status_code == 503 and refused.status_code == 503
    for response in (health, refused):
        assert INTERNAL_HOST not in response.text, response.text
    assert "try again" in refused.json()["error"]["message"]


def test_a_missing_template_names_the_setting_not_the_servers_folders(
    settings, redis, payload, worker, tmp_path: Path
):
    templates = tmp_path / "site-templates"
    templates.mkdir()
    settings = replace(settings, templates_dir=templates)
    runtime.install(runtime.build(settings, redis))
    with TestClient(create_app(settings, redis=redis)) as client:
        body = {"projectId": 17, "options": {"template": "gala"}}
        job_id = submit(client, "project-pdf", body).json()["jobId"]
        run_jobs(worker)
        error = client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR}).json()["error"]
    assert "template 'gala' not found" in error and "EXPORT_TEMPLATES_DIR" in error
    assert str(templates) not in error and "/templates/" not in error


def test_a_refused_media_url_never_repeats_its_password(client, payload, worker):
    cover = payload.collections["media"][payload.collections["projects"][17]["coverImage"]]
    cover["url"] = "https://svc:hunter2-password@cdn.elsewhere.test/cover.png"
    job_id = submit(client, "project-zip", {"projectId": 17, "includeMedia": True}).json()["jobId"]
    run_jobs(worker)
    state = client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR}).json()
    assert state["status"] == "failed" and "refused to fetch" in state["error"]
    assert "hunter2" not in state["error"] and "svc:" not in state["error"], state["error"]


def nested_lists(levels: int) -> dict[str, object]:
    node: dict[str, object] = {"type": "text", "text": "bottom", "version": 1}
    for _ in range(levels):
        item = {"type": "listitem", "children": [node], "version": 1}
        node = {"type": "list", "listType": "bullet", "children": [item], "version": 1}
    return {"root": {"type": "root", "children": [node], "version": 1}}


def test_a_project_too_deep_to_read_is_a_422_naming_the_field_and_the_limit(client, payload):
    payload.collections["projects"][17]["summary"] = nested_lists(2000)
    response = submit(client, "project-pdf", {"projectId": 17})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "document_too_deep" and error["field"] == "projectId"
    assert "field 'summary'" in error["message"] and "200 levels" in error["message"]
    assert payload.docs("export-requests") == []


def test_a_script_too_deep_to_read_fails_the_job_with_a_sentence(client, payload, worker):
    script = payload.docs("scripts")[0]
    script["body"] = nested_lists(2000)
    job_id = submit(client, "project-pdf", {"projectId": 17}).json()["jobId"]
    run_jobs(worker)
    state = client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR}).json()
    assert state["status"] == "failed"
    assert "field 'body'" in state["error"] and "200 levels" in state["error"]
    assert "nothing was uploaded" in state["error"] and "internal error" not in state["error"]


def test_lists_nested_within_the_limit_still_export(client, payload, worker):
    payload.collections["projects"][17]["summary"] = nested_lists(45)  # 180 JSON levels
    job_id = submit(client, "project-pdf", {"projectId": 17}).json()["jobId"]
    run_jobs(worker)
    state = client.get(f"/jobs/{job_id}", headers={"Authorization": EDITOR}).json()
    assert state["status"] == "succeeded", state["error"]
