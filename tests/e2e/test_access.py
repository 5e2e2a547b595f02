"""Who may do what, decided by the real Payload's access rules, through every door.

The dev Payload lets an editor read the projects that list them as editor, an admin read
everything, and anyone else nothing: so on the sample project the outsider gets exactly what
a stranger gets, the editor and the admin get their export. Codes are exact.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.app import test_mcp
from tests.e2e.stack import Stack
from tests.e2e.test_payload import create_request, payload, wait_for_outcome

pytestmark = pytest.mark.e2e

PEOPLE = ["outsider", "editor", "admin"]


def service(stack: Stack, method: str, path: str, authorization: str | None, **kwargs: Any):
    headers = {"Authorization": authorization} if authorization else {}
    return requests.request(
        method, f"{stack.service_url}{path}", headers=headers, timeout=30, **kwargs
    )


def export_jobs(stack: Stack) -> set[bytes]:
    assert stack.redis is not None
    return set(stack.redis.keys("export:job:*"))


def request_count(stack: Stack) -> int:
    return int(payload(stack, "GET", "/export-requests?limit=0", "admin").json()["totalDocs"])


@pytest.fixture(scope="module")
def editors_job(stack: Stack) -> dict[str, Any]:
    """A finished export of the sample project, requested by the editor through REST."""
    project = stack.seed["projects"]["sample"]
    response = service(
        stack, "POST", "/exports/project-pdf", stack.key("editor"), json={"projectId": project}
    )
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert wait_for_outcome(stack, accepted["exportRequestId"])["status"] == "succeeded"
    return accepted


# -- REST ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "project", "status", "code"),
    [
        ("outsider", "sample", 404, "project_not_found"),
        ("editor", "sample", 202, None),
        ("admin", "sample", 202, None),
        ("outsider", "private", 404, "project_not_found"),
        ("editor", "private", 404, "project_not_found"),
        ("admin", "private", 202, None),
    ],
)
def test_rest_submissions(stack, person, project, status, code):
    jobs, requests_before = export_jobs(stack), request_count(stack)
    response = service(
        stack,
        "POST",
        "/exports/project-zip",
        stack.key(person),
        json={"projectId": stack.seed["projects"][project]},
    )
    assert response.status_code == status, response.text
    if code is None:
        assert len(export_jobs(stack) - jobs) == 1
        assert request_count(stack) == requests_before + 1
    else:
        assert response.json()["error"]["code"] == code
        assert export_jobs(stack) == jobs
        assert request_count(stack) == requests_before


@pytest.mark.parametrize(
    ("person", "status"), [("outsider", 404), ("editor", 200), ("admin", 200), (None, 401)]
)
def test_rest_job_status(stack, editors_job, person, status):
    authorization = stack.key(person) if person else None
    response = service(stack, "GET", f"/jobs/{editors_job['jobId']}", authorization)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["status"] == "succeeded"


@pytest.mark.parametrize(("person", "status"), [("outsider", 404), ("editor", 409), ("admin", 409)])
def test_rest_cancel(stack, editors_job, person, status):
    # a finished job: those who may see it learn it is over, the outsider not even that
    response = service(stack, "POST", f"/jobs/{editors_job['jobId']}/cancel", stack.key(person))
    assert response.status_code == status, response.text
    expected = {404: "project_not_found", 409: "job_finished"}[status]
    assert response.json()["error"]["code"] == expected


# -- MCP -----------------------------------------------------------------------------------


def call(*args: Any, **kwargs: Any) -> Any:
    """The MCP SDK's client in a thread of its own (Playwright's tests may own this one's loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(test_mcp.call, *args, **kwargs).result()


@pytest.mark.parametrize(
    ("person", "allowed"), [("outsider", False), ("editor", True), ("admin", True)]
)
def test_mcp_tools(stack, editors_job, person, allowed):
    url = f"{stack.service_url}/mcp"
    jobs = export_jobs(stack)
    project = stack.seed["projects"]["sample"]
    submitted = call(url, "export.project_pdf", {"projectId": project}, auth=stack.key(person))
    status = call(url, "export.job_status", {"jobId": editors_job["jobId"]}, auth=stack.key(person))
    if allowed:
        assert not submitted.is_error, submitted
        assert submitted.structured_content["status"] == "queued"
        assert len(export_jobs(stack) - jobs) == 1
        assert not status.is_error and status.structured_content["status"] == "succeeded"
    else:
        assert submitted.is_error and status.is_error
        assert submitted.structured_content["error"]["code"] == "project_not_found"
        assert status.structured_content["error"]["code"] == "project_not_found"
        assert export_jobs(stack) == jobs


# -- the ticket endpoint (through the plugin's events-url) and the WebSocket ------------------


def events_url(stack: Stack, doc_id: int, person: str | None) -> requests.Response:
    headers = {"Authorization": stack.key(person)} if person else {}
    return requests.get(
        f"{stack.payload_url}/api/export-requests/{doc_id}/events-url", headers=headers, timeout=30
    )


def first_message_or_close(url: str, headers: dict[str, str] | None = None) -> dict[str, Any] | int:
    """The socket's first message, or the code it was closed with before sending one."""
    with connect(url, additional_headers=headers, open_timeout=10) as ws:
        try:
            return json.loads(ws.recv(timeout=10))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code


@pytest.mark.parametrize(
    ("person", "status"), [("outsider", 404), ("editor", 200), ("admin", 200), (None, 403)]
)
def test_ticket_for_the_live_progress_panel(stack, editors_job, person, status):
    response = events_url(stack, editors_job["exportRequestId"], person)
    assert response.status_code == status, response.text
    if status == 200:
        assert (
            first_message_or_close(response.json()["eventsUrl"])["jobId"] == (editors_job["jobId"])
        )


def test_the_ticket_endpoint_refuses_unsigned_requests(stack, editors_job):
    body = {"jobId": editors_job["jobId"], "exportRequestId": editors_job["exportRequestId"]}
    response = requests.post(
        f"{stack.service_url}/webhooks/payload/ticket",
        json=body,
        headers={"X-Export-Signature": f"t={int(time.time())},v1={'0' * 64}"},
        timeout=30,
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"


@pytest.mark.parametrize(
    ("person", "outcome"),
    [("outsider", 1008), ("editor", "state"), ("admin", "state"), (None, 1008)],
)
def test_websocket_with_credentials(stack, editors_job, person, outcome):
    ws_url = stack.service_url.replace("http", "ws", 1) + f"/jobs/{editors_job['jobId']}/events"
    headers = {"Authorization": stack.key(person)} if person else None
    got = first_message_or_close(ws_url, headers)
    if outcome == "state":
        assert isinstance(got, dict) and got["status"] == "succeeded"
    else:
        assert got == outcome


def test_a_ticket_opens_only_its_own_jobs_socket(stack, editors_job):
    doc = create_request(stack, type="project-pdf")
    other = wait_for_outcome(stack, doc["id"])
    url = events_url(stack, editors_job["exportRequestId"], "editor").json()["eventsUrl"]
    stolen = url.replace(editors_job["jobId"], other["jobId"])
    assert first_message_or_close(stolen) == 1008


# -- the webhook door: documents made in Payload ------------------------------------------


@pytest.mark.parametrize(("person", "status"), [("outsider", 400), ("editor", 201), ("admin", 201)])
def test_export_requests_made_in_payload(stack, person, status):
    jobs, requests_before = export_jobs(stack), request_count(stack)
    response = payload(
        stack,
        "POST",
        "/export-requests",
        person,
        json={"type": "project-pdf", "project": stack.seed["projects"]["sample"]},
    )
    assert response.status_code == status, response.text
    if status == 201:
        doc = wait_for_outcome(stack, response.json()["doc"]["id"])
        assert doc["status"] == "succeeded", doc["error"]
        assert len(export_jobs(stack) - jobs) == 1
    else:
        # an outsider's export-request document never produces an export
        time.sleep(1.0)  # time for a delivery that must not come
        assert export_jobs(stack) == jobs
        assert request_count(stack) == requests_before


def test_an_outsider_cannot_rerun_someone_elses_request(stack, editors_job):
    jobs = export_jobs(stack)
    doc_id = editors_job["exportRequestId"]
    response = payload(
        stack, "PATCH", f"/export-requests/{doc_id}", "outsider", json={"status": "queued"}
    )
    assert response.status_code == 403, response.text
    time.sleep(1.0)
    assert export_jobs(stack) == jobs
    doc = payload(stack, "GET", f"/export-requests/{doc_id}?depth=0", "admin").json()
    assert doc["status"] == "succeeded"
