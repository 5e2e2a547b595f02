"""Callers as the README says they come, on the real Payload: an API key, `JWT <token>` and
`Bearer <token>` from Payload's own login, and a service whose key lives in another auth
collection (`PAYLOAD_AUTH_COLLECTION=operators`).
"""

from __future__ import annotations

import pytest
import requests

from tests.e2e.stack import Stack
from tests.e2e.test_payload import wait_for_outcome

pytestmark = pytest.mark.e2e


def submit(url: str, authorization: str, project: int, kind: str = "project-pdf"):
    return requests.post(
        f"{url}/exports/{kind}",
        json={"projectId": project},
        headers={"Authorization": authorization},
        timeout=30,
    )


def get_job(url: str, authorization: str, job_id: str):
    return requests.get(
        f"{url}/jobs/{job_id}", headers={"Authorization": authorization}, timeout=30
    )


@pytest.mark.parametrize("scheme", ["JWT", "Bearer"])
def test_an_editor_logged_in_to_payload_exports_with_the_token(stack: Stack, scheme):
    token = stack.login("editor")
    authorization = f"{scheme} {token}"
    response = submit(stack.service_url, authorization, stack.seed["projects"]["sample"])
    assert response.status_code == 202, response.text
    accepted = response.json()
    job = get_job(stack.service_url, authorization, accepted["jobId"])
    assert job.status_code == 200, job.text
    doc = wait_for_outcome(stack, accepted["exportRequestId"])
    assert doc["status"] == "succeeded", doc["error"]
    assert doc["requestedBy"] == stack.seed["users"]["editor"]["id"]


@pytest.mark.parametrize("scheme", ["JWT", "Bearer"])
def test_a_token_does_not_widen_what_payload_lets_the_caller_read(stack: Stack, scheme):
    outsider = f"{scheme} {stack.login('outsider')}"
    response = submit(stack.service_url, outsider, stack.seed["projects"]["sample"])
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "project_not_found"
    editor = f"{scheme} {stack.login('editor')}"
    response = submit(stack.service_url, editor, stack.seed["projects"]["private"])
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "project_not_found"


@pytest.mark.parametrize("scheme", ["JWT", "Bearer"])
def test_a_token_payload_did_not_issue_is_unauthenticated(stack: Stack, scheme):
    forged = stack.login("editor")[:-4] + "AAAA"
    response = submit(stack.service_url, f"{scheme} {forged}", stack.seed["projects"]["sample"])
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"


def test_a_service_keyed_in_another_auth_collection_runs_exports(stack, operators_service):
    health = requests.get(f"{operators_service}/health", timeout=30)
    assert health.status_code == 200, health.text
    # a token from that collection's own login is looked up there
    token = stack.login("admin", collection="operators")
    response = submit(operators_service, f"JWT {token}", stack.seed["projects"]["private"])
    assert response.status_code == 202, response.text
    doc = wait_for_outcome(stack, response.json()["exportRequestId"])
    # the worker wrote the outcome back with the operators key
    assert doc["status"] == "succeeded", doc["error"]
    assert doc["source"] == "rest"
    # an API key names its own collection, so `users` callers keep working
    editor = stack.key("editor")
    response = submit(operators_service, editor, stack.seed["projects"]["sample"], "project-zip")
    assert response.status_code == 202, response.text
    assert wait_for_outcome(stack, response.json()["exportRequestId"])["status"] == "succeeded"


def test_with_another_auth_collection_tokens_of_users_are_not_recognised(stack, operators_service):
    users_token = stack.login("editor")
    response = submit(operators_service, f"JWT {users_token}", stack.seed["projects"]["sample"])
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
