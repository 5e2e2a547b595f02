"""Reading a project as the job's options ask: `draft: true` on a collection without drafts
is honoured as far as it can be, and the requester is told so until the end."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.project_data import NO_DRAFTS_STAGE
from tests.conftest import EDITOR, run_jobs

NOTE = NO_DRAFTS_STAGE.format(collection="projects")


def export(client: Any, worker: Any, kind: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/exports/{kind}", json={"projectId": 17, **body}, headers={"Authorization": EDITOR}
    )
    assert response.status_code == 202, response.text
    run_jobs(worker)
    job = client.get(f"/jobs/{response.json()['jobId']}", headers={"Authorization": EDITOR})
    return dict(job.json())


@pytest.mark.parametrize("kind", ["project-pdf", "project-zip"])
def test_draft_without_drafts_is_a_note_that_outlives_later_stages(client, payload, worker, kind):
    job = export(client, worker, kind, options={"draft": True})
    assert job["status"] == "succeeded", job["error"]
    assert job["stage"] == "done"
    assert job["notes"] == [NOTE]
    doc = next(d for d in payload.docs("export-requests") if d["jobId"] == job["jobId"])
    assert doc["notes"] == NOTE and doc["status"] == "succeeded"


def test_a_published_export_has_no_notes(client, payload, worker):
    job = export(client, worker, "project-pdf")
    assert job["notes"] == []
    doc = next(d for d in payload.docs("export-requests") if d["jobId"] == job["jobId"])
    assert doc.get("notes") is None
