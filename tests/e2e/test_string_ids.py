"""String ids, on a real Payload that uses them (SQLite with `idType: 'uuid'`, the shape
MongoDB gives): the README says both kinds of id work."""

from __future__ import annotations

import pytest

from tests.e2e.test_payload import create_request, result_file, service, wait_for_outcome

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_seed_has_string_ids(uuid_stack):
    assert isinstance(uuid_stack.seed["projects"]["sample"], str)
    assert isinstance(uuid_stack.seed["users"]["editor"]["id"], str)


@pytest.mark.parametrize("kind", ["project-pdf", "project-zip", "video"])
def test_an_editors_request_made_in_payload_ends_with_a_file(uuid_stack, kind):
    params = {"preset": "360p-h264"} if kind == "video" else {}
    doc = wait_for_outcome(uuid_stack, create_request(uuid_stack, type=kind, params=params)["id"])
    assert doc["status"] == "succeeded", doc["error"]
    media, content = result_file(uuid_stack, doc)
    assert isinstance(media["id"], str) and content
    assert media["exportRequest"] == doc["id"]


def test_a_rest_submission_takes_a_string_project_id(uuid_stack):
    project = uuid_stack.seed["projects"]["sample"]
    response = service(uuid_stack, "POST", "/exports/project-zip", json={"projectId": project})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert isinstance(accepted["exportRequestId"], str)
    doc = wait_for_outcome(uuid_stack, accepted["exportRequestId"])
    assert doc["status"] == "succeeded", doc["error"]
    job = service(uuid_stack, "GET", f"/jobs/{accepted['jobId']}")
    assert job.status_code == 200
    assert (job.json()["projectId"], job.json()["resultMediaId"]) == (project, doc["result"])
    outsider = service(
        uuid_stack, "POST", "/exports/project-zip", "outsider", json={"projectId": project}
    )
    assert outsider.status_code == 404
