"""Two workers finishing exports of one project at once, against the real Payload.

Every export of a project used to be uploaded as `<slug>-brief.pdf`; Payload renames a
clash by probing numbered suffixes, so two workers uploading at once failed with "filename:
Value must be unique". Each result now has a name no other export can take.
"""

from __future__ import annotations

import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from rq import Worker

from tests.e2e.stack import Stack
from tests.e2e.test_payload import payload, service, wait_for_outcome

pytestmark = pytest.mark.e2e
#: One person's unfinished exports are capped at EXPORT_MAX_ACTIVE_PER_CALLER (10).
BURST = 10


def wait_until_registered(
    stack: Stack, process: subprocess.Popen[bytes], timeout_s: float = 90.0
) -> None:
    """Until `process` is a registered RQ worker: it registers once warm, so it takes part
    from the first export (a count of workers could include one an earlier test killed)."""
    deadline = time.monotonic() + timeout_s
    while process.pid not in {worker.pid for worker in Worker.all(connection=stack.redis)}:
        assert process.poll() is None, f"the worker exited with {process.returncode}"
        assert time.monotonic() < deadline, f"the worker did not register in {timeout_s} s"
        time.sleep(0.2)


def test_two_workers_on_a_burst_of_one_projects_exports_all_succeed(stack: Stack):
    second = stack.start_worker("worker-2")
    wait_until_registered(stack, second)
    project = stack.seed["projects"]["sample"]

    def submit(_: int) -> dict:
        # `fresh`: each renders and uploads, instead of reusing the first one's result
        body = {"projectId": project, "options": {"fresh": True}}
        response = service(stack, "POST", "/exports/project-pdf", json=body)
        assert response.status_code == 202, response.text
        return dict(response.json())

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            accepted = list(pool.map(submit, range(BURST)))
        docs = [wait_for_outcome(stack, a["exportRequestId"]) for a in accepted]
    finally:
        second.terminate()
        second.wait(timeout=60)

    assert [d["status"] for d in docs] == ["succeeded"] * BURST, [d["error"] for d in docs]
    media = [payload(stack, "GET", f"/media/{d['result']}?depth=0").json() for d in docs]
    names = [m["filename"] for m in media]
    assert len(set(names)) == BURST
    for doc, name in zip(docs, names, strict=True):
        assert f"-r{doc['id']}-" in name and name.endswith(".pdf")  # kept as sent, not renamed
    assert "Job OK" in stack.log("worker-2") or "succeeded" in stack.log("worker-2")
