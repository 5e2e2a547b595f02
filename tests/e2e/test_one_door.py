"""The webhook door on a real Payload: the plugin attests the person, the service the rest.

An export request's `params` never choose its project, and a re-run is a new request by the
person who makes it: refused when they can no longer read the project, however old the
request is.
"""

from __future__ import annotations

import time

import pytest

from tests.e2e.test_payload import create_request, jobs_for, payload, wait_for_outcome

pytestmark = pytest.mark.e2e


def rerun(stack, doc_id: int):
    """The editor sets a request back to queued, as the admin's Re-run button does."""
    body = {"status": "queued", "params": {}}
    return payload(stack, "PATCH", f"/export-requests/{doc_id}", "editor", json=body)


def exports_of(stack, project_id: int) -> list[dict]:
    found = payload(
        stack, "GET", f"/media?where[exportOf][equals]={project_id}&depth=0", "admin"
    ).json()
    return found["docs"]


def test_params_naming_another_project_export_nothing(stack):
    private = stack.seed["projects"]["private"]
    before = exports_of(stack, private)
    body = {
        "project": stack.seed["projects"]["sample"],
        "type": "project-pdf",
        "params": {"projectId": private},
    }

    refused = payload(stack, "POST", "/export-requests", "editor", json=body)

    assert refused.status_code == 400, refused.text  # the plugin refuses it in Payload
    assert "params" in refused.text
    time.sleep(1.0)
    assert exports_of(stack, private) == before


def test_a_rerun_by_someone_who_lost_access_is_refused_and_exports_nothing(stack):
    editor = stack.seed["users"]["editor"]["id"]
    created = payload(
        stack,
        "POST",
        "/projects",
        "admin",
        json={"title": "Short-lived access", "editors": [editor]},
    )
    assert created.status_code == 201, created.text
    project = created.json()["doc"]["id"]
    request = create_request(
        stack, type="project-pdf", project=project, params={"options": {"paperSize": "A0"}}
    )
    failed = wait_for_outcome(stack, request["id"])
    assert failed["status"] == "failed"

    revoked = payload(stack, "PATCH", f"/projects/{project}", "admin", json={"editors": []})
    assert revoked.status_code == 200, revoked.text
    refused = rerun(stack, request["id"])

    assert refused.status_code == 400, rerun.text
    assert "no longer allowed to read it" in refused.text
    time.sleep(1.0)
    after = payload(stack, "GET", f"/export-requests/{request['id']}?depth=0", "admin").json()
    assert after["status"] == "failed"
    assert jobs_for(stack, request["id"]) == []
    assert exports_of(stack, project) == []


def test_a_rerun_by_someone_who_can_read_the_project_runs(stack):
    request = create_request(stack, type="project-pdf", params={"options": {"paperSize": "A0"}})
    assert wait_for_outcome(stack, request["id"])["status"] == "failed"
    accepted = rerun(stack, request["id"])
    assert accepted.status_code == 200, accepted.text
    doc = wait_for_outcome(stack, request["id"])
    assert doc["status"] == "succeeded", doc["error"]
    assert len(jobs_for(stack, request["id"])) == 1
